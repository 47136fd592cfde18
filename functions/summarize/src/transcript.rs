//! The transcript a summarizer reads: speaker turns, and the language the
//! meeting was held in.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use tasklane::TaskError;

use crate::summary::is_han;

/// One speaker turn, as asr-postprocess stores it in `transcripts.turns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Turn {
    /// Speaker label or name (`S1`, `Priya`); absent when not diarized.
    #[serde(default)]
    pub speaker: Option<String>,
    /// Start of the turn in the recording.
    #[serde(default)]
    pub start_ms: Option<u64>,
    /// End of the turn in the recording.
    #[serde(default)]
    pub end_ms: Option<u64>,
    /// What was said.
    pub text: String,
}

impl Turn {
    /// A turn without timing.
    pub fn new(speaker: Option<&str>, text: impl Into<String>) -> Self {
        Turn {
            speaker: speaker.map(str::to_owned),
            start_ms: None,
            end_ms: None,
            text: text.into(),
        }
    }
}

/// The language family a transcript is handled in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Language {
    /// English, and any language written with spaces between words.
    English,
    /// Mandarin (traditional or simplified script), possibly mixed with
    /// English.
    Chinese,
}

impl Language {
    /// The language named by a BCP-47-ish tag (`en`, `zh-TW`, `cmn-Hans`,
    /// `zh-en`), falling back to what `text` is mostly written in.
    pub fn resolve(tag: &str, text: &str) -> Language {
        let tag = tag.trim().to_ascii_lowercase();
        if ["zh", "cmn", "yue"].iter().any(|p| tag.starts_with(p)) {
            return Language::Chinese;
        }
        if tag.starts_with("en") {
            return Language::English;
        }
        Language::detect(text)
    }

    /// Chinese when at least a fifth of the letters are Han characters.
    pub fn detect(text: &str) -> Language {
        let letters = text.chars().filter(|c| c.is_alphabetic()).count();
        let han = text.chars().filter(|c| is_han(*c)).count();
        if letters > 0 && han * 5 >= letters {
            Language::Chinese
        } else {
            Language::English
        }
    }

    /// The language's English name, for prompts.
    pub fn name(self) -> &'static str {
        match self {
            Language::English => "English",
            Language::Chinese => "Chinese (keep the script the transcript uses)",
        }
    }
}

/// A meeting transcript ready to summarize.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transcript {
    /// The meeting's language.
    pub language: Language,
    /// The turns in order.
    pub turns: Vec<Turn>,
}

impl Transcript {
    /// A transcript of `turns`; the language is detected from their text.
    pub fn new(turns: Vec<Turn>) -> Self {
        let text: String = turns.iter().map(|t| t.text.as_str()).collect();
        Transcript {
            language: Language::detect(&text),
            turns,
        }
    }

