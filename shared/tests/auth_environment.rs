//! The development bypass: on only with `TASKLANE_ENV=development`, never on
//! Cloud Run (`K_SERVICE` set). That the real binary refuses to start there
//! is tested end to end in `tests/tests/bypass.rs`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod push_support;

use push_support::{Harness, Mode, send, spec};
use tasklane::auth::{AuthMode, EnvironmentError};
use tasklane::push::{ConfigError, PushConfig};

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
