//! Speaker turns: consecutive words of one speaker, split at long pauses.

use serde::{Deserialize, Serialize};

use crate::token::{self, Token};

/// One speaker turn of the clean transcript, the shape stored in
/// `transcripts.turns` and read by the summarizer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Turn {
    /// Speaker label (`S1`, `S2`, ... or a name the diarizer gave).
    pub speaker: String,
    /// Start of the turn's first kept word, in milliseconds.
    pub start_ms: u64,
    /// End of the turn's last kept word, in milliseconds.
    pub end_ms: u64,
    /// The cleaned text.
    pub text: String,
    /// Words the recognizer was unsure of, in order.
    #[serde(default)]
    pub low_confidence: Vec<LowConfidenceWord>,
}

/// A word below the low-confidence threshold.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LowConfidenceWord {
    /// The word as it appears in the turn text, without punctuation.
    pub word: String,
    /// Start, in milliseconds.
    pub start_ms: u64,
    /// End, in milliseconds.
    pub end_ms: u64,
    /// The recognizer's confidence.
    pub confidence: f32,
}

/// Split the kept tokens into turns: a new turn at every change of speaker
/// and at every pause of at least `pause_ms`.
pub(crate) fn group(tokens: &[Token], pause_ms: u64) -> Vec<Vec<Token>> {
    let mut turns: Vec<Vec<Token>> = Vec::new();
    for token in tokens.iter().filter(|t| t.is_kept()) {
        let joins = turns
            .last()
            .and_then(|t| t.last())
            .is_some_and(|prev| prev.speaker == token.speaker && token.pause_before_ms < pause_ms);
        match turns.last_mut() {
            Some(turn) if joins => turn.push(token.clone()),
            _ => turns.push(vec![token.clone()]),
        }
    }
    turns
}

/// Render one group of tokens as a [`Turn`].
pub(crate) fn render(tokens: &[Token], low_confidence: f32) -> Option<Turn> {
    let (first, last) = (tokens.first()?, tokens.last()?);
    Some(Turn {
        speaker: first.speaker.clone(),
        start_ms: first.start_ms,
        end_ms: last.end_ms.max(first.start_ms),
        text: token::join(tokens.iter().map(|t| t.text.as_str())),
        low_confidence: unsure_words(tokens, low_confidence),
    })
}

/// Low-confidence recognizer words, rebuilt from their tokens (a Chinese
/// word split into characters is reported once).
fn unsure_words(tokens: &[Token], threshold: f32) -> Vec<LowConfidenceWord> {
    let mut out = Vec::new();
    for word in tokens.chunk_by(|a, b| a.source == b.source) {
        let Some(confidence) = word[0].confidence.filter(|c| *c < threshold) else {
            continue;
        };
        let text = token::join(word.iter().map(|t| t.text.as_str()));
        out.push(LowConfidenceWord {
            word: text.trim_matches(|c: char| !c.is_alphanumeric()).to_owned(),
            start_ms: word[0].start_ms,
            end_ms: word[word.len() - 1].end_ms,
            confidence,
        });
    }
    out
}
