//! `execute`: the one path every runner takes from an input to an outcome.
//!
//! Phases, each visible below: key and hash the input, claim, run the core
//! (with a lease heartbeat, a panic guard and a deadline), then commit under
//! the fencing token, or hand the task back, or dead-letter it.

use std::panic::AssertUnwindSafe;
use std::time::{Duration, Instant};

use futures::FutureExt;
use serde_json::Value;
use tracing::{Instrument, Span, field, info, warn};

use crate::context::{Context, Held, LastAttempt};
use crate::error::{ErrorKind, TaskError};
use crate::ids::{FencingToken, TaskKey};
use crate::operation::Operation;
use crate::task::{self, Claim, ClaimResult, DeadLetter, DeadLetterTopic, TaskRef};

/// What the runner knows about how this attempt was delivered.
#[derive(Debug, Clone, Default)]
pub struct Delivery {
    /// The delivery attempt, 1-based, as the transport counts it (Cloud
    /// Tasks: `X-CloudTasks-TaskRetryCount` + 1). `None` when the transport
    /// does not count (CLI, in-process).
    pub attempt: Option<u32>,
    /// Transport metadata kept with a dead letter (the `X-CloudTasks-*`
    /// headers, say).
    pub metadata: Value,
    /// The trace this attempt runs in.
    pub trace_id: Option<String>,
    /// Upper bound on the core's running time (the dispatch deadline for
    /// pushes); `None` uses the function's dispatch deadline.
    pub deadline: Option<Duration>,
}

/// How an attempt ended, when it did not end in a retryable error.
#[derive(Debug)]
pub enum Outcome<O> {
    /// The core ran and its output was committed.
    Completed {
        /// The output.
        output: O,
        /// Claims of this key so far.
        attempt: u32,
        /// The fencing token the output was committed under.
        token: FencingToken,
    },
    /// The key was already completed; the stored output, the core not run.
    Replayed {
        /// The stored output.
        output: O,
    },
    /// This attempt dead-lettered the task: a permanent failure, or a
    /// retryable one on the final attempt.
    DeadLettered {
        /// The failure.
        error: TaskError,
        /// The dead letter's id.
        dead_letter_id: i64,
    },
    /// The key was dead-lettered by an earlier attempt.
    AlreadyDead {
        /// The recorded reason.
        reason: String,
    },
}

impl<O> Outcome<O> {
    /// A short name for logs and response bodies.
    pub fn as_str(&self) -> &'static str {
        match self {
            Outcome::Completed { .. } => "completed",
            Outcome::Replayed { .. } => "replayed",
            Outcome::DeadLettered { .. } => "dead_lettered",
            Outcome::AlreadyDead { .. } => "already_dead",
        }
    }
}

/// The in-process wrapper: run `input` through `op` once per key and return
/// its output, whether this call computed it or an earlier one did.
///
/// # Errors
///
/// A retryable error when the attempt should be repeated later (busy, rate
/// limited, Postgres down); the permanent error when the task was
/// dead-lettered, by this call or an earlier one.
pub async fn call<O: Operation>(
    ctx: &Context,
    op: &O,
    input: O::Input,
) -> Result<O::Output, TaskError> {
    match execute(ctx, op, input, &Delivery::default()).await? {
        Outcome::Completed { output, .. } | Outcome::Replayed { output } => Ok(output),
        Outcome::DeadLettered { error, .. } => Err(error),
        Outcome::AlreadyDead { reason } => Err(TaskError::permanent(format!(
            "{} dead-lettered this key earlier: {reason}",
            op.spec().name
        ))),
    }
}

