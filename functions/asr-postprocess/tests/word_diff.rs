//! Cleanup removes fillers and stutters and nothing else: a word-level diff
//! of every sample's raw words against its clean transcript.

#![allow(clippy::unwrap_used)]

mod common;

use asr_postprocess::Settings;
use common::{MEETINGS, clean, sample, transcript_words, words};

/// How far away (in words) the other copy of a removed repetition may be:
/// a stutter of up to four words, repeated.
const REPEAT_REACH: usize = 8;

/// Indices of raw words missing from `clean`, or a panic when `clean` is
/// not `raw` with words deleted (a word added, changed or moved).
fn deletions(raw: &[String], clean: &[String]) -> Vec<usize> {
    let mut deleted = Vec::new();
    let mut next = 0;
    for (i, word) in raw.iter().enumerate() {
        if clean.get(next) == Some(word) {
            next += 1;
        } else {
            deleted.push(i);
        }
    }
    assert_eq!(
        next,
        clean.len(),
        "clean word {:?} is not in the raw words",
        clean.get(next)
    );
    deleted
}

/// "ummm" -> "um": runs of one letter collapsed.
fn collapsed(word: &str) -> String {
    let mut out = String::new();
    for c in word.chars() {
        if !out.ends_with(c) {
            out.push(c);
        }
    }
    out
}

fn filler_words(settings: &Settings) -> Vec<Vec<String>> {
    settings
        .english
        .fillers
        .iter()
        .chain(&settings.chinese.fillers)
        .map(|f| words(f))
        .collect()
}

/// Whether raw word `i` belongs to an occurrence of a filler entry whose
/// words were all removed.
fn is_removed_filler(raw: &[String], deleted: &[usize], i: usize, fillers: &[Vec<String>]) -> bool {
    fillers.iter().any(|entry| {
        (0..entry.len()).any(|offset| {
            let Some(start) = i.checked_sub(offset) else {
                return false;
            };
            (0..entry.len()).all(|k| {
                let j = start + k;
                j < raw.len() && collapsed(&raw[j]) == collapsed(&entry[k]) && deleted.contains(&j)
            })
        })
    })
}

/// Whether raw word `i` has a copy nearby (a stutter) or is the cut-off
/// start of a following word ("wh-" before "what").
fn is_repetition(raw: &[String], i: usize) -> bool {
    let lo = i.saturating_sub(REPEAT_REACH);
    let hi = (i + REPEAT_REACH).min(raw.len() - 1);
    (lo..=hi).any(|j| {
        j != i
            && (raw[j] == raw[i]
                || (j > i && raw[j].len() > raw[i].len() && raw[j].starts_with(&raw[i])))
    })
}

#[test]
fn cleanup_removes_only_fillers_and_repetitions() {
    let settings = Settings::default();
    let fillers = filler_words(&settings);
    for name in MEETINGS {
        let recognized = asr_postprocess::input::read(&sample(name)["raw_asr"]).unwrap();
        let raw: Vec<String> = recognized
            .words
            .iter()
            .flat_map(|w| words(&w.text))
            .collect();
        let clean_words = transcript_words(&clean(name));
        let deleted = deletions(&raw, &clean_words);
        assert!(!deleted.is_empty(), "{name}: nothing was removed");
        for &i in &deleted {
            let context = raw[i.saturating_sub(5)..(i + 5).min(raw.len())].join(" ");
            assert!(
                is_removed_filler(&raw, &deleted, i, &fillers) || is_repetition(&raw, i),
                "{name}: `{}` removed in `{context}`",
                raw[i]
            );
        }
    }
}

#[test]
fn removal_counts_match_the_word_diff() {
    for name in MEETINGS {
        let t = clean(name);
        let recognized = asr_postprocess::input::read(&sample(name)["raw_asr"]).unwrap();
        let raw: Vec<String> = recognized
            .words
            .iter()
            .flat_map(|w| words(&w.text))
            .collect();
        let deleted = deletions(&raw, &transcript_words(&t)).len();
        assert_eq!(t.stats.raw_words - t.stats.words, deleted, "{name}");
    }
}

#[test]
fn every_filler_in_the_raw_words_is_removed() {
    let single: Vec<String> = Settings::default()
        .english
        .fillers
        .iter()
        .chain(&Settings::default().chinese.fillers)
        .filter(|f| words(f).len() == 1)
        .map(|f| collapsed(f))
        .collect();
    for name in MEETINGS {
        let t = clean(name);
        let recognized = asr_postprocess::input::read(&sample(name)["raw_asr"]).unwrap();
        let raw: Vec<String> = recognized
            .words
            .iter()
            .flat_map(|w| words(&w.text))
            .collect();
        let in_raw = raw
            .iter()
            .filter(|w| single.contains(&collapsed(w)))
            .count();
        let left = transcript_words(&t)
            .iter()
            .filter(|w| single.contains(&collapsed(w)))
            .count();
        assert!(in_raw > 0, "{name} has no fillers to remove");
        assert_eq!(left, 0, "{name}");
        let phrase_removals: usize = t
            .stats
            .filler_counts
            .iter()
            .filter(|(entry, _)| words(entry).len() > 1)
            .map(|(_, n)| n)
            .sum();
        assert_eq!(t.stats.fillers_removed - phrase_removals, in_raw, "{name}");
    }
}
