//! A `tracing` layer that writes Cloud Logging structured JSON: one object
//! per line with `severity`, `message`, `time`, the trace correlation fields
//! Cloud Logging links to Cloud Trace, and the event's and its spans' fields
//! at the top level (so `jsonPayload.key` finds a task's lines).

use std::io::Write as _;
use std::sync::OnceLock;

use opentelemetry::trace::TraceContextExt;
use serde_json::{Map, Value};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use tracing::dispatcher::WeakDispatch;
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Dispatch, Event, Level, Subscriber};
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

const TRACE: &str = "logging.googleapis.com/trace";
const SPAN_ID: &str = "logging.googleapis.com/spanId";
const TRACE_SAMPLED: &str = "logging.googleapis.com/trace_sampled";
const SOURCE_LOCATION: &str = "logging.googleapis.com/sourceLocation";

/// Writes each event as one Cloud Logging JSON line to `W`.
///
/// Register it after the `tracing-opentelemetry` layer: it reads each
/// span's OpenTelemetry context through the subscriber to fill
/// `logging.googleapis.com/trace` (`projects/{project}/traces/{trace id}`),
/// `logging.googleapis.com/spanId` and `logging.googleapis.com/trace_sampled`.
pub struct CloudLoggingLayer<W> {
    project: String,
    make_writer: W,
    /// The subscriber this layer is part of; `get_otel_context` needs it,
    /// and inside `on_event` the default dispatcher is not reachable.
    dispatch: OnceLock<WeakDispatch>,
}

/// The JSON fields of a span, kept in its extensions.
struct SpanFields(Map<String, Value>);

impl<W> CloudLoggingLayer<W> {
    /// A layer that names traces in `project` and writes to `make_writer`.
    pub fn new(project: impl Into<String>, make_writer: W) -> Self {
        CloudLoggingLayer {
            project: project.into(),
            make_writer,
            dispatch: OnceLock::new(),
        }
    }

    fn entry<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>) -> Map<String, Value>
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let mut entry = span_fields(event, ctx);
        let mut fields = JsonFields::default();
        event.record(&mut fields);
        let message = fields.0.remove("message");
        entry.extend(fields.0);

        let meta = event.metadata();
        entry.insert("severity".into(), severity(meta.level()).into());
        entry.insert(
            "message".into(),
            message.unwrap_or_else(|| meta.name().into()),
        );
        entry.insert("time".into(), now().into());
        entry.insert("target".into(), meta.target().into());
        if let (Some(file), Some(line)) = (meta.file(), meta.line()) {
            let location = serde_json::json!({"file": file, "line": line.to_string()});
            entry.insert(SOURCE_LOCATION.into(), location);
        }
        self.correlate(event, ctx, &mut entry);
        entry
    }

    /// Add the trace fields of the span the event belongs to, when that span
    /// has a valid OpenTelemetry context.
    fn correlate<S>(&self, event: &Event<'_>, ctx: &Context<'_, S>, entry: &mut Map<String, Value>)
    where
        S: Subscriber + for<'a> LookupSpan<'a>,
    {
        let span = match event.parent() {
            Some(id) => ctx.span(id).map(|s| s.id()),
            None => ctx.lookup_current().map(|s| s.id()),
        };
        let Some(span) = span else {
            return;
        };
        let dispatch = self.dispatch.get().and_then(WeakDispatch::upgrade);
        let otel = dispatch
            .and_then(|d| tracing_opentelemetry::get_otel_context(&span, &d))
            .unwrap_or_else(opentelemetry::Context::current);
        let otel_span = otel.span();
        let span_context = otel_span.span_context();
        if !span_context.is_valid() {
            return;
        }
        let trace = format!(
            "projects/{}/traces/{}",
            self.project,
            span_context.trace_id()
        );
        entry.insert(TRACE.into(), trace.into());
        entry.insert(SPAN_ID.into(), span_context.span_id().to_string().into());
        entry.insert(TRACE_SAMPLED.into(), span_context.is_sampled().into());
    }
}

impl<S, W> tracing_subscriber::Layer<S> for CloudLoggingLayer<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_register_dispatch(&self, subscriber: &Dispatch) {
        // A layer belongs to one subscriber; a second registration keeps
        // the first.
        let _ = self.dispatch.set(subscriber.downgrade());
    }

    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut fields = JsonFields::default();
        attrs.record(&mut fields);
        span.extensions_mut().insert(SpanFields(fields.0));
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let Some(span) = ctx.span(id) else {
            return;
        };
        let mut fields = JsonFields::default();
        values.record(&mut fields);
        let mut extensions = span.extensions_mut();
        match extensions.get_mut::<SpanFields>() {
            Some(existing) => existing.0.extend(fields.0),
            None => extensions.insert(SpanFields(fields.0)),
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let entry = self.entry(event, &ctx);
        let Ok(mut line) = serde_json::to_vec(&Value::Object(entry)) else {
            return;
        };
        line.push(b'\n');
        // One write per line keeps concurrent lines whole. A failed write
        // has nowhere better to be reported than the log it failed to write.
        let _ = self
            .make_writer
            .make_writer_for(event.metadata())
            .write_all(&line);
    }
}

/// The fields of every span from the root to the event's own, inner spans
/// overriding outer ones.
fn span_fields<S>(event: &Event<'_>, ctx: &Context<'_, S>) -> Map<String, Value>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let mut fields = Map::new();
    if let Some(scope) = ctx.event_scope(event) {
        for span in scope.from_root() {
            if let Some(own) = span.extensions().get::<SpanFields>() {
                fields.extend(own.0.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
        }
    }
    fields
}

/// Cloud Logging's `LogSeverity` names for `tracing`'s levels.
pub(crate) fn severity(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

fn now() -> String {
    // RFC 3339 formatting fails only for years outside 0..=9999.
    OffsetDateTime::now_utc()
        .format(&Rfc3339)
        .unwrap_or_default()
}

/// Collects fields as JSON values, keeping numbers and booleans typed.
#[derive(Default)]
struct JsonFields(Map<String, Value>);

impl Visit for JsonFields {
    fn record_f64(&mut self, field: &Field, value: f64) {
        let json = serde_json::Number::from_f64(value)
            .map_or_else(|| Value::String(value.to_string()), Value::Number);
        self.0.insert(field.name().into(), json);
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        let mut cause = value.source();
        while let Some(err) = cause {
            text.push_str(": ");
            text.push_str(&err.to_string());
            cause = err.source();
        }
        self.0.insert(field.name().into(), text.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}
