//! One trait over the summarizers, and the engine chosen at start-up.

use std::future::Future;

use tasklane::TaskError;

use crate::gemini::GeminiSummarizer;
use crate::local::{self, LocalSummarizer};
use crate::summary::Summary;
use crate::transcript::Transcript;

/// Anything that turns a transcript into a [`Summary`].
pub trait Summarizer: Send + Sync {
    /// The name stored in `summaries.engine`.
    fn engine(&self) -> String;

    /// Summarize `transcript`.
    ///
    /// # Errors
    ///
    /// A classified [`TaskError`]: retryable when a later attempt may
    /// succeed (a quota, a 503), permanent otherwise.
    fn summarize(
        &self,
        transcript: &Transcript,
    ) -> impl Future<Output = Result<Summary, TaskError>> + Send;
}

impl Summarizer for LocalSummarizer {
    fn engine(&self) -> String {
        local::ENGINE.to_owned()
    }

    /// Runs on the blocking pool: scoring is quadratic in the number of
    /// sentences and must not stall the server's other requests.
    async fn summarize(&self, transcript: &Transcript) -> Result<Summary, TaskError> {
        let summarizer = self.clone();
        let transcript = transcript.clone();
        tokio::task::spawn_blocking(move || LocalSummarizer::summarize(&summarizer, &transcript))
            .await
            .map_err(|e| TaskError::transient("local summarizer did not finish").with_source(e))
    }
}

impl Summarizer for GeminiSummarizer {
    fn engine(&self) -> String {
        GeminiSummarizer::engine(self)
    }

    async fn summarize(&self, transcript: &Transcript) -> Result<Summary, TaskError> {
        GeminiSummarizer::summarize(self, transcript).await
    }
}

/// The summarizer `TASKLANE_AI_PROVIDER` selects.
#[derive(Debug, Clone)]
pub enum Engine {
    /// Extractive, on-box.
    Local(LocalSummarizer),
    /// Gemini over HTTP (boxed: it carries a client and its settings).
    Gemini(Box<GeminiSummarizer>),
}

impl Summarizer for Engine {
    fn engine(&self) -> String {
        match self {
            Engine::Local(s) => Summarizer::engine(s),
            Engine::Gemini(s) => Summarizer::engine(s.as_ref()),
        }
    }

    async fn summarize(&self, transcript: &Transcript) -> Result<Summary, TaskError> {
        match self {
            Engine::Local(s) => Summarizer::summarize(s, transcript).await,
            Engine::Gemini(s) => Summarizer::summarize(s.as_ref(), transcript).await,
        }
    }
}
