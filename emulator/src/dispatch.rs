//! Pushing tasks: one dispatcher loop per queue takes due attempts off the
//! queue, and each attempt runs as its own Tokio task that sends the HTTP
//! request, enforces the dispatch deadline, injects faults and reports the
//! outcome back to the queue.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, sleep, sleep_until};
use tracing::{info, warn};

use crate::clock::{TimeScale, epoch_seconds};
use crate::faults::FaultDice;
use crate::oidc::TokenMinter;
use crate::queue::retry::parse_retry_after;
use crate::queue::{Fault, Job, NextStep, Outcome, Queue, Verdict};

/// Attempts taken off a queue per lock.
const BATCH: usize = 64;

/// Headers a task may not set: Cloud Tasks computes or reserves them.
fn is_reserved_header(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    matches!(lower.as_str(), "host" | "content-length" | "user-agent")
        || lower.starts_with("x-google-")
        || lower.starts_with("x-appengine-")
        || lower.starts_with("x-cloudtasks-")
}

/// What every attempt needs besides its job.
#[derive(Debug)]
pub(crate) struct Dispatcher {
    client: reqwest::Client,
    minter: Arc<TokenMinter>,
    dice: FaultDice,
    deadline_scale: TimeScale,
    shutdown: watch::Receiver<bool>,
}

impl Dispatcher {
    /// # Errors
    ///
    /// Fails when the HTTP client cannot be built (no TLS roots).
    pub(crate) fn new(
        minter: Arc<TokenMinter>,
        dice: FaultDice,
        deadline_scale: TimeScale,
        shutdown: watch::Receiver<bool>,
    ) -> Result<Self, reqwest::Error> {
        // Cloud Tasks does not follow redirects: a 3xx is a failed attempt.
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Dispatcher {
            client,
            minter,
            dice,
            deadline_scale,
            shutdown,
        })
    }
}

/// Runs a queue's dispatcher until shutdown, then aborts its attempts.
pub(crate) async fn run_queue(queue: Arc<Queue>, dispatcher: Arc<Dispatcher>) {
    let mut shutdown = dispatcher.shutdown.clone();
    let mut attempts = JoinSet::new();
    loop {
        while attempts.try_join_next().is_some() {}
        let wait_until = match queue.next_jobs(BATCH) {
            NextStep::Jobs(jobs) => {
                for job in jobs {
                    attempts.spawn(attempt(Arc::clone(&queue), Arc::clone(&dispatcher), job));
                }
                continue;
            }
            NextStep::WaitUntil(at) => Some(at),
            NextStep::Idle => None,
        };
        tokio::select! {
            () = sleep_until_maybe(wait_until) => {}
            () = queue.wake.notified() => {}
            _ = shutdown.changed() => break,
        }
    }
    attempts.abort_all();
}

