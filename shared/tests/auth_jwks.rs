//! The verifier and its JWKS cache, against a local JWKS server: which rule
//! each bad token breaks, how keys are fetched, refreshed and rotated, and
//! that an unreachable JWKS fails closed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod push_support;

use std::time::Duration;

use jsonwebtoken::{Algorithm, EncodingKey};
use push_support::{
    AUDIENCE, INVOKER, JwksServer, KEY_A_PUBLIC_PEM, SigningKey, claims_with, now, unsigned_token,
    valid_claims,
};
use serde_json::{Value, json};
use tasklane::auth::verifier::OidcConfig;
use tasklane::auth::{AuthError, IdTokenVerifier};

fn config(jwks: &JwksServer, min_refetch: Duration) -> OidcConfig {
    OidcConfig {
        min_refetch,
        jwks_url: jwks.url.clone(),
        ..OidcConfig::new(AUDIENCE, vec![INVOKER.to_owned()])
    }
}

fn token_a(claims: &Value) -> String {
    SigningKey::a().sign(Algorithm::RS256, claims)
}

#[tokio::test]
async fn each_broken_rule_is_named() {
    let jwks = JwksServer::start(vec![SigningKey::a().jwk()]).await;
    let verifier = IdTokenVerifier::new(&config(&jwks, Duration::from_secs(30))).unwrap();
    let hs256 = SigningKey {
        kid: "key-a",
        key: EncodingKey::from_secret(KEY_A_PUBLIC_PEM.as_bytes()),
    };
    let mut expired = claims_with("exp", json!(now() - 120));
    expired["iat"] = json!(now() - 3_720);
    let cases = [
        ("garbage", "not.a.jwt".to_owned(), AuthError::MalformedToken),
        (
            "alg none",
            unsigned_token(&valid_claims()),
            AuthError::MalformedToken,
        ),
        (
            "hs256",
            hs256.sign(Algorithm::HS256, &valid_claims()),
            AuthError::UnsupportedAlgorithm,
        ),
        (
            "ps256",
            SigningKey::a().sign(Algorithm::PS256, &valid_claims()),
            AuthError::UnsupportedAlgorithm,
        ),
        (
            "forged",
            SigningKey::b().sign_as("key-a", Algorithm::RS256, &valid_claims()),
            AuthError::BadSignature,
        ),
        ("expired", token_a(&expired), AuthError::Expired),
        (
            "nbf",
            token_a(&claims_with("nbf", json!(now() + 600))),
            AuthError::NotYetValid,
        ),
        (
            "iat",
            token_a(&claims_with("iat", json!(now() + 600))),
            AuthError::IssuedInFuture,
        ),
        (
            "iss",
            token_a(&claims_with("iss", json!("https://x.example"))),
            AuthError::WrongIssuer,
        ),
        (
            "aud",
            token_a(&claims_with("aud", json!("other"))),
            AuthError::WrongAudience,
        ),
        (
            "no exp",
            token_a(&claims_with("exp", Value::Null)),
            AuthError::MissingClaim("exp"),
        ),
        (
            "no iat",
            token_a(&claims_with("iat", Value::Null)),
            AuthError::MissingClaim("iat"),
        ),
        (
            "no email",
            token_a(&claims_with("email", Value::Null)),
            AuthError::MissingClaim("email"),
        ),
        (
            "unverified",
            token_a(&claims_with("email_verified", json!(false))),
            AuthError::EmailUnverified,
        ),
        (
            "invoker",
            token_a(&claims_with("email", json!("x@y.example"))),
            AuthError::NotInvoker,
        ),
    ];

    for (name, token, expected) in cases {
        assert_eq!(verifier.verify_token(&token).await, Err(expected), "{name}");
    }
    let caller = verifier
        .verify_token(&token_a(&valid_claims()))
        .await
        .unwrap();
    assert_eq!(caller.email(), INVOKER);
}

#[tokio::test]
async fn cold_cache_fetches_once_for_concurrent_tokens() {
    let jwks = JwksServer::start(vec![SigningKey::a().jwk()]).await;
    let verifier = IdTokenVerifier::new(&config(&jwks, Duration::ZERO)).unwrap();
    let token = token_a(&valid_claims());

    let verifications: Vec<_> = (0..20).map(|_| verifier.verify_token(&token)).collect();
    let results = futures::future::join_all(verifications).await;

    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(jwks.fetches(), 1);
}

