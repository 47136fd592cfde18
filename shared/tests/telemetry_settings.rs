//! Telemetry settings: defaults locally and on Cloud Run, and clear errors.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tasklane::telemetry::{LogFormat, TelemetryError, TelemetrySettings, TraceExporter};

fn read(vars: &[(&str, &str)]) -> Result<TelemetrySettings, TelemetryError> {
    TelemetrySettings::from_vars("summarize", vars.iter().copied())
}

#[test]
fn locally_logs_are_text_and_spans_are_not_exported() {
    let settings = read(&[]).unwrap();

    assert_eq!(settings.log_format, LogFormat::Text);
    assert_eq!(settings.exporter, TraceExporter::None);
    assert_eq!(settings.filter, "info");
    assert_eq!(settings.project, "local");
    assert_eq!(settings.service, "summarize");
}

#[test]
fn on_cloud_run_logs_are_json_and_spans_go_to_cloud_trace() {
    for marker in ["K_SERVICE", "CLOUD_RUN_JOB"] {
        let settings = read(&[(marker, "summarize"), ("GOOGLE_CLOUD_PROJECT", "acme")]).unwrap();

        assert_eq!(settings.log_format, LogFormat::Json, "{marker}");
        assert_eq!(settings.exporter, TraceExporter::Gcloud, "{marker}");
        assert_eq!(settings.project, "acme");
    }
}

#[test]
fn explicit_choices_override_the_cloud_run_defaults() {
    let settings = read(&[
        ("K_SERVICE", "summarize"),
        ("TASKLANE_LOG_FORMAT", "TEXT"),
        ("TASKLANE_TRACE_EXPORTER", "otlp"),
        ("RUST_LOG", "tasklane=debug"),
    ])
    .unwrap();

    assert_eq!(settings.log_format, LogFormat::Text);
    assert_eq!(settings.exporter, TraceExporter::Otlp);
    assert_eq!(settings.filter, "tasklane=debug");
}

#[test]
fn unknown_log_format_names_the_variable() {
    let err = read(&[("TASKLANE_LOG_FORMAT", "yaml")]).unwrap_err();

    assert!(
        matches!(
            err,
            TelemetryError::InvalidSetting {
                name: "TASKLANE_LOG_FORMAT",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("yaml"), "{err}");
}

#[test]
fn unknown_exporter_names_the_variable() {
    let err = read(&[("TASKLANE_TRACE_EXPORTER", "jaeger")]).unwrap_err();

    assert!(
        matches!(
            err,
            TelemetryError::InvalidSetting {
                name: "TASKLANE_TRACE_EXPORTER",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn cloud_trace_without_a_project_is_refused() {
    let err = read(&[("K_SERVICE", "summarize")]).unwrap_err();

    assert!(matches!(err, TelemetryError::MissingProject), "{err:?}");
}

#[test]
fn exporter_outside_a_tokio_runtime_is_refused() {
    let settings = TelemetrySettings {
        exporter: TraceExporter::Otlp,
        ..TelemetrySettings::local("summarize", "info")
    };

    let err = tasklane::telemetry::init_with(&settings).unwrap_err();

    assert!(matches!(err, TelemetryError::NoRuntime), "{err:?}");
}
