//! Every answer the adapter gives, in one place: the status table Cloud
//! Tasks acts on. Cloud Tasks retries anything but a 2xx, so a task that can
//! never succeed is answered 200 (`dead_lettered`) once it is recorded.
//!
//! | answer | status | when |
//! | --- | --- | --- |
//! | `completed` | 200 | the core ran and committed, or (`Idempotent-Replay: true`) it had before |
//! | `dead_lettered` | 200 | a permanent failure, the final attempt's failure, or a dead key |
//! | `busy` | 409 + `Retry-After` | another delivery holds a live lease, or this one lost it |
//! | `rate_limited`, `overloaded` | 429 + `Retry-After` | a downstream quota; instance full |
//! | `unavailable`, `shutting_down` | 503 + `Retry-After` | Postgres unreachable; stopping |
//! | `transient` | 500 | any other retryable failure, a panic, a core timeout |
//! | `Rejection` | 400/401/403/404/405/408/413/415 | the request never became a task |

use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CONTENT_TYPE, HeaderValue, RETRY_AFTER};
use http::{Response, StatusCode};
use http_body_util::Full;
use serde::Serialize;
use tracing::error;

use crate::error::{ErrorKind, TaskError};
use crate::ids::TaskKey;
use crate::runner::Outcome;

/// The response body type.
pub(crate) type Body = Full<Bytes>;

/// Marks an answer that returns a stored result without running the core.
pub const IDEMPOTENT_REPLAY: &str = "idempotent-replay";

/// Wait suggested when a retryable failure gives no hint of its own.
const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(1);

/// Why a request was turned away before it became a task, each with its
/// status and the code its JSON body carries. The bodies name the category
/// only; the specific reason goes to the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rejection {
    NotFound,
    MethodNotAllowed(&'static str),
    Unauthenticated,
    Forbidden,
    UnsupportedMediaType,
    PayloadTooLarge,
    MalformedJson,
    InvalidUtf8,
    IncompleteBody,
    BodyTimeout,
    Overloaded,
    ShuttingDown,
}

impl Rejection {
    pub(crate) fn code(self) -> &'static str {
        match self {
            Rejection::NotFound => "not_found",
            Rejection::MethodNotAllowed(_) => "method_not_allowed",
            Rejection::Unauthenticated => "unauthenticated",
            Rejection::Forbidden => "forbidden",
            Rejection::UnsupportedMediaType => "unsupported_media_type",
            Rejection::PayloadTooLarge => "payload_too_large",
            Rejection::MalformedJson => "malformed_json",
            Rejection::InvalidUtf8 => "invalid_utf8",
            Rejection::IncompleteBody => "incomplete_body",
            Rejection::BodyTimeout => "body_timeout",
            Rejection::Overloaded => "overloaded",
            Rejection::ShuttingDown => "shutting_down",
        }
    }

    fn status(self) -> StatusCode {
        match self {
            Rejection::NotFound => StatusCode::NOT_FOUND,
            Rejection::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Rejection::Unauthenticated => StatusCode::UNAUTHORIZED,
            Rejection::Forbidden => StatusCode::FORBIDDEN,
            Rejection::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Rejection::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Rejection::MalformedJson | Rejection::InvalidUtf8 | Rejection::IncompleteBody => {
                StatusCode::BAD_REQUEST
            }
            Rejection::BodyTimeout => StatusCode::REQUEST_TIMEOUT,
            Rejection::Overloaded => StatusCode::TOO_MANY_REQUESTS,
            Rejection::ShuttingDown => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    pub(crate) fn into_response(self) -> Response<Body> {
        let mut response = json(self.status(), &ErrorBody { error: self.code() });
        let headers = response.headers_mut();
        match self {
            Rejection::MethodNotAllowed(allow) => {
                headers.insert(ALLOW, HeaderValue::from_static(allow));
            }
            Rejection::Overloaded | Rejection::ShuttingDown => {
                headers.insert(RETRY_AFTER, retry_after_value(DEFAULT_RETRY_AFTER));
            }
            _ => {}
        }
        response
    }
}

#[derive(Serialize)]
struct ErrorBody {
    error: &'static str,
}

#[derive(Serialize)]
struct CompletedBody<'a, T> {
    status: &'static str,
    key: Option<&'a TaskKey>,
    result: &'a T,
}

#[derive(Serialize)]
struct DeadLetteredBody<'a> {
    status: &'static str,
    key: Option<&'a TaskKey>,
    dead_letter_id: Option<i64>,
    error: Option<&'static str>,
}

