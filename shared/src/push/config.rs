//! Push adapter settings: a builder whose every setter states its default,
//! and [`PushConfig::from_env`] for the binaries.

use std::str::FromStr;
use std::time::Duration;

use crate::auth::environment::{CLOUD_RUN_VAR, ENV_VAR};
use crate::auth::verifier::{DEFAULT_LEEWAY, DEFAULT_MIN_REFETCH, GOOGLE_JWKS_URL};
use crate::auth::{AuthMode, EnvironmentError, OidcConfig};
use crate::spec::FunctionSpec;

/// Default listening port (`PORT`).
pub const DEFAULT_PORT: u16 = 8_080;

/// Default body limit (`TASKLANE_MAX_BODY_BYTES`): Cloud Tasks' own task
/// size limit, 100 KB.
pub const DEFAULT_MAX_BODY_BYTES: usize = 102_400;

/// Default shutdown grace (`TASKLANE_SHUTDOWN_GRACE_SECS`): inside the 10 s
/// Cloud Run allows between SIGTERM and SIGKILL, leaving time to hand
/// unfinished tasks back.
pub const DEFAULT_SHUTDOWN_GRACE: Duration = Duration::from_secs(8);

/// The expected token audience. Required unless the development bypass is on.
pub const AUDIENCE_VAR: &str = "TASKLANE_AUDIENCE";
/// Comma-separated invoker service-account emails. Required unless the
/// development bypass is on.
pub const INVOKERS_VAR: &str = "TASKLANE_INVOKERS";
/// Where Google's signing keys are fetched.
pub const JWKS_URL_VAR: &str = "TASKLANE_JWKS_URL";
/// Listening port.
pub const PORT_VAR: &str = "PORT";
/// Pushes served at once before answering 429.
pub const CONCURRENCY_VAR: &str = "TASKLANE_CONCURRENCY";
/// Largest accepted body in bytes.
pub const MAX_BODY_BYTES_VAR: &str = "TASKLANE_MAX_BODY_BYTES";
/// Seconds in-flight pushes get to finish after SIGTERM.
pub const SHUTDOWN_GRACE_VAR: &str = "TASKLANE_SHUTDOWN_GRACE_SECS";

/// A setting is missing, malformed or contradicts another.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A required setting is absent.
    #[error("{var} is required (unless TASKLANE_ENV=development)")]
    Missing {
        /// The environment variable.
        var: &'static str,
    },
    /// A setting does not parse or is out of range.
    #[error("{var}={value:?} is invalid: expected {expected}")]
    Invalid {
        /// The environment variable.
        var: &'static str,
        /// The value found.
        value: String,
        /// What would have been valid.
        expected: &'static str,
    },
    /// The environment refuses the requested authentication mode.
    #[error(transparent)]
    Environment(#[from] EnvironmentError),
}

/// How pushes are authenticated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushAuth {
    /// Google OIDC ID tokens, verified with these settings.
    Oidc(OidcConfig),
    /// No verification (`TASKLANE_ENV=development`; refused on Cloud Run).
    DevelopmentBypass,
}

/// Everything the push adapter needs besides the operation and the pool.
#[derive(Debug, Clone)]
pub struct PushConfig {
    auth: PushAuth,
    port: u16,
    concurrency: u32,
    max_body_bytes: usize,
    shutdown_grace: Duration,
    request_timeout: Duration,
}

impl PushConfig {
    /// A builder with every setting at its default for `spec`.
    pub fn builder(spec: &FunctionSpec) -> PushConfigBuilder {
        PushConfigBuilder {
            audience: None,
            invokers: Vec::new(),
            jwks_url: GOOGLE_JWKS_URL.to_owned(),
            jwks_min_refetch: DEFAULT_MIN_REFETCH,
            clock_leeway: DEFAULT_LEEWAY,
            development_bypass: false,
            port: DEFAULT_PORT,
            concurrency: spec.request_concurrency,
            max_body_bytes: DEFAULT_MAX_BODY_BYTES,
            shutdown_grace: DEFAULT_SHUTDOWN_GRACE,
            request_timeout: spec.dispatch_deadline(),
        }
    }

