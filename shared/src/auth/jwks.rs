//! One shared cache of Google's signing keys.
//!
//! Verifying a token costs a read lock and a map lookup here; nothing else
//! per request. The cache is refetched
//!
//! - in the background when `Cache-Control: max-age` says it went stale
//!   (valid tokens keep verifying against the stale keys meanwhile), and
//! - in the foreground when a token names an unknown `kid`, at most once per
//!   `min_refetch` and single-flight: concurrent unknown kids wait for one
//!   fetch instead of starting their own.
//!
//! A fetch never holds the key map's lock, so a slow or failing JWKS endpoint
//! cannot stall tokens whose key is already cached.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::DecodingKey;
use reqwest::header::{CACHE_CONTROL, HeaderMap};
use serde::Deserialize;
use tracing::{info, warn};

use super::AuthError;

/// How long keys are fresh when the JWKS answer has no `max-age`.
const DEFAULT_FRESHNESS: Duration = Duration::from_secs(3_600);

/// A JWKS fetch gives up after this long.
const FETCH_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct JwksCache {
    url: String,
    http: reqwest::Client,
    min_refetch: Duration,
    keys: RwLock<KeySet>,
    /// Held for the whole of a fetch so that fetches never overlap; holds
    /// the time of the last attempt, which gates the next one.
    fetching: tokio::sync::Mutex<Option<Instant>>,
    /// Completed fetch attempts. A request that waited for `fetching` and
    /// sees this moved knows a fetch already ran on its behalf.
    attempts: AtomicU64,
    refresh_scheduled: AtomicBool,
}

#[derive(Default)]
struct KeySet {
    by_kid: HashMap<String, Arc<DecodingKey>>,
    fresh_until: Option<Instant>,
}

impl JwksCache {
    pub(crate) fn new(url: String, min_refetch: Duration) -> Result<Self, reqwest::Error> {
        let http = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(FETCH_TIMEOUT)
            .build()?;
        Ok(JwksCache {
            url,
            http,
            min_refetch,
            keys: RwLock::new(KeySet::default()),
            fetching: tokio::sync::Mutex::new(None),
            attempts: AtomicU64::new(0),
            refresh_scheduled: AtomicBool::new(false),
        })
    }

    /// Fetch the keys once if they never were (at start-up, so that the
    /// first pushes do not wait for it). Failure is logged, not fatal: the
    /// verifier fails closed until a fetch succeeds.
    pub(crate) async fn warm(&self) {
        let mut last = self.fetching.lock().await;
        if self.attempts.load(Ordering::Acquire) == 0 {
            self.fetch(&mut last).await;
        }
    }

    /// The key named `kid`.
    ///
    /// # Errors
    ///
    /// [`AuthError::UnknownKey`] when the JWKS does not have it (or may not
    /// be refetched yet); [`AuthError::KeysUnavailable`] when no JWKS was
    /// ever fetched.
    pub(crate) async fn key(self: &Arc<Self>, kid: &str) -> Result<Arc<DecodingKey>, AuthError> {
        let seen = self.attempts.load(Ordering::Acquire);
        let (found, stale) = self.lookup(kid);
        if let Some(key) = found {
            if stale {
                self.refresh_in_background();
            }
            return Ok(key);
        }
        self.fetch_for_unknown(kid, seen).await
    }

    fn lookup(&self, kid: &str) -> (Option<Arc<DecodingKey>>, bool) {
        let keys = self.read();
        let stale = keys.fresh_until.is_none_or(|until| Instant::now() >= until);
        (keys.by_kid.get(kid).cloned(), stale)
    }

    async fn fetch_for_unknown(&self, kid: &str, seen: u64) -> Result<Arc<DecodingKey>, AuthError> {
        let mut last = self.fetching.lock().await;
        let fetched_meanwhile = self.attempts.load(Ordering::Acquire) != seen;
        if !fetched_meanwhile && self.may_fetch(*last) {
            self.fetch(&mut last).await;
        }
        drop(last);
        match self.lookup(kid).0 {
            Some(key) => Ok(key),
            None if self.read().by_kid.is_empty() => Err(AuthError::KeysUnavailable),
            None => Err(AuthError::UnknownKey),
        }
    }

    fn may_fetch(&self, last: Option<Instant>) -> bool {
        last.is_none_or(|at| at.elapsed() >= self.min_refetch)
    }

    fn refresh_in_background(self: &Arc<Self>) {
        if self.refresh_scheduled.swap(true, Ordering::AcqRel) {
            return;
        }
        let cache = Arc::clone(self);
        tokio::spawn(async move {
            let mut last = cache.fetching.lock().await;
            let still_stale = cache.read().fresh_until.is_none_or(|t| Instant::now() >= t);
            if still_stale && cache.may_fetch(*last) {
                cache.fetch(&mut last).await;
            } else if still_stale {
                // Not allowed yet: look again once the gate opens, not on
                // every request until then.
                let gate = last.map_or_else(Instant::now, |at| at + cache.min_refetch);
                cache.write().fresh_until = Some(gate);
            }
            cache.refresh_scheduled.store(false, Ordering::Release);
        });
    }

