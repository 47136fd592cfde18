//! `PushConfig::from_vars`: defaults, parsing, and the settings it refuses.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod push_support;

use std::collections::HashMap;
use std::time::Duration;

use push_support::spec;
use tasklane::auth::verifier::GOOGLE_JWKS_URL;
use tasklane::push::{ConfigError, PushAuth, PushConfig};

fn from(pairs: &[(&str, &str)]) -> Result<PushConfig, ConfigError> {
    let vars: HashMap<String, String> = pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    PushConfig::from_vars(&spec(), |name| vars.get(name).cloned())
}

const REQUIRED: [(&str, &str); 2] = [
    ("TASKLANE_AUDIENCE", "https://svc.example/tasks/testfn"),
    ("TASKLANE_INVOKERS", "a@p.iam.gserviceaccount.com"),
];

#[test]
fn unset_settings_take_their_defaults() {
    let config = from(&REQUIRED).unwrap();

    assert_eq!(config.port(), 8_080);
    assert_eq!(config.concurrency(), spec().request_concurrency);
    assert_eq!(config.max_body_bytes(), 102_400);
    assert_eq!(config.shutdown_grace(), Duration::from_secs(8));
    assert_eq!(config.request_timeout(), spec().dispatch_deadline());
    let PushAuth::Oidc(oidc) = config.auth() else {
        panic!("production must verify tokens");
    };
    assert_eq!(oidc.jwks_url, GOOGLE_JWKS_URL);
    assert_eq!(oidc.min_refetch, Duration::from_secs(30));
    assert_eq!(oidc.leeway, Duration::from_secs(30));
}

#[test]
fn every_setting_is_read() {
    let mut vars = REQUIRED.to_vec();
    vars.extend([
        (
            "TASKLANE_INVOKERS",
            " a@p.iam.gserviceaccount.com , b@p.iam.gserviceaccount.com,",
        ),
        ("TASKLANE_JWKS_URL", "http://127.0.0.1:9/certs"),
        ("PORT", "9090"),
        ("TASKLANE_CONCURRENCY", "5"),
        ("TASKLANE_MAX_BODY_BYTES", "2048"),
        ("TASKLANE_SHUTDOWN_GRACE_SECS", "3"),
    ]);

    let config = from(&vars).unwrap();

    assert_eq!(config.port(), 9_090);
    assert_eq!(config.concurrency(), 5);
    assert_eq!(config.max_body_bytes(), 2_048);
    assert_eq!(config.shutdown_grace(), Duration::from_secs(3));
    let PushAuth::Oidc(oidc) = config.auth() else {
        panic!("production must verify tokens");
    };
    assert_eq!(oidc.audience, "https://svc.example/tasks/testfn");
    assert_eq!(
        oidc.invokers,
        ["a@p.iam.gserviceaccount.com", "b@p.iam.gserviceaccount.com"]
    );
    assert_eq!(oidc.jwks_url, "http://127.0.0.1:9/certs");
}

#[test]
fn audience_is_required_outside_development() {
    let refused = from(&[("TASKLANE_INVOKERS", "a@p.iam.gserviceaccount.com")]);

    assert!(matches!(
        refused,
        Err(ConfigError::Missing {
            var: "TASKLANE_AUDIENCE"
        })
    ));
}

#[test]
fn invokers_are_required_outside_development() {
    let refused = from(&[("TASKLANE_AUDIENCE", "aud"), ("TASKLANE_INVOKERS", " , ")]);

    assert!(matches!(
        refused,
        Err(ConfigError::Missing {
            var: "TASKLANE_INVOKERS"
        })
    ));
}

#[test]
fn development_needs_neither_audience_nor_invokers() {
    let config = from(&[("TASKLANE_ENV", "development")]).unwrap();

    assert_eq!(*config.auth(), PushAuth::DevelopmentBypass);
}

#[test]
fn malformed_numbers_are_named() {
    let cases = [
        ("PORT", "80a"),
        ("PORT", "70000"),
        ("TASKLANE_CONCURRENCY", "-1"),
        ("TASKLANE_CONCURRENCY", "0"),
        ("TASKLANE_MAX_BODY_BYTES", "0"),
        ("TASKLANE_SHUTDOWN_GRACE_SECS", "1.5"),
    ];
    for (name, value) in cases {
        let mut vars = REQUIRED.to_vec();
        vars.push((name, value));

        let refused = from(&vars);

        match refused {
            Err(ConfigError::Invalid { var, .. }) => assert_eq!(var, name),
            other => panic!("{name}={value}: {other:?}"),
        }
    }
}

#[test]
fn empty_values_count_as_unset() {
    let mut vars = REQUIRED.to_vec();
    vars.extend([("PORT", ""), ("TASKLANE_ENV", "")]);

    let config = from(&vars).unwrap();

    assert_eq!(config.port(), 8_080);
    assert!(matches!(config.auth(), PushAuth::Oidc(_)));
}
