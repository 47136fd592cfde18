//! Speaker labels: make the recognizer's labels uniform across formats.
//!
//! Speech-to-Text v2 labels speakers "1", "2"; pyannote and WhisperX label
//! them "SPEAKER_00"; channels become "channel 1". All of these are renamed
//! S1, S2, ... in order of first appearance, so that the same meeting reads
//! the same whichever recognizer produced it. Labels that look like names
//! ("Priya") are kept as they are.

use std::collections::HashMap;

use crate::input::RawWord;

/// The label used when the recognizer did not separate speakers.
pub(crate) const UNDIARIZED: &str = "S1";

const MACHINE_PREFIXES: [&str; 6] = ["", "s", "spk", "speaker", "channel", "ch"];

/// One normalized label per word, and whether any word had a label at all.
pub(crate) fn normalize(words: &[RawWord]) -> (Vec<String>, bool) {
    let filled = fill_gaps(words);
    let diarized = filled.iter().any(Option::is_some);
    let mut renamed: HashMap<&str, String> = HashMap::new();
    let mut next = 1;
    let labels = filled
        .iter()
        .map(|label| match label {
            None => UNDIARIZED.to_owned(),
            Some(label) if !is_machine_label(label) => (*label).to_owned(),
            Some(label) => renamed
                .entry(label)
                .or_insert_with(|| {
                    let name = format!("S{next}");
                    next += 1;
                    name
                })
                .clone(),
        })
        .collect();
    (labels, diarized)
}

/// Words without a label belong to whoever spoke last (or, at the very
/// start, to whoever speaks first): diarizers drop labels on short words.
fn fill_gaps(words: &[RawWord]) -> Vec<Option<&str>> {
    let first = words.iter().find_map(|w| w.speaker.as_deref());
    let mut last = first;
    words
        .iter()
        .map(|w| {
            if let Some(s) = w.speaker.as_deref() {
                last = Some(s);
            }
            last
        })
        .collect()
}

fn is_machine_label(label: &str) -> bool {
    let lower = label.trim().to_ascii_lowercase();
    let prefix = lower.trim_end_matches(|c: char| c.is_ascii_digit());
    if prefix.len() == lower.len() {
        return false;
    }
    let prefix = prefix.trim_end_matches([' ', '_', '-', '#']);
    MACHINE_PREFIXES.contains(&prefix)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn said_by(speaker: Option<&str>) -> RawWord {
        RawWord {
            text: "x".into(),
            start_ms: 0,
            end_ms: 0,
            confidence: None,
            speaker: speaker.map(str::to_owned),
        }
    }

    #[test]
    fn machine_labels_are_renumbered_by_first_appearance() {
        let words = [
            said_by(Some("SPEAKER_01")),
            said_by(Some("SPEAKER_00")),
            said_by(None),
        ];
        let (labels, diarized) = normalize(&words);
        assert_eq!(labels, vec!["S1", "S2", "S2"]);
        assert!(diarized);
    }

    #[test]
    fn names_are_kept() {
        let words = [said_by(Some("Priya")), said_by(Some("2"))];
        assert_eq!(normalize(&words).0, vec!["Priya", "S1"]);
    }

    #[test]
    fn unlabelled_transcripts_have_one_undiarized_speaker() {
        let (labels, diarized) = normalize(&[said_by(None), said_by(None)]);
        assert_eq!(labels, vec!["S1", "S1"]);
        assert!(!diarized);
    }

    #[test]
    fn label_shapes_are_recognized() {
        for machine in ["1", "S3", "spk_0", "Speaker 2", "channel 1", "SPEAKER_07"] {
            assert!(is_machine_label(machine), "{machine}");
        }
        for name in ["Priya", "Dr. Chen", "Team2b"] {
            assert!(!is_machine_label(name), "{name}");
        }
    }
}
