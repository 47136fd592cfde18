//! The batch runner behind `<function> job`, for Cloud Run Jobs.
//!
//! Inputs come from a JSON-lines file or, without one, from the operation's
//! backlog. A job execution runs `CLOUD_RUN_TASK_COUNT` shards; shard
//! `CLOUD_RUN_TASK_INDEX` takes the inputs whose key hashes to it, so shards
//! never race for the same key (and if they did, the claim would settle it).

use std::sync::Arc;

use futures::StreamExt;
use sha2::{Digest, Sha256};
use tracing::{info, warn};

use crate::context::Context;
use crate::error::TaskError;
use crate::operation::Operation;
use crate::runner::{self, Delivery, Outcome};

/// Which slice of the inputs this process takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// 0-based index (`CLOUD_RUN_TASK_INDEX`; default 0).
    pub index: u32,
    /// Shards in all (`CLOUD_RUN_TASK_COUNT`; default 1).
    pub count: u32,
}

impl Shard {
    /// Read the shard from Cloud Run Jobs' environment.
    ///
    /// # Errors
    ///
    /// An invalid-input error when the variables do not parse or the index
    /// is out of range.
    pub fn from_env() -> Result<Shard, TaskError> {
        let read = |name: &str, default: u32| -> Result<u32, TaskError> {
            std::env::var(name).map_or(Ok(default), |v| {
                v.parse()
                    .map_err(|_| TaskError::invalid_input(format!("{name}={v} is not a number")))
            })
        };
        let shard = Shard {
            index: read("CLOUD_RUN_TASK_INDEX", 0)?,
            count: read("CLOUD_RUN_TASK_COUNT", 1)?.max(1),
        };
        if shard.index >= shard.count {
            return Err(TaskError::invalid_input(
                "CLOUD_RUN_TASK_INDEX >= CLOUD_RUN_TASK_COUNT",
            ));
        }
        Ok(shard)
    }

    /// Whether `key` belongs to this shard.
    pub fn owns(&self, key: &str) -> bool {
        let digest = Sha256::digest(key.as_bytes());
        let n = u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]]);
        n % self.count == self.index
    }
}

/// Counts of a job run, by outcome.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JobReport {
    /// Inputs completed by this run.
    pub completed: usize,
    /// Inputs already completed before.
    pub replayed: usize,
    /// Inputs dead-lettered (now or before).
    pub dead_lettered: usize,
    /// Inputs that failed retryably; a later execution picks them up.
    pub retryable: usize,
}

impl JobReport {
    /// Whether the run left work to retry (the job's exit code says so, so
    /// Cloud Run retries the shard).
    pub fn has_retryable(&self) -> bool {
        self.retryable > 0
    }
}

/// Run `inputs` belonging to `shard` through `op`, `concurrency` at a time.
pub async fn run_batch<O: Operation>(
    ctx: &Context,
    op: Arc<O>,
    inputs: Vec<O::Input>,
    shard: Shard,
    concurrency: usize,
) -> JobReport {
    let mine: Vec<O::Input> = inputs
        .into_iter()
        .filter(|input| op.key(input).map_or(true, |k| shard.owns(k.as_str())))
        .collect();
    info!(
        inputs = mine.len(),
        shard = shard.index,
        shards = shard.count,
        "job started"
    );
    let results: Vec<_> = futures::stream::iter(mine)
        .map(|input| {
            let op = Arc::clone(&op);
            async move { runner::execute(ctx, &*op, input, &Delivery::default()).await }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut report = JobReport::default();
    for result in results {
        match result {
            Ok(Outcome::Completed { .. }) => report.completed += 1,
            Ok(Outcome::Replayed { .. }) => report.replayed += 1,
            Ok(Outcome::DeadLettered { .. } | Outcome::AlreadyDead { .. }) => {
                report.dead_lettered += 1;
            }
            Err(err) => {
                warn!(error = %err.report(), "job input failed; left for a later run");
                report.retryable += 1;
            }
        }
    }
    info!(?report, "job finished");
    report
}
