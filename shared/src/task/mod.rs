//! The task state machine in Postgres.
//!
//! ```text
//!            claim                complete (fenced)
//!   (new) ──────────► running ───────────────────► completed
//!   pending ─────────►   │  ▲                          │ replay: stored result
//!                        │  │ claim after lease expiry  ▼
//!          release       │  └── (fencing token + 1)
//!   pending ◄────────────┤
//!                        └──────────────────────────► dead (+ dead letter, outbox)
//! ```
//!
//! A claim is one atomic statement; every claim bumps the fencing token, and
//! every later write is conditioned on that token, so a worker that lost its
//! lease can neither complete nor fail the task it no longer owns.

mod sql;

use std::time::Duration;

use deadpool_postgres::{GenericClient, Transaction};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::error::{ErrorKind, TaskError};
use crate::ids::{FencingToken, TaskKey};
use crate::outbox;

/// Status of a task row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStatus {
    /// Waiting for a delivery to claim it.
    Pending,
    /// Claimed under a lease.
    Running,
    /// Done; its result is stored.
    Completed,
    /// Dead-lettered; never run again under this key.
    Dead,
}

impl TaskStatus {
    fn parse(s: &str) -> Result<Self, TaskError> {
        match s {
            "pending" => Ok(TaskStatus::Pending),
            "running" => Ok(TaskStatus::Running),
            "completed" => Ok(TaskStatus::Completed),
            "dead" => Ok(TaskStatus::Dead),
            other => Err(TaskError::transient(format!(
                "unknown task status {other:?}"
            ))),
        }
    }
}

/// A task to claim: which function, which key, and the canonical payload.
#[derive(Debug, Clone)]
pub struct TaskRef<'a> {
    /// The function name.
    pub function: &'a str,
    /// The idempotency key.
    pub key: &'a TaskKey,
}

/// A successful claim.
#[derive(Debug, Clone, Copy)]
pub struct Claim {
    /// The token every later write must carry.
    pub token: FencingToken,
    /// Claims of this key so far, this one included.
    pub attempts: u32,
}

/// What a claim found.
#[derive(Debug)]
pub enum ClaimResult {
    /// This worker holds the task now.
    Claimed(Claim),
    /// The task was completed before; here is its stored result.
    Completed(Value),
    /// The task was dead-lettered before, for this reason.
    Dead(String),
}

/// SHA-256 of the canonical JSON of `payload` (object keys sorted, no
/// insignificant white space), so that field order does not change the hash.
pub fn payload_hash(payload: &Value) -> Vec<u8> {
    let mut canonical = String::new();
    write_canonical(payload, &mut canonical);
    Sha256::digest(canonical.as_bytes()).to_vec()
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Claim `task` for `lease`.
///
/// # Errors
///
/// [`ErrorKind::Busy`] (with the lease's remaining time as retry hint) when
/// another delivery holds a live lease; [`ErrorKind::PayloadConflict`] when
/// the key was seen with another payload; a retryable error when Postgres
/// fails.
pub async fn claim(
    client: &impl GenericClient,
    task: &TaskRef<'_>,
    payload: &Value,
    lease: Duration,
) -> Result<ClaimResult, TaskError> {
    let hash = payload_hash(payload);
    let lease_secs = lease.as_secs_f64();
    // An empty answer means a concurrent first claim is not yet visible to
    // the statement's snapshot; by the next try it is.
    let statement = client.prepare_cached(sql::CLAIM).await?;
    for _ in 0..3 {
        let rows = client
            .query(
                &statement,
                &[
                    &task.function,
                    &task.key.as_str(),
                    &hash,
                    payload,
                    &lease_secs,
                ],
            )
            .await?;
        if let Some(row) = rows.first() {
            return interpret_claim(task, row);
        }
    }
    Err(
        TaskError::new(ErrorKind::Busy, "key is being claimed concurrently")
            .with_retry_after(Duration::from_secs(1)),
    )
}

fn interpret_claim(
    task: &TaskRef<'_>,
    row: &tokio_postgres::Row,
) -> Result<ClaimResult, TaskError> {
    let claimed: bool = row.get("claimed");
    let status: TaskStatus = row.get("status");
    let token = FencingToken::new(row.get("fencing_token"));
    let attempts: i32 = row.get("attempts");
    if claimed {
        let attempts = u32::try_from(attempts).unwrap_or(0);
        return Ok(ClaimResult::Claimed(Claim { token, attempts }));
    }
    if !row.get::<_, bool>("same_payload") {
        return Err(TaskError::new(
            ErrorKind::PayloadConflict,
            format!(
                "key {} of {} was first seen with a different payload",
                task.key, task.function
            ),
        ));
    }
    match status {
        TaskStatus::Completed => Ok(ClaimResult::Completed(
            row.get::<_, Option<Value>>("result").unwrap_or(Value::Null),
        )),
        TaskStatus::Dead => Ok(ClaimResult::Dead(
            row.get::<_, Option<String>>("last_error")
                .unwrap_or_default(),
        )),
        TaskStatus::Running | TaskStatus::Pending => {
            let left: f64 = row.get("lease_left");
            Err(TaskError::new(
                ErrorKind::Busy,
                format!(
                    "key {} is held by another delivery (token {token})",
                    task.key
                ),
            )
            .with_retry_after(Duration::from_secs_f64(left.clamp(1.0, 3_600.0).ceil())))
        }
    }
}

impl<'a> tokio_postgres::types::FromSql<'a> for TaskStatus {
    fn from_sql(
        _ty: &tokio_postgres::types::Type,
        raw: &'a [u8],
    ) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        let text = std::str::from_utf8(raw)?;
        TaskStatus::parse(text).map_err(|e| e.message().to_owned().into())
    }

    fn accepts(ty: &tokio_postgres::types::Type) -> bool {
        ty.name() == "task_status"
    }
}

