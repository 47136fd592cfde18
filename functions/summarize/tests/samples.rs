//! The local summarizer on the sample meetings in `samples/`: raw ASR run
//! through asr-postprocess (the production path to `transcripts.turns`),
//! then summarized; every decision and action item a person wrote down in
//! `samples/<name>.expected.json` must be found.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::Value;
use summarize::local::LocalSummarizer;
use summarize::settings::LocalSettings;
use summarize::{Summary, Transcript, Turn};

#[derive(Debug, Deserialize)]
struct Expected {
    #[serde(default)]
    decisions: Vec<ExpectedItem>,
    #[serde(default)]
    action_items: Vec<ExpectedItem>,
}

#[derive(Debug, Deserialize)]
struct ExpectedItem {
    #[serde(default)]
    owner: Option<String>,
    text: String,
    keywords: Vec<String>,
}

fn samples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples")
}

/// The sample's transcript as summarize reads it from Postgres.
fn transcript(name: &str) -> Transcript {
    let file: Value = serde_json::from_str(
        &std::fs::read_to_string(samples_dir().join(format!("{name}.json"))).unwrap(),
    )
    .unwrap();
    let language = file["language"].as_str().unwrap_or("en").to_owned();
    if let Some(text) = file["transcript"].as_str() {
        let mut t = Transcript::from_text(text);
        t.language = summarize::Language::resolve(&language, text);
        return t;
    }
    let clean = asr_postprocess::Pipeline::default()
        .process(&file["raw_asr"], Some(&language))
        .unwrap();
    let turns = clean
        .turns
        .iter()
        .map(|t| Turn::new(Some(&t.speaker), t.text.clone()))
        .collect();
    let mut t = Transcript::new(turns);
    t.language = summarize::Language::resolve(&language, &clean.text);
    t
}

fn expected(name: &str) -> Expected {
    let path = samples_dir().join(format!("{name}.expected.json"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn summarize(name: &str) -> Summary {
    LocalSummarizer::new(LocalSettings::default()).summarize(&transcript(name))
}

/// Whether `text` holds most of `keywords` (more than half, so all of
/// two and two of three). English keywords match as word sequences,
/// ignoring case, a plural "s" and longer derived forms ("fourteen days"
/// matches "fourteen day retention", "quarter" matches "quarterly");
/// Chinese ones as substrings.
fn holds_most(text: &str, keywords: &[String]) -> bool {
    let words = word_keys(text);
    let lower = text.to_lowercase();
    let hits = keywords
        .iter()
        .filter(|k| {
            if !k.is_ascii() {
                return lower.contains(&k.to_lowercase());
            }
            let key = word_keys(k);
            !key.is_empty()
                && words.windows(key.len()).any(|w| {
                    w.iter().zip(&key).all(|(have, want)| {
                        have == want || (want.len() >= 4 && have.starts_with(want.as_str()))
                    })
                })
        })
        .count();
    hits * 2 > keywords.len()
}

fn word_keys(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| !(c.is_alphanumeric() || c == '.' || c == '/'))
        .map(|w| w.trim_matches('.'))
        .filter(|w| !w.is_empty())
        .map(|w| match w.strip_suffix('s') {
            Some(stem) if w.len() > 3 => stem.to_owned(),
            _ => w.to_owned(),
        })
        .collect()
}

fn misses(name: &str) -> Vec<String> {
    let summary = summarize(name);
    let expected = expected(name);
    let mut missing = Vec::new();
    for d in &expected.decisions {
        if !summary
            .decisions
            .iter()
            .any(|got| holds_most(got, &d.keywords))
        {
            missing.push(format!("decision {:?}", d.text));
        }
    }
    for a in &expected.action_items {
        let found = summary.action_items.iter().any(|got| {
            let text = format!("{} {}", got.task, got.due.as_deref().unwrap_or(""));
            let owner_ok = match (&a.owner, &got.owner) {
                (Some(want), Some(have)) => have.to_lowercase().contains(&want.to_lowercase()),
                (Some(_), None) => false,
                (None, _) => true,
            };
            owner_ok && holds_most(&text, &a.keywords)
        });
        if !found {
            missing.push(format!("action {:?}: {:?}", a.owner, a.text));
        }
    }
    if !missing.is_empty() {
        eprintln!("{}", serde_json::to_string_pretty(&summary).unwrap());
    }
    missing
}

#[test]
fn release_planning_finds_every_expected_decision_and_action() {
    let missing = misses("release-planning");
    assert!(missing.is_empty(), "missing: {missing:#?}");
}

#[test]
fn platform_planning_finds_every_expected_decision_and_action() {
    let missing = misses("platform-q3-planning");
    assert!(missing.is_empty(), "missing: {missing:#?}");
}

#[test]
fn mandarin_mobile_sync_finds_every_expected_decision_and_action() {
    let missing = misses("mobile-sync-zh");
    assert!(missing.is_empty(), "missing: {missing:#?}");
}

#[test]
fn summaries_of_samples_stay_within_budget_and_drop_fillers() {
    for name in ["release-planning", "platform-q3-planning", "mobile-sync-zh"] {
        let summary = summarize(name);
        assert!(
            summary.words <= 250 && summary.words >= 200,
            "{name}: {}",
            summary.words
        );
        let lower = format!(" {} ", summary.summary.to_lowercase());
        for filler in [" um ", " uh ", " um,", " uh,", "嗯", "呃"] {
            assert!(
                !lower.contains(filler),
                "{name}: {filler:?} in {}",
                summary.summary
            );
        }
    }
}

#[test]
fn diarized_speakers_are_named_by_the_work_they_took_on() {
    // S4 is never addressed by name; "Dana runs regression" in the recap
    // matches S4's own "I'll run the full regression pass".
    let summary = summarize("release-planning");
    let slots: Vec<_> = summary
        .action_items
        .iter()
        .filter(|a| a.owner.as_deref().is_some_and(|o| o.starts_with('S')))
        .collect();
    assert!(slots.is_empty(), "unnamed owners: {slots:#?}");
    let regression = summary
        .action_items
        .iter()
        .find(|a| a.task.contains("regression"))
        .unwrap();
    assert_eq!(regression.owner.as_deref(), Some("Dana"));
    assert_eq!(regression.due.as_deref(), Some("on Monday afternoon"));
}

#[test]
fn action_items_leave_out_meeting_talk_past_intentions_and_bare_pronouns() {
    let summary = summarize("platform-q3-planning");
    let tasks: Vec<&str> = summary
        .action_items
        .iter()
        .map(|a| a.task.as_str())
        .collect();
    for noise in [
        "check the time",
        "recap",
        "hold that for later",
        "wanted to come back to it",
        "announce it",
        "test it",
    ] {
        assert!(
            !tasks.iter().any(|t| t.starts_with(noise)),
            "{noise:?} in {tasks:#?}"
        );
    }
    // "Test the driver change", "test it" and "Tom tests the prepared
    // statement flag on staging" are one piece of work.
    let tom_tests = summary
        .action_items
        .iter()
        .filter(|a| a.owner.as_deref() == Some("Tom") && a.task.starts_with("test "))
        .count();
    assert_eq!(tom_tests, 1, "{tasks:#?}");
}
