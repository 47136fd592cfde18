//! Cleanup settings, read once from the environment at start-up.
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `ASR_TURN_PAUSE_MS` | 2000 | a pause this long starts a new turn of the same speaker |
//! | `ASR_SENTENCE_PAUSE_MS` | 1000 | in unpunctuated output, a pause this long ends a sentence |
//! | `ASR_FILLER_PAUSE_MS` | 300 | a pause this long sets a filler phrase off like a comma |
//! | `ASR_LOW_CONFIDENCE` | 0.5 | words below this confidence are listed as low-confidence |
//! | `ASR_REMOVE_REPEATS` | true | collapse stutters ("I I think") |
//! | `ASR_FILLERS_EN` | um, umm, uh, uhh, uhm, er, erm, ah, hmm | English fillers |
//! | `ASR_FILLERS_ZH` | 嗯, 呃, 那个, 那個 | Mandarin fillers |
//! | `ASR_REPEATS_EN` | pronouns, articles, prepositions, auxiliaries | doubled = stutter |
//! | `ASR_REPEATS_ZH` | 我, 我们, 就是, 然后, 那个, ... | doubled = stutter |
//!
//! Lists are comma-separated; an empty value turns the list off. A filler of
//! one word is removed wherever it occurs; a filler of several words ("you
//! know", "I mean", 那个) only where a comma or a pause sets it off, since the
//! same words are ordinary speech elsewhere ("do you know the answer",
//! 那个方案). "you know" and "I mean" are not in the default list: add them
//! to `ASR_FILLERS_EN` to remove them.

use std::fmt;
use std::str::FromStr;

/// English fillers removed by default.
pub const DEFAULT_FILLERS_EN: &[&str] =
    &["um", "umm", "uh", "uhh", "uhm", "er", "erm", "ah", "hmm"];

/// Mandarin fillers removed by default (simplified and traditional).
pub const DEFAULT_FILLERS_ZH: &[&str] = &["嗯", "呃", "那个", "那個"];

/// English words whose immediate repetition is a stutter. Words that are
/// doubled in fluent speech ("that that", "had had", "very very", "no no")
/// are deliberately absent.
pub const DEFAULT_REPEATS_EN: &[&str] = &[
    "i", "i'm", "i've", "i'll", "i'd", "we", "we're", "we'll", "we've", "we'd", "you", "you're",
    "let's", "that's", "he", "she", "it", "it's", "they", "they're", "a", "an", "the", "and",
    "but", "or", "to", "of", "in", "on", "at", "for", "with", "from", "if", "my", "our", "your",
    "this", "was", "were", "can", "could", "will", "would", "should", "there's", "what", "when",
    "how", "because", "just",
];

/// Mandarin words whose immediate repetition is a stutter. Reduplication is
/// grammatical for many words (谢谢, 看看, 常常), so only these count.
pub const DEFAULT_REPEATS_ZH: &[&str] = &[
    "我", "你", "他", "她", "它", "这", "那", "我们", "你们", "他们", "我們", "你們", "他們",
    "这个", "那个", "這個", "那個", "就是", "然后", "然後", "所以", "但是", "因为", "因為", "如果",
];

/// Fillers and stutter words of one language.
#[derive(Debug, Clone, PartialEq)]
pub struct LanguageRules {
    /// Filler entries: one or more words each.
    pub fillers: Vec<String>,
    /// Words whose immediate repetition is removed.
    pub repeatable: Vec<String>,
}

/// How the transcript is cleaned. [`Settings::default`] gives the values in
/// the module table.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// A pause of at least this many milliseconds between two words of one
    /// speaker starts a new turn. Default 2,000.
    pub turn_pause_ms: u64,
    /// When the recognizer left no punctuation, a pause of at least this many
    /// milliseconds inside a turn ends a sentence. Default 1,000.
    pub sentence_pause_ms: u64,
    /// A pause of at least this many milliseconds next to a filler phrase
    /// counts as setting it off. Default 300.
    pub filler_pause_ms: u64,
    /// Words whose recognizer confidence is below this are listed as
    /// low-confidence. Default 0.5.
    pub low_confidence: f32,
    /// Whether stutters are collapsed. Default true.
    pub remove_repeats: bool,
    /// Rules for Latin-script words. Defaults: [`DEFAULT_FILLERS_EN`],
    /// [`DEFAULT_REPEATS_EN`].
    pub english: LanguageRules,
    /// Rules for Han characters. Defaults: [`DEFAULT_FILLERS_ZH`],
    /// [`DEFAULT_REPEATS_ZH`].
    pub chinese: LanguageRules,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            turn_pause_ms: 2000,
            sentence_pause_ms: 1000,
            filler_pause_ms: 300,
            low_confidence: 0.5,
            remove_repeats: true,
            english: LanguageRules {
                fillers: owned(DEFAULT_FILLERS_EN),
                repeatable: owned(DEFAULT_REPEATS_EN),
            },
            chinese: LanguageRules {
                fillers: owned(DEFAULT_FILLERS_ZH),
                repeatable: owned(DEFAULT_REPEATS_ZH),
            },
        }
    }
}

