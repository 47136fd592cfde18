//! The relay's two failure types: [`RelayError`] stops a drain (bad
//! configuration, Postgres gone), `SendError` fails one row and is stored
//! as its `last_error` until a later drain succeeds.

use std::time::Duration;

use crate::error::TaskError;

/// Why the relay could not start, or could not drain the outbox.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RelayError {
    /// A setting is malformed or out of range.
    #[error("invalid relay setting {name}={value:?}: {reason}")]
    InvalidSetting {
        /// The environment variable.
        name: String,
        /// Its value.
        value: String,
        /// What a valid value looks like.
        reason: &'static str,
    },
    /// The HTTP client for Pub/Sub could not be built.
    #[error("cannot build the relay's HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// A row has a kind this binary does not know. The table's CHECK
    /// constraint admits only `pubsub` and `cloud_tasks`, so this means the
    /// schema moved ahead of the binary.
    #[error("outbox row {id} has unknown kind {kind:?}")]
    UnknownKind {
        /// The row.
        id: i64,
        /// Its kind.
        kind: String,
    },
    /// Claiming or marking outbox rows failed.
    #[error("outbox query failed")]
    Database(#[from] TaskError),
}

impl RelayError {
    /// Whether a later drain may succeed without a configuration change.
    pub fn is_retryable(&self) -> bool {
        matches!(self, RelayError::Database(err) if err.is_retryable())
    }

    pub(crate) fn invalid(name: &str, value: &str, reason: &'static str) -> Self {
        RelayError::InvalidSetting {
            name: name.to_owned(),
            value: value.to_owned(),
            reason,
        }
    }
}

impl From<tokio_postgres::Error> for RelayError {
    fn from(err: tokio_postgres::Error) -> Self {
        RelayError::Database(err.into())
    }
}

/// Why one outbox row was not sent. Every variant is retried with backoff:
/// a row is never dropped, because the fix (a topic created, a variable set)
/// usually comes after the failure.
#[derive(Debug, thiserror::Error)]
pub(crate) enum SendError {
    #[error("{url} answered {status}: {body}")]
    Status {
        url: String,
        status: reqwest::StatusCode,
        body: String,
    },
    #[error("request to {url} failed")]
    Transport {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("Pub/Sub accepted the publish but returned no message id")]
    NoMessageId,
    #[error("cannot get Google credentials")]
    Credentials(#[source] crate::BoxError),
    #[error("no URL for function {function:?}: set {variable}")]
    NoTarget { function: String, variable: String },
    #[error("{what} {value:?} is not valid: {reason}")]
    InvalidName {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error("cannot build the Cloud Tasks client")]
    Client(#[source] google_cloud_gax::client_builder::Error),
    #[error("Cloud Tasks refused the task")]
    CloudTasks(#[source] google_cloud_tasks_v2::Error),
    #[error("send did not finish within {} ms", .0.as_millis())]
    Timeout(Duration),
}

impl SendError {
    /// The message and every cause, for the row's `last_error`.
    pub(crate) fn report(&self) -> String {
        crate::error::chain(self)
    }
}
