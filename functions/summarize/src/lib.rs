//! `summarize`: the tasklane function that writes meeting summaries.
//!
//! | module | role |
//! | --- | --- |
//! | [`operation`] | [`Summarize`]: key, run, fenced commit, backlog; [`generate_summary`] |
//! | [`store`] | every query it runs: load a transcript, upsert a summary, list the backlog |
//! | [`engine`] | the [`Summarizer`] trait and the [`Engine`] chosen by `TASKLANE_AI_PROVIDER` |
//! | [`local`] | extractive summarizer: TF-IDF centrality, budget, rule-based items |
//! | [`gemini`] | `generateContent` with JSON output, map-reduce, classified failures |
//! | [`settings`] | configuration from the environment, with defaults |
//! | [`transcript`], [`summary`] | the input and output types |
//!
//! The binary is only `tasklane::cli::main(Summarize::from_env)`.

#![cfg_attr(test, allow(clippy::unwrap_used))]

pub mod engine;
pub mod gemini;
pub mod local;
pub mod operation;
pub mod settings;
pub mod store;
pub mod summary;
pub mod transcript;

use tasklane::spec::{FunctionSpec, JobSettings, RateLimits, RetryPolicy, Scaling};

pub use engine::{Engine, Summarizer};
pub use operation::{ConfigError, Summarize, SummarizeInput, generate_summary};
pub use summary::{ActionItem, Summary};
pub use transcript::{Language, Transcript, Turn};

/// The function's settings: queue `summarize`, eight attempts with 10 s to
/// 300 s backoff, a 600 s dispatch deadline (Gemini map-reduce over a long
/// meeting takes minutes), ten instances of one CPU at most.
pub fn spec() -> FunctionSpec {
    FunctionSpec {
        name: "summarize".to_owned(),
        queue: "summarize".to_owned(),
        rate_limits: RateLimits {
            max_dispatches_per_second: 20.0,
            max_concurrent_dispatches: 50,
        },
        retry: RetryPolicy {
            max_attempts: 8,
            min_backoff_seconds: 10.0,
            max_backoff_seconds: 300.0,
            max_doublings: 3,
            max_retry_duration_seconds: 3600,
        },
        dispatch_deadline_seconds: 600,
        lease_margin_seconds: 30,
        request_concurrency: 40,
        scaling: Scaling {
            min_instances: 0,
            max_instances: 10,
            cpu: "1".to_owned(),
            memory: "512Mi".to_owned(),
        },
        job: JobSettings {
            task_count: 4,
            parallelism: 2,
            max_retries: 1,
            timeout_seconds: 3600,
        },
        dead_letter_topic: "summarize-dead-letters".to_owned(),
        dead_letter_subscription: "summarize-dead-letters-sub".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn spec_prints_the_function_contract() {
        let expected = json!({"name":"summarize","queue":"summarize",
            "rate_limits":{"max_dispatches_per_second":20.0,"max_concurrent_dispatches":50},
            "retry":{"max_attempts":8,"min_backoff_seconds":10.0,"max_backoff_seconds":300.0,
                     "max_doublings":3,"max_retry_duration_seconds":3600},
            "dispatch_deadline_seconds":600,"lease_margin_seconds":30,"request_concurrency":40,
            "scaling":{"min_instances":0,"max_instances":10,"cpu":"1","memory":"512Mi"},
            "job":{"task_count":4,"parallelism":2,"max_retries":1,"timeout_seconds":3600},
            "dead_letter_topic":"summarize-dead-letters",
            "dead_letter_subscription":"summarize-dead-letters-sub"});
        assert_eq!(serde_json::to_value(super::spec()).unwrap(), expected);
    }
}
