//! The operation abstraction: a transport-free unit of work with typed input,
//! typed output and an idempotency key.
//!
//! Every runner (in-process call, CLI, push adapter, batch job) drives an
//! [`Operation`] through [`crate::runner::execute`], which claims the key,
//! runs [`Operation::run`] outside any transaction, and then calls
//! [`Operation::commit`] inside the fenced completion transaction.

use std::future::Future;

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::context::Context;
use crate::error::TaskError;
use crate::ids::TaskKey;
use crate::spec::FunctionSpec;

/// The completion transaction an operation writes in. It caches prepared
/// statements per connection (`tx.prepare_cached(SQL)`), so a hot write costs
/// one round trip; it dereferences to `tokio_postgres::Transaction`.
pub type Transaction<'a> = deadpool_postgres::Transaction<'a>;

/// One AI operation, independent of how it was invoked.
///
/// `run` may be slow and may call out to models; it must not write anything
/// that needs to happen exactly once. All effects belong in `commit`, which
/// runs inside the completion transaction and rolls back if the worker lost
/// its lease.
pub trait Operation: Send + Sync + 'static {
    /// The task payload. It carries ids, not data (Cloud Tasks caps a task
    /// at 100 KB); the data lives in Postgres.
    type Input: Serialize + DeserializeOwned + Send + Sync + 'static;
    /// What the operation produces; stored as the task's result and returned
    /// verbatim on a replay.
    type Output: Serialize + DeserializeOwned + Send + Sync + 'static;

    /// The function's settings.
    fn spec(&self) -> &FunctionSpec;

    /// The idempotency key for `input`, unique within the function.
    ///
    /// # Errors
    ///
    /// An [`ErrorKind::InvalidInput`](crate::ErrorKind::InvalidInput) error
    /// when the input cannot name a task (an empty meeting id, say).
    fn key(&self, input: &Self::Input) -> Result<TaskKey, TaskError>;

    /// Do the work. Reads what it needs through `ctx`; writes nothing.
    ///
    /// # Errors
    ///
    /// Any [`TaskError`]; its kind decides whether the task is retried or
    /// dead-lettered.
    fn run(
        &self,
        ctx: &Context,
        input: &Self::Input,
    ) -> impl Future<Output = Result<Self::Output, TaskError>> + Send;

    /// Write the output inside the completion transaction. Runs only while
    /// the worker still holds the task under its fencing token; if the fence
    /// check fails, everything written here is rolled back.
    ///
    /// # Errors
    ///
    /// Any [`TaskError`]; the transaction is rolled back and the error is
    /// handled like one from `run`.
    fn commit(
        &self,
        tx: &Transaction<'_>,
        input: &Self::Input,
        output: &Self::Output,
    ) -> impl Future<Output = Result<(), TaskError>> + Send;

    /// Inputs that still need this operation, for the batch runner
    /// (`<function> job`) when it is given no input file.
    ///
    /// # Errors
    ///
    /// A retryable error when the backlog cannot be read.
    fn backlog(
        &self,
        ctx: &Context,
    ) -> impl Future<Output = Result<Vec<Self::Input>, TaskError>> + Send;
}
