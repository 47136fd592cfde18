//! Logs and traces.
//!
//! | module | role |
//! | --- | --- |
//! | `settings` | [`TelemetrySettings`]: format, filter, exporter, from the environment |
//! | `cloud_logging` | [`CloudLoggingLayer`]: Cloud Logging JSON lines, correlated with traces |
//! | `propagation` | incoming `traceparent` / `X-Cloud-Trace-Context` headers |
//! | `exporter` | the tracer provider and its exporter (none, Cloud Trace, OTLP) |
//!
//! Every span gets OpenTelemetry ids, exported or not, so that a log line
//! and a dead letter written while handling a push name the trace the push
//! arrived in.

mod cloud_logging;
mod exporter;
mod propagation;
mod settings;

use std::io::IsTerminal as _;

use opentelemetry::trace::{TraceContextExt as _, TracerProvider as _};
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{EnvFilter, Layer, Registry};

pub use cloud_logging::CloudLoggingLayer;
pub use propagation::{parent_context_from_headers, parse_cloud_trace_context, parse_traceparent};
pub use settings::{LogFormat, TelemetrySettings, TraceExporter};

/// Keeps telemetry running. Dropping it flushes the spans not yet exported
/// and shuts the exporter down; drop it before the Tokio runtime goes away.
#[derive(Debug)]
pub struct TelemetryGuard {
    provider: SdkTracerProvider,
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        use tokio::runtime::{Handle, RuntimeFlavor};
        let provider = self.provider.clone();
        let shutdown = move || {
            if let Err(err) = provider.shutdown() {
                eprintln!("tracer provider shutdown failed: {err}");
            }
        };
        match Handle::try_current().map(|h| h.runtime_flavor()) {
            // The Cloud Trace exporter finishes its last batch on the runtime,
            // so this thread may block only where the runtime keeps other
            // threads running.
            Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(shutdown),
            // A single-threaded runtime cannot run the export while this
            // thread waits for it; let another thread wait instead.
            Ok(_) => drop(std::thread::spawn(shutdown)),
            Err(_) => shutdown(),
        }
    }
}

/// Telemetry could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// A variable has a value outside its choices.
    #[error("invalid {name}={value:?}: {expected}")]
    InvalidSetting {
        /// The environment variable.
        name: &'static str,
        /// Its value.
        value: String,
        /// The accepted values.
        expected: &'static str,
    },
    /// `RUST_LOG` does not parse.
    #[error("invalid RUST_LOG filter")]
    InvalidFilter(#[source] tracing_subscriber::filter::ParseError),
    /// Cloud Trace needs to know the project.
    #[error("GOOGLE_CLOUD_PROJECT must be set when TASKLANE_TRACE_EXPORTER is gcloud")]
    MissingProject,
    /// Exporters run on Tokio.
    #[error("a trace exporter needs a Tokio runtime; call init inside one")]
    NoRuntime,
    /// The span exporter could not be built.
    #[error("cannot build the span exporter")]
    Exporter(#[source] crate::BoxError),
    /// Another subscriber is already the global default.
    #[error("a tracing subscriber is already installed")]
    AlreadyInstalled(#[source] tracing_subscriber::util::TryInitError),
}

/// Start logging to standard error and tracing, with settings from the
/// environment (see [`TelemetrySettings`]).
///
/// # Errors
///
/// See [`TelemetryError`]: a malformed setting, no Tokio runtime for an
/// exporter, or a subscriber already installed.
pub fn init(service: &str) -> Result<TelemetryGuard, TelemetryError> {
    init_with(&TelemetrySettings::from_env(service)?)
}

/// [`init`] with explicit settings.
///
/// # Errors
///
/// As [`init`], except for reading the environment.
pub fn init_with(settings: &TelemetrySettings) -> Result<TelemetryGuard, TelemetryError> {
    let provider = exporter::provider(settings)?;
    let ansi = std::io::stderr().is_terminal();
    build(settings, &provider, std::io::stderr, ansi)?
        .try_init()
        .map_err(TelemetryError::AlreadyInstalled)?;
    Ok(TelemetryGuard { provider })
}

/// The subscriber [`init`] installs, writing to `make_writer` instead of
/// standard error, with spans from `provider`. For tests that read the log
/// lines back, under `tracing::subscriber::with_default`.
///
/// # Errors
///
/// [`TelemetryError::InvalidFilter`] when `settings.filter` does not parse.
pub fn subscriber<W>(
    settings: &TelemetrySettings,
    provider: &SdkTracerProvider,
    make_writer: W,
) -> Result<impl Subscriber + for<'a> LookupSpan<'a> + Send + Sync + 'static, TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    build(settings, provider, make_writer, false)
}

fn build<W>(
    settings: &TelemetrySettings,
    provider: &SdkTracerProvider,
    make_writer: W,
    ansi: bool,
) -> Result<impl Subscriber + for<'a> LookupSpan<'a> + Send + Sync + 'static, TelemetryError>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let filter = EnvFilter::builder()
        .parse(&settings.filter)
        .map_err(TelemetryError::InvalidFilter)?;
    let tracer = provider.tracer(settings.service.clone());
    // Order matters: the log layer reads the span contexts the
    // OpenTelemetry layer keeps, so it comes after it.
    let registry = Registry::default()
        .with(filter)
        .with(tracing_opentelemetry::layer().with_tracer(tracer));
    let logs = match settings.log_format {
        LogFormat::Json => CloudLoggingLayer::new(settings.project.clone(), make_writer).boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .with_writer(make_writer)
            .with_ansi(ansi)
            .boxed(),
    };
    Ok(registry.with(logs))
}

/// The trace id (32 hex digits) of the current span, when it has one: the
/// incoming request's trace when its span's parent was set from the
/// request headers.
pub fn current_trace_id() -> Option<String> {
    let context = tracing::Span::current().context();
    let span = context.span();
    let span_context = span.span_context();
    span_context
        .is_valid()
        .then(|| span_context.trace_id().to_string())
}