    /// One fetch attempt; the caller holds `fetching`.
    async fn fetch(&self, last: &mut Option<Instant>) {
        *last = Some(Instant::now());
        match self.download().await {
            Ok((by_kid, freshness)) => {
                info!(
                    keys = by_kid.len(),
                    fresh_secs = freshness.as_secs(),
                    "jwks fetched"
                );
                let mut keys = self.write();
                keys.by_kid = by_kid;
                keys.fresh_until = Some(Instant::now() + freshness.max(self.min_refetch));
            }
            Err(err) => {
                warn!(error = %err, url = %self.url, "jwks fetch failed");
                self.write().fresh_until = Some(Instant::now() + self.min_refetch);
            }
        }
        self.attempts.fetch_add(1, Ordering::AcqRel);
    }

    async fn download(
        &self,
    ) -> Result<(HashMap<String, Arc<DecodingKey>>, Duration), reqwest::Error> {
        let response = self.http.get(&self.url).send().await?.error_for_status()?;
        let freshness = max_age(response.headers()).unwrap_or(DEFAULT_FRESHNESS);
        let set: JwkSet = response.json().await?;
        Ok((set.usable_keys(), freshness))
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, KeySet> {
        // Writers only swap whole fields, so a poisoned lock still guards a
        // consistent key set.
        self.keys.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, KeySet> {
        self.keys.write().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Deserialize)]
struct JwkSet {
    keys: Vec<Jwk>,
}

#[derive(Deserialize)]
struct Jwk {
    kid: Option<String>,
    kty: String,
    alg: Option<String>,
    #[serde(rename = "use")]
    usage: Option<String>,
    n: Option<String>,
    e: Option<String>,
}

impl JwkSet {
    /// The RSA signature keys with a kid, for RS256 (or no stated alg);
    /// anything else is skipped so that it can never verify a token.
    fn usable_keys(self) -> HashMap<String, Arc<DecodingKey>> {
        self.keys
            .into_iter()
            .filter_map(Jwk::into_rs256_key)
            .collect()
    }
}

impl Jwk {
    fn into_rs256_key(self) -> Option<(String, Arc<DecodingKey>)> {
        let rs256 = self.kty == "RSA"
            && self.alg.as_deref().is_none_or(|alg| alg == "RS256")
            && self.usage.as_deref().is_none_or(|usage| usage == "sig");
        if !rs256 {
            return None;
        }
        let (kid, n, e) = (self.kid?, self.n?, self.e?);
        match DecodingKey::from_rsa_components(&n, &e) {
            Ok(key) => Some((kid, Arc::new(key))),
            Err(err) => {
                warn!(kid = %kid, error = %err, "jwks key skipped");
                None
            }
        }
    }
}

/// The `max-age` directive of `Cache-Control`, if any.
fn max_age(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(CACHE_CONTROL)?.to_str().ok()?;
    value
        .split(',')
        .find_map(|directive| {
            let (name, secs) = directive.trim().split_once('=')?;
            if !name.trim().eq_ignore_ascii_case("max-age") {
                return None;
            }
            secs.trim().trim_matches('"').parse::<u64>().ok()
        })
        .map(Duration::from_secs)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use reqwest::header::HeaderValue;

    use super::*;

    fn cache_control(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(CACHE_CONTROL, HeaderValue::from_static(value));
        headers
    }

    #[test]
    fn max_age_is_read_among_other_directives() {
        let headers = cache_control("public, max-age=19702, must-revalidate, no-transform");
        assert_eq!(max_age(&headers), Some(Duration::from_secs(19_702)));
    }

    #[test]
    fn max_age_directive_name_is_case_insensitive() {
        assert_eq!(
            max_age(&cache_control("Max-Age=60")),
            Some(Duration::from_secs(60))
        );
    }

    #[test]
    fn missing_or_malformed_max_age_is_none() {
        assert_eq!(max_age(&cache_control("no-cache")), None);
        assert_eq!(max_age(&cache_control("max-age=soon")), None);
        assert_eq!(max_age(&HeaderMap::new()), None);
    }

    #[test]
    fn only_rs256_signature_keys_are_kept() {
        let set: JwkSet = serde_json::from_value(serde_json::json!({"keys": [
            {"kid": "rs", "kty": "RSA", "alg": "RS256", "use": "sig", "n": "sXch", "e": "AQAB"},
            {"kid": "plain", "kty": "RSA", "n": "sXch", "e": "AQAB"},
            {"kid": "ps", "kty": "RSA", "alg": "PS256", "n": "sXch", "e": "AQAB"},
            {"kid": "enc", "kty": "RSA", "use": "enc", "n": "sXch", "e": "AQAB"},
            {"kid": "ec", "kty": "EC", "crv": "P-256", "x": "AA", "y": "AA"},
            {"kty": "RSA", "n": "sXch", "e": "AQAB"}
        ]}))
        .unwrap();
        let mut kids: Vec<String> = set.usable_keys().into_keys().collect();
        kids.sort();
        assert_eq!(kids, ["plain", "rs"]);
    }
}
