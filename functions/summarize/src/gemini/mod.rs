//! Summaries by Gemini over its REST API: the Generative Language API with
//! an API key, or Vertex AI with a bearer token from Application Default
//! Credentials.
//!
//! A transcript that fits one chunk is summarized in one call. A longer
//! one is cut into chunks on turn boundaries ([`chunk`]), each chunk is
//! summarized (map), and the partial summaries are combined (reduce), in
//! rounds if even they are too long for one prompt.

mod chunk;
mod error;
mod wire;

use futures::{StreamExt, TryStreamExt, stream};
use google_cloud_auth::credentials::{self, CacheableResource, Credentials};
use http::{Extensions, HeaderValue};
use tasklane::TaskError;
use tracing::{debug, warn};

pub use self::error::GeminiError;
use self::wire::ModelSummary;
use crate::settings::{Backend, GeminiSettings, LocalSettings};
use crate::summary::{Summary, count_words};
use crate::transcript::Transcript;

/// OAuth scope for Vertex AI.
const CLOUD_PLATFORM: &str = "https://www.googleapis.com/auth/cloud-platform";

/// How a request proves who sends it.
#[derive(Clone)]
enum Auth {
    /// `x-goog-api-key`, marked sensitive so no header dump shows it.
    ApiKey(HeaderValue),
    /// `Authorization: Bearer ...` from Google credentials.
    Google(Credentials),
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Auth::ApiKey(_) => f.write_str("ApiKey(<redacted>)"),
            Auth::Google(_) => f.write_str("GoogleCredentials"),
        }
    }
}

/// The Gemini summarizer.
#[derive(Debug, Clone)]
pub struct GeminiSummarizer {
    client: reqwest::Client,
    endpoint: String,
    auth: Auth,
    settings: GeminiSettings,
    budget: LocalSettings,
}

/// A Gemini summarizer that cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The API key holds characters a header cannot carry.
    #[error("GEMINI_API_KEY is not a valid header value")]
    ApiKey,
    /// Application Default Credentials could not be loaded.
    #[error("cannot load Google Application Default Credentials")]
    Credentials(#[source] google_cloud_auth::build_errors::Error),
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
}

impl GeminiSummarizer {
    /// A summarizer for `settings`; `budget` gives the word budget and the
    /// number of key points. Vertex AI credentials are loaded here, once.
    ///
    /// # Errors
    ///
    /// [`BuildError`] when the key or the credentials are unusable.
    pub fn new(settings: GeminiSettings, budget: LocalSettings) -> Result<Self, BuildError> {
        let auth = match &settings.backend {
            Backend::ApiKey { key, .. } => {
                let mut value =
                    HeaderValue::from_str(key.expose()).map_err(|_| BuildError::ApiKey)?;
                value.set_sensitive(true);
                Auth::ApiKey(value)
            }
            Backend::Vertex { .. } => Auth::Google(
                credentials::Builder::default()
                    .with_scopes([CLOUD_PLATFORM])
                    .build()
                    .map_err(BuildError::Credentials)?,
            ),
        };
        Self::with_auth(settings, budget, auth)
    }

    /// A summarizer that authenticates with `credentials` instead of
    /// Application Default Credentials (Vertex AI, or any endpoint that
    /// takes a bearer token).
    ///
    /// # Errors
    ///
    /// [`BuildError::Client`] when the HTTP client cannot be built.
    pub fn with_credentials(
        settings: GeminiSettings,
        budget: LocalSettings,
        credentials: Credentials,
    ) -> Result<Self, BuildError> {
        Self::with_auth(settings, budget, Auth::Google(credentials))
    }

    fn with_auth(
        settings: GeminiSettings,
        budget: LocalSettings,
        auth: Auth,
    ) -> Result<Self, BuildError> {
        let client = reqwest::Client::builder()
            .timeout(settings.timeout)
            .connect_timeout(settings.timeout.min(std::time::Duration::from_secs(10)))
            .build()
            .map_err(BuildError::Client)?;
        Ok(GeminiSummarizer {
            client,
            endpoint: settings.backend.endpoint(&settings.model),
            auth,
            settings,
            budget,
        })
    }

