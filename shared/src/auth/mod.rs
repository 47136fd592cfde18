//! Who may push: verification of the Google-signed OIDC ID tokens that
//! Cloud Tasks attaches to each push, failing closed.
//!
//! | module | role |
//! | --- | --- |
//! | [`verifier`] | [`IdTokenVerifier`]: RS256 only, required claims, issuer, audience, invokers |
//! | `jwks` | one shared cache of Google's signing keys, refetched rarely and single-flight |
//! | [`environment`] | the development bypass and the guard that keeps it off Cloud Run |
//!
//! A verification failure is an [`AuthError`]: either the token proves
//! nothing (`401`) or it proves an identity that may not push (`403`). The
//! error's [`reason`](AuthError::reason) is for logs only; callers see a
//! body that tells an attacker nothing.

pub mod environment;
mod jwks;
pub mod verifier;

pub use environment::{AuthMode, EnvironmentError};
pub use verifier::{Caller, IdTokenVerifier, OidcConfig};

/// Why a push was not authenticated or not authorized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No `Authorization: Bearer` header.
    #[error("no bearer token")]
    MissingToken,
    /// The header or the token is not a well-formed JWT.
    #[error("token is not a well-formed JWT")]
    MalformedToken,
    /// The token is signed with anything but RS256.
    #[error("token is not signed with RS256")]
    UnsupportedAlgorithm,
    /// The token's header names no key.
    #[error("token header names no signing key")]
    MissingKeyId,
    /// The token names a key that is not in the JWKS, even after a refetch
    /// (or a refetch was not allowed yet).
    #[error("token is signed with an unknown key")]
    UnknownKey,
    /// The JWKS could not be fetched and no key is cached.
    #[error("signing keys could not be fetched")]
    KeysUnavailable,
    /// The signature does not verify with the named key.
    #[error("token signature does not verify")]
    BadSignature,
    /// `exp` is past, beyond the leeway.
    #[error("token has expired")]
    Expired,
    /// `nbf` is in the future, beyond the leeway.
    #[error("token is not valid yet")]
    NotYetValid,
    /// `iat` is in the future, beyond the leeway.
    #[error("token was issued in the future")]
    IssuedInFuture,
    /// `iss` is not Google.
    #[error("token issuer is not Google")]
    WrongIssuer,
    /// `aud` is not this service's audience.
    #[error("token audience is not this service")]
    WrongAudience,
    /// A required claim is absent.
    #[error("token lacks the {0} claim")]
    MissingClaim(&'static str),
    /// `email_verified` is not `true`.
    #[error("token email is not verified")]
    EmailUnverified,
    /// `email` is not one of the configured invokers.
    #[error("token email is not an allowed invoker")]
    NotInvoker,
}

impl AuthError {
    /// Whether the token was genuine but its identity may not push (`403`),
    /// as opposed to proving nothing at all (`401`).
    pub fn is_forbidden(self) -> bool {
        matches!(self, AuthError::EmailUnverified | AuthError::NotInvoker)
    }

    /// A short, stable name for the `reason` log field.
    pub fn reason(self) -> &'static str {
        match self {
            AuthError::MissingToken => "missing_token",
            AuthError::MalformedToken => "malformed_token",
            AuthError::UnsupportedAlgorithm => "unsupported_algorithm",
            AuthError::MissingKeyId => "missing_kid",
            AuthError::UnknownKey => "unknown_kid",
            AuthError::KeysUnavailable => "jwks_unavailable",
            AuthError::BadSignature => "bad_signature",
            AuthError::Expired => "expired",
            AuthError::NotYetValid => "not_yet_valid",
            AuthError::IssuedInFuture => "issued_in_future",
            AuthError::WrongIssuer => "wrong_issuer",
            AuthError::WrongAudience => "wrong_audience",
            AuthError::MissingClaim(_) => "missing_claim",
            AuthError::EmailUnverified => "email_unverified",
            AuthError::NotInvoker => "not_invoker",
        }
    }
}
