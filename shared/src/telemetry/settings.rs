//! Telemetry configuration, read once from the environment.

use std::collections::HashMap;

use super::TelemetryError;

/// How log lines are written (to standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One Cloud Logging structured JSON object per line, correlated with
    /// the trace.
    Json,
    /// Human-readable lines.
    Text,
}

/// Where spans are exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TraceExporter {
    /// Nowhere. Spans still get ids, so log lines and dead letters carry
    /// the trace id of an incoming request.
    None,
    /// Google Cloud Trace, with the process's Application Default
    /// Credentials.
    Gcloud,
    /// OTLP over gRPC, to `OTEL_EXPORTER_OTLP_ENDPOINT` (read by the
    /// exporter; default `http://localhost:4317`).
    Otlp,
}

/// Logging and tracing settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TelemetrySettings {
    /// The `service.name` of exported spans (the function's name).
    pub service: String,
    /// Project of the `logging.googleapis.com/trace` field and of Cloud Trace
    /// (`GOOGLE_CLOUD_PROJECT`; default `local`, and required when the
    /// exporter is `gcloud`).
    pub project: String,
    /// Log format (`TASKLANE_LOG_FORMAT`, `json` or `text`; default `json`
    /// on Cloud Run, that is when `K_SERVICE` or `CLOUD_RUN_JOB` is set,
    /// otherwise `text`).
    pub log_format: LogFormat,
    /// Which events are logged, in `tracing-subscriber`'s `EnvFilter` syntax
    /// (`RUST_LOG`; default `info`).
    pub filter: String,
    /// Span exporter (`TASKLANE_TRACE_EXPORTER`, `none`, `gcloud` or `otlp`;
    /// default `gcloud` on Cloud Run, otherwise `none`).
    pub exporter: TraceExporter,
}

impl TelemetrySettings {
    /// Read the settings for `service` from the process environment.
    ///
    /// # Errors
    ///
    /// [`TelemetryError::InvalidSetting`] naming a malformed variable, or
    /// [`TelemetryError::MissingProject`].
    pub fn from_env(service: &str) -> Result<Self, TelemetryError> {
        Self::from_vars(service, std::env::vars())
    }

    /// Read the settings for `service` from `vars` (name, value pairs), as
    /// [`from_env`](Self::from_env) does from the environment.
    ///
    /// # Errors
    ///
    /// [`TelemetryError::InvalidSetting`] naming a malformed variable, or
    /// [`TelemetryError::MissingProject`] when the exporter is `gcloud` and
    /// `GOOGLE_CLOUD_PROJECT` is unset.
    pub fn from_vars<I, K, V>(service: &str, vars: I) -> Result<Self, TelemetryError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let vars: HashMap<String, String> = vars
            .into_iter()
            .map(|(k, v)| (k.into(), v.into()))
            .filter(|(_, v)| !v.trim().is_empty())
            .collect();
        let get = |name: &str| vars.get(name).map(|v| v.trim());
        let on_cloud_run = get("K_SERVICE").is_some() || get("CLOUD_RUN_JOB").is_some();
        let settings = TelemetrySettings {
            service: service.to_owned(),
            project: get("GOOGLE_CLOUD_PROJECT").unwrap_or("local").to_owned(),
            log_format: log_format(get("TASKLANE_LOG_FORMAT"), on_cloud_run)?,
            filter: get("RUST_LOG").unwrap_or("info").to_owned(),
            exporter: exporter(get("TASKLANE_TRACE_EXPORTER"), on_cloud_run)?,
        };
        if settings.exporter == TraceExporter::Gcloud && get("GOOGLE_CLOUD_PROJECT").is_none() {
            return Err(TelemetryError::MissingProject);
        }
        Ok(settings)
    }

    /// Settings for tests and tools: `text` logs at `filter`, no exporter,
    /// project `local`.
    pub fn local(service: &str, filter: &str) -> Self {
        TelemetrySettings {
            service: service.to_owned(),
            project: "local".to_owned(),
            log_format: LogFormat::Text,
            filter: filter.to_owned(),
            exporter: TraceExporter::None,
        }
    }
}

fn log_format(value: Option<&str>, on_cloud_run: bool) -> Result<LogFormat, TelemetryError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None if on_cloud_run => Ok(LogFormat::Json),
        None => Ok(LogFormat::Text),
        Some("json") => Ok(LogFormat::Json),
        Some("text") => Ok(LogFormat::Text),
        Some(_) => Err(invalid(
            "TASKLANE_LOG_FORMAT",
            value,
            "expected json or text",
        )),
    }
}

fn exporter(value: Option<&str>, on_cloud_run: bool) -> Result<TraceExporter, TelemetryError> {
    match value.map(str::to_ascii_lowercase).as_deref() {
        None if on_cloud_run => Ok(TraceExporter::Gcloud),
        None => Ok(TraceExporter::None),
        Some("none") => Ok(TraceExporter::None),
        Some("gcloud") => Ok(TraceExporter::Gcloud),
        Some("otlp") => Ok(TraceExporter::Otlp),
        Some(_) => Err(invalid(
            "TASKLANE_TRACE_EXPORTER",
            value,
            "expected none, gcloud or otlp",
        )),
    }
}

fn invalid(name: &'static str, value: Option<&str>, expected: &'static str) -> TelemetryError {
    TelemetryError::InvalidSetting {
        name,
        value: value.unwrap_or_default().to_owned(),
        expected,
    }
}