    /// Parse plain text: one turn per non-empty line, `Name: text` when the
    /// part before the first colon looks like a speaker label.
    pub fn from_text(text: &str) -> Self {
        let turns = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| match split_speaker(line) {
                Some((speaker, said)) => Turn::new(Some(speaker), said),
                None => Turn::new(None, line),
            })
            .collect();
        Transcript::new(turns)
    }

    /// Build from a `transcripts` row: its `turns` when it has any, its
    /// text otherwise.
    ///
    /// # Errors
    ///
    /// A permanent invalid-input error when `turns` is not a list of turns,
    /// or when the transcript holds no words at all.
    pub fn from_stored(language: &str, text: &str, turns: Value) -> Result<Self, TaskError> {
        let turns: Vec<Turn> = serde_json::from_value(turns).map_err(|e| {
            TaskError::invalid_input("transcript turns are not a list of turns").with_source(e)
        })?;
        let mut transcript = if turns.iter().any(|t| !t.text.trim().is_empty()) {
            Transcript::new(turns)
        } else {
            Transcript::from_text(text)
        };
        if transcript.turns.iter().all(|t| t.text.trim().is_empty()) {
            return Err(TaskError::invalid_input("transcript is empty"));
        }
        let joined: String = transcript.turns.iter().map(|t| t.text.as_str()).collect();
        transcript.language = Language::resolve(language, &joined);
        Ok(transcript)
    }

    /// The whole transcript as `Speaker: text` lines.
    pub fn to_text(&self) -> String {
        self.turns
            .iter()
            .map(|t| match &t.speaker {
                Some(s) => format!("{s}: {}", t.text),
                None => t.text.clone(),
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// `Name: text` when the name is a plausible speaker label: at most three
/// words and 40 characters, each word starting with a capital letter, a
/// digit or a Han character (`Priya`, `Speaker 2`, `S1`, `王小明`).
fn split_speaker(line: &str) -> Option<(&str, &str)> {
    let (name, rest) = line.split_once([':', '：'])?;
    let name = name.trim();
    let words: Vec<&str> = name.split_whitespace().collect();
    let capitalized = words.iter().all(|w| {
        w.chars()
            .next()
            .is_some_and(|c| c.is_uppercase() || c.is_ascii_digit() || is_han(c))
    });
    let plausible = !words.is_empty()
        && words.len() <= 3
        && name.chars().count() <= 40
        && (capitalized || is_speaker_tag(&words))
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.' | '\''));
    plausible.then(|| (name, rest.trim()))
}

/// Lower-case diarization tags as corpora and recognizers write them: a
/// one- or two-character label (`a`, `b`, `s1`) or `speaker <label>` /
/// `speaker_<label>`.
fn is_speaker_tag(words: &[&str]) -> bool {
    let short = |w: &str| w.chars().count() <= 2 && w.chars().all(char::is_alphanumeric);
    match words {
        [one] => short(one) || one.to_ascii_lowercase().starts_with("speaker_"),
        [first, label] => first.eq_ignore_ascii_case("speaker") && label.chars().count() <= 3,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_case_diarization_tags_become_turn_speakers() {
        let t = Transcript::from_text(
            "a: so we go with the rubber case\nspeaker b: yeah\nspeaker_c: fine\nso recap: done",
        );
        let speakers: Vec<_> = t.turns.iter().map(|t| t.speaker.as_deref()).collect();
        assert_eq!(
            speakers,
            [Some("a"), Some("speaker b"), Some("speaker_c"), None]
        );
        assert_eq!(t.turns[0].text, "so we go with the rubber case");
    }

    #[test]
    fn speaker_prefixes_become_turn_speakers() {
        let t = Transcript::from_text("Priya: I'll fix it.\nokay so recap: we ship\nS2: Sure.");
        let speakers: Vec<_> = t.turns.iter().map(|t| t.speaker.as_deref()).collect();
        assert_eq!(speakers, [Some("Priya"), None, Some("S2")]);
        assert_eq!(t.turns[1].text, "okay so recap: we ship");
    }

    #[test]
    fn chinese_tags_and_text_resolve_to_chinese() {
        assert_eq!(Language::resolve("zh-TW", "hello"), Language::Chinese);
        assert_eq!(
            Language::resolve("", "我們下週三之前決定"),
            Language::Chinese
        );
        assert_eq!(
            Language::resolve("fr", "on se voit demain"),
            Language::English
        );
    }

    #[test]
    fn stored_rows_without_turns_fall_back_to_text() {
        let t = Transcript::from_stored("en", "A: one\nB: two", Value::Array(vec![])).unwrap();
        assert_eq!(t.turns.len(), 2);
        assert_eq!(t.turns[1].speaker.as_deref(), Some("B"));
    }

    #[test]
    fn empty_stored_transcripts_are_invalid_input() {
        let err = Transcript::from_stored("en", "  ", Value::Array(vec![])).unwrap_err();
        assert_eq!(err.kind(), tasklane::ErrorKind::InvalidInput);
        assert!(err.message().contains("empty"), "{err}");
    }
}