/// A setting whose value cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("{variable}={value:?} is invalid: expected {expected}")]
pub struct SettingsError {
    variable: &'static str,
    value: String,
    expected: &'static str,
}

impl SettingsError {
    /// The environment variable at fault.
    pub fn variable(&self) -> &'static str {
        self.variable
    }
}

impl Settings {
    /// Read settings from the process environment; unset variables keep
    /// their defaults.
    ///
    /// # Errors
    ///
    /// A [`SettingsError`] naming the first variable whose value is invalid.
    pub fn from_env() -> Result<Self, SettingsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Read settings through `lookup` (a variable name to its value); unset
    /// names keep their defaults. Lets tests supply values without touching
    /// the process environment.
    ///
    /// # Errors
    ///
    /// A [`SettingsError`] naming the first variable whose value is invalid.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let mut s = Settings::default();
        let env = Env(&lookup);
        s.turn_pause_ms = env.number("ASR_TURN_PAUSE_MS", s.turn_pause_ms)?;
        s.sentence_pause_ms = env.number("ASR_SENTENCE_PAUSE_MS", s.sentence_pause_ms)?;
        s.filler_pause_ms = env.number("ASR_FILLER_PAUSE_MS", s.filler_pause_ms)?;
        s.low_confidence = env.confidence("ASR_LOW_CONFIDENCE", s.low_confidence)?;
        s.remove_repeats = env.flag("ASR_REMOVE_REPEATS", s.remove_repeats)?;
        env.list("ASR_FILLERS_EN", &mut s.english.fillers);
        env.list("ASR_REPEATS_EN", &mut s.english.repeatable);
        env.list("ASR_FILLERS_ZH", &mut s.chinese.fillers);
        env.list("ASR_REPEATS_ZH", &mut s.chinese.repeatable);
        Ok(s)
    }
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    fn get(&self, variable: &str) -> Option<String> {
        (self.0)(variable).map(|v| v.trim().to_owned())
    }

    fn number<T: FromStr + fmt::Display>(
        &self,
        variable: &'static str,
        default: T,
    ) -> Result<T, SettingsError> {
        match self.get(variable) {
            None => Ok(default),
            Some(value) => value.parse().map_err(|_| SettingsError {
                variable,
                value,
                expected: "a whole number of milliseconds",
            }),
        }
    }

    fn confidence(&self, variable: &'static str, default: f32) -> Result<f32, SettingsError> {
        let Some(value) = self.get(variable) else {
            return Ok(default);
        };
        match value.parse::<f32>() {
            Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
            _ => Err(SettingsError {
                variable,
                value,
                expected: "a number from 0 to 1",
            }),
        }
    }

    fn flag(&self, variable: &'static str, default: bool) -> Result<bool, SettingsError> {
        let Some(value) = self.get(variable) else {
            return Ok(default);
        };
        match value.to_ascii_lowercase().as_str() {
            "1" | "true" | "yes" | "on" => Ok(true),
            "0" | "false" | "no" | "off" => Ok(false),
            _ => Err(SettingsError {
                variable,
                value,
                expected: "true or false",
            }),
        }
    }

    fn list(&self, variable: &str, target: &mut Vec<String>) {
        if let Some(value) = self.get(variable) {
            *target = value
                .split([',', '，'])
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect();
        }
    }
}

fn owned(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn unset_variables_keep_defaults() {
        assert_eq!(
            Settings::from_lookup(lookup(&[])).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn variables_override_defaults() {
        let s = Settings::from_lookup(lookup(&[
            ("ASR_TURN_PAUSE_MS", "3500"),
            ("ASR_LOW_CONFIDENCE", "0.7"),
            ("ASR_REMOVE_REPEATS", "off"),
            ("ASR_FILLERS_EN", "um, uh, you know ,I mean"),
            ("ASR_FILLERS_ZH", ""),
        ]))
        .unwrap();
        assert_eq!(s.turn_pause_ms, 3500);
        assert_eq!(s.low_confidence, 0.7);
        assert!(!s.remove_repeats);
        assert_eq!(s.english.fillers, vec!["um", "uh", "you know", "I mean"]);
        assert!(s.chinese.fillers.is_empty());
    }

    #[test]
    fn invalid_values_name_their_variable() {
        let err = Settings::from_lookup(lookup(&[("ASR_LOW_CONFIDENCE", "high")])).unwrap_err();
        assert_eq!(err.variable(), "ASR_LOW_CONFIDENCE");
        assert!(err.to_string().contains("from 0 to 1"), "{err}");
        let err = Settings::from_lookup(lookup(&[("ASR_TURN_PAUSE_MS", "-5")])).unwrap_err();
        assert_eq!(err.variable(), "ASR_TURN_PAUSE_MS");
    }
}
