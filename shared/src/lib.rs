//! tasklane's shared runtime: everything a function binary needs around its
//! core, so that the binary itself is only configuration.
//!
//! | module | role |
//! | --- | --- |
//! | [`spec`] | per-function settings (queue, retries, deadlines), the one source of truth |
//! | [`operation`] | the transport-free [`Operation`] trait every function implements |
//! | [`runner`] | [`runner::execute`]: key, claim, run, fenced commit, dead letter |
//! | [`task`] | the task state machine in Postgres (claims, leases, fencing tokens) |
//! | [`outbox`] | transactional outbox for dead-letter publishes and follow-up tasks |
//! | [`relay`] | sends outbox rows: Pub/Sub publishes and Cloud Tasks creates |
//! | [`push`] | the Cloud Tasks push adapter (`serve`), with OIDC auth |
//! | [`auth`] | Google OIDC ID-token verification for pushes, and the development bypass |
//! | [`context`] | the pool and the claims a process holds |
//! | [`db`] | pooled Postgres and embedded migrations |
//! | [`meetings`] | the domain tables: importing meetings and reading transcripts |
//! | [`job`] | the batch runner for Cloud Run Jobs |
//! | [`cli`] | the function binaries' command line (`run`, `spec`, `serve`, `job`) |
//! | [`ops`] | the `tasklane` operations command (`migrate`, `import`, `dlq`) |
//! | [`telemetry`] | Cloud Logging JSON logs and OpenTelemetry traces |
//! | [`error`], [`ids`] | the classified error type and id newtypes |
//! | `testing` | per-test databases (feature `testing`) |

#![warn(missing_docs)]

pub mod auth;
pub mod cli;
pub mod context;
pub mod db;
pub mod error;
pub mod ids;
pub mod job;
pub mod meetings;
pub mod operation;
pub mod ops;
pub mod outbox;
pub mod push;
pub mod relay;
pub mod runner;
pub mod spec;
pub mod task;
pub mod telemetry;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use context::Context;
pub use error::{ErrorKind, TaskError};
pub use ids::{FencingToken, MeetingId, TaskKey};
pub use operation::{Operation, Transaction};
pub use runner::{Delivery, Outcome, execute};
pub use spec::FunctionSpec;

/// A boxed error for start-up failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;