    /// The engine name stored with the summaries.
    pub fn engine(&self) -> String {
        format!("gemini/{}", self.settings.model)
    }

    /// Summarize `transcript`, chunk by chunk when it is long.
    ///
    /// # Errors
    ///
    /// The [`TaskError`] of the first failed call, classified as
    /// [`GeminiError::into_task_error`] says.
    pub async fn summarize(&self, transcript: &Transcript) -> Result<Summary, TaskError> {
        let parts = chunk::chunks(&transcript.turns, self.settings.chunk_tokens);
        let prompts = Prompts::new(transcript, &self.budget);
        let result = match parts.as_slice() {
            [] => return Err(TaskError::invalid_input("transcript is empty")),
            [whole] => self.generate(&prompts.whole(whole)).await,
            _ => self.map_reduce(&prompts, &parts).await,
        };
        let model = result.map_err(GeminiError::into_task_error)?;
        Ok(self.finish(model))
    }

    async fn map_reduce(
        &self,
        prompts: &Prompts,
        parts: &[String],
    ) -> Result<ModelSummary, GeminiError> {
        debug!(chunks = parts.len(), "summarizing by chunks");
        let map_prompts: Vec<String> = (0..parts.len())
            .map(|i| prompts.part(i, parts.len(), &parts[i]))
            .collect();
        let mut partials: Vec<ModelSummary> = stream::iter(map_prompts)
            .map(|prompt| self.generate_owned(prompt))
            .buffered(self.settings.concurrency)
            .try_collect()
            .await?;
        loop {
            let groups = group_partials(&partials, self.settings.chunk_tokens);
            if groups.len() <= 1 {
                return self.generate(&prompts.combine(&partials)).await;
            }
            debug!(
                partials = partials.len(),
                groups = groups.len(),
                "reducing in rounds"
            );
            let reduce_prompts: Vec<String> = groups.iter().map(|g| prompts.combine(g)).collect();
            partials = stream::iter(reduce_prompts)
                .map(|prompt| self.generate_owned(prompt))
                .buffered(self.settings.concurrency)
                .try_collect()
                .await?;
        }
    }

    async fn generate_owned(&self, prompt: String) -> Result<ModelSummary, GeminiError> {
        self.generate(&prompt).await
    }

    /// One call, repeated once if the answer is malformed (truncated or
    /// not the requested JSON): such answers are usually one-offs.
    async fn generate(&self, prompt: &str) -> Result<ModelSummary, GeminiError> {
        match self.call(prompt).await {
            Err(err) if err.is_malformed() => {
                warn!(error = %err, "malformed gemini response; asking once more");
                self.call(prompt).await
            }
            other => other,
        }
    }

