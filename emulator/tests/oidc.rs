//! Push tokens: Google's claim shape, verifiable against the emulator's
//! JWKS with a standard JWT library and with the functions' own verifier
//! (`tasklane::auth`), and rejected once tampered with.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::{Rest, Sink, spec};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use serde_json::{Value, json};
use tasklane::auth::{AuthError, IdTokenVerifier, OidcConfig};
use tasklane_emulator::Emulator;

const INVOKER: &str = "invoker@local-project.iam.gserviceaccount.com";

struct Keys {
    kid: String,
    key: DecodingKey,
}

async fn fetch_keys(jwks_url: &str) -> Keys {
    let jwks: Value = reqwest::get(jwks_url).await.unwrap().json().await.unwrap();
    let key = &jwks["keys"][0];
    assert_eq!(key["kty"], "RSA");
    assert_eq!(key["alg"], "RS256");
    assert_eq!(key["use"], "sig");
    Keys {
        kid: key["kid"].as_str().unwrap().to_owned(),
        key: DecodingKey::from_rsa_components(
            key["n"].as_str().unwrap(),
            key["e"].as_str().unwrap(),
        )
        .unwrap(),
    }
}

fn validation(audience: &str) -> Validation {
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[audience]);
    validation.set_issuer(&["https://accounts.google.com"]);
    validation
}

/// Pushes one task with an `oidcToken` and returns its bearer token.
async fn pushed_token(sink: &mut Sink, rest: &Rest, queue: &str, oidc: Value) -> String {
    let task = json!({"httpRequest": {"url": sink.url("/tasks/summarize"), "oidcToken": oidc}});
    let (status, body) = rest.create_task(queue, task).await;
    assert_eq!(status, 200, "{body}");
    let delivery = sink.next().await;
    let header = delivery.header("authorization").unwrap();
    header.strip_prefix("Bearer ").unwrap().to_owned()
}

#[tokio::test]
async fn minted_token_verifies_against_the_jwks_and_tampered_token_fails() {
    let emulator = Emulator::builder()
        .spec(spec("auth"))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let rest = Rest::new(&emulator.base_url());
    let mut sink = Sink::answering(200).await;
    let keys = fetch_keys(&emulator.jwks_url()).await;
    let url = sink.url("/tasks/summarize");

    let oidc = json!({"serviceAccountEmail": INVOKER});
    let token = pushed_token(&mut sink, &rest, &emulator.queue_path("auth"), oidc).await;

    let header = decode_header(&token).unwrap();
    assert_eq!(header.kid.as_deref(), Some(keys.kid.as_str()));
    let claims = decode::<Value>(&token, &keys.key, &validation(&url))
        .unwrap()
        .claims;
    assert_eq!(claims["email"], INVOKER);
    assert_eq!(claims["email_verified"], true);
    assert_eq!(claims["aud"], url.as_str());
    assert_eq!(claims["azp"], claims["sub"]);
    let lifetime = claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap();
    assert_eq!(lifetime, 3600);

    let tampered = swap_email(&token, "attacker@evil.iam.gserviceaccount.com");
    let err = decode::<Value>(&tampered, &keys.key, &validation(&url)).unwrap_err();
    assert_eq!(err.kind(), &ErrorKind::InvalidSignature);
    let wrong_audience =
        decode::<Value>(&token, &keys.key, &validation("https://other")).unwrap_err();
    assert_eq!(wrong_audience.kind(), &ErrorKind::InvalidAudience);
}

#[tokio::test]
async fn minted_token_passes_the_functions_verifier_and_a_tampered_one_fails() {
    let emulator = Emulator::builder()
        .spec(spec("verify"))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let rest = Rest::new(&emulator.base_url());
    let mut sink = Sink::answering(200).await;
    let url = sink.url("/tasks/summarize");
    let mut config = OidcConfig::new(url.as_str(), vec![INVOKER.to_owned()]);
    config.jwks_url = emulator.jwks_url();
    let verifier = IdTokenVerifier::new(&config).unwrap();

    let oidc = json!({"serviceAccountEmail": INVOKER});
    let token = pushed_token(&mut sink, &rest, &emulator.queue_path("verify"), oidc).await;

    let caller = verifier.verify_token(&token).await.unwrap();
    assert_eq!(caller.email(), INVOKER);
    let tampered = swap_email(&token, INVOKER.replace("invoker", "intruder").as_str());
    let refused = verifier.verify_token(&tampered).await.unwrap_err();
    assert_eq!(refused, AuthError::BadSignature);
}

#[tokio::test]
async fn explicit_audience_replaces_the_url() {
    let emulator = Emulator::builder()
        .spec(spec("aud"))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let rest = Rest::new(&emulator.base_url());
    let mut sink = Sink::answering(200).await;
    let keys = fetch_keys(&emulator.jwks_url()).await;

    let oidc = json!({"serviceAccountEmail": INVOKER, "audience": "https://summarize.run.app"});
    let token = pushed_token(&mut sink, &rest, &emulator.queue_path("aud"), oidc).await;

    let claims = decode::<Value>(&token, &keys.key, &validation("https://summarize.run.app"));
    assert_eq!(claims.unwrap().claims["aud"], "https://summarize.run.app");
}

/// Re-encodes the payload with another email, keeping the signature.
fn swap_email(token: &str, email: &str) -> String {
    let parts: Vec<&str> = token.split('.').collect();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).unwrap()).unwrap();
    claims["email"] = Value::from(email);
    let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
    format!("{}.{payload}.{}", parts[0], parts[2])
}
