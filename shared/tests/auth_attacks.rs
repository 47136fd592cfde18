//! Every forged, stolen or misdirected push is refused, and its core never
//! runs. One attack per test, over real HTTP, against a local JWKS server
//! that serves the signing key the way Google does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod push_support;

use jsonwebtoken::{Algorithm, EncodingKey};
use push_support::{
    Answer, Harness, KEY_A_PUBLIC_PEM, Mode, SigningKey, claims_with, now, send, unsigned_token,
    valid_claims,
};
use serde_json::{Value, json};

async fn push_with_token(h: &Harness, token: &str) -> Answer {
    let authorization = format!("Bearer {token}");
    send(h.push_task_with("m-1", Mode::Ok, &[("authorization", &authorization)])).await
}

/// The answer was `status` with the bland body, and nothing ran or was
/// recorded.
async fn assert_refused(h: &Harness, answer: &Answer, status: u16) {
    assert_eq!(answer.status, status);
    let error = if status == 401 {
        "unauthenticated"
    } else {
        "forbidden"
    };
    assert_eq!(answer.body, json!({ "error": error }));
    assert_eq!(h.probe.runs(), 0, "the core must not run");
    assert!(h.task("m-1").await.is_none(), "no task may be created");
}

fn signed(claims: &Value) -> String {
    SigningKey::a().sign(Algorithm::RS256, claims)
}

