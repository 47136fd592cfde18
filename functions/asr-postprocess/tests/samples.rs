//! The sample meetings in `samples/`: their statistics, their expected
//! files, and the one built to fail.

#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;

use asr_postprocess::{FormatError, Pipeline, RawFormat, Transcript};
use common::{MEETINGS, clean, expected, sample, transcript_words, words};
use serde_json::Value;

const MINUTE_MS: u64 = 60_000;

fn low_confidence_in(transcript: &Transcript) -> Vec<String> {
    transcript
        .turns
        .iter()
        .flat_map(|t| t.low_confidence.iter().map(|w| w.word.clone()))
        .collect()
}

#[test]
fn release_planning_has_four_speakers_and_one_turn_per_line_plus_a_pause_split() {
    let t = clean("release-planning");
    let s = &t.stats;
    assert_eq!(s.format, RawFormat::SpeechV2);
    assert_eq!(s.language.as_deref(), Some("en"));
    assert!(s.diarized);
    assert_eq!(s.speakers, 4);
    // 48 script lines, no two in a row by one speaker, and one 2.6 s pause
    // inside Priya's turn about the code freeze.
    assert_eq!(s.turns, 49);
    let priya_pause = t
        .turns
        .iter()
        .position(|x| x.text.starts_with("Marcus the checkout fix"));
    assert_eq!(
        t.turns[priya_pause.unwrap() - 1].speaker,
        t.turns[priya_pause.unwrap()].speaker
    );
    assert_eq!(
        low_confidence_in(&t),
        ["D", "secure", "fragment", "replication"]
    );
    assert!(s.duration_ms > 8 * MINUTE_MS);
}

#[test]
fn unpunctuated_recognizer_output_gets_sentence_case_and_full_stops() {
    let t = clean("release-planning");
    for turn in &t.turns {
        let first = turn.text.chars().next().unwrap();
        assert!(
            first.is_uppercase() || first.is_ascii_digit(),
            "{}",
            turn.text
        );
        assert!(turn.text.ends_with(['.', '?', '!']), "{}", turn.text);
    }
    let first = &t.turns[0].text;
    assert!(
        first.starts_with("Okay I think everyone's here. So the main thing"),
        "{first}"
    );
}

#[test]
fn mobile_sync_is_mixed_mandarin_english_with_four_speakers() {
    let t = clean("mobile-sync-zh");
    let s = &t.stats;
    assert_eq!(s.format, RawFormat::SpeechV2);
    assert_eq!(s.language.as_deref(), Some("zh-en"));
    assert_eq!((s.speakers, s.turns), (4, 33));
    assert_eq!(s.filler_counts.get("那个"), Some(&3));
    assert_eq!(low_confidence_in(&t), ["OOM", "deadline"]);
    for turn in &t.turns {
        assert!(turn.text.ends_with(['。', '？', '！']), "{}", turn.text);
    }
    assert!(
        t.turns[0]
            .text
            .starts_with("好，我们开始吧。今天主要三件事"),
        "{}",
        t.turns[0].text
    );
}

#[test]
fn platform_planning_is_long_enough_to_need_chunking() {
    let t = clean("platform-q3-planning");
    let s = &t.stats;
    assert_eq!(s.format, RawFormat::Whisper);
    assert_eq!(s.speakers, 5);
    // 224 script lines, two pairs by the same speaker merged, three long
    // pauses splitting a turn.
    assert_eq!(s.turns, 225);
    assert!(s.words >= 5000, "{} words", s.words);
    assert!(s.duration_ms >= 30 * MINUTE_MS, "{} ms", s.duration_ms);
    assert_eq!(low_confidence_in(&t), ["pgbouncer", "test"]);
}

