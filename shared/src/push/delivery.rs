//! What the Cloud Tasks headers say about a delivery: the queue, the task,
//! the retry count (which gives the attempt), the trace, and the headers
//! themselves as dead-letter metadata.
//!
//! Headers are information, never identity: anyone can send them, so they
//! are read only after the token is verified, and the queue name is only
//! compared with the function's own.

use std::time::Duration;

use http::HeaderMap;
use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};

use crate::runner::Delivery;
use crate::telemetry;

/// The queue the task came from.
pub(crate) const QUEUE_NAME: &str = "x-cloudtasks-queuename";
/// The task's name (its id within the queue).
pub(crate) const TASK_NAME: &str = "x-cloudtasks-taskname";
/// Retries so far: 0 on the first attempt. Attempts are counted from this
/// and the task's own counter, never from the execution count, which
/// leaves out attempts that got no answer.
pub(crate) const RETRY_COUNT: &str = "x-cloudtasks-taskretrycount";

const CLOUD_TASKS_PREFIX: &str = "x-cloudtasks-";

/// A header's value as text, if present and printable.
pub(crate) fn header<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

/// `X-CloudTasks-TaskRetryCount`, when present and numeric.
pub(crate) fn retry_count(headers: &HeaderMap) -> Option<u32> {
    header(headers, RETRY_COUNT).and_then(|count| count.trim().parse().ok())
}

/// The runner's view of this delivery: attempt = retry count + 1, the
/// `X-CloudTasks-*` headers as metadata, the trace id, and `deadline`.
pub(crate) fn delivery(headers: &HeaderMap, deadline: Duration) -> Delivery {
    Delivery {
        attempt: retry_count(headers).map(|retries| retries.saturating_add(1)),
        metadata: Value::Object(cloud_tasks_headers(headers)),
        trace_id: trace_id(headers),
        deadline: Some(deadline),
    }
}

fn cloud_tasks_headers(headers: &HeaderMap) -> Map<String, Value> {
    headers
        .iter()
        .filter(|(name, _)| name.as_str().starts_with(CLOUD_TASKS_PREFIX))
        .filter_map(|(name, value)| {
            let text = value.to_str().ok()?;
            Some((name.as_str().to_owned(), Value::String(text.to_owned())))
        })
        .collect()
}

/// The trace this delivery runs in: the current span's (its parent was
/// taken from the request's `traceparent` or `X-Cloud-Trace-Context`), or,
/// when no OpenTelemetry layer is installed, the incoming header's.
pub(crate) fn trace_id(headers: &HeaderMap) -> Option<String> {
    telemetry::current_trace_id().or_else(|| {
        let parent = telemetry::parent_context_from_headers(headers);
        let span = parent.span();
        let context = span.span_context();
        context.is_valid().then(|| context.trace_id().to_string())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use http::HeaderValue;

    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn attempt_is_retry_count_plus_one() {
        let delivery = delivery(&headers(&[(RETRY_COUNT, "4")]), Duration::from_secs(1));
        assert_eq!(delivery.attempt, Some(5));
        let unknown = super::delivery(&headers(&[(RETRY_COUNT, "x")]), Duration::from_secs(1));
        assert_eq!(unknown.attempt, None);
    }

    #[test]
    fn metadata_holds_only_cloud_tasks_headers() {
        let map = headers(&[
            ("x-cloudtasks-queuename", "summarize"),
            ("x-cloudtasks-taskexecutioncount", "2"),
            ("authorization", "Bearer secret"),
        ]);
        let metadata = delivery(&map, Duration::from_secs(1)).metadata;
        assert_eq!(
            metadata,
            serde_json::json!({
                "x-cloudtasks-queuename": "summarize",
                "x-cloudtasks-taskexecutioncount": "2"
            })
        );
    }

    #[test]
    fn trace_id_prefers_traceparent_then_cloud_trace_context() {
        let w3c = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let google = "105445aa7843bc8bf206b12000100000/1;o=1";
        let both = headers(&[("traceparent", w3c), ("x-cloud-trace-context", google)]);
        assert_eq!(trace_id(&both).unwrap(), "4bf92f3577b34da6a3ce929d0e0e4736");
        let only_google = headers(&[("x-cloud-trace-context", google)]);
        assert_eq!(
            trace_id(&only_google).unwrap(),
            "105445aa7843bc8bf206b12000100000"
        );
        // W3C ids are lowercase hex; an upper-case one is malformed and the
        // Google header is used instead.
        let upper = "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01";
        let shouting = headers(&[("traceparent", upper), ("x-cloud-trace-context", google)]);
        assert_eq!(
            trace_id(&shouting).unwrap(),
            "105445aa7843bc8bf206b12000100000"
        );
        let invalid = headers(&[("traceparent", "00-zz-00-01")]);
        assert_eq!(trace_id(&invalid), None);
    }
}