    /// Read the settings from this process's environment:
    ///
    /// | variable | default |
    /// | --- | --- |
    /// | `TASKLANE_ENV` | `production`; `development` skips tokens (refused with `K_SERVICE`) |
    /// | `TASKLANE_AUDIENCE` | none: required unless `development` |
    /// | `TASKLANE_INVOKERS` | none: comma-separated emails, required unless `development` |
    /// | `TASKLANE_JWKS_URL` | `https://www.googleapis.com/oauth2/v3/certs` |
    /// | `PORT` | `8080` |
    /// | `TASKLANE_CONCURRENCY` | the spec's `request_concurrency` |
    /// | `TASKLANE_MAX_BODY_BYTES` | `102400` |
    /// | `TASKLANE_SHUTDOWN_GRACE_SECS` | `8` |
    ///
    /// Empty values count as unset. The environment guard runs first, so a
    /// bypass on Cloud Run is reported before anything else.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first setting that is wrong.
    pub fn from_env(spec: &FunctionSpec) -> Result<Self, ConfigError> {
        Self::from_vars(spec, |name| std::env::var(name).ok())
    }

    /// [`PushConfig::from_env`] over any source of variables (`var` returns
    /// a variable's value, `None` when unset).
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first setting that is wrong.
    pub fn from_vars(
        spec: &FunctionSpec,
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let var = |name: &str| var(name).filter(|value| !value.trim().is_empty());
        let cloud_run = var(CLOUD_RUN_VAR);
        let mode = AuthMode::resolve(var(ENV_VAR).as_deref(), cloud_run.as_deref())?;
        let mut builder =
            PushConfig::builder(spec).development_bypass(mode == AuthMode::DevelopmentBypass);
        if let Some(audience) = var(AUDIENCE_VAR) {
            builder = builder.audience(audience.trim());
        }
        if let Some(list) = var(INVOKERS_VAR) {
            builder = builder.invokers(parse_list(&list));
        }
        if let Some(url) = var(JWKS_URL_VAR) {
            builder = builder.jwks_url(url.trim());
        }
        if let Some(port) = parse_var(var, PORT_VAR, "a port number")? {
            builder = builder.port(port);
        }
        if let Some(limit) = parse_var(var, CONCURRENCY_VAR, "a positive integer")? {
            builder = builder.concurrency(limit);
        }
        if let Some(bytes) = parse_var(var, MAX_BODY_BYTES_VAR, "a positive integer")? {
            builder = builder.max_body_bytes(bytes);
        }
        if let Some(secs) = parse_var(var, SHUTDOWN_GRACE_VAR, "whole seconds")? {
            builder = builder.shutdown_grace(Duration::from_secs(secs));
        }
        builder.finish(cloud_run.as_deref())
    }

    /// How pushes are authenticated.
    pub fn auth(&self) -> &PushAuth {
        &self.auth
    }

    /// The port `serve_from_env` listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Pushes served at once; the next one is answered 429.
    pub fn concurrency(&self) -> u32 {
        self.concurrency
    }

    /// Largest accepted body, in bytes.
    pub fn max_body_bytes(&self) -> usize {
        self.max_body_bytes
    }

    /// Time in-flight pushes get to finish after a shutdown starts.
    pub fn shutdown_grace(&self) -> Duration {
        self.shutdown_grace
    }

    /// Bound on one push's work (its core's deadline).
    pub fn request_timeout(&self) -> Duration {
        self.request_timeout
    }
}

/// Builds a [`PushConfig`]; see each setter for its default.
#[derive(Debug, Clone)]
#[must_use]
pub struct PushConfigBuilder {
    audience: Option<String>,
    invokers: Vec<String>,
    jwks_url: String,
    jwks_min_refetch: Duration,
    clock_leeway: Duration,
    development_bypass: bool,
    port: u16,
    concurrency: u32,
    max_body_bytes: usize,
    shutdown_grace: Duration,
    request_timeout: Duration,
}

impl PushConfigBuilder {
    /// The `aud` every token must carry. No default: required unless the
    /// development bypass is on.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Service-account emails allowed to push. No default: at least one is
    /// required unless the development bypass is on.
    pub fn invokers<I, S>(mut self, invokers: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.invokers = invokers.into_iter().map(Into::into).collect();
        self
    }

