//! The one error type every runner sees, classified as retryable or
//! permanent.
//!
//! The classification alone decides what a runner does: the CLI maps it to an
//! exit code, the push adapter to the HTTP status Cloud Tasks sees, the task
//! state machine to "back to pending" or "dead-lettered".

use std::fmt;
use std::time::Duration;

type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// What went wrong, in the terms a runner needs to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The input is not a valid task (missing fields, unknown meeting). Permanent.
    InvalidInput,
    /// The key was seen before with a different payload. Permanent.
    PayloadConflict,
    /// The operation itself said the task can never succeed (a blocked
    /// prompt, an unreadable transcript). Permanent.
    Permanent,
    /// Another delivery holds a live lease on the key. Retryable.
    Busy,
    /// This worker's lease was taken over; its writes were rolled back.
    /// Retryable: the new holder finishes the task.
    LeaseLost,
    /// A downstream quota or this instance's concurrency limit said "later".
    /// Retryable.
    RateLimited,
    /// Postgres is unreachable or the pool is exhausted. Retryable.
    Unavailable,
    /// Any other transient failure (a timeout, a 5xx from a model). Retryable.
    Transient,
}

impl ErrorKind {
    /// Whether a later attempt may succeed.
    pub fn is_retryable(self) -> bool {
        !matches!(
            self,
            ErrorKind::InvalidInput | ErrorKind::PayloadConflict | ErrorKind::Permanent
        )
    }

    /// A short, stable, machine-readable name (`invalid_input`, `busy`, ...),
    /// used in JSON error bodies, dead letters and log fields.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::PayloadConflict => "payload_conflict",
            ErrorKind::Permanent => "permanent",
            ErrorKind::Busy => "busy",
            ErrorKind::LeaseLost => "lease_lost",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Transient => "transient",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A task failure: its kind, a message meant for operators, an optional hint
/// of when to retry, and the underlying cause.
pub struct TaskError {
    inner: Box<Inner>,
}

struct Inner {
    kind: ErrorKind,
    message: String,
    retry_after: Option<Duration>,
    source: Option<BoxError>,
}

impl TaskError {
    /// An error of `kind` with an operator-facing message.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        TaskError {
            inner: Box::new(Inner {
                kind,
                message: message.into(),
                retry_after: None,
                source: None,
            }),
        }
    }

    /// The input is not a valid task. Permanent.
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidInput, message)
    }

    /// The operation can never succeed on this input. Permanent.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Permanent, message)
    }

    /// A transient failure; another attempt may succeed.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Transient, message)
    }

    /// A downstream quota said to wait `retry_after`.
    pub fn rate_limited(message: impl Into<String>, retry_after: Duration) -> Self {
        Self::new(ErrorKind::RateLimited, message).with_retry_after(retry_after)
    }

    /// Postgres could not be reached or had no free connection.
    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, message)
    }

    /// Attach the underlying cause (kept as `source()`, not repeated in the
    /// message).
    #[must_use]
    pub fn with_source(mut self, source: impl Into<BoxError>) -> Self {
        self.inner.source = Some(source.into());
        self
    }

    /// Attach a hint of when a retry may succeed.
    #[must_use]
    pub fn with_retry_after(mut self, retry_after: Duration) -> Self {
        self.inner.retry_after = Some(retry_after);
        self
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.inner.kind
    }

    /// Whether a later attempt may succeed.
    pub fn is_retryable(&self) -> bool {
        self.inner.kind.is_retryable()
    }

    /// When to retry, if the failure said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.inner.retry_after
    }

    /// The operator-facing message, without the cause.
    pub fn message(&self) -> &str {
        &self.inner.message
    }

    /// The message followed by every cause in the chain, for storing as a
    /// task's `last_error` or a dead letter's reason.
    pub fn report(&self) -> String {
        chain(self)
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskError")
            .field("kind", &self.inner.kind)
            .field("message", &self.inner.message)
            .field("retry_after", &self.inner.retry_after)
            .field("source", &self.inner.source)
            .finish()
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.inner.kind, self.inner.message)
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.inner
            .source
            .as_ref()
            .map(|e| e.as_ref() as &(dyn std::error::Error + 'static))
    }
}

impl From<tokio_postgres::Error> for TaskError {
    fn from(err: tokio_postgres::Error) -> Self {
        let kind = if err.is_closed() || err.code().is_none() {
            ErrorKind::Unavailable
        } else {
            ErrorKind::Transient
        };
        TaskError::new(kind, "postgres query failed").with_source(err)
    }
}

impl From<deadpool_postgres::PoolError> for TaskError {
    fn from(err: deadpool_postgres::PoolError) -> Self {
        TaskError::unavailable("no postgres connection available").with_source(err)
    }
}

/// `err` followed by each of its causes, joined with `: `: the one-line
/// form of an error for logs, stored reasons and exit messages.
pub fn chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        out.push_str(": ");
        out.push_str(&inner.to_string());
        cause = inner.source();
    }
    out
}
