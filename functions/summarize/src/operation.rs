//! The `summarize` operation: read a meeting's transcript, summarize it,
//! store the summary in the completion transaction.

use std::error::Error;

use serde::{Deserialize, Serialize};
use tasklane::operation::Transaction;
use tasklane::runner;
use tasklane::{Context, FunctionSpec, MeetingId, Operation, TaskError, TaskKey};
use tracing::info;

use crate::engine::{Engine, Summarizer};
use crate::gemini::GeminiSummarizer;
use crate::local::LocalSummarizer;
use crate::settings::{ProviderKind, Settings};
use crate::summary::Summary;
use crate::{spec, store};

/// The task payload: which meeting, and optionally which revision of its
/// transcript (a new revision is a new task; the same one is a replay).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SummarizeInput {
    /// The meeting to summarize.
    pub meeting_id: MeetingId,
    /// Free-form revision tag, part of the idempotency key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
}

impl SummarizeInput {
    /// The input for `meeting`, without a revision.
    pub fn new(meeting: MeetingId) -> Self {
        SummarizeInput {
            meeting_id: meeting,
            revision: None,
        }
    }
}

/// The operation, with the engine its settings chose.
#[derive(Debug, Clone)]
pub struct Summarize {
    spec: FunctionSpec,
    engine: Engine,
}

/// The operation cannot be configured as asked.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// An environment variable is unusable.
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    /// The Gemini client cannot be built.
    #[error(transparent)]
    Gemini(#[from] crate::gemini::BuildError),
    /// A Gemini request may outlast the push that carries it.
    #[error(
        "TASKLANE_GEMINI_TIMEOUT_SECONDS ({timeout} s) must be below the dispatch deadline ({deadline} s)"
    )]
    Timeout {
        /// The configured request timeout.
        timeout: u64,
        /// The function's dispatch deadline.
        deadline: u64,
    },
}

impl Summarize {
    /// Configure from the environment (see [`crate::settings`]).
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] naming what is wrong.
    pub fn from_env() -> Result<Self, Box<dyn Error + Send + Sync>> {
        Ok(Summarize::new(Settings::from_env()?)?)
    }

    /// Configure from `settings`.
    ///
    /// # Errors
    ///
    /// A [`ConfigError`] when the Gemini provider cannot be set up, or its
    /// request timeout is not below the dispatch deadline.
    pub fn new(settings: Settings) -> Result<Self, ConfigError> {
        let spec = spec();
        let engine = match (settings.provider, settings.gemini) {
            (ProviderKind::Gemini, Some(gemini)) => {
                let deadline = spec.dispatch_deadline();
                if gemini.timeout >= deadline {
                    return Err(ConfigError::Timeout {
                        timeout: gemini.timeout.as_secs(),
                        deadline: deadline.as_secs(),
                    });
                }
                Engine::Gemini(Box::new(GeminiSummarizer::new(gemini, settings.local)?))
            }
            _ => Engine::Local(LocalSummarizer::new(settings.local)),
        };
        Ok(Summarize::with_engine(engine))
    }

    /// An operation that summarizes with `engine`.
    pub fn with_engine(engine: Engine) -> Self {
        Summarize {
            spec: spec(),
            engine,
        }
    }

    /// The engine in use.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }
}

impl Operation for Summarize {
    type Input = SummarizeInput;
    type Output = Summary;

    fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    fn key(&self, input: &SummarizeInput) -> Result<TaskKey, TaskError> {
        let meeting = input.meeting_id.as_str().trim();
        if meeting.is_empty() {
            return Err(TaskError::invalid_input("meeting_id is empty"));
        }
        match input.revision.as_deref().map(str::trim) {
            Some("") => Err(TaskError::invalid_input(
                "revision is empty; omit it instead",
            )),
            Some(revision) => Ok(TaskKey::from_parts(["summarize", meeting, revision])),
            None => Ok(TaskKey::from_parts(["summarize", meeting])),
        }
    }

