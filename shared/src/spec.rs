//! Per-function settings: the one definition that the binaries, the local
//! emulator and Terraform all read.
//!
//! A function declares its [`FunctionSpec`] once, in its own crate;
//! `<function> spec` prints it as JSON, `make terraform-vars` writes it to
//! `terraform/functions.auto.tfvars.json`, and the emulator builds its queues
//! from the same JSON.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Everything about one function that is not code: its queue, its retry
/// policy, its deadlines and its Cloud Run sizing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionSpec {
    /// Function name, also the binary, the Cloud Run service and the route
    /// suffix (`POST /tasks/<name>`).
    pub name: String,
    /// Cloud Tasks queue id the function is pushed from.
    pub queue: String,
    /// Queue rate limits.
    pub rate_limits: RateLimits,
    /// Queue retry policy.
    pub retry: RetryPolicy,
    /// How long Cloud Tasks waits for one push to answer (15 s to 1,800 s).
    pub dispatch_deadline_seconds: u32,
    /// Added to the dispatch deadline to get the lease length, so that a
    /// lease outlives the attempt that holds it.
    pub lease_margin_seconds: u32,
    /// Requests one instance serves at once (Cloud Run's container
    /// concurrency); past it the push adapter answers 429.
    pub request_concurrency: u32,
    /// Cloud Run service scaling.
    pub scaling: Scaling,
    /// Cloud Run Job settings for `<function> job`.
    pub job: JobSettings,
    /// Pub/Sub topic that receives the function's dead letters.
    pub dead_letter_topic: String,
    /// Subscription on the dead-letter topic (a topic without one drops what
    /// is published).
    pub dead_letter_subscription: String,
}

/// Cloud Tasks `rateLimits`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RateLimits {
    /// Tasks dispatched per second at most (token bucket refill rate).
    pub max_dispatches_per_second: f64,
    /// Tasks in flight at once at most.
    pub max_concurrent_dispatches: u32,
}

/// Cloud Tasks `retryConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetryPolicy {
    /// Attempts in all, the first included; -1 means unlimited.
    pub max_attempts: i32,
    /// Backoff after the first failure.
    pub min_backoff_seconds: f64,
    /// Backoff never grows past this.
    pub max_backoff_seconds: f64,
    /// Times the backoff doubles before it grows linearly.
    pub max_doublings: u32,
    /// Time since the first attempt after which a task is not retried;
    /// 0 means unlimited.
    pub max_retry_duration_seconds: u64,
}

/// Cloud Run service scaling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Scaling {
    /// Instances kept warm.
    pub min_instances: u32,
    /// Instances at most.
    pub max_instances: u32,
    /// CPU limit per instance, in Cloud Run's notation (`"1"`, `"2"`).
    pub cpu: String,
    /// Memory limit per instance (`"512Mi"`).
    pub memory: String,
}

/// Cloud Run Job settings for the batch runner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobSettings {
    /// Job tasks (shards) per execution.
    pub task_count: u32,
    /// Shards running at once.
    pub parallelism: u32,
    /// Retries of a failed shard.
    pub max_retries: u32,
    /// Time limit of one shard.
    pub timeout_seconds: u32,
}

impl FunctionSpec {
    /// Settings for a function called `name` with Cloud Tasks' and Cloud
    /// Run's defaults, to adjust field by field: queue `name`; 500
    /// dispatches/s and 1,000 concurrent (Cloud Tasks' defaults); 100
    /// attempts, 0.1 s to 3,600 s backoff, 16 doublings, unlimited retry
    /// duration (Cloud Tasks' defaults); a 600 s dispatch deadline (Cloud
    /// Tasks' default for HTTP targets) with a 30 s lease margin; request
    /// concurrency 80 (Cloud Run's default); 0 to 100 instances of 1 CPU and
    /// 512 MiB; a job of 1 task, parallelism 1, no retries, 3,600 s; dead
    /// letters on topic `<name>-dead-letters` with subscription
    /// `<name>-dead-letters-sub`.
    pub fn new(name: &str) -> FunctionSpec {
        FunctionSpec {
            name: name.to_owned(),
            queue: name.to_owned(),
            rate_limits: RateLimits {
                max_dispatches_per_second: 500.0,
                max_concurrent_dispatches: 1_000,
            },
            retry: RetryPolicy {
                max_attempts: 100,
                min_backoff_seconds: 0.1,
                max_backoff_seconds: 3_600.0,
                max_doublings: 16,
                max_retry_duration_seconds: 0,
            },
            dispatch_deadline_seconds: 600,
            lease_margin_seconds: 30,
            request_concurrency: 80,
            scaling: Scaling {
                min_instances: 0,
                max_instances: 100,
                cpu: "1".to_owned(),
                memory: "512Mi".to_owned(),
            },
            job: JobSettings {
                task_count: 1,
                parallelism: 1,
                max_retries: 0,
                timeout_seconds: 3_600,
            },
            dead_letter_topic: format!("{name}-dead-letters"),
            dead_letter_subscription: format!("{name}-dead-letters-sub"),
        }
    }

