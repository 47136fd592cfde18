//! Transcript statistics, stored in `transcripts.stats`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::input::RawFormat;
use crate::token::{Removal, Token};
use crate::turns::Turn;

/// Numbers about one cleaned transcript. Words are counted as tokens: one
/// per Latin-script word, one per Han character.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// The raw format that was read.
    pub format: RawFormat,
    /// The meeting's language, or else the one the recognizer reported.
    pub language: Option<String>,
    /// Whether the recognizer (or a diarizer) labelled speakers.
    pub diarized: bool,
    /// Distinct speakers with at least one kept word.
    pub speakers: usize,
    /// Turns in the clean transcript.
    pub turns: usize,
    /// Words kept.
    pub words: usize,
    /// Words the recognizer produced.
    pub raw_words: usize,
    /// Fillers removed; a filler phrase ("you know", 那个) counts once.
    pub fillers_removed: usize,
    /// Fillers removed, by filler entry as configured.
    pub filler_counts: BTreeMap<String, usize>,
    /// Words removed as stutters.
    pub repeats_removed: usize,
    /// Kept words below the confidence threshold.
    pub low_confidence_words: usize,
    /// End of the last word, in milliseconds.
    pub duration_ms: u64,
    /// Per speaker, in order of first turn.
    pub per_speaker: Vec<SpeakerStats>,
}

/// Numbers about one speaker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SpeakerStats {
    /// Speaker label.
    pub speaker: String,
    /// Turns taken.
    pub turns: usize,
    /// Words kept.
    pub words: usize,
    /// Sum of the speaker's turn durations, in milliseconds.
    pub talk_time_ms: u64,
}

/// What the statistics are computed from.
pub(crate) struct Sources<'a> {
    pub(crate) format: RawFormat,
    pub(crate) language: Option<String>,
    pub(crate) diarized: bool,
    pub(crate) tokens: &'a [Token],
    pub(crate) turns: &'a [Turn],
    pub(crate) turn_tokens: &'a [usize],
}

pub(crate) fn compute(src: &Sources<'_>) -> Stats {
    let mut filler_counts = BTreeMap::new();
    let mut repeats_removed = 0;
    for token in src.tokens {
        match &token.removed {
            Some(Removal::Filler { entry, first: true }) => {
                *filler_counts.entry(entry.clone()).or_insert(0) += 1;
            }
            Some(Removal::Repeat) => repeats_removed += 1,
            Some(Removal::Filler { first: false, .. }) | None => {}
        }
    }
    let per_speaker = per_speaker(src.turns, src.turn_tokens);
    Stats {
        format: src.format,
        language: src.language.clone(),
        diarized: src.diarized,
        speakers: per_speaker.len(),
        turns: src.turns.len(),
        words: src.tokens.iter().filter(|t| t.is_kept()).count(),
        raw_words: src.tokens.len(),
        fillers_removed: filler_counts.values().sum(),
        filler_counts,
        repeats_removed,
        low_confidence_words: src.turns.iter().map(|t| t.low_confidence.len()).sum(),
        duration_ms: src.tokens.iter().map(|t| t.end_ms).max().unwrap_or(0),
        per_speaker,
    }
}

fn per_speaker(turns: &[Turn], turn_tokens: &[usize]) -> Vec<SpeakerStats> {
    let mut out: Vec<SpeakerStats> = Vec::new();
    for (turn, &words) in turns.iter().zip(turn_tokens) {
        let at = match out.iter().position(|s| s.speaker == turn.speaker) {
            Some(at) => at,
            None => {
                out.push(SpeakerStats {
                    speaker: turn.speaker.clone(),
                    turns: 0,
                    words: 0,
                    talk_time_ms: 0,
                });
                out.len() - 1
            }
        };
        let entry = &mut out[at];
        entry.turns += 1;
        entry.words += words;
        entry.talk_time_ms += turn.end_ms.saturating_sub(turn.start_ms);
    }
    out
}