    async fn call(&self, prompt: &str) -> Result<ModelSummary, GeminiError> {
        let system = system_instruction();
        let body = wire::request_body(&system, prompt, self.settings.max_output_tokens);
        let request = self
            .authorize(self.client.post(&self.endpoint).json(&body))
            .await?;
        let response = request.send().await.map_err(GeminiError::Transport)?;
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get(http::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(std::time::Duration::from_secs);
        let text = response.text().await.map_err(GeminiError::Transport)?;
        debug!(status, bytes = text.len(), "gemini answered");
        wire::read_response(status, retry_after, &text)
    }

    async fn authorize(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::RequestBuilder, GeminiError> {
        match &self.auth {
            Auth::ApiKey(key) => Ok(request.header("x-goog-api-key", key.clone())),
            Auth::Google(credentials) => {
                let headers = credentials
                    .headers(Extensions::new())
                    .await
                    .map_err(GeminiError::Credentials)?;
                match headers {
                    CacheableResource::New { data, .. } => Ok(request.headers(data)),
                    CacheableResource::NotModified => Err(GeminiError::Malformed {
                        detail: "credentials returned no headers".to_owned(),
                    }),
                }
            }
        }
    }

    fn finish(&self, model: ModelSummary) -> Summary {
        let summary = fit_budget(&model.summary, self.budget.words);
        Summary {
            words: count_words(&summary),
            summary,
            key_points: model
                .key_points
                .into_iter()
                .take(self.budget.key_points)
                .collect(),
            decisions: model.decisions,
            action_items: model.action_items,
            engine: self.engine(),
        }
    }
}

/// Partial summaries grouped so that each group's JSON fits one prompt.
fn group_partials(partials: &[ModelSummary], budget: usize) -> Vec<Vec<ModelSummary>> {
    let mut groups: Vec<Vec<ModelSummary>> = Vec::new();
    let mut used = 0;
    for partial in partials {
        let cost = chunk::estimate_tokens(&serde_json::to_string(partial).unwrap_or_default());
        let full = groups
            .last()
            .is_none_or(|g| g.len() >= 2 && used + cost > budget);
        if full {
            groups.push(Vec::new());
            used = 0;
        }
        used += cost;
        if let Some(group) = groups.last_mut() {
            group.push(partial.clone());
        }
    }
    groups
}

/// Trim prose to whole sentences within `words`; a first sentence longer
/// than the budget is cut by words.
fn fit_budget(text: &str, words: usize) -> String {
    if count_words(text) <= words {
        return text.trim().to_owned();
    }
    let mut out = String::new();
    for sentence in text.split_inclusive(['.', '!', '?', '。', '！', '？']) {
        if count_words(&out) + count_words(sentence) > words {
            break;
        }
        out.push_str(sentence);
    }
    if out.trim().is_empty() {
        return text
            .split_whitespace()
            .take(words)
            .collect::<Vec<_>>()
            .join(" ");
    }
    out.trim().to_owned()
}

fn system_instruction() -> String {
    "You write summaries of meetings from their transcripts. Transcripts come from speech \
     recognition: expect filler words, false starts, repetitions and misheard words, and do \
     not reproduce them. Report only what the transcript supports: never invent owners, dates \
     or decisions. Fill the JSON fields as follows. summary: plain prose covering the purpose \
     of the meeting, the main points discussed, what was decided and the next steps. \
     key_points: short statements of the most important points. decisions: each decision the \
     participants agreed on, one sentence each, empty if none. action_items: each task someone \
     committed to or was given, with owner (the speaker label or the name used in the meeting, \
     null if nobody was named), task (an imperative verb phrase) and due (the deadline as \
     said, such as \"by Friday\", null if none)."
        .to_owned()
}

/// The user prompts for one transcript.
struct Prompts {
    language: &'static str,
    words: usize,
    key_points: usize,
}

impl Prompts {
    fn new(transcript: &Transcript, budget: &LocalSettings) -> Self {
        Prompts {
            language: transcript.language.name(),
            words: budget.words,
            key_points: budget.key_points,
        }
    }

    fn limits(&self) -> String {
        format!(
            "Write in {}. Keep the summary under {} words and give at most {} key points.",
            self.language, self.words, self.key_points
        )
    }

    fn whole(&self, transcript: &str) -> String {
        format!("{}\n\nTranscript:\n{transcript}", self.limits())
    }

    fn part(&self, index: usize, count: usize, transcript: &str) -> String {
        format!(
            "This is part {} of {count} of one meeting's transcript. Summarize this part only; \
             the parts will be combined later. {}\n\nTranscript part {}:\n{transcript}",
            index + 1,
            self.limits(),
            index + 1
        )
    }

    fn combine(&self, partials: &[ModelSummary]) -> String {
        let json = serde_json::to_string_pretty(partials).unwrap_or_default();
        format!(
            "These are summaries of consecutive parts of one meeting, in order, as JSON. \
             Combine them into one summary of the whole meeting: merge repeated points, keep \
             every decision and action item once, and keep owners and due dates as given. {}\
             \n\nPartial summaries:\n{json}",
            self.limits()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prose_over_budget_is_cut_at_a_sentence() {
        let text = "One two three. Four five six. Seven eight nine.";
        assert_eq!(fit_budget(text, 7), "One two three. Four five six.");
        assert_eq!(fit_budget("a b c d e", 3), "a b c");
        assert_eq!(fit_budget(text, 50), text);
    }
}
