//! The whole cleanup, from a raw recognizer body to a [`Transcript`]. Pure:
//! no I/O, so every runner and every test goes through the same code.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::cleanup::{self, Rules};
use crate::input::{self, FormatError};
use crate::punctuate::{self, Style};
use crate::settings::Settings;
use crate::speakers;
use crate::stats::{self, Sources, Stats};
use crate::token::{self, Token};
use crate::turns::{self, Turn};

/// A clean transcript: what `transcripts` stores and what the operation
/// returns as its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Transcript {
    /// The turns as lines of `Speaker: text`.
    pub text: String,
    /// Speaker turns.
    pub turns: Vec<Turn>,
    /// Statistics.
    pub stats: Stats,
}

/// Settings compiled for repeated use.
#[derive(Debug, Clone)]
pub struct Pipeline {
    settings: Settings,
    rules: Rules,
}

impl Pipeline {
    /// Compile `settings`.
    pub fn new(settings: Settings) -> Self {
        let rules = Rules::new(&settings);
        Pipeline { settings, rules }
    }

    /// The settings this pipeline was built from.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Clean a raw recognizer body. `language` is the meeting's language
    /// (`en`, `zh`, `zh-en`) when known; it only decides English-specific
    /// casing, since fillers are matched by script.
    ///
    /// # Errors
    ///
    /// A [`FormatError`] when `body` is in neither accepted format, does not
    /// match its format's schema, or holds no words.
    pub fn process(&self, body: &Value, language: Option<&str>) -> Result<Transcript, FormatError> {
        let recognized = input::read(body)?;
        let (labels, diarized) = speakers::normalize(&recognized.words);
        let mut tokens = token::tokenize(&recognized.words, &labels);
        let punctuated = is_punctuated(&tokens);

        cleanup::clean(&mut tokens, &self.rules);

        let language = language
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .or(recognized.language);
        let style = Style {
            punctuated,
            sentence_pause_ms: self.settings.sentence_pause_ms,
            english: language.as_deref().is_none_or(is_english),
        };
        let mut turns = Vec::new();
        let mut turn_tokens = Vec::new();
        for mut group in turns::group(&tokens, self.settings.turn_pause_ms) {
            punctuate::punctuate(&mut group, style);
            if let Some(turn) = turns::render(&group, self.settings.low_confidence) {
                turns.push(turn);
                turn_tokens.push(group.len());
            }
        }

        let stats = stats::compute(&Sources {
            format: recognized.format,
            language,
            diarized,
            tokens: &tokens,
            turns: &turns,
            turn_tokens: &turn_tokens,
        });
        let text = render_text(&turns);
        Ok(Transcript { text, turns, stats })
    }
}

impl Default for Pipeline {
    fn default() -> Self {
        Pipeline::new(Settings::default())
    }
}

/// Whether the recognizer punctuated its output. Punctuated speech ends a
/// sentence every fifteen words or so; a rare "3.8" or "a.m." in unpunctuated
/// output must not count, hence a rate rather than a single hit.
fn is_punctuated(tokens: &[Token]) -> bool {
    let ends = tokens.iter().filter(|t| t.ends_sentence()).count();
    ends > 0 && ends * 60 >= tokens.len()
}

/// `en`, `en-US`, `zh-en`, `english`: any tag with an English part.
fn is_english(language: &str) -> bool {
    let lower = language.to_ascii_lowercase();
    lower == "english" || lower.split(['-', '_']).any(|part| part == "en")
}

/// The transcript as lines of `Speaker: text`.
pub fn render_text(turns: &[Turn]) -> String {
    turns
        .iter()
        .map(|t| format!("{}: {}", t.speaker, t.text))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn english_is_recognized_in_tags() {
        for tag in ["en", "en-US", "zh-en", "English"] {
            assert!(is_english(tag), "{tag}");
        }
        for tag in ["zh", "cmn-Hans-CN", "de", "chinese"] {
            assert!(!is_english(tag), "{tag}");
        }
    }
}