    /// The push route, `/tasks/<name>`.
    pub fn route(&self) -> String {
        format!("/tasks/{}", self.name)
    }

    /// How long a claim holds a task: dispatch deadline plus margin.
    pub fn lease(&self) -> Duration {
        Duration::from_secs(u64::from(
            self.dispatch_deadline_seconds + self.lease_margin_seconds,
        ))
    }

    /// The dispatch deadline as a duration.
    pub fn dispatch_deadline(&self) -> Duration {
        Duration::from_secs(u64::from(self.dispatch_deadline_seconds))
    }

    /// Whether `attempt` (1-based) is the last one the queue will make.
    pub fn is_final_attempt(&self, attempt: u32) -> bool {
        self.retry.max_attempts > 0 && i64::from(attempt) >= i64::from(self.retry.max_attempts)
    }
}

impl RetryPolicy {
    /// Backoff before retry number `retry` (1 for the retry after the first
    /// failure), as Cloud Tasks computes it: start at the minimum, double
    /// `max_doublings` times, then grow by the last doubled interval each
    /// retry, capped at the maximum.
    pub fn backoff(&self, retry: u32) -> Duration {
        let n = retry.max(1) - 1;
        let min = self.min_backoff_seconds;
        let doublings = n.min(self.max_doublings).min(30);
        let doubled = min * f64::from(1u32 << doublings);
        let linear_steps = n.saturating_sub(self.max_doublings);
        let secs = doubled * f64::from(1 + linear_steps);
        Duration::from_secs_f64(secs.min(self.max_backoff_seconds).max(0.0))
    }
}

/// A deployed setting that disagrees with the binary's spec.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{variable}={deployed} but this binary's spec says {expected}; \
     regenerate terraform/functions.auto.tfvars.json (make terraform-vars) and apply"
)]
pub struct DeploymentMismatch {
    /// The environment variable Terraform set.
    pub variable: &'static str,
    /// Its value.
    pub deployed: String,
    /// What the spec implies.
    pub expected: String,
}

impl FunctionSpec {
    /// Check the queue settings Terraform passed to the service
    /// (`TASKLANE_QUEUE`, `TASKLANE_MAX_ATTEMPTS`, `TASKLANE_DLQ_TOPIC`; each
    /// optional) against this spec. A binary whose idea of the last attempt
    /// differs from the real queue's would let Cloud Tasks drop tasks
    /// without a dead letter, so a mismatch stops the process at start-up.
    ///
    /// # Errors
    ///
    /// The first [`DeploymentMismatch`] found.
    pub fn check_deployment(
        &self,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<(), DeploymentMismatch> {
        let mismatch = |variable, deployed: String, expected: String| DeploymentMismatch {
            variable,
            deployed,
            expected,
        };
        let expected_attempts = self.retry.max_attempts.to_string();
        // Queues and topics come as full resource names; compare their ids.
        let checks = [
            ("TASKLANE_QUEUE", self.queue.as_str()),
            ("TASKLANE_MAX_ATTEMPTS", expected_attempts.as_str()),
            ("TASKLANE_DLQ_TOPIC", self.dead_letter_topic.as_str()),
        ];
        for (variable, expected) in checks {
            if let Some(deployed) = var(variable)
                && last_segment(&deployed) != expected
            {
                return Err(mismatch(variable, deployed, expected.to_owned()));
            }
        }
        Ok(())
    }
}

/// `projects/p/locations/l/queues/q` -> `q`; a bare id is itself.
fn last_segment(path: &str) -> &str {
    path.trim().rsplit('/').next().unwrap_or_default()
}