/// Mark the task completed with `result`, inside `tx`, only if `claim` still
/// holds it.
///
/// # Errors
///
/// [`ErrorKind::LeaseLost`] when the fencing token no longer matches (the
/// caller must roll back); a retryable error when Postgres fails.
pub async fn complete(
    tx: &Transaction<'_>,
    task: &TaskRef<'_>,
    claim: Claim,
    result: &Value,
) -> Result<(), TaskError> {
    let statement = tx.prepare_cached(sql::COMPLETE).await?;
    let updated = tx
        .execute(
            &statement,
            &[
                &task.function,
                &task.key.as_str(),
                &claim.token.get(),
                result,
            ],
        )
        .await?;
    fence_held(task, claim, updated)
}

fn fence_held(task: &TaskRef<'_>, claim: Claim, updated: u64) -> Result<(), TaskError> {
    if updated == 1 {
        Ok(())
    } else {
        Err(TaskError::new(
            ErrorKind::LeaseLost,
            format!(
                "lease on {} was taken over; token {} is stale",
                task.key, claim.token
            ),
        ))
    }
}

/// Hand the task back as pending so the next delivery claims it at once.
/// Returns whether this claim still held it.
///
/// # Errors
///
/// A retryable error when Postgres fails.
pub async fn release(
    client: &impl GenericClient,
    task: &TaskRef<'_>,
    token: FencingToken,
    last_error: Option<&str>,
) -> Result<bool, TaskError> {
    let statement = client.prepare_cached(sql::RELEASE).await?;
    let updated = client
        .execute(
            &statement,
            &[
                &task.function,
                &task.key.as_str(),
                &token.get(),
                &last_error,
            ],
        )
        .await?;
    Ok(updated == 1)
}

/// Extend the lease; returns whether this claim still holds the task.
///
/// # Errors
///
/// A retryable error when Postgres fails.
pub async fn heartbeat(
    client: &impl GenericClient,
    task: &TaskRef<'_>,
    token: FencingToken,
    lease: Duration,
) -> Result<bool, TaskError> {
    let statement = client.prepare_cached(sql::HEARTBEAT).await?;
    let updated = client
        .execute(
            &statement,
            &[
                &task.function,
                &task.key.as_str(),
                &token.get(),
                &lease.as_secs_f64(),
            ],
        )
        .await?;
    Ok(updated == 1)
}

/// Everything a dead letter records besides the task itself.
#[derive(Debug, Clone, Default)]
pub struct DeadLetter {
    /// Why, in words (the error report).
    pub reason: String,
    /// The error kind (`invalid_input`, `permanent`, ...).
    pub error_kind: String,
    /// The Cloud Tasks headers of the delivery, or whatever the runner knows.
    pub delivery: Value,
    /// The trace the failure happened in.
    pub trace_id: Option<String>,
    /// The request body as received, when it never parsed into a payload.
    pub raw_body: Option<String>,
}

