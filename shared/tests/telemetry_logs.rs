//! The Cloud Logging JSON lines: severity, message, fields, and the trace
//! correlation of the span they were written in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use http::{HeaderMap, HeaderValue};
use opentelemetry_sdk::trace::SdkTracerProvider;
use serde_json::Value;
use tasklane::telemetry::{self, LogFormat, TelemetrySettings};
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::fmt::MakeWriter;

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";

/// Log output kept in memory.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Buffer {
    type Writer = Buffer;

    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

impl Buffer {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).unwrap()
    }

    fn json_lines(&self) -> Vec<Value> {
        self.text()
            .lines()
            .map(|line| serde_json::from_str(line).expect("each line is one JSON object"))
            .collect()
    }
}

fn settings(format: LogFormat, filter: &str) -> TelemetrySettings {
    TelemetrySettings {
        project: "test-project".to_owned(),
        log_format: format,
        ..TelemetrySettings::local("summarize", filter)
    }
}

/// Run `body` under the JSON subscriber and return what it logged.
fn capture_json(filter: &str, body: impl FnOnce()) -> Vec<Value> {
    let buffer = Buffer::default();
    let provider = SdkTracerProvider::builder().build();
    let subscriber = telemetry::subscriber(
        &settings(LogFormat::Json, filter),
        &provider,
        buffer.clone(),
    )
    .unwrap();
    tracing::subscriber::with_default(subscriber, body);
    buffer.json_lines()
}

fn headers(name: &'static str, value: &'static str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(name, HeaderValue::from_static(value));
    headers
}

#[test]
fn line_in_a_span_with_a_traceparent_parent_carries_that_trace() {
    let parent = telemetry::parent_context_from_headers(&headers(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ));
    let lines = capture_json("info", || {
        let span = tracing::info_span!("task", key = "meeting-1");
        span.set_parent(parent).unwrap();
        let _entered = span.enter();
        tracing::info!(attempt = 2_u32, "claimed");
    });

    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(
        line["logging.googleapis.com/trace"],
        format!("projects/test-project/traces/{TRACE_ID}")
    );
    let span_id = line["logging.googleapis.com/spanId"].as_str().unwrap();
    assert_eq!(span_id.len(), 16, "span id is 16 hex digits: {span_id}");
    assert_ne!(
        span_id, PARENT_SPAN_ID,
        "the line names its own span, not the caller's"
    );
    assert_eq!(line["logging.googleapis.com/trace_sampled"], true);
    assert_eq!(line["severity"], "INFO");
    assert_eq!(line["message"], "claimed");
    assert_eq!(line["key"], "meeting-1");
    assert_eq!(line["attempt"], 2);
    assert_eq!(line["target"], module_path!());
}

#[test]
fn line_in_a_span_with_a_cloud_trace_parent_carries_that_trace_and_sampling() {
    let parent = telemetry::parent_context_from_headers(&headers(
        "x-cloud-trace-context",
        "4bf92f3577b34da6a3ce929d0e0e4736/12345;o=0",
    ));
    let lines = capture_json("info", || {
        let span = tracing::info_span!("push");
        span.set_parent(parent).unwrap();
        let _entered = span.enter();
        tracing::warn!("busy");
    });

    assert_eq!(
        lines[0]["logging.googleapis.com/trace"],
        format!("projects/test-project/traces/{TRACE_ID}")
    );
    assert_eq!(lines[0]["logging.googleapis.com/trace_sampled"], false);
}

#[test]
fn severity_names_follow_cloud_logging() {
    let lines = capture_json("trace", || {
        tracing::trace!("t");
        tracing::debug!("d");
        tracing::info!("i");
        tracing::warn!("w");
        tracing::error!("e");
    });

    let severities: Vec<&str> = lines
        .iter()
        .map(|l| l["severity"].as_str().unwrap())
        .collect();
    assert_eq!(severities, ["DEBUG", "DEBUG", "INFO", "WARNING", "ERROR"]);
}

#[test]
fn filter_drops_events_below_its_level() {
    let lines = capture_json("warn", || {
        tracing::info!("dropped");
        tracing::warn!("kept");
    });

    let messages: Vec<&str> = lines
        .iter()
        .map(|l| l["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages, ["kept"]);
}

#[test]
fn line_outside_any_span_has_no_trace_fields() {
    let lines = capture_json("info", || tracing::info!("starting"));

    let line = lines[0].as_object().unwrap();
    assert!(!line.contains_key("logging.googleapis.com/trace"));
    assert!(!line.contains_key("logging.googleapis.com/spanId"));
}

#[test]
fn line_has_an_rfc3339_time_and_a_source_location() {
    let lines = capture_json("info", || tracing::info!("now"));

    let time = lines[0]["time"].as_str().unwrap();
    time::OffsetDateTime::parse(time, &time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|e| panic!("time {time:?} is not RFC 3339: {e}"));
    let location = &lines[0]["logging.googleapis.com/sourceLocation"];
    assert_eq!(location["file"], file!());
}

#[test]
fn fields_recorded_on_a_span_later_appear_on_its_later_lines() {
    let lines = capture_json("info", || {
        let outer =
            tracing::info_span!("task", function = "summarize", key = tracing::field::Empty);
        let _outer = outer.enter();
        tracing::info!("before");
        outer.record("key", "meeting-7");
        let inner = tracing::info_span!("commit", attempt = 3_u32);
        let _inner = inner.enter();
        tracing::info!("after");
    });

    assert_eq!(lines[0]["function"], "summarize");
    assert!(lines[0].get("key").is_none());
    assert_eq!(lines[1]["function"], "summarize");
    assert_eq!(lines[1]["key"], "meeting-7");
    assert_eq!(lines[1]["attempt"], 3);
}

#[test]
fn event_fields_cannot_overwrite_the_reserved_keys() {
    let lines = capture_json("info", || tracing::error!(severity = "INFO", "failed"));

    assert_eq!(lines[0]["severity"], "ERROR");
}

#[test]
fn current_trace_id_is_the_remote_parents_inside_its_span_only() {
    let parent = telemetry::parent_context_from_headers(&headers(
        "traceparent",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    ));
    let mut seen = (None, None);
    capture_json("info", || {
        let span = tracing::info_span!("task");
        span.set_parent(parent).unwrap();
        seen.0 = span.in_scope(telemetry::current_trace_id);
        seen.1 = telemetry::current_trace_id();
    });

    assert_eq!(seen.0.as_deref(), Some(TRACE_ID));
    assert_eq!(seen.1, None);
}

#[test]
fn text_format_writes_readable_lines_not_json() {
    let buffer = Buffer::default();
    let provider = SdkTracerProvider::builder().build();
    let subscriber = telemetry::subscriber(
        &settings(LogFormat::Text, "info"),
        &provider,
        buffer.clone(),
    )
    .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        tracing::info!(key = "meeting-1", "claimed");
    });

    let text = buffer.text();
    assert!(text.contains("INFO"), "{text}");
    assert!(text.contains("claimed"), "{text}");
    assert!(text.contains("key=\"meeting-1\""), "{text}");
    assert!(
        serde_json::from_str::<Value>(text.trim()).is_err(),
        "{text}"
    );
}

#[test]
fn malformed_filter_is_rejected_with_its_own_error() {
    let provider = SdkTracerProvider::builder().build();
    let err = telemetry::subscriber(
        &settings(LogFormat::Json, "tasklane=loud"),
        &provider,
        Buffer::default(),
    )
    .err()
    .expect("filter is invalid");

    assert!(
        matches!(err, telemetry::TelemetryError::InvalidFilter(_)),
        "{err:?}"
    );
}
