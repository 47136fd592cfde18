//! Helpers shared by the integration tests: sample files and a tokenizer
//! independent of the crate's own, so that word-level checks do not trust
//! the code they check.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::PathBuf;

use asr_postprocess::{Pipeline, Transcript};
use serde_json::Value;

/// The meeting samples that clean successfully.
pub(crate) const MEETINGS: [&str; 3] =
    ["release-planning", "mobile-sync-zh", "platform-q3-planning"];

pub(crate) fn samples_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../samples")
}

/// A sample meeting file, parsed.
pub(crate) fn sample(name: &str) -> Value {
    let path = samples_dir().join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    serde_json::from_str(&text).unwrap()
}

/// A sample's expected file, parsed.
pub(crate) fn expected(name: &str) -> Value {
    let path = samples_dir().join(format!("{name}.expected.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The raw text of a sample file, for the importer.
pub(crate) fn sample_text(name: &str) -> String {
    std::fs::read_to_string(samples_dir().join(format!("{name}.json"))).unwrap()
}

/// Clean a sample with the default settings.
pub(crate) fn clean(name: &str) -> Transcript {
    let file = sample(name);
    let language = file["language"].as_str();
    Pipeline::default()
        .process(&file["raw_asr"], language)
        .unwrap()
}

fn is_han(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF)
}

/// Lowercased words without surrounding punctuation; every Han character
/// is a word of its own.
pub(crate) fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    for chunk in text.split_whitespace() {
        let mut latin = String::new();
        for c in chunk.chars() {
            if is_han(c) {
                push_word(&mut out, &latin);
                latin.clear();
                out.push(c.to_string());
            } else if c.is_alphanumeric() || (!latin.is_empty() && "'’-./".contains(c)) {
                latin.push(c);
            } else {
                push_word(&mut out, &latin);
                latin.clear();
            }
        }
        push_word(&mut out, &latin);
    }
    out
}

fn push_word(out: &mut Vec<String>, word: &str) {
    let word = word.trim_end_matches(|c: char| !c.is_alphanumeric());
    if !word.is_empty() {
        out.push(word.to_lowercase().replace('’', "'"));
    }
}

/// Every word of a clean transcript's turns, in order.
pub(crate) fn transcript_words(transcript: &Transcript) -> Vec<String> {
    transcript
        .turns
        .iter()
        .flat_map(|t| words(&t.text))
        .collect()
}
