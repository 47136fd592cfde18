//! OpenAI Whisper `verbose_json`.
//!
//! Word timings come from one of three places: `segments[].words` (the
//! open-source model with `word_timestamps=True`, faster-whisper, WhisperX),
//! a top-level `words` list (the hosted API with word granularity), or
//! nowhere, in which case each segment's text is spread over its span.
//! Whisper has no speakers; diarization pipelines add a `speaker` to
//! segments or words, which is read when present.

use serde::{Deserialize, Deserializer};
use serde_json::Value;

use super::{FormatError, RawFormat, RawWord, Recognized};

#[derive(Deserialize)]
struct Verbose {
    #[serde(default)]
    language: Option<String>,
    segments: Vec<Segment>,
    #[serde(default)]
    words: Vec<Word>,
}

#[derive(Deserialize)]
struct Segment {
    start: f64,
    end: f64,
    #[serde(default)]
    text: String,
    #[serde(default)]
    words: Option<Vec<Word>>,
    #[serde(default, deserialize_with = "label")]
    speaker: Option<String>,
}

#[derive(Deserialize)]
struct Word {
    #[serde(alias = "text")]
    word: String,
    #[serde(default)]
    start: Option<f64>,
    #[serde(default)]
    end: Option<f64>,
    #[serde(default, alias = "score")]
    probability: Option<f32>,
    #[serde(default, deserialize_with = "label")]
    speaker: Option<String>,
}

/// Speaker labels are strings in most pipelines and integers in some.
fn label<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(deserializer)? {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    })
}

/// Read a Whisper body into words.
pub(super) fn read(body: &Value) -> Result<Recognized, FormatError> {
    let mut verbose = Verbose::deserialize(body).map_err(|source| FormatError::Malformed {
        format: RawFormat::Whisper,
        source,
    })?;
    attach_top_level_words(&mut verbose);
    let words = verbose.segments.iter().flat_map(words_of_segment).collect();
    Ok(Recognized {
        format: RawFormat::Whisper,
        language: verbose.language.filter(|l| !l.is_empty()),
        words,
    })
}

/// Move a top-level `words` list into the segments whose span holds each
/// word's midpoint, so that segment speakers reach the words.
fn attach_top_level_words(verbose: &mut Verbose) {
    let has_segment_words = verbose
        .segments
        .iter()
        .any(|s| s.words.as_ref().is_some_and(|w| !w.is_empty()));
    if has_segment_words || verbose.words.is_empty() || verbose.segments.is_empty() {
        return;
    }
    let last = verbose.segments.len() - 1;
    for word in std::mem::take(&mut verbose.words) {
        let mid = (word.start.unwrap_or(0.0) + word.end.or(word.start).unwrap_or(0.0)) / 2.0;
        let index = verbose
            .segments
            .iter()
            .position(|s| mid <= s.end)
            .unwrap_or(last);
        verbose.segments[index]
            .words
            .get_or_insert_with(Vec::new)
            .push(word);
    }
}

fn words_of_segment(segment: &Segment) -> Vec<RawWord> {
    let start = super::secs_to_ms(segment.start);
    let end = super::secs_to_ms(segment.end).max(start);
    match segment.words.as_deref() {
        Some(words) if !words.is_empty() => timed_words(segment, words, start, end),
        _ => super::spread(super::words_of(&segment.text), start, end)
            .into_iter()
            .map(|(text, start_ms, end_ms)| RawWord {
                text,
                start_ms,
                end_ms,
                confidence: None,
                speaker: segment.speaker.clone(),
            })
            .collect(),
    }
}

fn timed_words(segment: &Segment, words: &[Word], start: u64, end: u64) -> Vec<RawWord> {
    let mut times: Vec<(Option<u64>, Option<u64>)> = words
        .iter()
        .map(|w| (w.start.map(super::secs_to_ms), w.end.map(super::secs_to_ms)))
        .collect();
    super::fill_missing_times(&mut times, start, end);
    words
        .iter()
        .zip(times)
        .filter(|(w, _)| !w.word.trim().is_empty())
        .map(|(w, (s, e))| RawWord {
            // Whisper words carry their leading space.
            text: w.word.trim().to_owned(),
            start_ms: s.unwrap_or(start),
            end_ms: e.unwrap_or(end),
            confidence: w.probability,
            speaker: w.speaker.clone().or_else(|| segment.speaker.clone()),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn segment_words_are_trimmed_and_keep_probability() {
        let body = json!({"text": " Hello there.", "language": "english", "segments": [
            {"id": 0, "start": 0.0, "end": 1.2, "text": " Hello there.", "speaker": "SPEAKER_01",
             "words": [{"word": " Hello", "start": 0.0, "end": 0.5, "probability": 0.98},
                       {"word": " there.", "start": 0.5, "end": 1.2, "probability": 0.41}]}]});
        let r = read(&body).unwrap();
        assert_eq!(r.language.as_deref(), Some("english"));
        assert_eq!(r.words[1].text, "there.");
        assert_eq!(r.words[1].confidence, Some(0.41));
        assert_eq!(r.words[1].speaker.as_deref(), Some("SPEAKER_01"));
    }

    #[test]
    fn top_level_words_inherit_the_speaker_of_their_segment() {
        let body = json!({"segments": [
            {"start": 0.0, "end": 1.0, "text": " a", "speaker": "A"},
            {"start": 1.0, "end": 2.0, "text": " b", "speaker": "B"}],
            "words": [{"word": "a", "start": 0.1, "end": 0.9},
                      {"word": "b", "start": 1.1, "end": 1.9}]});
        let r = read(&body).unwrap();
        let speakers: Vec<_> = r.words.iter().map(|w| w.speaker.clone().unwrap()).collect();
        assert_eq!(speakers, vec!["A", "B"]);
        assert_eq!(r.words[1].start_ms, 1100);
    }

    #[test]
    fn segments_without_words_are_spread_over_their_span() {
        let body = json!({"segments": [{"start": 1.0, "end": 2.0, "text": " ab cd"}]});
        let r = read(&body).unwrap();
        assert_eq!((r.words[0].start_ms, r.words[1].end_ms), (1000, 2000));
    }

    #[test]
    fn whisperx_words_without_times_and_integer_speakers_are_accepted() {
        let body = json!({"segments": [{"start": 0.0, "end": 3.0, "text": " in 2024 ok",
            "speaker": 1, "words": [{"word": "in", "start": 0.0, "end": 0.5, "score": 0.9},
            {"word": "2024"}, {"word": "ok", "start": 2.0, "end": 3.0, "score": 0.8}]}]});
        let r = read(&body).unwrap();
        assert_eq!((r.words[1].start_ms, r.words[1].end_ms), (500, 2000));
        assert_eq!(r.words[0].speaker.as_deref(), Some("1"));
    }

    #[test]
    fn segment_with_wrong_types_is_malformed_whisper() {
        let err = read(&json!({"segments": [{"start": "zero", "end": 1.0}]})).unwrap_err();
        assert!(
            err.to_string().contains("looks like Whisper verbose_json"),
            "{err}"
        );
    }
}
