//! End-to-end harness: starts the real binaries — the Cloud Tasks and
//! Pub/Sub emulator and each function's push service — against one Postgres
//! database, and drives them the way a producer would, through the official
//! Cloud Tasks client. `make run` (the `tasklane-pipeline` binary) and the
//! end-to-end tests both use it.
//!
//! | module | role |
//! | --- | --- |
//! | [`stack`] | start and stop the emulator and the function services |
//! | [`enqueue`] | create tasks with the official Cloud Tasks client |
//! | [`report`] | read back tasks, transcripts, summaries and dead letters |
//! | [`slowfn`] | a function whose cores wait for permission, for shutdown tests |

pub mod enqueue;
pub mod report;
pub mod slowfn;
pub mod stack;

/// A boxed error for the harness.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The service account the emulator signs pushes for, and the services
/// accept.
pub const INVOKER: &str = "tasks-invoker@tasklane-local.iam.gserviceaccount.com";
/// The emulator's project.
pub const PROJECT: &str = "local";
/// The emulator's location.
pub const LOCATION: &str = "us-central1";