/// Where a dead letter is published.
#[derive(Debug, Clone, Copy)]
pub struct DeadLetterTopic<'a>(pub &'a str);

/// Mark a claimed task dead and record its dead letter and outbox message,
/// in `tx`. Returns the dead letter's id.
///
/// # Errors
///
/// [`ErrorKind::LeaseLost`] when the claim no longer holds the task; a
/// retryable error when Postgres fails.
pub async fn dead_letter_claimed(
    tx: &Transaction<'_>,
    task: &TaskRef<'_>,
    claim: Claim,
    payload: &Value,
    letter: &DeadLetter,
    topic: DeadLetterTopic<'_>,
) -> Result<i64, TaskError> {
    let statement = tx.prepare_cached(sql::MARK_DEAD).await?;
    let row = tx
        .query_opt(
            &statement,
            &[
                &task.function,
                &task.key.as_str(),
                &claim.token.get(),
                &letter.reason,
            ],
        )
        .await?;
    let Some(row) = row else {
        return fence_held(task, claim, 0).map(|()| 0);
    };
    let attempts: i32 = row.get(0);
    record(
        tx,
        task.function,
        Some(task.key),
        Some(payload),
        attempts,
        letter,
        topic,
    )
    .await
}

/// Record a dead letter for a delivery that never became a claimed task (an
/// invalid payload, a payload-hash conflict), in `tx`.
///
/// # Errors
///
/// A retryable error when Postgres fails.
pub async fn dead_letter_unclaimed(
    tx: &Transaction<'_>,
    function: &str,
    key: Option<&TaskKey>,
    payload: Option<&Value>,
    letter: &DeadLetter,
    topic: DeadLetterTopic<'_>,
) -> Result<i64, TaskError> {
    record(tx, function, key, payload, 0, letter, topic).await
}

async fn record(
    tx: &Transaction<'_>,
    function: &str,
    key: Option<&TaskKey>,
    payload: Option<&Value>,
    attempts: i32,
    letter: &DeadLetter,
    topic: DeadLetterTopic<'_>,
) -> Result<i64, TaskError> {
    let key_text = key.map(TaskKey::as_str);
    let statement = tx.prepare_cached(sql::INSERT_DEAD_LETTER).await?;
    let row = tx
        .query_one(
            &statement,
            &[
                &function,
                &key_text,
                &payload,
                &letter.raw_body,
                &letter.reason,
                &letter.error_kind,
                &attempts,
                &letter.reason,
                &letter.delivery,
                &letter.trace_id,
            ],
        )
        .await?;
    let id: i64 = row.get(0);
    let message = serde_json::json!({
        "dead_letter_id": id,
        "function": function,
        "key": key_text,
        "payload": payload,
        "reason": letter.reason,
        "error_kind": letter.error_kind,
        "attempts": attempts,
        "delivery": letter.delivery,
        "trace_id": letter.trace_id,
    });
    let attributes = serde_json::json!({
        "function": function,
        "error_kind": letter.error_kind,
        "dead_letter_id": id.to_string(),
    });
    outbox::publish(
        tx,
        topic.0,
        &format!("dead-letter-{id}"),
        &message,
        &attributes,
    )
    .await?;
    Ok(id)
}

/// A task row as stored, for inspection and tests.
#[derive(Debug, Clone)]
pub struct TaskRow {
    /// Status.
    pub status: TaskStatus,
    /// Claims so far.
    pub attempts: i32,
    /// Current fencing token.
    pub token: FencingToken,
    /// Last error recorded.
    pub last_error: Option<String>,
    /// Stored result, once completed.
    pub result: Option<Value>,
    /// Whether a live lease holds it.
    pub leased: bool,
}

/// Read one task.
///
/// # Errors
///
/// A retryable error when Postgres fails.
pub async fn get(
    client: &impl GenericClient,
    task: &TaskRef<'_>,
) -> Result<Option<TaskRow>, TaskError> {
    let row = client
        .query_opt(sql::GET, &[&task.function, &task.key.as_str()])
        .await?;
    row.map(|row| {
        Ok(TaskRow {
            status: TaskStatus::parse(row.get(0))?,
            attempts: row.get(1),
            token: FencingToken::new(row.get(2)),
            last_error: row.get(3),
            result: row.get(4),
            leased: row.get(5),
        })
    })
    .transpose()
}
