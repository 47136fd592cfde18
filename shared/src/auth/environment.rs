//! The development bypass, and the guard that keeps it off Cloud Run.
//!
//! `TASKLANE_ENV=development` turns token verification off so that a local
//! emulator or `curl` can push without Google tokens. Cloud Run sets
//! `K_SERVICE` on every instance; when both are present the process refuses
//! to start, so a leaked development setting can never open a deployed
//! service.

/// Selects the environment: `production` (the default) or `development`.
pub const ENV_VAR: &str = "TASKLANE_ENV";

/// Set by Cloud Run on every service instance (the service's name).
pub const CLOUD_RUN_VAR: &str = "K_SERVICE";

/// How pushes are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthMode {
    /// Every push must carry a valid Google OIDC ID token (the default).
    Verify,
    /// No token is checked (`TASKLANE_ENV=development`, never on Cloud Run).
    DevelopmentBypass,
}

/// The environment settings contradict each other or are unknown.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EnvironmentError {
    /// The bypass was asked for on Cloud Run.
    #[error(
        "TASKLANE_ENV=development disables push authentication and is refused on Cloud Run \
         (K_SERVICE={service:?} is set); unset TASKLANE_ENV"
    )]
    BypassOnCloudRun {
        /// The value of `K_SERVICE`.
        service: String,
    },
    /// `TASKLANE_ENV` has a value other than `production` or `development`.
    #[error("TASKLANE_ENV={value:?} is not one of \"production\", \"development\"")]
    Unknown {
        /// The value found.
        value: String,
    },
}

impl AuthMode {
    /// Decide the mode from the values of `TASKLANE_ENV` and `K_SERVICE`
    /// (`None` when unset). Unset or empty `TASKLANE_ENV` means production.
    ///
    /// # Errors
    ///
    /// [`EnvironmentError::BypassOnCloudRun`] for `development` together
    /// with any `K_SERVICE`; [`EnvironmentError::Unknown`] for any other
    /// value than `production` or `development`.
    pub fn resolve(
        tasklane_env: Option<&str>,
        k_service: Option<&str>,
    ) -> Result<AuthMode, EnvironmentError> {
        match (tasklane_env.unwrap_or(""), k_service) {
            ("" | "production", _) => Ok(AuthMode::Verify),
            ("development", Some(service)) => Err(EnvironmentError::BypassOnCloudRun {
                service: service.to_owned(),
            }),
            ("development", None) => Ok(AuthMode::DevelopmentBypass),
            (other, _) => Err(EnvironmentError::Unknown {
                value: other.to_owned(),
            }),
        }
    }

    /// [`AuthMode::resolve`] over this process's environment.
    ///
    /// # Errors
    ///
    /// As [`AuthMode::resolve`]; a value that is not UTF-8 is unknown.
    pub fn from_process_env() -> Result<AuthMode, EnvironmentError> {
        let env = std::env::var_os(ENV_VAR).map(|v| v.to_string_lossy().into_owned());
        let service = std::env::var_os(CLOUD_RUN_VAR).map(|v| v.to_string_lossy().into_owned());
        AuthMode::resolve(env.as_deref(), service.as_deref())
    }
}