#[derive(Serialize)]
struct RetryBody {
    status: &'static str,
    error: &'static str,
}

/// The answer for an attempt that ended with an outcome.
pub(crate) fn outcome<T: Serialize>(key: Option<&TaskKey>, outcome: &Outcome<T>) -> Response<Body> {
    match outcome {
        Outcome::Completed { output, .. } => completed(key, output, false),
        Outcome::Replayed { output } => completed(key, output, true),
        Outcome::DeadLettered {
            error,
            dead_letter_id,
        } => dead_lettered(key, Some(*dead_letter_id), Some(error.kind())),
        Outcome::AlreadyDead { .. } => dead_lettered(key, None, None),
    }
}

fn completed<T: Serialize>(key: Option<&TaskKey>, output: &T, replay: bool) -> Response<Body> {
    let body = CompletedBody {
        status: "completed",
        key,
        result: output,
    };
    let Ok(bytes) = serde_json::to_vec(&body) else {
        error!("stored output does not serialize");
        return failure(&TaskError::transient("output does not serialize"));
    };
    let mut response = with_body(StatusCode::OK, bytes);
    if replay {
        let headers = response.headers_mut();
        headers.insert(IDEMPOTENT_REPLAY, HeaderValue::from_static("true"));
    }
    response
}

/// The answer for a delivery that was dead-lettered (now or before).
pub(crate) fn dead_lettered(
    key: Option<&TaskKey>,
    dead_letter_id: Option<i64>,
    kind: Option<ErrorKind>,
) -> Response<Body> {
    let body = DeadLetteredBody {
        status: "dead_lettered",
        key,
        dead_letter_id,
        error: kind.map(ErrorKind::as_str),
    };
    json(StatusCode::OK, &body)
}

/// The answer for a retryable failure; its kind alone picks the status.
pub(crate) fn failure(err: &TaskError) -> Response<Body> {
    let (status, waits) = match err.kind() {
        ErrorKind::Busy | ErrorKind::LeaseLost => (StatusCode::CONFLICT, true),
        ErrorKind::RateLimited => (StatusCode::TOO_MANY_REQUESTS, true),
        ErrorKind::Unavailable => (StatusCode::SERVICE_UNAVAILABLE, true),
        _ => (StatusCode::INTERNAL_SERVER_ERROR, false),
    };
    let body = RetryBody {
        status: "retry",
        error: err.kind().as_str(),
    };
    let mut response = json(status, &body);
    if waits {
        let wait = err.retry_after().unwrap_or(DEFAULT_RETRY_AFTER);
        response
            .headers_mut()
            .insert(RETRY_AFTER, retry_after_value(wait));
    }
    response
}

/// A small JSON answer (`/healthz`, `/readyz`).
pub(crate) fn status(status: StatusCode, text: &'static str) -> Response<Body> {
    #[derive(Serialize)]
    struct StatusBody {
        status: &'static str,
    }
    json(status, &StatusBody { status: text })
}

fn json<T: Serialize>(status: StatusCode, body: &T) -> Response<Body> {
    // The bodies above hold only strings, numbers and ids: they always
    // serialize.
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    with_body(status, bytes)
}

fn with_body(status: StatusCode, bytes: Vec<u8>) -> Response<Body> {
    let mut response = Response::new(Full::new(Bytes::from(bytes)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// Whole seconds, rounded up, at least one.
fn retry_after_value(wait: Duration) -> HeaderValue {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    HeaderValue::from(secs.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_value(Duration::from_millis(1_200)), "2");
        assert_eq!(retry_after_value(Duration::from_secs(7)), "7");
        assert_eq!(retry_after_value(Duration::ZERO), "1");
    }

    #[test]
    fn each_retryable_kind_maps_to_its_status() {
        let cases = [
            (ErrorKind::Busy, 409),
            (ErrorKind::LeaseLost, 409),
            (ErrorKind::RateLimited, 429),
            (ErrorKind::Unavailable, 503),
            (ErrorKind::Transient, 500),
        ];
        for (kind, expected) in cases {
            let response = failure(&TaskError::new(kind, "x"));
            assert_eq!(response.status().as_u16(), expected, "{kind}");
            let has_wait = response.headers().contains_key(RETRY_AFTER);
            assert_eq!(has_wait, expected != 500, "{kind}");
        }
    }
}
