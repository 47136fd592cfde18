//! The tasklane operation: read a meeting's raw transcript, clean it, and
//! in the fenced completion transaction store it and ask for a summary.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tasklane::BoxError;
use tasklane::context::Context;
use tasklane::error::TaskError;
use tasklane::ids::{MeetingId, TaskKey};
use tasklane::operation::{Operation, Transaction};
use tasklane::outbox::{self, TaskRequest};
use tasklane::spec::{FunctionSpec, JobSettings, RateLimits, RetryPolicy, Scaling};
use tracing::{info, warn};

use crate::input::FormatError;
use crate::pipeline::{Pipeline, Transcript};
use crate::settings::Settings;

/// The function's name, queue and route suffix.
pub(crate) const NAME: &str = "asr-postprocess";

/// The function asked to run after a transcript is cleaned.
const NEXT_FUNCTION: &str = "summarize";

/// Cloud Tasks task ids are at most 500 characters; the meeting id part is
/// cut well below that to leave room for the prefix and the hash.
const TASK_NAME_ID_CHARS: usize = 400;
const TASK_NAME_REVISION_CHARS: usize = 40;

/// Every query the operation runs.
mod sql {
    /// The meeting (always a row when it exists) and its raw transcript
    /// (null columns when there is none).
    pub(super) const SELECT_RAW: &str = "\
        SELECT m.language, r.format, r.body \
        FROM meetings m LEFT JOIN raw_transcripts r ON r.meeting_id = m.id \
        WHERE m.id = $1";

    pub(super) const UPSERT_TRANSCRIPT: &str = "\
        INSERT INTO transcripts (meeting_id, text, turns, stats, source, updated_at) \
        VALUES ($1, $2, $3, $4, 'asr-postprocess', now()) \
        ON CONFLICT (meeting_id) DO UPDATE SET \
            text = EXCLUDED.text, turns = EXCLUDED.turns, stats = EXCLUDED.stats, \
            source = EXCLUDED.source, updated_at = EXCLUDED.updated_at";

    /// Meetings with a raw transcript and no clean one, oldest import first.
    pub(super) const SELECT_BACKLOG: &str = "\
        SELECT r.meeting_id FROM raw_transcripts r \
        LEFT JOIN transcripts t ON t.meeting_id = r.meeting_id \
        WHERE t.meeting_id IS NULL \
        ORDER BY r.imported_at, r.meeting_id";
}

/// The task payload: `{"meeting_id": "...", "revision": "..."}`; the
/// revision is optional and makes a new task for an already cleaned
/// meeting (a re-import, say).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Input {
    /// The meeting whose raw transcript is cleaned.
    pub meeting_id: MeetingId,
    /// Optional revision, a string or an integer in the payload.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "revision"
    )]
    pub revision: Option<String>,
}

fn revision<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<String>, D::Error> {
    match Option::<Value>::deserialize(deserializer)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(serde::de::Error::custom(format!(
            "revision must be a string or an integer, not {other}"
        ))),
    }
}

/// The function's settings: queue `asr-postprocess`, two-minute dispatch
/// deadline (cleanup takes milliseconds; the deadline covers a cold start
/// and a slow database), a few quick retries since failures are either
/// transient database trouble or permanent bad input.
pub fn spec() -> FunctionSpec {
    FunctionSpec {
        name: NAME.to_owned(),
        queue: NAME.to_owned(),
        rate_limits: RateLimits {
            max_dispatches_per_second: 20.0,
            max_concurrent_dispatches: 40,
        },
        retry: RetryPolicy {
            max_attempts: 6,
            min_backoff_seconds: 5.0,
            max_backoff_seconds: 120.0,
            max_doublings: 4,
            max_retry_duration_seconds: 1800,
        },
        dispatch_deadline_seconds: 120,
        lease_margin_seconds: 30,
        request_concurrency: 20,
        scaling: Scaling {
            min_instances: 0,
            max_instances: 5,
            cpu: "1".to_owned(),
            memory: "512Mi".to_owned(),
        },
        job: JobSettings {
            task_count: 2,
            parallelism: 2,
            max_retries: 1,
            timeout_seconds: 1800,
        },
        dead_letter_topic: format!("{NAME}-dead-letters"),
        dead_letter_subscription: format!("{NAME}-dead-letters-sub"),
    }
}

/// The asr-postprocess operation.
#[derive(Debug, Clone)]
pub struct AsrPostprocess {
    spec: FunctionSpec,
    pipeline: Pipeline,
}

impl AsrPostprocess {
    /// The operation with the given cleanup settings and [`spec`].
    pub fn new(settings: Settings) -> Self {
        AsrPostprocess {
            spec: spec(),
            pipeline: Pipeline::new(settings),
        }
    }

    /// The operation configured from `ASR_*` environment variables (see
    /// [`crate::settings`]).
    ///
    /// # Errors
    ///
    /// A [`crate::SettingsError`] (boxed) naming the first invalid variable.
    pub fn from_env() -> Result<Self, BoxError> {
        Ok(Self::new(Settings::from_env()?))
    }