#[tokio::test]
async fn rotated_signing_key_is_fetched_when_a_token_names_it() {
    let jwks = JwksServer::start(vec![SigningKey::a().jwk()]).await;
    let verifier = IdTokenVerifier::new(&config(&jwks, Duration::ZERO)).unwrap();
    verifier.warm().await;
    jwks.set_keys(vec![SigningKey::a().jwk(), SigningKey::b().jwk()]);

    let token = SigningKey::b().sign(Algorithm::RS256, &valid_claims());
    let caller = verifier.verify_token(&token).await;

    assert!(caller.is_ok(), "{caller:?}");
    assert_eq!(jwks.fetches(), 2);
}

#[tokio::test]
async fn unknown_kid_does_not_refetch_within_the_interval() {
    let jwks = JwksServer::start(vec![SigningKey::a().jwk()]).await;
    let verifier = IdTokenVerifier::new(&config(&jwks, Duration::from_secs(3_600))).unwrap();
    verifier.warm().await;
    jwks.set_keys(vec![SigningKey::a().jwk(), SigningKey::b().jwk()]);

    let token = SigningKey::b().sign(Algorithm::RS256, &valid_claims());
    for _ in 0..5 {
        assert_eq!(
            verifier.verify_token(&token).await,
            Err(AuthError::UnknownKey)
        );
    }

    assert_eq!(jwks.fetches(), 1);
    assert!(
        verifier
            .verify_token(&token_a(&valid_claims()))
            .await
            .is_ok()
    );
}

#[tokio::test]
async fn key_removed_from_the_jwks_is_no_longer_trusted() {
    let jwks = JwksServer::start(vec![SigningKey::a().jwk()]).await;
    let verifier = IdTokenVerifier::new(&config(&jwks, Duration::ZERO)).unwrap();
    verifier.warm().await;
    jwks.set_keys(vec![SigningKey::b().jwk()]);

    let token_b = SigningKey::b().sign(Algorithm::RS256, &valid_claims());
    assert!(verifier.verify_token(&token_b).await.is_ok());

    let old = verifier.verify_token(&token_a(&valid_claims())).await;
    assert_eq!(old, Err(AuthError::UnknownKey));
}

#[tokio::test]
async fn stale_keys_keep_verifying_while_a_background_refresh_runs() {
    let jwks = JwksServer::start(vec![SigningKey::a().jwk()]).await;
    jwks.set_max_age(0);
    let verifier = IdTokenVerifier::new(&config(&jwks, Duration::ZERO)).unwrap();
    verifier.warm().await;
    jwks.set_max_age(3_600);

    let token = token_a(&valid_claims());
    assert!(
        verifier.verify_token(&token).await.is_ok(),
        "stale keys still verify"
    );

    jwks.wait_for_fetches(2).await;
    assert!(verifier.verify_token(&token).await.is_ok());
}

#[tokio::test]
async fn unreachable_jwks_fails_closed() {
    let config = OidcConfig {
        jwks_url: "http://127.0.0.1:1/certs".to_owned(),
        ..OidcConfig::new(AUDIENCE, vec![INVOKER.to_owned()])
    };
    let verifier = IdTokenVerifier::new(&config).unwrap();

    let result = verifier.verify_token(&token_a(&valid_claims())).await;

    assert_eq!(result, Err(AuthError::KeysUnavailable));
}

#[tokio::test]
async fn missing_kid_is_refused() {
    let jwks = JwksServer::start(vec![SigningKey::a().jwk()]).await;
    let verifier = IdTokenVerifier::new(&config(&jwks, Duration::ZERO)).unwrap();
    let header = jsonwebtoken::Header::new(Algorithm::RS256);
    let token = jsonwebtoken::encode(&header, &valid_claims(), &SigningKey::a().key).unwrap();

    assert_eq!(
        verifier.verify_token(&token).await,
        Err(AuthError::MissingKeyId)
    );
}
