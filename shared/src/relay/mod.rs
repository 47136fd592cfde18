//! The outbox relay: sends the rows that [`outbox`](crate::outbox) wrote in
//! the same transaction as a state change, and marks them sent.
//!
//! | module | role |
//! | --- | --- |
//! | `settings` | [`RelaySettings`]: endpoints, targets, lease and backoff, from the environment |
//! | `sql` | the claim, mark-sent and mark-failed statements |
//! | `pubsub` | `kind = 'pubsub'`: Pub/Sub REST `topics.publish` |
//! | `cloud_tasks` | `kind = 'cloud_tasks'`: a named task through the Cloud Tasks client |
//! | `error` | [`RelayError`] (the drain failed) and the per-row send error |
//!
//! Delivery is at least once. A drain claims due rows under a lease (other
//! relays skip them), sends them, and marks each one sent or failed; a failed
//! row keeps its error and waits an exponential backoff, and a row whose
//! relay died mid-send is claimed again when the lease runs out. Receivers
//! deduplicate: a dead letter's message carries `dead_letter_id`, and a
//! follow-up task is named after its dedup key, so a second create answers
//! `ALREADY_EXISTS`, which counts as sent.

mod cloud_tasks;
mod error;
mod pubsub;
mod settings;
mod sql;

use std::future::Future;

use serde_json::Value;
use tracing::{Instrument, debug, debug_span, info, warn};

use crate::context::Context;

pub use error::RelayError;
pub use settings::{RelaySettings, Target, env_suffix};

use cloud_tasks::{Created, TaskCreator};
use error::SendError;
use pubsub::Publisher;

/// Where an outbox row goes (the `kind` column).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    PubSub,
    CloudTasks,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::PubSub => "pubsub",
            Kind::CloudTasks => "cloud_tasks",
        }
    }
}

/// One claimed outbox row.
#[derive(Debug)]
struct OutboxRow {
    id: i64,
    kind: Kind,
    target: String,
    dedup_key: String,
    payload: Value,
    attributes: Value,
    /// Claims of this row so far, this one included.
    attempts: i32,
}

/// What one drain did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Rows sent (a follow-up task that already existed counts as sent).
    pub sent: usize,
    /// Rows whose send failed; they stay in the outbox with their error and
    /// are retried after their backoff.
    pub failed: usize,
}

