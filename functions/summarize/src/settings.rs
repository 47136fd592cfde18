//! Configuration, read once from the environment at start-up.
//!
//! | variable | default | meaning |
//! | --- | --- | --- |
//! | `TASKLANE_AI_PROVIDER` | `local` | `local` (extractive, on-box) or `gemini` |
//! | `TASKLANE_SUMMARY_WORDS` | `250` | word budget of the prose summary |
//! | `TASKLANE_SUMMARY_KEY_POINTS` | `5` | key points at most |
//! | `TASKLANE_GEMINI_MODEL` | `gemini-2.5-flash` | model id |
//! | `GEMINI_API_KEY` | unset | selects the Generative Language API |
//! | `TASKLANE_GEMINI_BACKEND` | `api-key` with a key, else `vertex` | which endpoint |
//! | `TASKLANE_GEMINI_PROJECT` | `GOOGLE_CLOUD_PROJECT` | Vertex AI project |
//! | `TASKLANE_GEMINI_LOCATION` | `us-central1` | Vertex AI location (`global` allowed) |
//! | `TASKLANE_GEMINI_BASE_URL` | the backend's Google endpoint | API root, for tests and proxies |
//! | `TASKLANE_GEMINI_CHUNK_TOKENS` | `120000` | approximate tokens per map-reduce chunk |
//! | `TASKLANE_GEMINI_TIMEOUT_SECONDS` | `120` | one HTTP request at most |
//! | `TASKLANE_GEMINI_MAX_OUTPUT_TOKENS` | `8192` | `generationConfig.maxOutputTokens` |
//! | `TASKLANE_GEMINI_CONCURRENCY` | `4` | chunk requests in flight at once |

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Default word budget of a summary.
pub const DEFAULT_WORDS: usize = 250;
/// Default model.
pub const DEFAULT_MODEL: &str = "gemini-2.5-flash";
/// Generative Language API root.
pub const GENERATIVE_LANGUAGE_URL: &str = "https://generativelanguage.googleapis.com/v1beta";

/// A configuration value that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// A variable is set to something that does not parse.
    #[error("{var} must be {expected}, not {value:?}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// What it should hold.
        expected: &'static str,
        /// What it holds.
        value: String,
    },
    /// The Gemini provider is selected but cannot authenticate or address
    /// its endpoint.
    #[error("gemini provider: {0}")]
    Gemini(&'static str),
}

/// Which engine writes summaries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ProviderKind {
    /// The extractive summarizer in this crate; no network.
    #[default]
    Local,
    /// Google's Gemini models.
    Gemini,
}

/// Settings of the extractive summarizer (and the budget Gemini is given).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalSettings {
    /// Word budget of the prose summary (default 250). Han characters count
    /// one word each.
    pub words: usize,
    /// Key points at most (default 5).
    pub key_points: usize,
}

impl Default for LocalSettings {
    fn default() -> Self {
        LocalSettings {
            words: DEFAULT_WORDS,
            key_points: 5,
        }
    }
}

/// A Gemini API key; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    /// Wrap a key.
    pub fn new(key: impl Into<String>) -> Self {
        ApiKey(key.into())
    }

    pub(crate) fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

/// Where Gemini is reached and how the caller proves who it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Backend {
    /// The Generative Language API with an API key in `x-goog-api-key`.
    ApiKey {
        /// The key.
        key: ApiKey,
        /// API root (default [`GENERATIVE_LANGUAGE_URL`]).
        base_url: String,
    },
    /// Vertex AI with an OAuth bearer token from Application Default
    /// Credentials.
    Vertex {
        /// Google Cloud project id.
        project: String,
        /// Region, or `global`.
        location: String,
        /// API root (default `https://{location}-aiplatform.googleapis.com/v1`).
        base_url: String,
    },
}

impl Backend {
    /// The `generateContent` URL for `model`.
    pub fn endpoint(&self, model: &str) -> String {
        match self {
            Backend::ApiKey { base_url, .. } => {
                format!("{}/models/{model}:generateContent", trim(base_url))
            }
            Backend::Vertex {
                project,
                location,
                base_url,
            } => format!(
                "{}/projects/{project}/locations/{location}/publishers/google/models/\
                 {model}:generateContent",
                trim(base_url)
            ),
        }
    }
}