    /// The cleanup pipeline.
    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    async fn load(&self, ctx: &Context, id: &MeetingId) -> Result<(String, Value), TaskError> {
        let client = ctx.client().await?;
        let row = client.query_opt(sql::SELECT_RAW, &[&id.as_str()]).await?;
        let Some(row) = row else {
            return Err(TaskError::invalid_input(format!(
                "meeting {id} does not exist"
            )));
        };
        let language: String = row.try_get("language")?;
        let format: Option<String> = row.try_get("format")?;
        let body: Option<Value> = row.try_get("body")?;
        let Some(body) = body else {
            return Err(TaskError::invalid_input(format!(
                "meeting {id} has no raw transcript to clean"
            )));
        };
        if let (Some(stored), Ok(found)) = (format.as_deref(), crate::detect(&body))
            && stored != found.as_str()
        {
            warn!(meeting = %id, stored, detected = found.as_str(), "format label differs");
        }
        Ok((language, body))
    }
}

impl Default for AsrPostprocess {
    fn default() -> Self {
        AsrPostprocess::new(Settings::default())
    }
}

impl Operation for AsrPostprocess {
    type Input = Input;
    type Output = Transcript;

    fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    fn key(&self, input: &Input) -> Result<TaskKey, TaskError> {
        let id = input.meeting_id.as_str();
        if id.trim().is_empty() {
            return Err(TaskError::invalid_input("meeting_id is empty"));
        }
        let id = escape_key_part(id);
        match input.revision.as_deref() {
            None => Ok(TaskKey::from_parts([NAME, id.as_str()])),
            Some(rev) if rev.trim().is_empty() => Err(TaskError::invalid_input(
                "revision is empty; omit it or give a value",
            )),
            Some(rev) => Ok(TaskKey::from_parts([
                NAME,
                id.as_str(),
                &escape_key_part(rev),
            ])),
        }
    }

    async fn run(&self, ctx: &Context, input: &Input) -> Result<Transcript, TaskError> {
        let id = &input.meeting_id;
        let (language, body) = self.load(ctx, id).await?;
        let transcript = self
            .pipeline
            .process(&body, Some(&language))
            .map_err(|err| unreadable(id, err))?;
        let stats = &transcript.stats;
        info!(
            meeting = %id,
            format = stats.format.as_str(),
            turns = stats.turns,
            words = stats.words,
            fillers_removed = stats.fillers_removed,
            "transcript cleaned"
        );
        Ok(transcript)
    }

    async fn commit(
        &self,
        tx: &Transaction<'_>,
        input: &Input,
        output: &Transcript,
    ) -> Result<(), TaskError> {
        let id = input.meeting_id.as_str();
        let turns = to_json(&output.turns)?;
        let stats = to_json(&output.stats)?;
        tx.execute(sql::UPSERT_TRANSCRIPT, &[&id, &output.text, &turns, &stats])
            .await?;

        let mut payload = json!({ "meeting_id": id });
        if let Some(rev) = &input.revision {
            payload["revision"] = Value::String(rev.clone());
        }
        let request = TaskRequest {
            function: NEXT_FUNCTION.to_owned(),
            task_name: summarize_task_name(&input.meeting_id, input.revision.as_deref()),
            payload,
        };
        outbox::enqueue_task(tx, &request).await
    }

    async fn backlog(&self, ctx: &Context) -> Result<Vec<Input>, TaskError> {
        let client = ctx.client().await?;
        let rows = client.query(sql::SELECT_BACKLOG, &[]).await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get(0)?;
                Ok(Input {
                    meeting_id: MeetingId::new(id),
                    revision: None,
                })
            })
            .collect()
    }
}

/// A raw transcript that cannot be read is permanent: retrying reads the
/// same bytes.
fn unreadable(id: &MeetingId, err: FormatError) -> TaskError {
    match err {
        FormatError::Malformed { format, source } => TaskError::permanent(format!(
            "meeting {id}: raw transcript looks like {format} but does not match its schema"
        ))
        .with_source(source),
        other => TaskError::permanent(format!("meeting {id}: {other}")),
    }
}

fn to_json<T: Serialize>(value: &T) -> Result<Value, TaskError> {
    serde_json::to_value(value)
        .map_err(|e| TaskError::permanent("transcript does not serialize to JSON").with_source(e))
}

/// Meeting ids may contain `:`, the key separator; escape it (and `%`, the
/// escape character) so that no two inputs share a key.
fn escape_key_part(part: &str) -> String {
    part.replace('%', "%25").replace(':', "%3A")
}

/// Clean `meeting`'s raw transcript in process, exactly once per meeting:
/// a second call returns the stored transcript without running the
/// pipeline again. The summary is asked for through the outbox, as on every
/// other path.
///
/// # Errors
///
/// A retryable [`TaskError`] when the attempt should be repeated later; the
/// permanent error when the task was dead-lettered, now or earlier.
pub async fn clean_transcript(
    ctx: &Context,
    op: &AsrPostprocess,
    meeting: &MeetingId,
) -> Result<Transcript, TaskError> {
    let input = Input {
        meeting_id: meeting.clone(),
        revision: None,
    };
    tasklane::runner::call(ctx, op, input).await
}

