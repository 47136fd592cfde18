//! Google-shaped OIDC ID tokens for pushes, signed with an RSA key the
//! emulator generates at start, and the JWKS that verifies them.
//!
//! Cloud Tasks caches a token per service account and audience rather than
//! signing every push; so does the emulator, which keeps RSA signing off the
//! dispatch hot path.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use serde_json::json;
use sha2::{Digest, Sha256};

/// Issuer of Google-signed ID tokens.
pub(crate) const ISSUER: &str = "https://accounts.google.com";

/// Lifetime of a minted token, as Google's.
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);

/// A cached token is replaced once less than this is left of it.
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// Failures of the signing key.
#[derive(Debug, thiserror::Error)]
pub enum OidcError {
    /// The RSA key could not be generated.
    #[error("could not generate the RSA signing key")]
    KeyGeneration,
    /// A token could not be signed.
    #[error("could not sign an ID token")]
    Signing,
}

/// Mints and caches ID tokens; serves the matching JWKS.
#[derive(Debug)]
pub(crate) struct TokenMinter {
    key: KeyPair,
    kid: String,
    jwks: Bytes,
    cache: Mutex<HashMap<(String, String), CachedToken>>,
}

#[derive(Debug, Clone)]
struct CachedToken {
    token: String,
    expires: SystemTime,
}

impl TokenMinter {
    /// Generates a fresh 2048-bit key.
    ///
    /// # Errors
    ///
    /// [`OidcError::KeyGeneration`] when the crypto library fails.
    pub(crate) fn generate() -> Result<Self, OidcError> {
        let key = KeyPair::generate(KeySize::Rsa2048).map_err(|_| OidcError::KeyGeneration)?;
        let public = key.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        // Google's key ids are 40 hex digits; a digest of the modulus gives
        // the same shape and stays stable for the key's lifetime.
        let kid = hex::encode(&Sha256::digest(&n)[..20]);
        let jwks = json!({
            "keys": [{
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": kid,
                "n": URL_SAFE_NO_PAD.encode(&n),
                "e": URL_SAFE_NO_PAD.encode(&e),
            }]
        });
        Ok(TokenMinter {
            key,
            kid,
            jwks: Bytes::from(jwks.to_string()),
            cache: Mutex::new(HashMap::new()),
        })
    }

    /// The JWKS document, as `GET /oauth2/v3/certs` serves it.
    pub(crate) fn jwks(&self) -> Bytes {
        self.jwks.clone()
    }

    /// A token for `email` with audience `audience`, reused while it has
    /// more than five minutes left.
    ///
    /// # Errors
    ///
    /// [`OidcError::Signing`] when signing fails.
    pub(crate) fn token(&self, email: &str, audience: &str) -> Result<String, OidcError> {
        let now = SystemTime::now();
        let key = (email.to_owned(), audience.to_owned());
        if let Some(cached) = self.cached(&key, now) {
            return Ok(cached);
        }
        let token = self.mint(email, audience, now)?;
        let entry = CachedToken {
            token: token.clone(),
            expires: now + TOKEN_LIFETIME,
        };
        self.cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(key, entry);
        Ok(token)
    }

    fn cached(&self, key: &(String, String), now: SystemTime) -> Option<String> {
        let cache = self
            .cache
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        let entry = cache.get(key)?;
        let left = entry.expires.duration_since(now).unwrap_or_default();
        (left > REFRESH_MARGIN).then(|| entry.token.clone())
    }

    /// Signs a new token with Google's claim set.
    fn mint(&self, email: &str, audience: &str, now: SystemTime) -> Result<String, OidcError> {
        let iat = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        let subject = account_id(email);
        let header = json!({"alg": "RS256", "kid": self.kid, "typ": "JWT"});
        let claims = json!({
            "aud": audience,
            "azp": subject,
            "email": email,
            "email_verified": true,
            "exp": iat + TOKEN_LIFETIME.as_secs(),
            "iat": iat,
            "iss": ISSUER,
            "sub": subject,
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| OidcError::Signing)?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        ))
    }
}

/// A stable 21-digit numeric id for a service account, the shape of the
/// `sub` and `azp` claims Google puts in service-account tokens.
fn account_id(email: &str) -> String {
    let digest = Sha256::digest(email.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    format!("1{:020}", u64::from_be_bytes(first))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn tokens_are_cached_per_account_and_audience() {
        let minter = TokenMinter::generate().unwrap();
        let first = minter
            .token("a@p.iam.gserviceaccount.com", "https://x")
            .unwrap();
        let again = minter
            .token("a@p.iam.gserviceaccount.com", "https://x")
            .unwrap();
        let other = minter
            .token("a@p.iam.gserviceaccount.com", "https://y")
            .unwrap();
        assert_eq!(first, again);
        assert_ne!(first, other);
    }

    #[test]
    fn account_ids_have_googles_shape() {
        let id = account_id("invoker@project.iam.gserviceaccount.com");
        assert_eq!(id.len(), 21);
        assert!(id.bytes().all(|b| b.is_ascii_digit()));
    }
}