fn trim(url: &str) -> &str {
    url.trim_end_matches('/')
}

/// The Vertex AI API root for `location`.
pub fn vertex_url(location: &str) -> String {
    if location == "global" {
        "https://aiplatform.googleapis.com/v1".to_owned()
    } else {
        format!("https://{location}-aiplatform.googleapis.com/v1")
    }
}

/// Settings of the Gemini provider.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeminiSettings {
    /// Model id (default [`DEFAULT_MODEL`]).
    pub model: String,
    /// Endpoint and authentication.
    pub backend: Backend,
    /// Approximate prompt tokens per chunk; longer transcripts are
    /// summarized chunk by chunk and then combined (default 120,000).
    pub chunk_tokens: usize,
    /// One HTTP request at most (default 120 s); must stay below the
    /// dispatch deadline.
    pub timeout: Duration,
    /// `maxOutputTokens` (default 8,192).
    pub max_output_tokens: u32,
    /// Chunk requests in flight at once (default 4).
    pub concurrency: usize,
}

/// Everything the function reads from its environment.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    /// Which engine writes summaries (default local).
    pub provider: ProviderKind,
    /// Budget and extractive settings.
    pub local: LocalSettings,
    /// Gemini settings; present when the provider is Gemini.
    pub gemini: Option<GeminiSettings>,
}

impl Settings {
    /// Read the process environment.
    ///
    /// # Errors
    ///
    /// [`SettingsError`] naming the first variable that cannot be used.
    pub fn from_env() -> Result<Self, SettingsError> {
        Settings::from_lookup(|name| std::env::var(name).ok())
    }

    /// Read settings through `lookup` (the environment, or a map in tests).
    ///
    /// # Errors
    ///
    /// [`SettingsError`] naming the first variable that cannot be used.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, SettingsError> {
        let env = Env(&lookup);
        let provider = match env.get("TASKLANE_AI_PROVIDER").as_deref() {
            None | Some("local") => ProviderKind::Local,
            Some("gemini") => ProviderKind::Gemini,
            Some(other) => return Err(invalid("TASKLANE_AI_PROVIDER", "local or gemini", other)),
        };
        let local = LocalSettings {
            words: env.positive("TASKLANE_SUMMARY_WORDS", DEFAULT_WORDS)?,
            key_points: env.number("TASKLANE_SUMMARY_KEY_POINTS", 5)?,
        };
        let gemini = match provider {
            ProviderKind::Gemini => Some(gemini_settings(&env)?),
            ProviderKind::Local => None,
        };
        Ok(Settings {
            provider,
            local,
            gemini,
        })
    }
}

fn gemini_settings(env: &Env<'_>) -> Result<GeminiSettings, SettingsError> {
    let timeout = env.positive("TASKLANE_GEMINI_TIMEOUT_SECONDS", 120)?;
    Ok(GeminiSettings {
        model: env
            .get("TASKLANE_GEMINI_MODEL")
            .unwrap_or_else(|| DEFAULT_MODEL.to_owned()),
        backend: backend(env)?,
        chunk_tokens: env.positive("TASKLANE_GEMINI_CHUNK_TOKENS", 120_000)?,
        timeout: Duration::from_secs(timeout as u64),
        max_output_tokens: env.positive("TASKLANE_GEMINI_MAX_OUTPUT_TOKENS", 8192)? as u32,
        concurrency: env.positive("TASKLANE_GEMINI_CONCURRENCY", 4)?,
    })
}