#[tokio::test]
async fn push_without_a_token_is_refused() {
    let h = Harness::start().await;

    let answer = send(h.push_task_with("m-1", Mode::Ok, &[("authorization", "")])).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn spoofed_cloud_tasks_headers_without_a_token_are_refused() {
    let h = Harness::start().await;
    let spoofed = [
        ("authorization", ""),
        ("x-cloudtasks-queuename", push_support::QUEUE),
        (
            "x-cloudtasks-taskname",
            "projects/p/locations/l/queues/testfn-queue/tasks/1",
        ),
        ("x-cloudtasks-taskretrycount", "0"),
        ("x-cloudtasks-taskexecutioncount", "0"),
        ("x-cloudtasks-tasketa", "1700000000.0"),
        ("user-agent", "Google-Cloud-Tasks"),
    ];

    let answer = send(h.push_task_with("m-1", Mode::Ok, &spoofed)).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn non_bearer_authorization_is_refused() {
    let h = Harness::start().await;
    let basic = format!("Basic {}", signed(&valid_claims()));

    let answer = send(h.push_task_with("m-1", Mode::Ok, &[("authorization", &basic)])).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn unsigned_alg_none_token_is_refused() {
    let h = Harness::start().await;

    let answer = push_with_token(&h, &unsigned_token(&valid_claims())).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn hs256_token_keyed_with_the_public_key_is_refused() {
    let h = Harness::start().await;
    let forger = SigningKey {
        kid: "key-a",
        key: EncodingKey::from_secret(KEY_A_PUBLIC_PEM.as_bytes()),
    };

    let answer = push_with_token(&h, &forger.sign(Algorithm::HS256, &valid_claims())).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn ps256_token_is_refused() {
    let h = Harness::start().await;

    let token = SigningKey::a().sign(Algorithm::PS256, &valid_claims());
    let answer = push_with_token(&h, &token).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn rs512_token_is_refused() {
    let h = Harness::start().await;

    let token = SigningKey::a().sign(Algorithm::RS512, &valid_claims());
    let answer = push_with_token(&h, &token).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn token_signed_by_another_key_under_a_known_kid_is_refused() {
    let h = Harness::start().await;

    let token = SigningKey::b().sign_as("key-a", Algorithm::RS256, &valid_claims());
    let answer = push_with_token(&h, &token).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn token_for_another_audience_is_refused() {
    let h = Harness::start().await;

    let claims = claims_with("aud", json!("https://other-service.example.run.app"));
    let answer = push_with_token(&h, &signed(&claims)).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn token_without_an_audience_is_refused() {
    let h = Harness::start().await;

    let answer = push_with_token(&h, &signed(&claims_with("aud", Value::Null))).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn token_from_another_issuer_is_refused() {
    let h = Harness::start().await;

    let claims = claims_with("iss", json!("https://issuer.attacker.example"));
    let answer = push_with_token(&h, &signed(&claims)).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn token_without_an_issuer_is_refused() {
    let h = Harness::start().await;

    let answer = push_with_token(&h, &signed(&claims_with("iss", Value::Null))).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn expired_token_is_refused() {
    let h = Harness::start().await;
    let mut claims = claims_with("exp", json!(now() - 120));
    claims["iat"] = json!(now() - 3_720);

    let answer = push_with_token(&h, &signed(&claims)).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn token_issued_in_the_future_is_refused() {
    let h = Harness::start().await;

    let answer = push_with_token(&h, &signed(&claims_with("iat", json!(now() + 600)))).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn token_without_iat_is_refused() {
    let h = Harness::start().await;

    let answer = push_with_token(&h, &signed(&claims_with("iat", Value::Null))).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn token_not_yet_valid_is_refused() {
    let h = Harness::start().await;

    let answer = push_with_token(&h, &signed(&claims_with("nbf", json!(now() + 600)))).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn token_without_an_email_is_refused() {
    let h = Harness::start().await;

    let answer = push_with_token(&h, &signed(&claims_with("email", Value::Null))).await;

    assert_refused(&h, &answer, 401).await;
}

#[tokio::test]
async fn token_of_another_service_account_is_forbidden() {
    let h = Harness::start().await;

    let claims = claims_with(
        "email",
        json!("intruder@other-project.iam.gserviceaccount.com"),
    );
    let answer = push_with_token(&h, &signed(&claims)).await;

    assert_refused(&h, &answer, 403).await;
}

#[tokio::test]
async fn token_with_an_unverified_email_is_forbidden() {
    let h = Harness::start().await;

    let answer = push_with_token(&h, &signed(&claims_with("email_verified", json!(false)))).await;

    assert_refused(&h, &answer, 403).await;
}

#[tokio::test]
async fn token_without_email_verified_is_forbidden() {
    let h = Harness::start().await;

    let answer = push_with_token(&h, &signed(&claims_with("email_verified", Value::Null))).await;

    assert_refused(&h, &answer, 403).await;
}

#[tokio::test]
async fn unknown_kid_is_refused_and_cannot_make_the_service_refetch_keys() {
    let h = Harness::start().await;
    assert_eq!(h.jwks.fetches(), 1, "the keys are fetched once at start-up");
    let token = SigningKey::b().sign(Algorithm::RS256, &valid_claims());

    let concurrent: Vec<_> = (0..20).map(|_| push_with_token(&h, &token)).collect();
    let answers = futures::future::join_all(concurrent).await;
    let later = push_with_token(&h, &token).await;

    for answer in answers.iter().chain([&later]) {
        assert_refused(&h, answer, 401).await;
    }
    assert_eq!(
        h.jwks.fetches(),
        1,
        "unknown kids within the refetch interval fetch nothing"
    );
}

#[tokio::test]
async fn push_from_another_queue_is_forbidden() {
    let h = Harness::start().await;

    let other_queue = [("x-cloudtasks-queuename", "some-other-queue")];
    let answer = send(h.push_task_with("m-1", Mode::Ok, &other_queue)).await;

    assert_refused(&h, &answer, 403).await;
}

#[tokio::test]
async fn push_without_a_queue_name_is_forbidden() {
    let h = Harness::start().await;

    let answer = send(h.push_task_with("m-1", Mode::Ok, &[("x-cloudtasks-queuename", "")])).await;

    assert_refused(&h, &answer, 403).await;
}

#[tokio::test]
async fn token_from_the_short_google_issuer_is_accepted() {
    let h = Harness::start().await;

    let claims = claims_with("iss", json!("accounts.google.com"));
    let answer = push_with_token(&h, &signed(&claims)).await;

    assert_eq!(answer.status, 200);
    assert_eq!(h.probe.runs(), 1);
}

#[tokio::test]
async fn token_expired_within_the_clock_leeway_is_accepted() {
    let h = Harness::start().await;

    let answer = push_with_token(&h, &signed(&claims_with("exp", json!(now() - 5)))).await;

    assert_eq!(answer.status, 200);
}