/// The Cloud Tasks task id of the follow-up summary of `meeting_id`:
/// deterministic, so that a relay that sends twice creates one task.
///
/// Task ids allow only `[A-Za-z0-9_-]`; other characters become `_`, so a
/// hash of the exact id keeps distinct meetings apart. The hash comes first
/// because Cloud Tasks serves ids with well-spread prefixes faster than
/// sequential ones (meeting ids are often sequential).
pub fn summarize_task_name(meeting_id: &MeetingId, revision: Option<&str>) -> String {
    let mut hasher = Sha256::new();
    hasher.update(meeting_id.as_str().as_bytes());
    if let Some(rev) = revision {
        hasher.update([0u8]);
        hasher.update(rev.as_bytes());
    }
    let hash = hex::encode(&hasher.finalize()[..6]);
    let mut name = format!(
        "{NEXT_FUNCTION}-{hash}-{}",
        sanitize(meeting_id.as_str(), TASK_NAME_ID_CHARS)
    );
    if let Some(rev) = revision {
        name.push('-');
        name.push_str(&sanitize(rev, TASK_NAME_REVISION_CHARS));
    }
    name
}

fn sanitize(text: &str, max: usize) -> String {
    text.chars()
        .take(max)
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn input(id: &str, revision: Option<&str>) -> Input {
        Input {
            meeting_id: MeetingId::new(id),
            revision: revision.map(str::to_owned),
        }
    }

    #[test]
    fn keys_follow_the_documented_shape() {
        let op = AsrPostprocess::default();
        assert_eq!(
            op.key(&input("m-1", None)).unwrap().as_str(),
            "asr-postprocess:m-1"
        );
        assert_eq!(
            op.key(&input("m-1", Some("2"))).unwrap().as_str(),
            "asr-postprocess:m-1:2"
        );
    }

    #[test]
    fn keys_of_ids_with_colons_do_not_collide_with_revisions() {
        let op = AsrPostprocess::default();
        let a = op.key(&input("a:b", None)).unwrap();
        let b = op.key(&input("a", Some("b"))).unwrap();
        assert_ne!(a, b);
    }

    #[test]
    fn empty_ids_and_revisions_are_invalid_input() {
        let op = AsrPostprocess::default();
        let err = op.key(&input(" ", None)).unwrap_err();
        assert_eq!(err.kind(), tasklane::error::ErrorKind::InvalidInput);
        let err = op.key(&input("m", Some(""))).unwrap_err();
        assert_eq!(err.kind(), tasklane::error::ErrorKind::InvalidInput);
    }

    #[test]
    fn revision_may_be_a_number_or_a_string() {
        let a: Input = serde_json::from_value(json!({"meeting_id": "m", "revision": 3})).unwrap();
        let b: Input = serde_json::from_value(json!({"meeting_id": "m", "revision": "3"})).unwrap();
        assert_eq!(a, b);
        let c: Input = serde_json::from_value(json!({"meeting_id": "m"})).unwrap();
        assert_eq!(c.revision, None);
        assert!(
            serde_json::from_value::<Input>(json!({"meeting_id": "m", "revision": []})).is_err()
        );
    }

    #[test]
    fn task_names_are_valid_cloud_tasks_ids_and_distinct() {
        let odd = MeetingId::new("team/standup 2024-05-01 (notes)");
        let name = summarize_task_name(&odd, None);
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert!(name.starts_with("summarize-"));
        let twin = MeetingId::new("team_standup 2024-05-01 (notes)");
        assert_ne!(name, summarize_task_name(&twin, None));
        assert_ne!(name, summarize_task_name(&odd, Some("2")));
        assert_eq!(name, summarize_task_name(&odd, None));
        let long = MeetingId::new("x".repeat(2000));
        assert!(summarize_task_name(&long, Some(&"r".repeat(900))).len() <= 500);
    }

    #[test]
    fn spec_uses_its_own_queue_and_a_two_minute_deadline() {
        let s = spec();
        assert_eq!(
            (s.name.as_str(), s.queue.as_str()),
            ("asr-postprocess", "asr-postprocess")
        );
        assert_eq!(s.dispatch_deadline_seconds, 120);
        assert_eq!(s.route(), "/tasks/asr-postprocess");
    }

    #[test]
    fn format_errors_become_permanent_task_errors_with_the_meeting_id() {
        let err = AsrPostprocess::default()
            .pipeline()
            .process(&json!({"foo": 1}), None)
            .unwrap_err();
        let task_error = unreadable(&MeetingId::new("m-9"), err);
        assert_eq!(task_error.kind(), tasklane::error::ErrorKind::Permanent);
        assert!(!task_error.is_retryable());
        assert!(
            task_error
                .message()
                .starts_with("meeting m-9: raw transcript is neither")
        );
    }
}
