//! Google Cloud Speech-to-Text v2.
//!
//! Three bodies carry the same `SpeechRecognitionResult` list:
//! `RecognizeResponse` and the `BatchRecognizeResults` file a batch job
//! writes (`{"results": [...]}`), and an inline `BatchRecognizeResponse`
//! (`{"results": {"<audio uri>": {"inlineResult": {"transcript": {...}}}}}`).
//! Field names are read in proto3 JSON camelCase and in the snake_case that
//! dictionary conversions produce.

use std::collections::BTreeSet;

use serde::Deserialize;
use serde_json::{Map, Value};

use super::duration::Offset;
use super::{FormatError, RawFormat, RawWord, Recognized};

#[derive(Deserialize)]
struct ResultList {
    #[serde(default)]
    results: Vec<SpeechResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SpeechResult {
    #[serde(default)]
    alternatives: Vec<Alternative>,
    #[serde(default, alias = "channel_tag")]
    channel_tag: Option<i64>,
    #[serde(default, alias = "result_end_offset")]
    result_end_offset: Option<Offset>,
    #[serde(default, alias = "language_code")]
    language_code: Option<String>,
}

#[derive(Deserialize)]
struct Alternative {
    #[serde(default)]
    transcript: String,
    #[serde(default)]
    words: Vec<WordInfo>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WordInfo {
    #[serde(default, alias = "start_offset")]
    start_offset: Option<Offset>,
    #[serde(default, alias = "end_offset")]
    end_offset: Option<Offset>,
    #[serde(default)]
    word: String,
    #[serde(default)]
    confidence: Option<f32>,
    #[serde(default, alias = "speaker_label")]
    speaker_label: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FileResult {
    #[serde(default)]
    error: Option<Status>,
    #[serde(default, alias = "inline_result")]
    inline_result: Option<InlineResult>,
    #[serde(default)]
    transcript: Option<ResultList>,
}

#[derive(Deserialize)]
struct InlineResult {
    #[serde(default)]
    transcript: Option<ResultList>,
}

#[derive(Deserialize)]
struct Status {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

const FILE_RESULT_KEYS: [&str; 8] = [
    "inlineResult",
    "inline_result",
    "transcript",
    "cloudStorageResult",
    "cloud_storage_result",
    "error",
    "uri",
    "metadata",
];

/// Read a Speech-to-Text v2 body into words.
pub(super) fn read(body: &Value) -> Result<Recognized, FormatError> {
    let results = match body.get("results") {
        Some(Value::Object(files)) => single_file(files)?,
        _ => decode::<ResultList>(body)?.results,
    };
    let language = results
        .iter()
        .filter_map(|r| r.language_code.clone())
        .find(|code| !code.is_empty());
    Ok(Recognized {
        format: RawFormat::SpeechV2,
        language,
        words: words_of_results(&results),
    })
}

fn decode<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, FormatError> {
    T::deserialize(value).map_err(|source| FormatError::Malformed {
        format: RawFormat::SpeechV2,
        source,
    })
}

/// The results of the one file in a `BatchRecognizeResponse`.
fn single_file(files: &Map<String, Value>) -> Result<Vec<SpeechResult>, FormatError> {
    let looks_like_files = !files.is_empty()
        && files.values().all(|v| {
            v.as_object()
                .is_some_and(|o| FILE_RESULT_KEYS.iter().any(|k| o.contains_key(*k)))
        });
    if !looks_like_files {
        return Err(FormatError::NotFileResults {
            keys: super::key_list(files),
        });
    }
    if files.len() != 1 {
        return Err(FormatError::FileCount { count: files.len() });
    }
    let Some((file, value)) = files.iter().next() else {
        return Err(FormatError::FileCount { count: 0 });
    };
    file_results(file, decode::<FileResult>(value)?)
}

fn file_results(file: &str, result: FileResult) -> Result<Vec<SpeechResult>, FormatError> {
    if let Some(status) = result.error.filter(|s| s.code.unwrap_or(0) != 0) {
        return Err(FormatError::RecognitionFailed {
            file: file.to_owned(),
            message: status.message.unwrap_or_else(|| "no message".to_owned()),
        });
    }
    let inline = result.inline_result.and_then(|i| i.transcript);
    match inline.or(result.transcript) {
        Some(list) => Ok(list.results),
        None => Err(FormatError::NotInline {
            file: file.to_owned(),
        }),
    }
}

/// Words of every result's top alternative, in order.
fn words_of_results(results: &[SpeechResult]) -> Vec<RawWord> {
    let channels: BTreeSet<i64> = results.iter().filter_map(|r| r.channel_tag).collect();
    let multichannel = channels.len() > 1;
    let mut per_result = Vec::with_capacity(results.len());
    let mut previous_end = 0;
    for result in results {
        let Some(top) = result.alternatives.first() else {
            continue;
        };
        let end = result.result_end_offset.map_or(previous_end, |o| o.0);
        let channel = result.channel_tag.filter(|_| multichannel);
        per_result.push(words_of_alternative(top, previous_end, end, channel));
        previous_end = end.max(previous_end);
    }
    drop_diarization_repeat(&mut per_result);
    per_result.into_iter().flatten().collect()
}

fn words_of_alternative(
    top: &Alternative,
    window_start: u64,
    window_end: u64,
    channel: Option<i64>,
) -> Vec<RawWord> {
    let channel_label = channel.map(|c| format!("channel {c}"));
    if top.words.is_empty() {
        let texts = super::words_of(&top.transcript);
        return super::spread(texts, window_start, window_end.max(window_start))
            .into_iter()
            .map(|(text, start_ms, end_ms)| RawWord {
                text,
                start_ms,
                end_ms,
                confidence: None,
                speaker: channel_label.clone(),
            })
            .collect();
    }
    let mut times: Vec<(Option<u64>, Option<u64>)> = top
        .words
        .iter()
        .map(|w| (w.start_offset.map(|o| o.0), w.end_offset.map(|o| o.0)))
        .collect();
    super::fill_missing_times(&mut times, window_start, window_end.max(window_start));
    top.words
        .iter()
        .zip(times)
        .filter(|(w, _)| !w.word.trim().is_empty())
        .map(|(w, (start, end))| RawWord {
            text: w.word.trim().to_owned(),
            start_ms: start.unwrap_or(window_start),
            end_ms: end.unwrap_or(window_end),
            // 0.0 is the API's "not set" sentinel, not a certain miss.
            confidence: w.confidence.filter(|c| *c > 0.0),
            speaker: speaker_of(w).or_else(|| channel_label.clone()),
        })
        .collect()
}

fn speaker_of(word: &WordInfo) -> Option<String> {
    word.speaker_label
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
}

/// With diarization, some models repeat the whole transcript, every word now
/// labelled, as the last result. Keep only that copy when it is one.
fn drop_diarization_repeat(per_result: &mut Vec<Vec<RawWord>>) {
    let Some((last, earlier)) = per_result.split_last() else {
        return;
    };
    if earlier.is_empty() || last.is_empty() {
        return;
    }
    let last_labelled = last.iter().all(|w| w.speaker.is_some());
    let earlier_unlabelled = earlier.iter().flatten().all(|w| w.speaker.is_none());
    let earlier_count: usize = earlier.iter().map(Vec::len).sum();
    let first_start = earlier.iter().flatten().map(|w| w.start_ms).min();
    let covers = first_start.is_some_and(|s| last[0].start_ms <= s);
    if last_labelled && earlier_unlabelled && last.len() >= earlier_count && covers {
        per_result.drain(..per_result.len() - 1);
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    fn word(w: &str, s: &str, e: &str, label: &str) -> Value {
        json!({"startOffset": s, "endOffset": e, "word": w, "confidence": 0.9,
               "speakerLabel": label})
    }

    #[test]
    fn recognize_response_words_keep_offsets_and_labels() {
        let body = json!({"results": [{"alternatives": [{"transcript": "hi there",
            "words": [word("hi", "0.100s", "0.400s", "1"), word("there", "0.4s", "0.9s", "1")]}],
            "resultEndOffset": "1s", "languageCode": "en-us"}]});
        let r = read(&body).unwrap();
        assert_eq!(r.language.as_deref(), Some("en-us"));
        assert_eq!(r.words.len(), 2);
        assert_eq!((r.words[1].start_ms, r.words[1].end_ms), (400, 900));
        assert_eq!(r.words[0].speaker.as_deref(), Some("1"));
    }

    #[test]
    fn inline_batch_response_is_unwrapped() {
        let body = json!({"results": {"gs://b/a.flac": {"inlineResult": {"transcript": {
            "results": [{"alternatives": [{"words": [word("ok", "0s", "0.2s", "2")]}]}]}}}}});
        assert_eq!(read(&body).unwrap().words[0].text, "ok");
    }

    #[test]
    fn batch_response_in_cloud_storage_is_a_clear_error() {
        let body = json!({"results": {"gs://b/a.flac": {"cloudStorageResult": {"uri": "gs://o"}}}});
        let err = read(&body).unwrap_err();
        assert!(err.to_string().contains("Cloud Storage"), "{err}");
    }

    #[test]
    fn per_file_recognition_error_is_reported() {
        let body = json!({"results": {"gs://b/a.flac": {"error": {"code": 3,
            "message": "audio too short"}}}});
        let err = read(&body).unwrap_err();
        assert!(err.to_string().contains("audio too short"), "{err}");
    }

    #[test]
    fn transcript_without_words_is_spread_over_the_result_window() {
        let body = json!({"results": [
            {"alternatives": [{"transcript": "one two"}], "resultEndOffset": "2s"},
            {"alternatives": [{"transcript": "three"}], "resultEndOffset": "3s"}]});
        let r = read(&body).unwrap();
        let spans: Vec<_> = r.words.iter().map(|w| (w.start_ms, w.end_ms)).collect();
        assert_eq!(spans, vec![(0, 1000), (1000, 2000), (2000, 3000)]);
    }

    #[test]
    fn diarization_summary_result_replaces_the_unlabelled_ones() {
        let plain =
            |w: &str, s: &str, e: &str| json!({"startOffset": s, "endOffset": e, "word": w});
        let body = json!({"results": [
            {"alternatives": [{"words": [plain("a", "0s", "1s")]}]},
            {"alternatives": [{"words": [plain("b", "1s", "2s")]}]},
            {"alternatives": [{"words": [
                word("a", "0s", "1s", "1"), word("b", "1s", "2s", "2")]}]}]});
        let r = read(&body).unwrap();
        let labels: Vec<_> = r.words.iter().map(|w| w.speaker.clone().unwrap()).collect();
        assert_eq!(labels, vec!["1", "2"]);
    }

    #[test]
    fn channels_become_speakers_without_diarization() {
        let plain = |w: &str| json!({"startOffset": "0s", "endOffset": "1s", "word": w});
        let body = json!({"results": [
            {"alternatives": [{"words": [plain("left")]}], "channelTag": 1},
            {"alternatives": [{"words": [plain("right")]}], "channelTag": 2}]});
        let r = read(&body).unwrap();
        assert_eq!(r.words[1].speaker.as_deref(), Some("channel 2"));
    }

    #[test]
    fn aws_style_results_object_is_not_mistaken_for_files() {
        let body = json!({"results": {"transcripts": [{"transcript": "x"}], "items": []}});
        let err = read(&body).unwrap_err();
        assert!(matches!(err, FormatError::NotFileResults { .. }), "{err}");
        assert!(err.to_string().contains("items, transcripts"), "{err}");
    }
}