#[test]
fn statistics_add_up_for_every_sample() {
    for name in MEETINGS {
        let t = clean(name);
        let s = &t.stats;
        let per_speaker_words: usize = s.per_speaker.iter().map(|p| p.words).sum();
        let per_speaker_turns: usize = s.per_speaker.iter().map(|p| p.turns).sum();
        let talk: u64 = s.per_speaker.iter().map(|p| p.talk_time_ms).sum();
        assert_eq!(per_speaker_words, s.words, "{name}");
        assert_eq!(per_speaker_turns, s.turns, "{name}");
        assert_eq!(s.per_speaker.len(), s.speakers, "{name}");
        assert!(talk > 0 && talk <= s.duration_ms, "{name}");
        assert!(s.words + s.repeats_removed < s.raw_words, "{name}");
        assert_eq!(s.turns, t.turns.len(), "{name}");
        assert_eq!(
            s.low_confidence_words,
            low_confidence_in(&t).len(),
            "{name}"
        );
    }
}

#[test]
fn turn_times_are_milliseconds_in_order() {
    for name in MEETINGS {
        let t = clean(name);
        let raw = asr_postprocess::input::read(&sample(name)["raw_asr"]).unwrap();
        let last_end = raw.words.iter().map(|w| w.end_ms).max().unwrap();
        assert_eq!(t.stats.duration_ms, last_end, "{name}");
        for pair in t.turns.windows(2) {
            assert!(pair[0].start_ms <= pair[0].end_ms, "{name}");
            assert!(pair[0].end_ms <= pair[1].start_ms, "{name}");
        }
    }
}

#[test]
fn transcript_text_is_one_speaker_line_per_turn() {
    for name in MEETINGS {
        let t = clean(name);
        let lines: Vec<&str> = t.text.lines().collect();
        assert_eq!(lines.len(), t.turns.len(), "{name}");
        for (line, turn) in lines.iter().zip(&t.turns) {
            assert_eq!(*line, format!("{}: {}", turn.speaker, turn.text));
        }
    }
}

#[test]
fn expected_speaker_counts_match_the_cleaned_samples() {
    for name in MEETINGS {
        let speakers = expected(name)["speakers"].as_u64().unwrap() as usize;
        assert_eq!(clean(name).stats.speakers, speakers, "{name}");
    }
}

#[test]
fn expected_keywords_appear_in_the_clean_transcripts() {
    for name in MEETINGS {
        let text = clean(name).text.to_lowercase();
        let exp = expected(name);
        let items = exp["decisions"]
            .as_array()
            .unwrap()
            .iter()
            .chain(exp["action_items"].as_array().unwrap());
        for item in items {
            for keyword in item["keywords"].as_array().unwrap() {
                let keyword = keyword.as_str().unwrap().to_lowercase();
                assert!(text.contains(&keyword), "{name}: `{keyword}` missing");
            }
        }
        for item in exp["action_items"].as_array().unwrap() {
            let owner = item["owner"].as_str().unwrap().to_lowercase();
            assert!(text.contains(&owner), "{name}: owner {owner} never named");
        }
    }
}

#[test]
fn expected_fillers_are_the_ones_removed() {
    for name in MEETINGS {
        let listed: BTreeSet<String> = expected(name)["fillers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().unwrap().to_owned())
            .collect();
        let removed: BTreeSet<String> = clean(name).stats.filler_counts.keys().cloned().collect();
        assert_eq!(listed, removed, "{name}");
    }
}

#[test]
fn listed_single_word_fillers_are_gone_from_the_transcripts() {
    for name in MEETINGS {
        let clean_words = transcript_words(&clean(name));
        for filler in expected(name)["fillers"].as_array().unwrap() {
            let filler = filler.as_str().unwrap();
            if words(filler).len() == 1 {
                assert!(
                    !clean_words.iter().any(|w| w == filler),
                    "{name}: {filler} left"
                );
            }
        }
    }
}

#[test]
fn broken_sample_fails_permanently_naming_both_formats() {
    let file = sample("broken-format");
    let err = Pipeline::default()
        .process(&file["raw_asr"], file["language"].as_str())
        .unwrap_err();
    assert!(matches!(err, FormatError::NotFileResults { .. }), "{err:?}");
    let exp = expected("broken-format");
    for needle in exp["dead_letter"]["reason_contains"].as_array().unwrap() {
        let needle = needle.as_str().unwrap();
        assert!(err.to_string().contains(needle), "{err} lacks {needle}");
    }
    assert_eq!(exp["dead_letter"]["error_kind"], Value::from("permanent"));
}