    /// Where Google's signing keys are fetched. Default
    /// `https://www.googleapis.com/oauth2/v3/certs`.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.jwks_url = url.into();
        self
    }

    /// Least time between two JWKS fetches (a token with an unknown key id
    /// waits for at most one). Default 30 s.
    pub fn jwks_min_refetch(mut self, interval: Duration) -> Self {
        self.jwks_min_refetch = interval;
        self
    }

    /// Clock skew allowed on a token's `exp`, `nbf` and `iat`. Default 30 s.
    pub fn clock_leeway(mut self, leeway: Duration) -> Self {
        self.clock_leeway = leeway;
        self
    }

    /// Serve without verifying tokens. Default off; [`build`](Self::build)
    /// refuses it when `K_SERVICE` is set (on Cloud Run).
    pub fn development_bypass(mut self, on: bool) -> Self {
        self.development_bypass = on;
        self
    }

    /// The port `serve_from_env` listens on. Default 8080.
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Pushes served at once; the next is answered 429 at once rather than
    /// queued. Default: the spec's `request_concurrency`.
    pub fn concurrency(mut self, limit: u32) -> Self {
        self.concurrency = limit;
        self
    }

    /// Largest accepted body in bytes; larger ones are answered 413.
    /// Default 102,400 (Cloud Tasks' task size limit).
    pub fn max_body_bytes(mut self, bytes: usize) -> Self {
        self.max_body_bytes = bytes;
        self
    }

    /// Time in-flight pushes get to finish after a shutdown starts; after it
    /// their tasks are handed back. Default 8 s.
    pub fn shutdown_grace(mut self, grace: Duration) -> Self {
        self.shutdown_grace = grace;
        self
    }

    /// Bound on one push's work, the core's deadline. Default: the spec's
    /// dispatch deadline (Cloud Tasks stops waiting then anyway).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    /// Check the settings.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Missing`] without an audience or invokers (unless the
    /// bypass is on); [`ConfigError::Invalid`] for a zero concurrency or
    /// body limit; [`ConfigError::Environment`] for the bypass when this
    /// process runs on Cloud Run.
    pub fn build(self) -> Result<PushConfig, ConfigError> {
        let cloud_run = std::env::var_os(CLOUD_RUN_VAR).map(|v| v.to_string_lossy().into_owned());
        self.finish(cloud_run.as_deref())
    }

    fn finish(self, cloud_run: Option<&str>) -> Result<PushConfig, ConfigError> {
        if self.concurrency == 0 {
            return Err(invalid(CONCURRENCY_VAR, "0", "a positive integer"));
        }
        if self.max_body_bytes == 0 {
            return Err(invalid(MAX_BODY_BYTES_VAR, "0", "a positive integer"));
        }
        let auth = if self.development_bypass {
            AuthMode::resolve(Some("development"), cloud_run)?;
            PushAuth::DevelopmentBypass
        } else {
            PushAuth::Oidc(self.oidc()?)
        };
        Ok(PushConfig {
            auth,
            port: self.port,
            concurrency: self.concurrency,
            max_body_bytes: self.max_body_bytes,
            shutdown_grace: self.shutdown_grace,
            request_timeout: self.request_timeout,
        })
    }

    fn oidc(&self) -> Result<OidcConfig, ConfigError> {
        let audience = self
            .audience
            .clone()
            .filter(|a| !a.is_empty())
            .ok_or(ConfigError::Missing { var: AUDIENCE_VAR })?;
        if self.invokers.is_empty() {
            return Err(ConfigError::Missing { var: INVOKERS_VAR });
        }
        Ok(OidcConfig {
            audience,
            invokers: self.invokers.clone(),
            jwks_url: self.jwks_url.clone(),
            min_refetch: self.jwks_min_refetch,
            leeway: self.clock_leeway,
        })
    }
}

fn parse_list(list: &str) -> Vec<String> {
    list.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_var<T: FromStr>(
    var: impl Fn(&str) -> Option<String>,
    name: &'static str,
    expected: &'static str,
) -> Result<Option<T>, ConfigError> {
    var(name)
        .map(|value| {
            value
                .trim()
                .parse()
                .map_err(|_| invalid(name, &value, expected))
        })
        .transpose()
}

fn invalid(var: &'static str, value: &str, expected: &'static str) -> ConfigError {
    ConfigError::Invalid {
        var,
        value: value.to_owned(),
        expected,
    }
}
