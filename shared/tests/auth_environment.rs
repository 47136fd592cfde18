//! The development bypass: on only with `TASKLANE_ENV=development`, never on
//! Cloud Run (`K_SERVICE` set), where the process refuses to start.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod push_support;

use std::error::Error;
use std::time::Duration;

use push_support::{Harness, Mode, Probe, TestOp, send, spec};
use tasklane::Context;
use tasklane::auth::{AuthMode, EnvironmentError};
use tasklane::db::{self, PoolSettings};
use tasklane::push::{self, ConfigError, PushConfig};

#[test]
fn bypass_needs_the_development_environment() {
    assert_eq!(
        AuthMode::resolve(Some("development"), None),
        Ok(AuthMode::DevelopmentBypass)
    );
    assert_eq!(AuthMode::resolve(None, None), Ok(AuthMode::Verify));
    assert_eq!(AuthMode::resolve(Some(""), None), Ok(AuthMode::Verify));
    assert_eq!(
        AuthMode::resolve(Some("production"), None),
        Ok(AuthMode::Verify)
    );
}

#[test]
fn bypass_on_cloud_run_is_refused() {
    let refused = AuthMode::resolve(Some("development"), Some("summarize"));

    assert_eq!(
        refused,
        Err(EnvironmentError::BypassOnCloudRun {
            service: "summarize".to_owned()
        })
    );
    let message = refused.unwrap_err().to_string();
    assert!(message.contains("K_SERVICE"), "{message}");
    assert!(message.contains("TASKLANE_ENV"), "{message}");
}

#[test]
fn production_on_cloud_run_is_allowed() {
    assert_eq!(
        AuthMode::resolve(None, Some("summarize")),
        Ok(AuthMode::Verify)
    );
}

#[test]
fn unknown_environment_is_refused_rather_than_guessed() {
    let refused = AuthMode::resolve(Some("dev"), None);

    assert_eq!(
        refused,
        Err(EnvironmentError::Unknown {
            value: "dev".to_owned()
        })
    );
}

#[test]
fn config_from_vars_refuses_the_bypass_on_cloud_run() {
    let vars = |name: &str| match name {
        "TASKLANE_ENV" => Some("development".to_owned()),
        "K_SERVICE" => Some("summarize".to_owned()),
        _ => None,
    };

    let refused = PushConfig::from_vars(&spec(), vars);

    assert!(matches!(
        refused,
        Err(ConfigError::Environment(
            EnvironmentError::BypassOnCloudRun { .. }
        ))
    ));
}

/// Runs only as the child of the test below, with its environment.
const CHILD_MARKER: &str = "TASKLANE_TEST_SERVE_FROM_ENV_CHILD";

#[tokio::test]
async fn serve_from_env_refuses_the_bypass_on_cloud_run() {
    let exe = std::env::current_exe().unwrap();
    let child = tokio::process::Command::new(exe)
        .args([
            "serve_from_env_child",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
        .env(CHILD_MARKER, "1")
        .env("TASKLANE_ENV", "development")
        .env("K_SERVICE", "summarize")
        .env("PORT", "0")
        .kill_on_drop(true)
        .output();

    // The bound only turns a regression (a server that starts and waits for
    // SIGTERM) into a failure instead of a hang.
    let output = tokio::time::timeout(Duration::from_secs(120), child)
        .await
        .expect("serve_from_env kept serving: the bypass was not refused")
        .unwrap();

    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let refusal = stdout
        .lines()
        .find(|l| l.starts_with("REFUSED: "))
        .expect("no refusal");
    assert!(refusal.contains("K_SERVICE"), "{refusal}");
}

#[tokio::test]
#[ignore = "run in a child process by serve_from_env_refuses_the_bypass_on_cloud_run"]
async fn serve_from_env_child() {
    if std::env::var_os(CHILD_MARKER).is_none() {
        // Run by hand with --ignored: nothing to do outside the child.
        return;
    }
    let nowhere = PoolSettings::for_url("postgres://postgres@127.0.0.1:1/nowhere");
    let ctx = Context::new(db::pool(&nowhere).unwrap());

    let result = push::serve_from_env(ctx, TestOp::new(Probe::new())).await;

    let err = result.expect_err("serve_from_env must refuse to start");
    println!("REFUSED: {}", chain(err.as_ref()));
}

fn chain(err: &(dyn Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

#[tokio::test]
async fn bypass_serves_pushes_without_a_token() {
    let h = Harness::start_with(|config| config.development_bypass(true)).await;

    let answer = send(h.push_task_with("m-1", Mode::Ok, &[("authorization", "")])).await;

    assert_eq!(answer.status, 200);
    assert_eq!(h.probe.runs(), 1);
}

#[tokio::test]
async fn bypass_still_refuses_another_queue() {
    let h = Harness::start_with(|config| config.development_bypass(true)).await;

    let overrides = [
        ("authorization", ""),
        ("x-cloudtasks-queuename", "other-queue"),
    ];
    let answer = send(h.push_task_with("m-1", Mode::Ok, &overrides)).await;

    assert_eq!(answer.status, 403);
    assert_eq!(h.probe.runs(), 0);
}
