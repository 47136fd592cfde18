//! Both recognizer formats read into the same transcript, and anything else
//! is refused with a message that says what was expected.

#![allow(clippy::unwrap_used)]

use asr_postprocess::{FormatError, Pipeline, RawFormat, Settings, detect};
use serde_json::{Value, json};

/// One recognized word: speaker index (0-based), text, start and end in
/// seconds, confidence.
type Word = (usize, &'static str, f64, f64, f64);

/// A short exchange with fillers, a stutter, a low-confidence word and a
/// 3 s pause inside the second speaker's turn.
const EXCHANGE: &[Word] = &[
    (0, "Um,", 0.50, 0.80, 0.61),
    (0, "so", 0.95, 1.10, 0.97),
    (0, "the", 1.10, 1.25, 0.95),
    (0, "the", 1.30, 1.42, 0.93),
    (0, "build", 1.45, 1.80, 0.98),
    (0, "is", 1.80, 1.92, 0.99),
    (0, "green.", 1.92, 2.40, 0.96),
    (1, "Great,", 2.90, 3.30, 0.97),
    (1, "uh,", 3.40, 3.60, 0.72),
    (1, "let's", 3.70, 3.95, 0.95),
    (1, "ship", 3.95, 4.20, 0.98),
    (1, "Friday.", 4.20, 4.80, 0.94),
    (1, "Kubernetes", 7.80, 8.50, 0.31),
    (1, "can", 8.50, 8.70, 0.97),
    (1, "wait.", 8.70, 9.10, 0.95),
    (0, "Agreed.", 9.60, 10.20, 0.99),
];

fn secs(value: f64) -> String {
    format!("{value:.3}s")
}

/// The exchange as Speech-to-Text v2 returns it: one result per stretch of
/// one speaker, labels "1" and "2".
fn speech_v2(words: &[Word]) -> Value {
    let results: Vec<Value> = words
        .chunk_by(|a, b| a.0 == b.0)
        .map(|run| {
            let transcript: Vec<&str> = run.iter().map(|w| w.1).collect();
            json!({
                "alternatives": [{
                    "transcript": transcript.join(" "),
                    "confidence": 0.9,
                    "words": run.iter().map(|w| json!({
                        "startOffset": secs(w.2),
                        "endOffset": secs(w.3),
                        "word": w.1,
                        "confidence": w.4,
                        "speakerLabel": (w.0 + 1).to_string(),
                    })).collect::<Vec<_>>(),
                }],
                "resultEndOffset": secs(run[run.len() - 1].3),
                "languageCode": "en-us",
            })
        })
        .collect();
    json!({ "results": results, "metadata": { "totalBilledDuration": "11s" } })
}

/// The same exchange as Whisper verbose_json with pyannote speaker labels.
fn whisper(words: &[Word]) -> Value {
    let segments: Vec<Value> = words
        .chunk_by(|a, b| a.0 == b.0)
        .enumerate()
        .map(|(id, run)| {
            let text: String = run.iter().map(|w| format!(" {}", w.1)).collect();
            json!({
                "id": id, "seek": 0, "start": run[0].2, "end": run[run.len() - 1].3,
                "text": text, "temperature": 0.0, "avg_logprob": -0.2,
                "compression_ratio": 1.4, "no_speech_prob": 0.01,
                "speaker": format!("SPEAKER_{:02}", run[0].0),
                "words": run.iter().map(|w| json!({
                    "word": format!(" {}", w.1), "start": w.2, "end": w.3, "probability": w.4,
                })).collect::<Vec<_>>(),
            })
        })
        .collect();
    json!({ "task": "transcribe", "language": "english", "duration": 10.5, "segments": segments })
}

#[test]
fn equivalent_speech_v2_and_whisper_inputs_give_the_same_turns() {
    let pipeline = Pipeline::default();
    let from_google = pipeline.process(&speech_v2(EXCHANGE), Some("en")).unwrap();
    let from_whisper = pipeline.process(&whisper(EXCHANGE), Some("en")).unwrap();
    assert_eq!(from_google.turns, from_whisper.turns);
    assert_eq!(from_google.text, from_whisper.text);
    assert_eq!(from_google.stats.format, RawFormat::SpeechV2);
    assert_eq!(from_whisper.stats.format, RawFormat::Whisper);
    let mut google_stats = from_google.stats;
    google_stats.format = RawFormat::Whisper;
    assert_eq!(google_stats, from_whisper.stats);
}

#[test]
fn turns_merge_one_speaker_split_at_long_pauses_and_time_in_milliseconds() {
    let t = Pipeline::default()
        .process(&speech_v2(EXCHANGE), None)
        .unwrap();
    let shape: Vec<(&str, u64, u64, &str)> = t
        .turns
        .iter()
        .map(|x| (x.speaker.as_str(), x.start_ms, x.end_ms, x.text.as_str()))
        .collect();
    assert_eq!(
        shape,
        [
            ("S1", 950, 2400, "So the build is green."),
            ("S2", 2900, 4800, "Great, let's ship Friday."),
            ("S2", 7800, 9100, "Kubernetes can wait."),
            ("S1", 9600, 10200, "Agreed."),
        ]
    );
    assert_eq!(t.text.lines().next(), Some("S1: So the build is green."));
}

#[test]
fn low_confidence_words_are_marked_below_the_configured_threshold() {
    let t = Pipeline::default()
        .process(&whisper(EXCHANGE), None)
        .unwrap();
    let marked: Vec<(&str, u64, f32)> = t
        .turns
        .iter()
        .flat_map(|x| &x.low_confidence)
        .map(|w| (w.word.as_str(), w.start_ms, w.confidence))
        .collect();
    assert_eq!(marked, [("Kubernetes", 7800, 0.31)]);

    let strict = Settings {
        low_confidence: 0.95,
        ..Settings::default()
    };
    let t = Pipeline::new(strict)
        .process(&whisper(EXCHANGE), None)
        .unwrap();
    let words: Vec<&str> = t
        .turns
        .iter()
        .flat_map(|x| &x.low_confidence)
        .map(|w| w.word.as_str())
        .collect();
    assert_eq!(words, ["the", "Friday", "Kubernetes"]);
}

#[test]
fn the_turn_pause_is_configurable() {
    let patient = Settings {
        turn_pause_ms: 5000,
        ..Settings::default()
    };
    let t = Pipeline::new(patient)
        .process(&speech_v2(EXCHANGE), None)
        .unwrap();
    assert_eq!(t.turns.len(), 3);
    assert_eq!(
        t.turns[1].text,
        "Great, let's ship Friday. Kubernetes can wait."
    );
}

#[test]
fn statistics_count_speakers_words_fillers_and_talk_time() {
    let s = Pipeline::default()
        .process(&whisper(EXCHANGE), None)
        .unwrap()
        .stats;
    assert_eq!((s.speakers, s.turns, s.raw_words, s.words), (2, 4, 16, 13));
    assert_eq!((s.fillers_removed, s.repeats_removed), (2, 1));
    assert_eq!(s.filler_counts.get("um"), Some(&1));
    assert_eq!(s.filler_counts.get("uh"), Some(&1));
    let talk: Vec<(&str, u64)> = s
        .per_speaker
        .iter()
        .map(|p| (p.speaker.as_str(), p.talk_time_ms))
        .collect();
    assert_eq!(talk, [("S1", 1450 + 600), ("S2", 1900 + 1300)]);
    assert_eq!(s.duration_ms, 10200);
}

#[test]
fn speech_v2_in_snake_case_dictionary_form_is_read() {
    let body = json!({"results": [{"alternatives": [{"words": [
        {"start_offset": "0.100s", "end_offset": "0.500s", "word": "hello", "speaker_label": "1"},
        {"start_offset": {"seconds": 1, "nanos": 0}, "end_offset": 1.5, "word": "there",
         "speaker_label": "2"}]}], "result_end_offset": "2s", "language_code": "en-us"}]});
    let t = Pipeline::default().process(&body, None).unwrap();
    let spans: Vec<(u64, u64)> = t.turns.iter().map(|x| (x.start_ms, x.end_ms)).collect();
    assert_eq!(spans, [(100, 500), (1000, 1500)]);
    assert_eq!(t.stats.language.as_deref(), Some("en-us"));
}

#[test]
fn whisper_without_word_timestamps_is_read_from_segments() {
    let body = json!({"language": "english", "segments": [
        {"id": 0, "start": 0.0, "end": 2.0, "text": " um we could ship it", "speaker": "A"},
        {"id": 1, "start": 2.5, "end": 3.0, "text": " sure", "speaker": "B"}]});
    let t = Pipeline::default().process(&body, None).unwrap();
    let texts: Vec<(&str, &str)> = t
        .turns
        .iter()
        .map(|x| (x.speaker.as_str(), x.text.as_str()))
        .collect();
    assert_eq!(texts, [("A", "We could ship it."), ("B", "Sure.")]);
    assert!(t.turns.iter().all(|x| x.low_confidence.is_empty()));
}

#[test]
fn undiarized_whisper_output_is_one_speaker() {
    let mut body = whisper(EXCHANGE);
    for segment in body["segments"].as_array_mut().unwrap() {
        segment.as_object_mut().unwrap().remove("speaker");
    }
    let t = Pipeline::default().process(&body, None).unwrap();
    assert!(!t.stats.diarized);
    assert_eq!(t.stats.speakers, 1);
    assert!(t.turns.iter().all(|x| x.speaker == "S1"));
}

#[test]
fn detection_names_the_format_of_each_recognizer() {
    assert_eq!(detect(&speech_v2(EXCHANGE)).unwrap(), RawFormat::SpeechV2);
    assert_eq!(detect(&whisper(EXCHANGE)).unwrap(), RawFormat::Whisper);
}

#[test]
fn unknown_shapes_are_refused_naming_both_expected_formats() {
    let bodies = [
        json!("plain text transcript"),
        json!([{"start": 0, "text": "hi"}]),
        json!({}),
        json!({"transcript": "hi", "words": []}),
        json!({"results": {"transcripts": [{"transcript": "hi"}], "items": []}}),
    ];
    for body in bodies {
        let err = Pipeline::default().process(&body, None).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("Speech-to-Text v2"), "{body}: {msg}");
        assert!(msg.contains("Whisper verbose_json"), "{body}: {msg}");
    }
}

#[test]
fn well_shaped_bodies_with_bad_fields_or_no_words_are_refused_clearly() {
    let cases = [
        (
            json!({"segments": [{"start": "soon", "end": 1.0, "text": "x"}]}),
            "Whisper verbose_json",
        ),
        (
            json!({"results": [{"alternatives": [{"words": [
                {"word": "x", "startOffset": "1.5"}]}]}]}),
            "Speech-to-Text v2",
        ),
        (json!({"results": []}), "no recognized words"),
        (json!({"segments": []}), "no recognized words"),
        (
            json!({"results": {"a.flac": {"inlineResult": {}}, "b.flac": {"inlineResult": {}}}}),
            "expected exactly one",
        ),
    ];
    for (body, needle) in cases {
        let err = Pipeline::default().process(&body, None).unwrap_err();
        assert!(err.to_string().contains(needle), "{body}: {err}");
    }
    let malformed = Pipeline::default()
        .process(&json!({"segments": [{"start": "soon", "end": 1.0}]}), None)
        .unwrap_err();
    assert!(matches!(
        malformed,
        FormatError::Malformed {
            format: RawFormat::Whisper,
            ..
        }
    ));
    assert!(std::error::Error::source(&malformed).is_some());
}
