//! Reading raw recognizer output: detect which format a body is in, then
//! turn it into one list of timed words, whatever the recognizer.

mod duration;
mod speech_v2;
mod whisper;

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How many top-level keys an "unrecognized format" error lists.
const KEYS_SHOWN: usize = 8;

/// The recognizer output formats this crate reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum RawFormat {
    /// Google Cloud Speech-to-Text v2: a `RecognizeResponse`, a
    /// `BatchRecognizeResults` file, or an inline `BatchRecognizeResponse`.
    #[serde(rename = "speech-v2")]
    SpeechV2,
    /// OpenAI Whisper `verbose_json` (also whisper.cpp, faster-whisper and
    /// WhisperX output of the same shape), with optional speaker labels.
    #[serde(rename = "whisper")]
    Whisper,
}

impl RawFormat {
    /// The name stored in `raw_transcripts.format`.
    pub fn as_str(self) -> &'static str {
        match self {
            RawFormat::SpeechV2 => "speech-v2",
            RawFormat::Whisper => "whisper",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            RawFormat::SpeechV2 => "Speech-to-Text v2",
            RawFormat::Whisper => "Whisper verbose_json",
        }
    }
}

impl fmt::Display for RawFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.describe())
    }
}

/// Why a raw transcript could not be read. Every variant is permanent: the
/// same body fails the same way on every attempt.
#[derive(Debug, thiserror::Error)]
pub enum FormatError {
    /// The body is not a JSON object.
    #[error(
        "raw transcript is a JSON {found}; expected an object in Speech-to-Text v2 \
         (`results`) or Whisper verbose_json (`segments`) format"
    )]
    NotAnObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// The body is an object with neither format's marker key.
    #[error(
        "raw transcript is neither Speech-to-Text v2 (needs a `results` array or \
         BatchRecognize file map) nor Whisper verbose_json (needs a `segments` array); \
         top-level keys: {keys}"
    )]
    Unrecognized {
        /// The first top-level keys of the body, comma-separated.
        keys: String,
    },
    /// The body carries both formats' marker keys.
    #[error(
        "raw transcript has both `results` (Speech-to-Text v2) and `segments` \
         (Whisper verbose_json); expected exactly one format"
    )]
    Ambiguous,
    /// `results` is an object, but not a map of BatchRecognize file results.
    #[error(
        "raw transcript is neither Speech-to-Text v2 nor Whisper verbose_json: its \
         `results` object is not a BatchRecognize file map (entries with `inlineResult`, \
         `transcript`, `cloudStorageResult` or `error`) but has keys {keys}, and there is \
         no `segments` array"
    )]
    NotFileResults {
        /// The first keys of the `results` object, comma-separated.
        keys: String,
    },
    /// A BatchRecognize response that covers several audio files.
    #[error("BatchRecognize response holds {count} files; expected exactly one per meeting")]
    FileCount {
        /// Files in the response.
        count: usize,
    },
    /// The recognizer reported an error for the file instead of a result.
    #[error("Speech-to-Text v2 reported an error for {file}: {message}")]
    RecognitionFailed {
        /// The audio file the error is about.
        file: String,
        /// The recognizer's error message.
        message: String,
    },
    /// The BatchRecognize response points at results in Cloud Storage.
    #[error(
        "BatchRecognize results for {file} were written to Cloud Storage; store the \
         content of the result file, not the operation response"
    )]
    NotInline {
        /// The audio file whose results are elsewhere.
        file: String,
    },
    /// The body has a format's marker key but not its schema.
    #[error("raw transcript looks like {format} but does not match its schema")]
    Malformed {
        /// The format the body claimed to be.
        format: RawFormat,
        /// What serde found wrong.
        #[source]
        source: serde_json::Error,
    },
    /// The body is well formed but has no words at all.
    #[error("raw transcript ({format}) contains no recognized words")]
    NoWords {
        /// The format that was read.
        format: RawFormat,
    },
}

/// One word as the recognizer reported it, before tokenization.
#[derive(Debug, Clone, PartialEq)]
pub struct RawWord {
    /// The word's text, possibly with punctuation attached.
    pub text: String,
    /// Start, in milliseconds from the start of the audio.
    pub start_ms: u64,
    /// End, in milliseconds from the start of the audio.
    pub end_ms: u64,
    /// Recognizer confidence in 0..=1, when it reported one.
    pub confidence: Option<f32>,
    /// Diarization label, when the recognizer (or a diarization step) set one.
    pub speaker: Option<String>,
}

/// A recognizer's output read into a common shape.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognized {
    /// The format it was read from.
    pub format: RawFormat,
    /// The language the recognizer reported, if any (`en-US`, `english`).
    pub language: Option<String>,
    /// Every word, in the recognizer's order.
    pub words: Vec<RawWord>,
}

