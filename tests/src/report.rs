//! Reading results back: task rows, transcripts, summaries and dead
//! letters, as `make run` prints them and the end-to-end tests check them.

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use tokio_postgres::Client;

use crate::{BoxError, PROJECT};

const TASKS: &str = "\
SELECT function, key, attempts, status::text,
       (extract(epoch FROM coalesce(completed_at, updated_at) - created_at) * 1000)::float8
  FROM tasks ORDER BY created_at, function, key";

/// Work still open: tasks not finished, outbox rows not sent, and follow-ups
/// not yet pushed (a completed asr-postprocess task whose meeting has no
/// summarize task yet).
const UNFINISHED: &str = "\
SELECT (SELECT count(*) FROM tasks WHERE status IN ('pending', 'running'))
     + (SELECT count(*) FROM outbox WHERE sent_at IS NULL)
     + (SELECT count(*) FROM tasks a
         WHERE a.function = 'asr-postprocess' AND a.status = 'completed'
           AND NOT EXISTS (SELECT 1 FROM tasks s
                            WHERE s.function = 'summarize'
                              AND s.payload->>'meeting_id' = a.payload->>'meeting_id'))";

/// One task as the table shows it.
#[derive(Debug, Clone)]
pub struct TaskLine {
    /// Function name.
    pub function: String,
    /// Idempotency key.
    pub key: String,
    /// Claims made.
    pub attempts: i32,
    /// Final status.
    pub status: String,
    /// From the first claim to completion (or the last change).
    pub duration_ms: f64,
}

/// Every task row.
///
/// # Errors
///
/// When the query fails.
pub async fn tasks(client: &Client) -> Result<Vec<TaskLine>, BoxError> {
    let rows = client.query(TASKS, &[]).await?;
    Ok(rows
        .iter()
        .map(|r| TaskLine {
            function: r.get(0),
            key: r.get(1),
            attempts: r.get(2),
            status: r.get(3),
            duration_ms: r.get(4),
        })
        .collect())
}

/// Wait until no work is open (see `UNFINISHED`) and at least one task
/// exists; polls Postgres every 100 ms, up to `timeout`.
///
/// # Errors
///
/// When `timeout` passes first.
pub async fn wait_settled(client: &Client, timeout: Duration) -> Result<(), BoxError> {
    let started = Instant::now();
    loop {
        let open: i64 = client.query_one(UNFINISHED, &[]).await?.get(0);
        let total: i64 = client
            .query_one("SELECT count(*) FROM tasks", &[])
            .await?
            .get(0);
        if open == 0 && total > 0 {
            return Ok(());
        }
        if started.elapsed() > timeout {
            return Err(format!("{open} tasks or outbox rows still open after {timeout:?}").into());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A meeting's cleaned-transcript statistics, if it has a transcript.
///
/// # Errors
///
/// When the query fails.
pub async fn transcript_stats(client: &Client, meeting: &str) -> Result<Option<Value>, BoxError> {
    let row = client
        .query_opt(
            "SELECT stats FROM transcripts WHERE meeting_id = $1",
            &[&meeting],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// A meeting's stored summary content, if it has one.
///
/// # Errors
///
/// When the query fails.
pub async fn summary(client: &Client, meeting: &str) -> Result<Option<Value>, BoxError> {
    let row = client
        .query_opt(
            "SELECT content FROM summaries WHERE meeting_id = $1",
            &[&meeting],
        )
        .await?;
    Ok(row.map(|r| r.get(0)))
}

/// A message pulled from a Pub/Sub subscription: its decoded data and
/// attributes.
#[derive(Debug, Clone)]
pub struct Pulled {
    /// The message data, parsed as JSON.
    pub data: Value,
    /// Its attributes.
    pub attributes: Value,
}

/// Pull (and acknowledge) up to 10 messages from `subscription` on the
/// emulator's Pub/Sub REST API, waiting up to `timeout` for the first.
///
/// # Errors
///
/// When the emulator cannot be reached or answers in an unexpected shape.
pub async fn pull(
    emulator_url: &str,
    subscription: &str,
    timeout: Duration,
) -> Result<Vec<Pulled>, BoxError> {
    let http = reqwest::Client::new();
    let base = format!("{emulator_url}/v1/projects/{PROJECT}/subscriptions/{subscription}");
    let started = Instant::now();
    loop {
        let answer: Value = http
            .post(format!("{base}:pull"))
            .json(&serde_json::json!({"maxMessages": 10}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let received = answer["receivedMessages"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        if !received.is_empty() {
            return acknowledge_and_decode(&http, &base, &received).await;
        }
        if started.elapsed() > timeout {
            return Ok(Vec::new());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn acknowledge_and_decode(
    http: &reqwest::Client,
    base: &str,
    received: &[Value],
) -> Result<Vec<Pulled>, BoxError> {
    let ack_ids: Vec<&Value> = received.iter().map(|m| &m["ackId"]).collect();
    http.post(format!("{base}:acknowledge"))
        .json(&serde_json::json!({"ackIds": ack_ids}))
        .send()
        .await?
        .error_for_status()?;
    received
        .iter()
        .map(|m| {
            let data = m["message"]["data"].as_str().unwrap_or_default();
            let bytes = base64::engine::general_purpose::STANDARD.decode(data)?;
            Ok(Pulled {
                data: serde_json::from_slice(&bytes)?,
                attributes: m["message"]["attributes"].clone(),
            })
        })
        .collect()
}
