//! Benchmark fixtures: `bench-fn`, a tasklane function doing exactly the
//! work of the FastAPI baseline in `shared/bench/baseline-fastapi` (read a
//! transcript, keep its first 120 characters, mark the meeting completed),
//! so that a side-by-side run measures coordination cost and nothing else.
//!
//! | item | role |
//! | --- | --- |
//! | [`BenchSummarize`] | the operation behind the `bench-fn` binary |
//! | `bench-token` (binary) | serves a JWKS on loopback and prints a token it signs |

use serde::{Deserialize, Serialize};
use tasklane::{BoxError, Context, FunctionSpec, Operation, TaskError, TaskKey, Transaction};

const READ_TRANSCRIPT: &str = "SELECT transcript FROM bench_meetings WHERE id = $1";
const MARK_COMPLETED: &str =
    "UPDATE bench_meetings SET status = 'completed', summary = $2 WHERE id = $1";
const BACKLOG: &str = "SELECT id FROM bench_meetings WHERE status = 'pending' LIMIT 10000";

/// The baseline's payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BenchInput {
    /// Row id in `bench_meetings`.
    pub meeting_id: String,
}

/// The baseline's answer.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BenchOutput {
    /// The first 120 characters of the transcript.
    pub summary: String,
}

/// The baseline's work as a tasklane operation.
#[derive(Debug, Clone)]
pub struct BenchSummarize {
    spec: FunctionSpec,
}

impl BenchSummarize {
    /// Build it; nothing to configure beyond the shared settings.
    ///
    /// # Errors
    ///
    /// Never; the signature matches `tasklane::cli::main`.
    pub fn from_env() -> Result<Self, BoxError> {
        Ok(BenchSummarize { spec: spec() })
    }
}

/// The bench function's settings: the baseline's route, generous limits.
pub fn spec() -> FunctionSpec {
    FunctionSpec {
        request_concurrency: 1_000,
        dispatch_deadline_seconds: 60,
        dead_letter_topic: "bench-dead-letters".into(),
        dead_letter_subscription: "bench-dead-letters-sub".into(),
        ..FunctionSpec::new("summarize")
    }
}

impl Operation for BenchSummarize {
    type Input = BenchInput;
    type Output = BenchOutput;

    fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    fn key(&self, input: &BenchInput) -> Result<TaskKey, TaskError> {
        if input.meeting_id.is_empty() {
            return Err(TaskError::invalid_input("meeting_id is empty"));
        }
        Ok(TaskKey::from_parts(["bench", &input.meeting_id]))
    }

    async fn run(&self, ctx: &Context, input: &BenchInput) -> Result<BenchOutput, TaskError> {
        let client = ctx.client().await?;
        let statement = client.prepare_cached(READ_TRANSCRIPT).await?;
        let row = client.query_opt(&statement, &[&input.meeting_id]).await?;
        let Some(row) = row else {
            return Err(TaskError::invalid_input(format!(
                "unknown meeting {}",
                input.meeting_id
            )));
        };
        let transcript: String = row.get(0);
        Ok(BenchOutput {
            summary: transcript.chars().take(120).collect(),
        })
    }

    async fn commit(
        &self,
        tx: &Transaction<'_>,
        input: &BenchInput,
        output: &BenchOutput,
    ) -> Result<(), TaskError> {
        let statement = tx.prepare_cached(MARK_COMPLETED).await?;
        tx.execute(&statement, &[&input.meeting_id, &output.summary])
            .await?;
        Ok(())
    }

    async fn backlog(&self, ctx: &Context) -> Result<Vec<BenchInput>, TaskError> {
        let client = ctx.client().await?;
        let rows = client.query(BACKLOG, &[]).await?;
        Ok(rows
            .iter()
            .map(|r| BenchInput {
                meeting_id: r.get(0),
            })
            .collect())
    }
}