async fn sleep_until_maybe(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// One attempt: send (and maybe duplicate), apply faults, report, log.
async fn attempt(queue: Arc<Queue>, dispatcher: Arc<Dispatcher>, job: Job) {
    let started = Instant::now();
    if let Some(delay) = dispatcher.dice.duplicate() {
        queue.record_fault(Fault::DuplicateDelivered);
        tokio::spawn(duplicate(
            Arc::clone(&queue),
            Arc::clone(&dispatcher),
            job.clone(),
            delay,
        ));
    }
    let mut outcome = dispatcher.send(&queue, &job).await;
    if let Outcome::Responded { status, .. } = outcome
        && dispatcher.dice.drop_response()
    {
        queue.record_fault(Fault::ResponseDropped);
        outcome = Outcome::ResponseDropped { status };
    }
    let verdict = queue.finish(&job, &outcome);
    log_attempt(&queue, &job, &outcome, verdict, started.elapsed());
}

/// A second delivery of the same attempt whose answer is ignored.
async fn duplicate(queue: Arc<Queue>, dispatcher: Arc<Dispatcher>, job: Job, delay: Duration) {
    let mut shutdown = dispatcher.shutdown.clone();
    tokio::select! {
        () = sleep(delay) => {}
        _ = shutdown.changed() => return,
    }
    let outcome = dispatcher.send(&queue, &job).await;
    info!(
        queue = %queue.config.id,
        task = %job.task_id,
        attempt = job.attempt,
        status = status_of(&outcome),
        "duplicate delivered"
    );
}

fn log_attempt(queue: &Queue, job: &Job, outcome: &Outcome, verdict: Verdict, took: Duration) {
    let latency_ms = took.as_secs_f64() * 1000.0;
    let status = status_of(outcome);
    let outcome_kind = outcome.label();
    let error = match outcome {
        Outcome::Unreachable(reason) => reason.as_str(),
        _ => "",
    };
    let queue_id = &queue.config.id;
    match verdict {
        Verdict::GaveUp => warn!(
            queue = %queue_id, task = %job.task_id, attempt = job.attempt, status, latency_ms,
            outcome = outcome_kind, error, "dispatched; retries exhausted, task deleted"
        ),
        Verdict::Retry(after) => info!(
            queue = %queue_id, task = %job.task_id, attempt = job.attempt, status, latency_ms,
            outcome = outcome_kind, error, retry_in_s = after.as_secs_f64(),
            "dispatched; will retry"
        ),
        Verdict::Succeeded => info!(
            queue = %queue_id, task = %job.task_id, attempt = job.attempt, status, latency_ms,
            "dispatched; task done"
        ),
        Verdict::Gone => info!(
            queue = %queue_id, task = %job.task_id, attempt = job.attempt, status, latency_ms,
            outcome = outcome_kind, "dispatched; task was deleted meanwhile"
        ),
    }
}

/// The HTTP status for logs; 0 when no answer arrived.
fn status_of(outcome: &Outcome) -> u16 {
    match outcome {
        Outcome::Responded { status, .. } | Outcome::ResponseDropped { status } => *status,
        Outcome::DeadlineExceeded | Outcome::Unreachable(_) => 0,
    }
}

impl Dispatcher {
    /// Sends one delivery and waits for its answer up to the deadline.
    async fn send(&self, queue: &Queue, job: &Job) -> Outcome {
        let request = match self.request(queue, job) {
            Ok(request) => request,
            Err(reason) => return Outcome::Unreachable(reason),
        };
        let deadline = self.deadline_scale.to_real(job.dispatch_deadline);
        // Dropping the exchange on timeout closes the connection; the target
        // may still be running the handler, as with Cloud Tasks.
        match tokio::time::timeout(deadline, self.exchange(request)).await {
            Err(_) => Outcome::DeadlineExceeded,
            Ok(Err(err)) => Outcome::Unreachable(err.to_string()),
            Ok(Ok(outcome)) => outcome,
        }
    }

    async fn exchange(&self, request: reqwest::Request) -> Result<Outcome, reqwest::Error> {
        let response = self.client.execute(request).await?;
        let status = response.status().as_u16();
        let retry_after = if status == 429 || status == 503 {
            response
                .headers()
                .get(http::header::RETRY_AFTER)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| parse_retry_after(value, SystemTime::now()))
        } else {
            None
        };
        // The status is the answer; draining the body only frees the
        // connection for reuse, so a broken body changes nothing.
        let _ = response.bytes().await;
        Ok(Outcome::Responded {
            status,
            retry_after,
        })
    }

    /// Builds the push: the task's own request plus Cloud Tasks' headers.
    fn request(&self, queue: &Queue, job: &Job) -> Result<reqwest::Request, String> {
        let target = &job.target;
        let method = http::Method::from_bytes(target.method.name().as_bytes())
            .map_err(|err| err.to_string())?;
        let mut builder = self.client.request(method, &target.url);
        let signed = target.oidc.is_some();
        for (name, value) in &target.headers {
            let replaced_by_token = signed && name.eq_ignore_ascii_case("authorization");
            if !is_reserved_header(name) && !replaced_by_token {
                builder = builder.header(name, value);
            }
        }
        builder = builder
            .header(http::header::USER_AGENT, "Google-Cloud-Tasks")
            .header("X-CloudTasks-QueueName", &queue.config.id)
            .header("X-CloudTasks-TaskName", &job.task_id)
            .header("X-CloudTasks-TaskRetryCount", job.attempt.saturating_sub(1))
            .header("X-CloudTasks-TaskExecutionCount", job.execution_count)
            .header("X-CloudTasks-TaskETA", epoch_seconds(job.eta));
        if let Some(previous) = job.previous_response {
            builder = builder.header("X-CloudTasks-TaskPreviousResponse", previous);
        }
        if let Some(reason) = job.retry_reason {
            builder = builder.header("X-CloudTasks-TaskRetryReason", reason);
        }
        if let Some(oidc) = &target.oidc {
            let audience = if oidc.audience.is_empty() {
                &target.url
            } else {
                &oidc.audience
            };
            let token = self
                .minter
                .token(&oidc.service_account_email, audience)
                .map_err(|err| err.to_string())?;
            builder = builder.bearer_auth(token);
        }
        if !target.body.is_empty() {
            builder = builder.body(target.body.clone());
        }
        builder.build().map_err(|err| err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cloud_tasks_headers_cannot_be_overridden_by_the_task() {
        for name in [
            "Host",
            "user-agent",
            "X-CloudTasks-TaskName",
            "X-Google-Foo",
        ] {
            assert!(is_reserved_header(name), "{name}");
        }
        assert!(!is_reserved_header("Content-Type"));
        assert!(!is_reserved_header("Authorization"));
    }
}