/// Run `input` through `op` exactly once per idempotency key.
///
/// # Errors
///
/// Only retryable errors: [`ErrorKind::Busy`] when another delivery holds the
/// key, [`ErrorKind::LeaseLost`] when this attempt's lease was taken over,
/// [`ErrorKind::Unavailable`] when Postgres cannot be reached, and any
/// retryable error of the core before the final attempt. Permanent failures
/// are dead-lettered and returned as [`Outcome::DeadLettered`].
pub async fn execute<O: Operation>(
    ctx: &Context,
    op: &O,
    input: O::Input,
    delivery: &Delivery,
) -> Result<Outcome<O::Output>, TaskError> {
    let span = tracing::info_span!(
        "task",
        function = %op.spec().name,
        key = field::Empty,
        attempt = field::Empty,
        token = field::Empty,
        outcome = field::Empty,
    );
    let result = execute_in_span(ctx, op, input, delivery)
        .instrument(span.clone())
        .await;
    let outcome = match &result {
        Ok(outcome) => outcome.as_str(),
        Err(err) => err.kind().as_str(),
    };
    span.record("outcome", outcome);
    result
}

async fn execute_in_span<O: Operation>(
    ctx: &Context,
    op: &O,
    input: O::Input,
    delivery: &Delivery,
) -> Result<Outcome<O::Output>, TaskError> {
    let payload = serde_json::to_value(&input)
        .map_err(|e| TaskError::invalid_input("input does not serialize").with_source(e))?;
    let key = match op.key(&input) {
        Ok(key) => key,
        Err(err) => {
            return dead_letter_unclaimed(ctx, op, None, Some(&payload), err, delivery).await;
        }
    };
    Span::current().record("key", field::display(&key));
    let task = TaskRef {
        function: &op.spec().name,
        key: &key,
    };

    let claim = match claim(ctx, op, &task, &payload).await {
        Ok(Claimed::Yes(claim)) => claim,
        Ok(Claimed::No(outcome)) => return Ok(outcome),
        Err(err) if err.kind() == ErrorKind::PayloadConflict => {
            return dead_letter_unclaimed(ctx, op, Some(&key), Some(&payload), err, delivery).await;
        }
        Err(err) => return Err(err),
    };
    let attempt = delivery.attempt.unwrap_or(0).max(claim.attempts);
    Span::current().record("attempt", attempt);
    Span::current().record("token", claim.token.get());
    info!(attempt, token = claim.token.get(), "claimed");

    let last = op.spec().is_final_attempt(attempt);
    ctx.track(Held {
        function: task.function.to_owned(),
        key: key.clone(),
        token: claim.token,
        last_attempt: last.then(|| LastAttempt {
            payload: payload.clone(),
            topic: op.spec().dead_letter_topic.clone(),
            letter: DeadLetter {
                delivery: delivery.metadata.clone(),
                trace_id: delivery.trace_id.clone(),
                ..DeadLetter::default()
            },
        }),
    });
    let started = Instant::now();
    let run = run_guarded(ctx, op, &task, claim, &input, delivery).await;
    let finished = match run {
        Ok(output) => commit(ctx, op, &task, claim, &input, output, attempt).await,
        Err(err) => Err(err),
    };
    let outcome = match finished {
        Ok(outcome) => Ok(outcome),
        Err(err) => fail(ctx, op, &task, claim, &payload, err, attempt, delivery).await,
    };
    ctx.untrack(task.function, &key, claim.token);
    info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        "finished"
    );
    outcome
}

enum Claimed<O> {
    Yes(Claim),
    No(Outcome<O>),
}

async fn claim<O: Operation>(
    ctx: &Context,
    op: &O,
    task: &TaskRef<'_>,
    payload: &Value,
) -> Result<Claimed<O::Output>, TaskError> {
    let client = ctx.client().await?;
    match task::claim(&client, task, payload, op.spec().lease()).await? {
        ClaimResult::Claimed(claim) => Ok(Claimed::Yes(claim)),
        ClaimResult::Completed(stored) => {
            let output = serde_json::from_value(stored).map_err(|e| {
                TaskError::permanent("stored result no longer matches the output type")
                    .with_source(e)
            })?;
            info!("replayed");
            Ok(Claimed::No(Outcome::Replayed { output }))
        }
        ClaimResult::Dead(reason) => Ok(Claimed::No(Outcome::AlreadyDead { reason })),
    }
}

