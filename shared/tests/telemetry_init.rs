//! Installing telemetry for the process. One test per binary touches the
//! global subscriber, so this file holds one test.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use tasklane::telemetry::{self, TelemetryError, TelemetrySettings, TraceExporter};

#[test]
fn init_installs_once_and_its_guard_shuts_the_exporter_down() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let settings = TelemetrySettings {
            exporter: TraceExporter::Gcloud,
            project: "test-project".to_owned(),
            ..TelemetrySettings::local("summarize", "info")
        };

        let guard = telemetry::init_with(&settings).unwrap();
        let again = telemetry::init_with(&TelemetrySettings::local("summarize", "info"));

        assert!(
            matches!(again, Err(TelemetryError::AlreadyInstalled(_))),
            "{again:?}"
        );
        // Dropping inside the runtime must return: the exporter's shutdown
        // runs on the runtime's other threads.
        drop(guard);
    });
}
