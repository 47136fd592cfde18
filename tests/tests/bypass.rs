//! The development bypass never works on Cloud Run: the real function
//! binary, asked to serve with `TASKLANE_ENV=development` where `K_SERVICE`
//! is set, refuses to start with a clear message and a non-zero exit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use tasklane_e2e::stack::bin_dir;

#[tokio::test]
async fn serve_refuses_the_development_bypass_on_cloud_run() {
    let binary = bin_dir().join("summarize");
    let run = tokio::process::Command::new(&binary)
        .arg("serve")
        .env("TASKLANE_ENV", "development")
        .env("K_SERVICE", "summarize")
        .env("GOOGLE_CLOUD_PROJECT", "local")
        .env("TASKLANE_TRACE_EXPORTER", "none")
        .env("PORT", "0")
        .env("DATABASE_URL", "postgres://postgres@127.0.0.1:1/nowhere")
        .env_remove("TASKLANE_QUEUE")
        .env_remove("TASKLANE_MAX_ATTEMPTS")
        .env_remove("TASKLANE_DLQ_TOPIC")
        .kill_on_drop(true)
        .output();

    // The bound only turns a regression (a server that starts and waits for
    // SIGTERM) into a failure instead of a hang.
    let output = tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("summarize serve kept running: the bypass was not refused")
        .expect("summarize is built (cargo build --workspace --bins)");

    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(78), "{stderr}");
    assert!(stderr.contains("K_SERVICE"), "{stderr}");
}
