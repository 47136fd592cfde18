//! Verification of the Google-signed OIDC ID tokens Cloud Tasks sends.
//!
//! The rules, all of which must hold:
//!
//! - signed with RS256 by a key in Google's JWKS (the header's `alg` is
//!   checked before any key is looked up; `none`, HMAC, PSS and other RSA
//!   digests are refused, and keys embedded in the header are ignored);
//! - `iss`, `aud`, `exp`, `iat` and `email` present;
//! - `iss` is Google, `aud` is this service's audience;
//! - `exp`, `nbf` (when present) and `iat` hold within the leeway;
//! - `email` is a configured invoker and `email_verified` is `true`.

use std::sync::Arc;
use std::time::Duration;

use http::HeaderValue;
use jsonwebtoken::errors::ErrorKind as JwtErrorKind;
use jsonwebtoken::{Algorithm, Validation};
use serde::Deserialize;

use super::AuthError;
use super::jwks::JwksCache;

/// Google's JWKS, the default of [`OidcConfig::jwks_url`].
pub const GOOGLE_JWKS_URL: &str = "https://www.googleapis.com/oauth2/v3/certs";

/// The issuers Google's ID tokens carry.
pub const GOOGLE_ISSUERS: [&str; 2] = ["https://accounts.google.com", "accounts.google.com"];

/// Default least time between two JWKS fetches.
pub const DEFAULT_MIN_REFETCH: Duration = Duration::from_secs(30);

/// Default clock skew allowed on `exp`, `nbf` and `iat`.
pub const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// What a token must say to be accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcConfig {
    /// The `aud` every token must carry: the push URL or the audience set on
    /// the queue's OIDC token. No default.
    pub audience: String,
    /// Service-account emails allowed to push. No default; empty refuses
    /// every caller.
    pub invokers: Vec<String>,
    /// Where the signing keys are fetched. Default [`GOOGLE_JWKS_URL`].
    pub jwks_url: String,
    /// Least time between two JWKS fetches, which bounds how often tokens
    /// with unknown key ids can make the service fetch. Default 30 s.
    pub min_refetch: Duration,
    /// Clock skew allowed on `exp`, `nbf` and `iat`. Default 30 s.
    pub leeway: Duration,
}

impl OidcConfig {
    /// Settings for `audience` and `invokers`, the rest at their defaults.
    pub fn new(audience: impl Into<String>, invokers: Vec<String>) -> Self {
        OidcConfig {
            audience: audience.into(),
            invokers,
            jwks_url: GOOGLE_JWKS_URL.to_owned(),
            min_refetch: DEFAULT_MIN_REFETCH,
            leeway: DEFAULT_LEEWAY,
        }
    }
}

/// The verifier could not be built.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the JWKS HTTP client")]
pub struct VerifierError(#[source] reqwest::Error);

/// An authenticated caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    email: String,
}

impl Caller {
    /// The verified service-account email.
    pub fn email(&self) -> &str {
        &self.email
    }
}

/// Verifies ID tokens against one shared JWKS cache. Cheap to share behind
/// an `Arc`; verification takes `&self`.
pub struct IdTokenVerifier {
    keys: Arc<JwksCache>,
    validation: Validation,
    invokers: Box<[String]>,
    leeway_secs: u64,
}

#[derive(Deserialize)]
struct IdClaims {
    iat: Option<u64>,
    email: Option<String>,
    email_verified: Option<bool>,
}

impl IdTokenVerifier {
    /// A verifier for `config`. Keys are fetched on first use or by
    /// [`IdTokenVerifier::warm`].
    ///
    /// # Errors
    ///
    /// [`VerifierError`] when the HTTP client cannot be built (no TLS
    /// roots, say).
    pub fn new(config: &OidcConfig) -> Result<Self, VerifierError> {
        let keys =
            JwksCache::new(config.jwks_url.clone(), config.min_refetch).map_err(VerifierError)?;
        let leeway_secs = config.leeway.as_secs();
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        validation.set_issuer(&GOOGLE_ISSUERS);
        validation.set_audience(&[&config.audience]);
        validation.leeway = leeway_secs;
        validation.validate_nbf = true;
        Ok(IdTokenVerifier {
            keys: Arc::new(keys),
            validation,
            invokers: config.invokers.clone().into_boxed_slice(),
            leeway_secs,
        })
    }

    /// Fetch the signing keys now, unless they were fetched before. Failure
    /// is logged; verification fails closed until a fetch succeeds.
    pub async fn warm(&self) {
        self.keys.warm().await;
    }

    /// Verify the value of an `Authorization` header.
    ///
    /// # Errors
    ///
    /// An [`AuthError`] naming the first rule the token breaks.
    pub async fn verify(&self, authorization: Option<&HeaderValue>) -> Result<Caller, AuthError> {
        let token = bearer_token(authorization)?;
        self.verify_token(token).await
    }

    /// Verify a bare token.
    ///
    /// # Errors
    ///
    /// An [`AuthError`] naming the first rule the token breaks.
    pub async fn verify_token(&self, token: &str) -> Result<Caller, AuthError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| AuthError::MalformedToken)?;
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::UnsupportedAlgorithm);
        }
        let kid = header.kid.as_deref().ok_or(AuthError::MissingKeyId)?;
        let key = self.keys.key(kid).await?;
        let data = jsonwebtoken::decode::<IdClaims>(token, &key, &self.validation)
            .map_err(|err| classify(err.kind()))?;
        self.check_identity(data.claims)
    }

    fn check_identity(&self, claims: IdClaims) -> Result<Caller, AuthError> {
        let iat = claims.iat.ok_or(AuthError::MissingClaim("iat"))?;
        if iat > jsonwebtoken::get_current_timestamp().saturating_add(self.leeway_secs) {
            return Err(AuthError::IssuedInFuture);
        }
        let email = claims.email.ok_or(AuthError::MissingClaim("email"))?;
        if claims.email_verified != Some(true) {
            return Err(AuthError::EmailUnverified);
        }
        if !self.invokers.contains(&email) {
            return Err(AuthError::NotInvoker);
        }
        Ok(Caller { email })
    }
}

fn bearer_token(authorization: Option<&HeaderValue>) -> Result<&str, AuthError> {
    let value = authorization.ok_or(AuthError::MissingToken)?;
    let text = value.to_str().map_err(|_| AuthError::MalformedToken)?;
    let (scheme, token) = text.split_once(' ').ok_or(AuthError::MalformedToken)?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(AuthError::MissingToken);
    }
    match token.trim() {
        "" => Err(AuthError::MissingToken),
        token => Ok(token),
    }
}

fn classify(kind: &JwtErrorKind) -> AuthError {
    match kind {
        JwtErrorKind::InvalidSignature => AuthError::BadSignature,
        JwtErrorKind::ExpiredSignature => AuthError::Expired,
        JwtErrorKind::ImmatureSignature => AuthError::NotYetValid,
        JwtErrorKind::InvalidIssuer => AuthError::WrongIssuer,
        JwtErrorKind::InvalidAudience => AuthError::WrongAudience,
        JwtErrorKind::InvalidAlgorithm | JwtErrorKind::UnsupportedAlgorithm => {
            AuthError::UnsupportedAlgorithm
        }
        JwtErrorKind::MissingRequiredClaim(claim) => {
            AuthError::MissingClaim(match claim.as_str() {
                "exp" => "exp",
                "iss" => "iss",
                "aud" => "aud",
                _ => "required",
            })
        }
        _ => AuthError::MalformedToken,
    }
}