/// Run the core under a heartbeat that keeps the lease alive, a deadline,
/// and a guard that turns a panic into a retryable error.
async fn run_guarded<O: Operation>(
    ctx: &Context,
    op: &O,
    task: &TaskRef<'_>,
    claim: Claim,
    input: &O::Input,
    delivery: &Delivery,
) -> Result<O::Output, TaskError> {
    let deadline = delivery
        .deadline
        .unwrap_or_else(|| op.spec().dispatch_deadline());
    let core = AssertUnwindSafe(op.run(ctx, input)).catch_unwind();
    let heartbeat = keep_leased(ctx, op, task, claim);
    tokio::select! {
        result = tokio::time::timeout(deadline, core) => match result {
            Ok(Ok(output)) => output,
            Ok(Err(panic)) => Err(TaskError::transient(format!(
                "core panicked: {}",
                panic_message(panic.as_ref())
            ))),
            Err(_) => Err(TaskError::transient(format!(
                "core did not finish within {} s",
                deadline.as_secs()
            ))),
        },
        lost = heartbeat => Err(lost),
    }
}

/// Extend the lease every third of its length; returns only when the lease
/// was lost.
async fn keep_leased<O: Operation>(
    ctx: &Context,
    op: &O,
    task: &TaskRef<'_>,
    claim: Claim,
) -> TaskError {
    let lease = op.spec().lease();
    let mut ticks = tokio::time::interval(lease / 3);
    ticks.tick().await;
    loop {
        ticks.tick().await;
        let held = match ctx.client().await {
            Ok(client) => task::heartbeat(&client, task, claim.token, lease).await,
            Err(err) => Err(err),
        };
        match held {
            Ok(true) => {}
            Ok(false) => {
                return TaskError::new(ErrorKind::LeaseLost, "lease taken over while running");
            }
            Err(err) => warn!(error = %err.report(), "lease heartbeat failed"),
        }
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned())
}

/// The completion transaction: the fence check and the operation's writes,
/// sent together, committed only if the fence held.
async fn commit<O: Operation>(
    ctx: &Context,
    op: &O,
    task: &TaskRef<'_>,
    claim: Claim,
    input: &O::Input,
    output: O::Output,
    attempt: u32,
) -> Result<Outcome<O::Output>, TaskError> {
    let result = serde_json::to_value(&output)
        .map_err(|e| TaskError::permanent("output does not serialize").with_source(e))?;
    let mut client = ctx.client().await?;
    let tx = client.transaction().await?;
    let (fence, writes) = tokio::join!(
        task::complete(&tx, task, claim, &result),
        op.commit(&tx, input, &output),
    );
    fence?;
    writes?;
    tx.commit().await?;
    info!("completed");
    Ok(Outcome::Completed {
        output,
        attempt,
        token: claim.token,
    })
}

/// A failed attempt: dead-letter it when the failure is permanent or this
/// was the last attempt, otherwise hand it back for the next delivery.
#[allow(clippy::too_many_arguments)]
async fn fail<O: Operation>(
    ctx: &Context,
    op: &O,
    task: &TaskRef<'_>,
    claim: Claim,
    payload: &Value,
    err: TaskError,
    attempt: u32,
    delivery: &Delivery,
) -> Result<Outcome<O::Output>, TaskError> {
    if err.kind() == ErrorKind::LeaseLost {
        warn!(error = %err.report(), "lease lost; writes rolled back");
        return Err(err);
    }
    let last = op.spec().is_final_attempt(attempt);
    if err.is_retryable() && !last {
        warn!(error = %err.report(), kind = %err.kind(), "attempt failed; will retry");
        let client = ctx.client().await?;
        task::release(&client, task, claim.token, Some(&err.report())).await?;
        return Err(err);
    }
    warn!(error = %err.report(), kind = %err.kind(), final_attempt = last, "dead-lettering");
    let letter = dead_letter_of(&err, delivery);
    let mut client = ctx.client().await?;
    let tx = client.transaction().await?;
    let topic = DeadLetterTopic(&op.spec().dead_letter_topic);
    let id = task::dead_letter_claimed(&tx, task, claim, payload, &letter, topic).await?;
    tx.commit().await?;
    Ok(Outcome::DeadLettered {
        error: err,
        dead_letter_id: id,
    })
}