/// Decide which format `body` is in.
///
/// # Errors
///
/// A [`FormatError`] naming both accepted formats when `body` is neither.
pub fn detect(body: &Value) -> Result<RawFormat, FormatError> {
    let Value::Object(map) = body else {
        return Err(FormatError::NotAnObject {
            found: json_type(body),
        });
    };
    let results = map
        .get("results")
        .is_some_and(|v| v.is_array() || v.is_object());
    let segments = map.get("segments").is_some_and(Value::is_array);
    match (results, segments) {
        (true, true) => Err(FormatError::Ambiguous),
        (true, false) => Ok(RawFormat::SpeechV2),
        (false, true) => Ok(RawFormat::Whisper),
        (false, false) => Err(FormatError::Unrecognized {
            keys: key_list(map),
        }),
    }
}

/// Detect the format of `body` and read its words.
///
/// # Errors
///
/// A [`FormatError`] when the format is unknown, the body does not match
/// its format's schema, or it holds no words.
pub fn read(body: &Value) -> Result<Recognized, FormatError> {
    let format = detect(body)?;
    let recognized = match format {
        RawFormat::SpeechV2 => speech_v2::read(body)?,
        RawFormat::Whisper => whisper::read(body)?,
    };
    if recognized.words.is_empty() {
        return Err(FormatError::NoWords { format });
    }
    Ok(recognized)
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn key_list(map: &serde_json::Map<String, Value>) -> String {
    if map.is_empty() {
        return "(none)".to_owned();
    }
    let mut keys: Vec<&str> = map.keys().map(String::as_str).take(KEYS_SHOWN).collect();
    if map.len() > KEYS_SHOWN {
        keys.push("...");
    }
    keys.join(", ")
}

/// Spread `texts` over `[start_ms, end_ms]` in proportion to their length in
/// characters: the best guess at word timings when the recognizer gave a
/// segment's text but no per-word times.
fn spread(texts: Vec<String>, start_ms: u64, end_ms: u64) -> Vec<(String, u64, u64)> {
    let total: u64 = texts.iter().map(|t| t.chars().count().max(1) as u64).sum();
    let span = end_ms.saturating_sub(start_ms);
    let mut done = 0u64;
    texts
        .into_iter()
        .map(|text| {
            let len = text.chars().count().max(1) as u64;
            let from = start_ms + span * done / total.max(1);
            done += len;
            let to = start_ms + span * done / total.max(1);
            (text, from, to)
        })
        .collect()
}

/// Fill the unknown start and end times of a run of words from their
/// neighbours, bounded by `[lo, hi]`. WhisperX, for one, leaves numbers
/// without timings.
fn fill_missing_times(times: &mut [(Option<u64>, Option<u64>)], lo: u64, hi: u64) {
    let mut last_end = lo;
    for i in 0..times.len() {
        let next_start = times[i + 1..]
            .iter()
            .find_map(|(s, e)| s.or(*e))
            .unwrap_or(hi);
        let (start, end) = &mut times[i];
        let s = start.unwrap_or(last_end);
        let e = end.unwrap_or(next_start.max(s));
        *start = Some(s);
        *end = Some(e.max(s));
        last_end = e.max(s);
    }
}

/// Milliseconds from seconds, as recognizers report them; negative and
/// non-finite values (never produced by a working recognizer) become 0.
fn secs_to_ms(secs: f64) -> u64 {
    if secs.is_finite() && secs > 0.0 {
        (secs * 1000.0).round() as u64
    } else {
        0
    }
}

/// Split a transcript string into words on whitespace.
fn words_of(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn detection_names_both_formats_for_an_unknown_object() {
        let err = detect(&json!({"jobName": "x", "status": "COMPLETED"})).unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("Speech-to-Text v2"), "{msg}");
        assert!(msg.contains("Whisper verbose_json"), "{msg}");
        assert!(msg.contains("jobName, status"), "{msg}");
    }

    #[test]
    fn detection_rejects_non_objects_by_type() {
        let err = detect(&json!(["a"])).unwrap_err();
        assert!(err.to_string().contains("is a JSON array"), "{err}");
    }

    #[test]
    fn detection_rejects_a_body_with_both_marker_keys() {
        let err = detect(&json!({"results": [], "segments": []})).unwrap_err();
        assert!(matches!(err, FormatError::Ambiguous));
    }

    #[test]
    fn spread_covers_the_span_in_order() {
        let out = spread(vec!["ab".into(), "abcd".into()], 1000, 1600);
        assert_eq!(out[0], ("ab".into(), 1000, 1200));
        assert_eq!(out[1], ("abcd".into(), 1200, 1600));
    }

    #[test]
    fn missing_times_are_filled_from_neighbours() {
        let mut times = [(Some(0), Some(100)), (None, None), (Some(300), Some(400))];
        fill_missing_times(&mut times, 0, 500);
        assert_eq!(times[1], (Some(100), Some(300)));
    }
}