fn backend(env: &Env<'_>) -> Result<Backend, SettingsError> {
    let key = env.get("GEMINI_API_KEY");
    let choice = env.get("TASKLANE_GEMINI_BACKEND");
    let base_url = env.get("TASKLANE_GEMINI_BASE_URL");
    match (choice.as_deref(), key) {
        (Some("api-key") | None, Some(key)) => Ok(Backend::ApiKey {
            key: ApiKey::new(key),
            base_url: base_url.unwrap_or_else(|| GENERATIVE_LANGUAGE_URL.to_owned()),
        }),
        (Some("api-key"), None) => Err(SettingsError::Gemini(
            "TASKLANE_GEMINI_BACKEND=api-key needs GEMINI_API_KEY",
        )),
        (Some("vertex") | None, _) => {
            let project = env
                .get("TASKLANE_GEMINI_PROJECT")
                .or_else(|| env.get("GOOGLE_CLOUD_PROJECT"))
                .ok_or(SettingsError::Gemini(
                    "set GEMINI_API_KEY, or TASKLANE_GEMINI_PROJECT for Vertex AI",
                ))?;
            let location = env
                .get("TASKLANE_GEMINI_LOCATION")
                .unwrap_or_else(|| "us-central1".to_owned());
            let base_url = base_url.unwrap_or_else(|| vertex_url(&location));
            Ok(Backend::Vertex {
                project,
                location,
                base_url,
            })
        }
        (Some(other), _) => Err(invalid(
            "TASKLANE_GEMINI_BACKEND",
            "api-key or vertex",
            other,
        )),
    }
}

struct Env<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Env<'_> {
    /// The variable's value; empty counts as unset.
    fn get(&self, name: &str) -> Option<String> {
        (self.0)(name)
            .map(|v| v.trim().to_owned())
            .filter(|v| !v.is_empty())
    }

    fn number(&self, name: &'static str, default: usize) -> Result<usize, SettingsError> {
        match self.get(name) {
            None => Ok(default),
            Some(v) => usize::from_str(&v).map_err(|_| invalid(name, "a whole number", &v)),
        }
    }

    fn positive(&self, name: &'static str, default: usize) -> Result<usize, SettingsError> {
        match self.number(name, default)? {
            0 => Err(invalid(name, "greater than zero", "0")),
            n if n > u32::MAX as usize => Err(invalid(name, "at most 4294967295", &n.to_string())),
            n => Ok(n),
        }
    }
}

fn invalid(var: &'static str, expected: &'static str, value: &str) -> SettingsError {
    SettingsError::Invalid {
        var,
        expected,
        value: value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn settings(vars: &[(&str, &str)]) -> Result<Settings, SettingsError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_select_the_local_provider_with_250_words() {
        let s = settings(&[]).unwrap();
        assert_eq!(s.provider, ProviderKind::Local);
        assert_eq!(s.local.words, 250);
        assert!(s.gemini.is_none());
    }

    #[test]
    fn word_budget_comes_from_the_environment() {
        let s = settings(&[("TASKLANE_SUMMARY_WORDS", "120")]).unwrap();
        assert_eq!(s.local.words, 120);
        let err = settings(&[("TASKLANE_SUMMARY_WORDS", "lots")]).unwrap_err();
        assert!(err.to_string().contains("TASKLANE_SUMMARY_WORDS"), "{err}");
    }

    #[test]
    fn api_key_selects_generative_language_and_is_redacted() {
        let s = settings(&[
            ("TASKLANE_AI_PROVIDER", "gemini"),
            ("GEMINI_API_KEY", "sekrit"),
        ])
        .unwrap();
        let gemini = s.gemini.unwrap();
        assert_eq!(
            gemini.backend.endpoint("gemini-2.5-flash"),
            "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent"
        );
        let printed = format!("{gemini:?}");
        assert!(!printed.contains("sekrit"), "{printed}");
    }

    #[test]
    fn vertex_endpoint_names_project_location_and_model() {
        let s = settings(&[
            ("TASKLANE_AI_PROVIDER", "gemini"),
            ("GOOGLE_CLOUD_PROJECT", "acme"),
            ("TASKLANE_GEMINI_LOCATION", "europe-west4"),
        ])
        .unwrap();
        assert_eq!(
            s.gemini.unwrap().backend.endpoint("m"),
            "https://europe-west4-aiplatform.googleapis.com/v1/projects/acme/locations/\
             europe-west4/publishers/google/models/m:generateContent"
        );
        assert_eq!(vertex_url("global"), "https://aiplatform.googleapis.com/v1");
    }

    #[test]
    fn gemini_without_key_or_project_is_a_configuration_error() {
        let err = settings(&[("TASKLANE_AI_PROVIDER", "gemini")]).unwrap_err();
        assert!(err.to_string().contains("GEMINI_API_KEY"), "{err}");
        let err = settings(&[("TASKLANE_AI_PROVIDER", "openai")]).unwrap_err();
        assert!(err.to_string().contains("local or gemini"), "{err}");
    }
}
