//! Gemini failures, and how each one is classified for the task runner.

use std::time::Duration;

use tasklane::{ErrorKind, TaskError};

/// Why a `generateContent` call did not yield a summary.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GeminiError {
    /// HTTP 429 / `RESOURCE_EXHAUSTED`: a quota ran out. Retryable after
    /// the delay the server gave.
    #[error("gemini quota exhausted ({status}): {message}")]
    RateLimited {
        /// The `error.status` the API sent.
        status: String,
        /// The API's message.
        message: String,
        /// `RetryInfo.retryDelay`, or `Retry-After`, or a default.
        retry_after: Duration,
    },
    /// HTTP 5xx (`INTERNAL`, `UNAVAILABLE`, `DEADLINE_EXCEEDED`). Retryable.
    #[error("gemini server error {code} {status}: {message}")]
    Server {
        /// HTTP status code.
        code: u16,
        /// The `error.status` the API sent.
        status: String,
        /// The API's message.
        message: String,
    },
    /// Any other 4xx (`INVALID_ARGUMENT`, `PERMISSION_DENIED`, ...): the
    /// same request will fail again. Permanent.
    #[error("gemini rejected the request with {code} {status}: {message}")]
    Rejected {
        /// HTTP status code.
        code: u16,
        /// The `error.status` the API sent.
        status: String,
        /// The API's message.
        message: String,
    },
    /// `promptFeedback.blockReason`: the transcript itself was blocked.
    /// Permanent.
    #[error("gemini blocked the prompt: {reason}")]
    PromptBlocked {
        /// `SAFETY`, `PROHIBITED_CONTENT`, `BLOCKLIST`, `OTHER`, ...
        reason: String,
    },
    /// A candidate stopped for `SAFETY`, `RECITATION` and the like.
    /// Permanent.
    #[error("gemini blocked the response: finish reason {reason}")]
    ResponseBlocked {
        /// The candidate's `finishReason`.
        reason: String,
    },
    /// The answer is not the JSON that was asked for (cut off at
    /// `MAX_TOKENS`, unparsable, no candidate). Retried once in place,
    /// then permanent.
    #[error("malformed gemini response: {detail}")]
    Malformed {
        /// What was wrong.
        detail: String,
    },
    /// The request did not complete (connect failure, timeout, reset).
    /// Retryable.
    #[error("gemini request failed")]
    Transport(#[source] reqwest::Error),
    /// Application Default Credentials gave no token.
    #[error("cannot get a Google access token")]
    Credentials(#[source] google_cloud_auth::errors::CredentialsError),
}

impl GeminiError {
    /// Whether the answer arrived but was unusable, which one more call
    /// often fixes.
    pub fn is_malformed(&self) -> bool {
        matches!(self, GeminiError::Malformed { .. })
    }

    /// The runner's view of this failure.
    pub fn into_task_error(self) -> TaskError {
        match self {
            GeminiError::RateLimited { retry_after, .. } => {
                TaskError::rate_limited(self.to_string(), retry_after)
            }
            GeminiError::Server { .. } => TaskError::transient(self.to_string()),
            GeminiError::Rejected { .. }
            | GeminiError::PromptBlocked { .. }
            | GeminiError::ResponseBlocked { .. }
            | GeminiError::Malformed { .. } => TaskError::permanent(self.to_string()),
            GeminiError::Transport(e) => {
                TaskError::transient("gemini request failed").with_source(e)
            }
            GeminiError::Credentials(e) => {
                let kind = if e.is_transient() {
                    ErrorKind::Transient
                } else {
                    ErrorKind::Permanent
                };
                TaskError::new(kind, "cannot get a Google access token").with_source(e)
            }
        }
    }
}
