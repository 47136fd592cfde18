//! The transactional outbox: messages written in the same transaction as the
//! state change that caused them, and sent afterwards by a relay, so that a
//! crash between the commit and the send loses nothing.
//!
//! Two kinds of message go through it: dead letters published to a
//! function's Pub/Sub topic, and follow-up Cloud Tasks (asr-postprocess asks
//! for `summarize` of the same meeting).

use serde_json::Value;
use tokio_postgres::Transaction;

use crate::error::TaskError;

const INSERT: &str = "\
    INSERT INTO outbox (kind, target, dedup_key, payload, attributes) \
    VALUES ($1, $2, $3, $4, $5) \
    ON CONFLICT (kind, target, dedup_key) DO NOTHING";

/// A follow-up task to create on another function's queue.
#[derive(Debug, Clone)]
pub struct TaskRequest {
    /// The function that should run it (its queue and URL are resolved by
    /// the relay from configuration).
    pub function: String,
    /// A deterministic task name, so that a relay that sends twice creates
    /// the task once (`ALREADY_EXISTS` counts as sent).
    pub task_name: String,
    /// The JSON body of the push.
    pub payload: Value,
}

/// Record a follow-up task inside `tx`; the relay creates it after commit.
/// Recording the same task name twice is a no-op.
///
/// # Errors
///
/// A retryable error when the insert fails.
pub async fn enqueue_task(tx: &Transaction<'_>, request: &TaskRequest) -> Result<(), TaskError> {
    let attributes = Value::Object(Default::default());
    tx.execute(
        INSERT,
        &[
            &"cloud_tasks",
            &request.function,
            &request.task_name,
            &request.payload,
            &attributes,
        ],
    )
    .await?;
    Ok(())
}

/// Record a Pub/Sub message for `topic` inside `tx`, deduplicated on
/// `dedup_key`.
///
/// # Errors
///
/// A retryable error when the insert fails.
pub async fn publish(
    tx: &Transaction<'_>,
    topic: &str,
    dedup_key: &str,
    payload: &Value,
    attributes: &Value,
) -> Result<(), TaskError> {
    tx.execute(
        INSERT,
        &[&"pubsub", &topic, &dedup_key, payload, attributes],
    )
    .await?;
    Ok(())
}
