//! The domain tables: meetings, their raw ASR output, clean transcripts and
//! summaries. `tasklane import` loads a meeting file through [`import`].

use serde::Deserialize;
use serde_json::Value;
use tokio_postgres::GenericClient;

use crate::error::TaskError;
use crate::ids::MeetingId;

const UPSERT_MEETING: &str = "\
INSERT INTO meetings (id, title, language, started_at)
VALUES ($1, $2, $3, $4::text::timestamptz)
ON CONFLICT (id) DO UPDATE
   SET title = excluded.title, language = excluded.language,
       started_at = excluded.started_at";

const UPSERT_RAW: &str = "\
INSERT INTO raw_transcripts (meeting_id, format, body)
VALUES ($1, $2, $3)
ON CONFLICT (meeting_id) DO UPDATE
   SET format = excluded.format, body = excluded.body, imported_at = now()";

const UPSERT_TRANSCRIPT: &str = "\
INSERT INTO transcripts (meeting_id, text, turns, source)
VALUES ($1, $2, $3, 'import')
ON CONFLICT (meeting_id) DO UPDATE
   SET text = excluded.text, turns = excluded.turns, source = excluded.source,
       updated_at = now()";

/// A meeting file as `tasklane import` reads it: metadata plus either the raw
/// ASR output or a plain transcript (`Speaker: text` lines).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeetingFile {
    /// The meeting's id.
    pub meeting_id: String,
    /// A title (default empty).
    #[serde(default)]
    pub title: String,
    /// BCP-47-ish language (`en`, `zh`, `zh-en`; default `en`).
    #[serde(default = "default_language")]
    pub language: String,
    /// When the meeting started, RFC 3339.
    #[serde(default)]
    pub started_at: Option<String>,
    /// Speech-to-Text v2 or Whisper `verbose_json` output.
    #[serde(default)]
    pub raw_asr: Option<Value>,
    /// A plain transcript.
    #[serde(default)]
    pub transcript: Option<String>,
}

fn default_language() -> String {
    "en".to_owned()
}

/// Which recognizer a raw ASR document looks like it came from, by shape:
/// `results` for Speech-to-Text v2, `segments` for Whisper; `unknown`
/// otherwise (asr-postprocess rejects it with a precise reason).
pub fn detect_format(raw: &Value) -> &'static str {
    if raw.get("results").is_some() {
        "speech-v2"
    } else if raw.get("segments").is_some() {
        "whisper"
    } else {
        "unknown"
    }
}

/// Parse a meeting file.
///
/// # Errors
///
/// An invalid-input error naming what is wrong.
pub fn parse_file(text: &str) -> Result<MeetingFile, TaskError> {
    let file: MeetingFile = serde_json::from_str(text)
        .map_err(|e| TaskError::invalid_input("not a meeting file").with_source(e))?;
    if file.meeting_id.trim().is_empty() {
        return Err(TaskError::invalid_input("meeting_id is empty"));
    }
    match (&file.raw_asr, &file.transcript) {
        (Some(_), None) | (None, Some(_)) => Ok(file),
        _ => Err(TaskError::invalid_input(
            "a meeting file needs exactly one of raw_asr and transcript",
        )),
    }
}

/// Load `file` into the domain tables (replacing an earlier import of the
/// same meeting) and return its id.
///
/// # Errors
///
/// A retryable error when Postgres fails; invalid input for a bad
/// `started_at`.
pub async fn import(
    client: &impl GenericClient,
    file: &MeetingFile,
) -> Result<MeetingId, TaskError> {
    client
        .execute(
            UPSERT_MEETING,
            &[
                &file.meeting_id,
                &file.title,
                &file.language,
                &file.started_at,
            ],
        )
        .await?;
    if let Some(raw) = &file.raw_asr {
        client
            .execute(UPSERT_RAW, &[&file.meeting_id, &detect_format(raw), raw])
            .await?;
    }
    if let Some(text) = &file.transcript {
        let turns = plain_turns(text);
        client
            .execute(UPSERT_TRANSCRIPT, &[&file.meeting_id, text, &turns])
            .await?;
    }
    Ok(MeetingId::new(file.meeting_id.clone()))
}

/// Turns of a plain transcript: one per non-empty line, `Speaker: text`
/// when a short prefix before a colon names the speaker.
pub fn plain_turns(text: &str) -> Value {
    let turns: Vec<Value> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|line| {
            let (speaker, said) = split_speaker(line);
            serde_json::json!({ "speaker": speaker, "text": said })
        })
        .collect();
    Value::Array(turns)
}

fn split_speaker(line: &str) -> (Option<&str>, &str) {
    match line.split_once(':') {
        Some((name, rest))
            if !name.is_empty() && name.chars().count() <= 40 && !name.contains("http") =>
        {
            (Some(name.trim()), rest.trim())
        }
        _ => (None, line),
    }
}