/// Sends outbox rows. Cheap to keep for a process's lifetime: the HTTP
/// client, the credentials and the Cloud Tasks client are built once, on
/// first use.
pub struct Relay {
    settings: RelaySettings,
    publisher: Publisher,
    tasks: TaskCreator,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Relay {
    /// A relay with settings from the environment (see [`RelaySettings`]).
    ///
    /// # Errors
    ///
    /// [`RelayError::InvalidSetting`] for a malformed variable;
    /// [`RelayError::HttpClient`] when the HTTP client cannot be built.
    pub fn from_env() -> Result<Relay, RelayError> {
        Relay::new(RelaySettings::from_env()?)
    }

    /// A relay with `settings`.
    ///
    /// # Errors
    ///
    /// [`RelayError::InvalidSetting`] when `settings` fail
    /// [`RelaySettings::validate`]; [`RelayError::HttpClient`] when the HTTP
    /// client cannot be built.
    pub fn new(settings: RelaySettings) -> Result<Relay, RelayError> {
        settings.validate()?;
        let http = reqwest::Client::builder()
            .timeout(settings.send_timeout)
            .build()
            .map_err(RelayError::HttpClient)?;
        Ok(Relay {
            settings,
            publisher: Publisher::new(http),
            tasks: TaskCreator::new(),
        })
    }

    /// The settings in use.
    pub fn settings(&self) -> &RelaySettings {
        &self.settings
    }

    /// Send every row that is due now, once: claim a batch, send it
    /// concurrently, record the results, and go on with the next batch until
    /// none is left. A row that fails is not retried within the same drain.
    ///
    /// # Errors
    ///
    /// [`RelayError::Database`] when a claim or a mark fails; rows already
    /// claimed then stay leased and are sent again after the lease.
    pub async fn drain_once(&self, ctx: &Context) -> Result<Drained, RelayError> {
        // Debug level: at the default filter a drain that runs every second
        // must not start a trace every second.
        let span = debug_span!("relay_drain", sent = 0_u64, failed = 0_u64);
        let drained = self.drain(ctx).instrument(span.clone()).await?;
        span.record("sent", drained.sent as u64);
        span.record("failed", drained.failed as u64);
        Ok(drained)
    }

    async fn drain(&self, ctx: &Context) -> Result<Drained, RelayError> {
        let mut drained = Drained::default();
        let mut cursor = 0_i64;
        loop {
            let batch = self.claim(ctx, cursor).await?;
            let Some(last) = batch.last() else {
                return Ok(drained);
            };
            cursor = last.id;
            let full = batch.len() >= self.settings.batch_size as usize;

            let results = futures::future::join_all(batch.iter().map(|row| self.send(row))).await;

            let counts = self.record(ctx, &batch, results).await?;
            drained.sent += counts.sent;
            drained.failed += counts.failed;
            if !full {
                return Ok(drained);
            }
        }
    }

    /// Poll the outbox every [`RelaySettings::poll_interval`] until
    /// `shutdown` completes. A drain that fails is logged and retried on the
    /// next tick. A drain cut short by `shutdown` leaves its claimed rows
    /// leased; they are sent again once the lease runs out.
    pub async fn run<F>(self, ctx: Context, shutdown: F)
    where
        F: Future<Output = ()>,
    {
        tokio::pin!(shutdown);
        let mut ticks = tokio::time::interval(self.settings.poll_interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        info!(
            poll_ms = self.settings.poll_interval.as_millis() as u64,
            "outbox relay started"
        );
        loop {
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                _ = ticks.tick() => {}
            }
            tokio::select! {
                biased;
                () = &mut shutdown => break,
                result = self.drain_once(&ctx) => log_drain(result),
            }
        }
        info!("outbox relay stopped");
    }

    async fn claim(&self, ctx: &Context, cursor: i64) -> Result<Vec<OutboxRow>, RelayError> {
        let client = ctx.client().await?;
        let limit = i64::from(self.settings.batch_size);
        let lease = self.settings.lease.as_secs_f64();
        let rows = client.query(sql::CLAIM, &[&cursor, &limit, &lease]).await?;
        let mut batch = rows
            .iter()
            .map(|row| {
                let id: i64 = row.get("id");
                Ok(OutboxRow {
                    id,
                    kind: parse_kind(id, row.get("kind"))?,
                    target: row.get("target"),
                    dedup_key: row.get("dedup_key"),
                    payload: row.get("payload"),
                    attributes: row.get("attributes"),
                    attempts: row.get("attempts"),
                })
            })
            .collect::<Result<Vec<_>, RelayError>>()?;
        batch.sort_by_key(|row| row.id);
        Ok(batch)
    }

    async fn send(&self, row: &OutboxRow) -> Result<(), SendError> {
        let send = async {
            match row.kind {
                Kind::PubSub => {
                    let message_id = self.publisher.publish(&self.settings, row).await?;
                    debug!(id = row.id, message_id = %message_id, "published");
                }
                Kind::CloudTasks => {
                    let created = self.tasks.create(&self.settings, row).await?;
                    let existed = created == Created::AlreadyExisted;
                    debug!(id = row.id, already_existed = existed, "task created");
                }
            }
            Ok(())
        };
        tokio::time::timeout(self.settings.send_timeout, send)
            .await
            .unwrap_or(Err(SendError::Timeout(self.settings.send_timeout)))
    }

    /// Mark what was sent first (in one statement), so that a failure
    /// while recording cannot cause a resend of those; then each failure with
    /// its own error and backoff.
    async fn record(
        &self,
        ctx: &Context,
        batch: &[OutboxRow],
        results: Vec<Result<(), SendError>>,
    ) -> Result<Drained, RelayError> {
        let client = ctx.client().await?;
        let (sent, failed): (Vec<_>, Vec<_>) = batch
            .iter()
            .zip(results)
            .partition(|(_, result)| result.is_ok());
        let sent_ids: Vec<i64> = sent.iter().map(|(row, _)| row.id).collect();
        if !sent_ids.is_empty() {
            client.execute(sql::MARK_SENT, &[&sent_ids]).await?;
        }
        for (row, _) in &sent {
            info!(id = row.id, kind = row.kind.as_str(), target = %row.target,
                attempt = row.attempts, "outbox row sent");
        }
        for (row, result) in &failed {
            let Err(err) = result else { continue };
            let report = err.report();
            let backoff = self.settings.backoff(row.attempts);
            warn!(id = row.id, kind = row.kind.as_str(), target = %row.target,
                attempt = row.attempts, retry_in_ms = backoff.as_millis() as u64,
                error = %report, "outbox send failed; will retry");
            let params: [&(dyn tokio_postgres::types::ToSql + Sync); 4] =
                [&row.id, &row.attempts, &report, &backoff.as_secs_f64()];
            client.execute(sql::MARK_FAILED, &params).await?;
        }
        Ok(Drained {
            sent: sent.len(),
            failed: failed.len(),
        })
    }
}

fn parse_kind(id: i64, kind: &str) -> Result<Kind, RelayError> {
    match kind {
        "pubsub" => Ok(Kind::PubSub),
        "cloud_tasks" => Ok(Kind::CloudTasks),
        other => Err(RelayError::UnknownKind {
            id,
            kind: other.to_owned(),
        }),
    }
}

fn log_drain(result: Result<Drained, RelayError>) {
    match result {
        Ok(Drained { sent: 0, failed: 0 }) => {}
        Ok(drained) => debug!(
            sent = drained.sent,
            failed = drained.failed,
            "outbox drained"
        ),
        Err(err) => warn!(error = %error_chain(&err), "outbox drain failed"),
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(c) = cause {
        out.push_str(": ");
        out.push_str(&c.to_string());
        cause = c.source();
    }
    out
}
