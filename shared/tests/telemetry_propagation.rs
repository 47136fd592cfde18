//! Incoming trace context: `traceparent` and `X-Cloud-Trace-Context`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use http::{HeaderMap, HeaderValue};
use opentelemetry::trace::TraceContextExt;
use tasklane::telemetry::{
    parent_context_from_headers, parse_cloud_trace_context, parse_traceparent,
};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TRACEPARENT: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
    let mut headers = HeaderMap::new();
    for (name, value) in pairs {
        headers.insert(*name, HeaderValue::from_str(value).unwrap());
    }
    headers
}

/// The remote parent's (trace id, span id, sampled), if the context has one.
fn parent(headers: &HeaderMap) -> Option<(String, String, bool)> {
    let context = parent_context_from_headers(headers);
    let span = context.span();
    let sc = span.span_context();
    sc.is_valid().then(|| {
        assert!(sc.is_remote());
        (
            sc.trace_id().to_string(),
            sc.span_id().to_string(),
            sc.is_sampled(),
        )
    })
}

#[test]
fn traceparent_names_a_remote_sampled_parent() {
    let got = parent(&headers(&[("traceparent", TRACEPARENT)]));

    assert_eq!(
        got,
        Some((TRACE_ID.into(), "00f067aa0ba902b7".into(), true))
    );
}

#[test]
fn traceparent_flags_00_is_not_sampled() {
    let value = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00";

    let got = parent(&headers(&[("traceparent", value)])).unwrap();

    assert!(!got.2);
}

#[test]
fn traceparent_keeps_its_tracestate() {
    let sc = parse_traceparent(TRACEPARENT, Some("congo=t61rcWkgMzE")).unwrap();

    assert_eq!(sc.trace_state().get("congo"), Some("t61rcWkgMzE"));
}

#[test]
fn future_traceparent_version_with_extra_fields_is_accepted() {
    let value = "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next";

    assert!(parse_traceparent(value, None).is_some());
}

#[test]
fn cloud_trace_context_names_a_remote_parent_with_a_decimal_span_id() {
    let value = "4bf92f3577b34da6a3ce929d0e0e4736/1234567890123;o=1";

    let got = parent(&headers(&[("x-cloud-trace-context", value)]));

    let span_hex = format!("{:016x}", 1_234_567_890_123_u64);
    assert_eq!(got, Some((TRACE_ID.into(), span_hex, true)));
}

#[test]
fn cloud_trace_context_without_o_1_is_not_sampled() {
    for value in [
        "4bf92f3577b34da6a3ce929d0e0e4736/17",
        "4bf92f3577b34da6a3ce929d0e0e4736/17;o=0",
    ] {
        let sc = parse_cloud_trace_context(value).unwrap();
        assert!(!sc.is_sampled(), "{value}");
    }
}

#[test]
fn cloud_trace_context_accepts_upper_case_trace_ids() {
    let sc = parse_cloud_trace_context("4BF92F3577B34DA6A3CE929D0E0E4736/17;o=1").unwrap();

    assert_eq!(sc.trace_id().to_string(), TRACE_ID);
}

#[test]
fn traceparent_wins_over_cloud_trace_context() {
    let other = "0af7651916cd43dd8448eb211c80319c/17;o=1";

    let got = parent(&headers(&[
        ("traceparent", TRACEPARENT),
        ("x-cloud-trace-context", other),
    ]));

    assert_eq!(got.unwrap().0, TRACE_ID);
}

#[test]
fn malformed_traceparent_falls_back_to_cloud_trace_context() {
    let cloud = "0af7651916cd43dd8448eb211c80319c/17;o=1";

    let got = parent(&headers(&[
        ("traceparent", "00-nonsense"),
        ("x-cloud-trace-context", cloud),
    ]));

    assert_eq!(got.unwrap().0, "0af7651916cd43dd8448eb211c80319c");
}

#[test]
fn malformed_traceparent_values_are_rejected() {
    let zero_trace = "00-00000000000000000000000000000000-00f067aa0ba902b7-01";
    let zero_span = "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01";
    for value in [
        "",
        "garbage",
        "00-4bf92f3577b34da6-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0g",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        zero_trace,
        zero_span,
    ] {
        assert!(
            parse_traceparent(value, None).is_none(),
            "accepted {value:?}"
        );
        assert_eq!(
            parent(&headers(&[("traceparent", value)])),
            None,
            "{value:?}"
        );
    }
}

#[test]
fn malformed_cloud_trace_context_values_are_rejected() {
    for value in [
        "",
        "abc",
        "4bf92f3577b34da6a3ce929d0e0e4736",
        "4bf92f3577b34da6a3ce929d0e0e4736/;o=1",
        "4bf92f3577b34da6/17;o=1",
        "zzf92f3577b34da6a3ce929d0e0e4736/17;o=1",
        "4bf92f3577b34da6a3ce929d0e0e4736/abc;o=1",
        "4bf92f3577b34da6a3ce929d0e0e4736/-17;o=1",
        "4bf92f3577b34da6a3ce929d0e0e4736/18446744073709551616;o=1",
        "00000000000000000000000000000000/17;o=1",
        "4bf92f3577b34da6a3ce929d0e0e4736/0;o=1",
    ] {
        assert!(
            parse_cloud_trace_context(value).is_none(),
            "accepted {value:?}"
        );
        let got = parent(&headers(&[("x-cloud-trace-context", value)]));
        assert_eq!(got, None, "{value:?}");
    }
}

#[test]
fn header_that_is_not_text_gives_a_new_trace() {
    let mut headers = HeaderMap::new();
    headers.insert(
        "traceparent",
        HeaderValue::from_bytes(b"00-\xff\xfe").unwrap(),
    );

    assert_eq!(parent(&headers), None);
}

#[test]
fn no_headers_give_a_new_trace() {
    assert_eq!(parent(&HeaderMap::new()), None);
}