    async fn run(&self, ctx: &Context, input: &SummarizeInput) -> Result<Summary, TaskError> {
        let transcript = {
            let client = ctx.client().await?;
            store::load_transcript(&**client, &input.meeting_id).await?
        };

        info!(
            meeting = %input.meeting_id,
            turns = transcript.turns.len(),
            engine = %self.engine.engine(),
            "summarizing"
        );
        let summary = self.engine.summarize(&transcript).await?;
        info!(
            meeting = %input.meeting_id,
            words = summary.words,
            decisions = summary.decisions.len(),
            action_items = summary.action_items.len(),
            "summarized"
        );
        Ok(summary)
    }

    async fn commit(
        &self,
        tx: &Transaction<'_>,
        input: &SummarizeInput,
        output: &Summary,
    ) -> Result<(), TaskError> {
        store::save_summary(&**tx, &input.meeting_id, output).await
    }

    async fn backlog(&self, ctx: &Context) -> Result<Vec<SummarizeInput>, TaskError> {
        let client = ctx.client().await?;
        let meetings = store::backlog(&**client).await?;
        Ok(meetings.into_iter().map(SummarizeInput::new).collect())
    }
}

/// Summarize `meeting` in process, exactly once per meeting: a second call
/// returns the stored summary without running the engine again.
///
/// # Errors
///
/// A retryable [`TaskError`] when the attempt should be repeated later
/// (busy, rate limited, Postgres down); the permanent error when the task
/// was dead-lettered, now or by an earlier attempt.
pub async fn generate_summary(
    ctx: &Context,
    op: &Summarize,
    meeting: &MeetingId,
) -> Result<Summary, TaskError> {
    runner::call(ctx, op, SummarizeInput::new(meeting.clone())).await
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::settings::{ApiKey, Backend, GeminiSettings, LocalSettings};

    fn input(meeting: &str, revision: Option<&str>) -> SummarizeInput {
        SummarizeInput {
            meeting_id: MeetingId::new(meeting),
            revision: revision.map(str::to_owned),
        }
    }

    #[test]
    fn key_names_the_meeting_and_optional_revision() {
        let op = Summarize::with_engine(Engine::Local(LocalSummarizer::default()));
        assert_eq!(op.key(&input("m1", None)).unwrap().as_str(), "summarize:m1");
        assert_eq!(
            op.key(&input("m1", Some("r2"))).unwrap().as_str(),
            "summarize:m1:r2"
        );
        let err = op.key(&input("  ", None)).unwrap_err();
        assert_eq!(err.kind(), tasklane::ErrorKind::InvalidInput);
        assert!(op.key(&input("m1", Some(""))).is_err());
    }

    #[test]
    fn input_json_takes_meeting_id_and_optional_revision_only() {
        let parsed: SummarizeInput = serde_json::from_str(r#"{"meeting_id":"m7"}"#).unwrap();
        assert_eq!(parsed, input("m7", None));
        let with_rev: SummarizeInput =
            serde_json::from_str(r#"{"meeting_id":"m7","revision":"v2"}"#).unwrap();
        assert_eq!(with_rev.revision.as_deref(), Some("v2"));
        assert!(serde_json::from_str::<SummarizeInput>(r#"{"meeting":"m7"}"#).is_err());
    }

    #[test]
    fn gemini_timeout_must_stay_below_the_dispatch_deadline() {
        let gemini = GeminiSettings {
            model: "m".to_owned(),
            backend: Backend::ApiKey {
                key: ApiKey::new("k"),
                base_url: "http://127.0.0.1:9".to_owned(),
            },
            chunk_tokens: 1000,
            timeout: Duration::from_secs(600),
            max_output_tokens: 100,
            concurrency: 1,
        };
        let settings = Settings {
            provider: ProviderKind::Gemini,
            local: LocalSettings::default(),
            gemini: Some(gemini),
        };
        let err = Summarize::new(settings).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Timeout {
                    timeout: 600,
                    deadline: 600
                }
            ),
            "{err}"
        );
    }
}
