//! Incoming trace context: W3C `traceparent` first, then Google's
//! `X-Cloud-Trace-Context` (`TRACE_ID/SPAN_ID;o=1`, the span id in decimal),
//! which Cloud Run's front end and older Google clients send.

use opentelemetry::Context;
use opentelemetry::propagation::{Extractor, TextMapPropagator};
use opentelemetry::trace::{SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState};
use opentelemetry_sdk::propagation::TraceContextPropagator;

const TRACEPARENT: &str = "traceparent";
const TRACESTATE: &str = "tracestate";
const CLOUD_TRACE_CONTEXT: &str = "x-cloud-trace-context";

/// The remote parent that `headers` name, as a context to pass to
/// `tracing_opentelemetry::OpenTelemetrySpanExt::set_parent`; an empty
/// context (a new trace) when neither header is present and well formed.
pub fn parent_context_from_headers(headers: &http::HeaderMap) -> Context {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let remote = header(TRACEPARENT)
        .and_then(|parent| parse_traceparent(parent, header(TRACESTATE)))
        .or_else(|| header(CLOUD_TRACE_CONTEXT).and_then(parse_cloud_trace_context));
    match remote {
        Some(span_context) => Context::new().with_remote_span_context(span_context),
        None => Context::new(),
    }
}

/// Parse a W3C `traceparent` value (`00-<32 hex>-<16 hex>-<2 hex>`), with
/// its optional `tracestate`. `None` when it is malformed, names the
/// all-zero trace or span, or uses the forbidden version `ff`.
pub fn parse_traceparent(traceparent: &str, tracestate: Option<&str>) -> Option<SpanContext> {
    if !traceparent_shape_ok(traceparent.trim()) {
        return None;
    }
    // The shape is checked above because the SDK's parser accepts short
    // ids; the SDK does the rest (flags, version rules, tracestate).
    let carrier = Carrier {
        traceparent: traceparent.trim(),
        tracestate,
    };
    let context = TraceContextPropagator::new().extract(&carrier);
    let span_context = context.span().span_context().clone();
    span_context.is_valid().then_some(span_context)
}

fn traceparent_shape_ok(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    let lower_hex = |s: &str, len: usize| {
        s.len() == len
            && s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let Some(version) = parts.first() else {
        return false;
    };
    // Version 00 has exactly four fields; later versions may append more.
    let field_count_ok = if *version == "00" {
        parts.len() == 4
    } else {
        parts.len() >= 4
    };
    field_count_ok
        && lower_hex(version, 2)
        && *version != "ff"
        && lower_hex(parts[1], 32)
        && lower_hex(parts[2], 16)
        && lower_hex(parts[3], 2)
}

/// Parse an `X-Cloud-Trace-Context` value, `TRACE_ID/SPAN_ID;o=OPTIONS`: a
/// 32-digit hex trace id, a decimal span id, and `o=1` when the trace is
/// sampled (any other or no option: not sampled). `None` when it is
/// malformed or names the all-zero trace or span.
pub fn parse_cloud_trace_context(value: &str) -> Option<SpanContext> {
    let (ids, options) = match value.trim().split_once(';') {
        Some((ids, options)) => (ids, Some(options)),
        None => (value.trim(), None),
    };
    let (trace, span) = ids.split_once('/')?;
    if trace.len() != 32 || !trace.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    if span.is_empty() || !span.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let trace_id = TraceId::from_hex(trace).ok()?;
    let span_id = SpanId::from(span.parse::<u64>().ok()?);
    let sampled = options.is_some_and(|o| o.trim() == "o=1");
    let flags = if sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    let span_context = SpanContext::new(trace_id, span_id, flags, true, TraceState::default());
    span_context.is_valid().then_some(span_context)
}

/// The two W3C headers, as the SDK propagator reads them.
struct Carrier<'a> {
    traceparent: &'a str,
    tracestate: Option<&'a str>,
}

impl Extractor for Carrier<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        match key {
            TRACEPARENT => Some(self.traceparent),
            TRACESTATE => self.tracestate,
            _ => None,
        }
    }

    fn keys(&self) -> Vec<&str> {
        vec![TRACEPARENT, TRACESTATE]
    }
}