async fn dead_letter_unclaimed<O: Operation>(
    ctx: &Context,
    op: &O,
    key: Option<&TaskKey>,
    payload: Option<&Value>,
    err: TaskError,
    delivery: &Delivery,
) -> Result<Outcome<O::Output>, TaskError> {
    if err.is_retryable() {
        return Err(err);
    }
    warn!(error = %err.report(), kind = %err.kind(), "dead-lettering unclaimed delivery");
    let id = record_unclaimed(
        ctx,
        &op.spec().name,
        &op.spec().dead_letter_topic,
        key,
        payload,
        &dead_letter_of(&err, delivery),
    )
    .await?;
    Ok(Outcome::DeadLettered {
        error: err,
        dead_letter_id: id,
    })
}

/// Record a dead letter for a delivery that never became a claimed task
/// (its body did not parse, its key conflicts), in its own transaction.
///
/// # Errors
///
/// A retryable error when Postgres fails.
pub async fn record_unclaimed(
    ctx: &Context,
    function: &str,
    topic: &str,
    key: Option<&TaskKey>,
    payload: Option<&Value>,
    letter: &DeadLetter,
) -> Result<i64, TaskError> {
    let mut client = ctx.client().await?;
    let tx = client.transaction().await?;
    let id =
        task::dead_letter_unclaimed(&tx, function, key, payload, letter, DeadLetterTopic(topic))
            .await?;
    tx.commit().await?;
    Ok(id)
}

/// The dead letter that records `err` for `delivery`.
pub fn dead_letter_of(err: &TaskError, delivery: &Delivery) -> DeadLetter {
    DeadLetter {
        reason: err.report(),
        error_kind: err.kind().as_str().to_owned(),
        delivery: delivery.metadata.clone(),
        trace_id: delivery.trace_id.clone(),
        raw_body: None,
    }
}

/// Hand back every task this process still holds (on shutdown), so that the
/// redelivery claims it at once instead of waiting for the lease to expire.
/// A claim on the queue's last attempt is dead-lettered instead: nothing
/// would deliver it again. Returns how many claims were settled.
///
/// # Errors
///
/// A retryable error when Postgres fails.
pub async fn release_in_flight(ctx: &Context) -> Result<usize, TaskError> {
    let mut settled = 0;
    for held in ctx.in_flight() {
        let task = TaskRef {
            function: &held.function,
            key: &held.key,
        };
        let done = match &held.last_attempt {
            None => {
                let client = ctx.client().await?;
                task::release(&client, &task, held.token, Some(SHUTDOWN)).await?
            }
            Some(last) => dead_letter_interrupted(ctx, &task, held.token, last).await?,
        };
        settled += usize::from(done);
        ctx.untrack(&held.function, &held.key, held.token);
    }
    Ok(settled)
}

const SHUTDOWN: &str = "released at shutdown";

async fn dead_letter_interrupted(
    ctx: &Context,
    task: &TaskRef<'_>,
    token: FencingToken,
    last: &LastAttempt,
) -> Result<bool, TaskError> {
    let err = TaskError::transient("interrupted by shutdown on the queue's last attempt");
    warn!(key = %task.key, "dead-lettering a last attempt cut short by shutdown");
    let letter = DeadLetter {
        reason: err.report(),
        error_kind: err.kind().as_str().to_owned(),
        ..last.letter.clone()
    };
    let claim = Claim { token, attempts: 0 };
    let mut client = ctx.client().await?;
    let tx = client.transaction().await?;
    let topic = DeadLetterTopic(&last.topic);
    match task::dead_letter_claimed(&tx, task, claim, &last.payload, &letter, topic).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(true)
        }
        Err(err) if err.kind() == ErrorKind::LeaseLost => Ok(false),
        Err(err) => Err(err),
    }
}
