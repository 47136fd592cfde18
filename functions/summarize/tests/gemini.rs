//! The Gemini provider against a loopback server that speaks the
//! `generateContent` wire format: request shape, every failure class, the
//! retry of malformed answers, and map-reduce over long transcripts.

#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Answer, KEY, MODEL, Seen, Server, answer, error, model_summary};
use google_cloud_auth::credentials::{
    CacheableResource, Credentials, CredentialsProvider, EntityTag,
};
use google_cloud_auth::errors::CredentialsError;
use http::{Extensions, HeaderMap, HeaderValue, StatusCode};
use serde_json::json;
use summarize::gemini::GeminiSummarizer;
use summarize::settings::{Backend, LocalSettings};
use summarize::{Transcript, Turn};
use tasklane::ErrorKind;

fn transcript() -> Transcript {
    Transcript::new(vec![
        Turn::new(
            Some("Priya"),
            "Um, I can have the login fix merged by Thursday.",
        ),
        Turn::new(
            Some("Dana"),
            "So we're agreed, we submit on Tuesday instead of Friday.",
        ),
    ])
}

#[tokio::test]
async fn request_carries_the_transcript_the_json_schema_and_the_api_key() {
    let server =
        Server::scripted(vec![answer(&model_summary("The team moved the release."))]).await;
    let summary = server.summarizer().summarize(&transcript()).await.unwrap();

    let seen = server.seen();
    assert_eq!(seen.len(), 1);
    let req = &seen[0];
    assert_eq!(req.path, format!("/v1beta/models/{MODEL}:generateContent"));
    assert_eq!(req.headers["x-goog-api-key"], KEY);
    assert_eq!(req.body["contents"][0]["role"], "user");
    assert!(
        req.prompt()
            .contains("Priya: Um, I can have the login fix merged by Thursday.")
    );
    assert!(
        req.body["systemInstruction"]["parts"][0]["text"]
            .as_str()
            .unwrap()
            .contains("action_items")
    );
    let config = &req.body["generationConfig"];
    assert_eq!(config["responseMimeType"], "application/json");
    assert_eq!(config["responseSchema"]["type"], "OBJECT");
    assert_eq!(
        config["responseSchema"]["required"],
        json!(["summary", "key_points", "decisions", "action_items"])
    );
    let item = &config["responseSchema"]["properties"]["action_items"]["items"]["properties"];
    assert_eq!(item["owner"]["nullable"], true);
    assert_eq!(item["due"]["type"], "STRING");

    assert_eq!(summary.summary, "The team moved the release.");
    assert_eq!(summary.words, 5);
    assert_eq!(summary.engine, "gemini/gemini-test");
    assert_eq!(summary.decisions, ["Submit to both stores on Tuesday."]);
    assert_eq!(summary.action_items[0].owner.as_deref(), Some("Priya"));
    assert_eq!(summary.action_items[0].due.as_deref(), Some("Thursday"));
}

#[tokio::test]
async fn quota_exhaustion_is_rate_limited_for_the_servers_retry_delay() {
    let details = json!([
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure", "violations": [{
            "quotaMetric": "generativelanguage.googleapis.com/generate_content_free_tier_requests",
            "quotaId": "GenerateRequestsPerMinutePerProjectPerModel-FreeTier"}]},
        {"@type": "type.googleapis.com/google.rpc.Help", "links": [{"description": "Learn more about Gemini API quotas", "url": "https://ai.google.dev/gemini-api/docs/rate-limits"}]},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "23s"}
    ]);
    let server = Server::scripted(vec![error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details.",
        &details,
    )])
    .await;
    let err = server
        .summarizer()
        .summarize(&transcript())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(err.is_retryable());
    assert_eq!(err.retry_after(), Some(Duration::from_secs(23)));
    assert_eq!(
        server.seen().len(),
        1,
        "a quota error is not retried in place"
    );
}

#[tokio::test]
async fn internal_and_unavailable_are_transient() {
    for (code, status, message) in [
        (
            500,
            "INTERNAL",
            "An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
        ),
        (
            503,
            "UNAVAILABLE",
            "The model is overloaded. Please try again later.",
        ),
    ] {
        let server = Server::scripted(vec![error(code, status, message, &json!([]))]).await;
        let err = server
            .summarizer()
            .summarize(&transcript())
            .await
            .unwrap_err();
        assert_eq!(err.kind(), ErrorKind::Transient, "{code}: {err}");
        assert!(err.message().contains(status), "{err}");
    }
}

#[tokio::test]
async fn invalid_argument_is_permanent() {
    let server = Server::scripted(vec![error(
        400,
        "INVALID_ARGUMENT",
        "* GenerateContentRequest.generation_config.response_schema.properties: should be non-empty for OBJECT type",
        &json!([]),
    )])
    .await;
    let err = server
        .summarizer()
        .summarize(&transcript())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert!(err.message().contains("INVALID_ARGUMENT"), "{err}");
    assert_eq!(server.seen().len(), 1);
}

#[tokio::test]
async fn blocked_prompt_is_permanent_and_keeps_the_reason() {
    let server = Server::scripted(vec![Answer::Reply(
        StatusCode::OK,
        json!({
            "promptFeedback": {"blockReason": "PROHIBITED_CONTENT"},
            "usageMetadata": {"promptTokenCount": 12559, "totalTokenCount": 12559},
            "modelVersion": MODEL
        }),
    )])
    .await;
    let err = server
        .summarizer()
        .summarize(&transcript())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert!(err.message().contains("PROHIBITED_CONTENT"), "{err}");
}

#[tokio::test]
async fn safety_stop_is_permanent_and_keeps_the_reason() {
    let server = Server::scripted(vec![Answer::Reply(
        StatusCode::OK,
        json!({"candidates": [{
            "finishReason": "SAFETY",
            "index": 0,
            "safetyRatings": [{"category": "HARM_CATEGORY_HARASSMENT", "probability": "HIGH", "blocked": true}]
        }]}),
    )])
    .await;
    let err = server
        .summarizer()
        .summarize(&transcript())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert!(err.message().contains("SAFETY"), "{err}");
    assert_eq!(
        server.seen().len(),
        1,
        "a blocked answer is not asked again"
    );
}

#[tokio::test]
async fn truncated_answer_is_asked_once_more() {
    let truncated = Answer::Reply(
        StatusCode::OK,
        json!({"candidates": [{
            "content": {"role": "model", "parts": [{"text": "{\"summary\": \"The team moved the rel"}]},
            "finishReason": "MAX_TOKENS",
            "index": 0
        }]}),
    );
    let server =
        Server::scripted(vec![truncated, answer(&model_summary("Moved to Tuesday."))]).await;
    let summary = server.summarizer().summarize(&transcript()).await.unwrap();
    assert_eq!(summary.summary, "Moved to Tuesday.");
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn malformed_answer_twice_is_permanent() {
    let not_json = || {
        Answer::Reply(
            StatusCode::OK,
            json!({"candidates": [{
                "content": {"role": "model", "parts": [{"text": "Here is your summary: the team met."}]},
                "finishReason": "STOP"
            }]}),
        )
    };
    let server = Server::scripted(vec![not_json(), not_json()]).await;
    let err = server
        .summarizer()
        .summarize(&transcript())
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    assert!(err.message().contains("not the requested JSON"), "{err}");
    assert_eq!(server.seen().len(), 2);
}

#[tokio::test]
async fn request_timeout_is_transient() {
    let server = Server::scripted(vec![Answer::Hang]).await;
    let mut settings = server.settings(100_000);
    settings.timeout = Duration::from_millis(300);
    let summarizer = GeminiSummarizer::new(settings, LocalSettings::default()).unwrap();
    let err = summarizer.summarize(&transcript()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Transient, "{}", err.report());
}

#[tokio::test]
async fn api_key_stays_out_of_errors_and_debug_output() {
    let server = Server::scripted(vec![error(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        &json!([{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID", "domain": "googleapis.com"}]),
    )])
    .await;
    let summarizer = server.summarizer();
    let err = summarizer.summarize(&transcript()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Permanent);
    for printed in [err.report(), format!("{err:?}"), format!("{summarizer:?}")] {
        assert!(!printed.contains(KEY), "key leaked: {printed}");
    }
}

/// A transcript of `n` turns, each tagged `T01`, `T02`, ... so that a
/// test can tell which chunk carried which turn.
fn long_transcript(n: usize) -> Transcript {
    Transcript::new(
        (1..=n)
            .map(|i| {
                Turn::new(
                    Some(if i % 2 == 0 { "S1" } else { "S2" }),
                    format!(
                        "T{i:02} we talked about item number {i} of the migration plan at length"
                    ),
                )
            })
            .collect(),
    )
}

#[tokio::test]
async fn long_transcript_is_summarized_by_chunks_then_combined() {
    let server = Server::start(|seen| {
        let prompt = seen.prompt();
        if prompt.contains("Partial summaries:") {
            return answer(&model_summary(
                "Whole meeting: the migration plan was reviewed.",
            ));
        }
        let part = prompt.split("This is part ").nth(1).unwrap();
        let index: String = part.chars().take_while(char::is_ascii_digit).collect();
        let partial = format!("partial {index} covered its items.");
        answer(&json!({"summary": partial, "key_points": [], "decisions": [], "action_items": []}))
    })
    .await;
    let summarizer = GeminiSummarizer::new(server.settings(90), LocalSettings::default()).unwrap();
    let summary = summarizer.summarize(&long_transcript(12)).await.unwrap();

    let seen = server.seen();
    let (reduce, map): (Vec<&Seen>, Vec<&Seen>) = seen
        .iter()
        .partition(|s| s.prompt().contains("Partial summaries:"));
    assert!(map.len() >= 2, "expected several chunks, got {}", map.len());
    assert_eq!(reduce.len(), 1);
    for i in 1..=12 {
        let tag = format!("T{i:02} ");
        let carriers = map.iter().filter(|s| s.prompt().contains(&tag)).count();
        assert_eq!(carriers, 1, "turn {tag} must be in exactly one chunk");
    }
    for k in 1..=map.len() {
        let marker = format!("part {k} of {}", map.len());
        assert!(map.iter().any(|s| s.prompt().contains(&marker)), "{marker}");
        let partial = format!("partial {k} covered its items.");
        assert!(
            reduce[0].prompt().contains(&partial),
            "reduce lacks {partial}"
        );
    }
    assert_eq!(
        summary.summary,
        "Whole meeting: the migration plan was reviewed."
    );
}

#[tokio::test]
async fn partials_too_long_for_one_prompt_are_combined_in_rounds() {
    let server = Server::start(|seen| {
        let long = "the migration plan was reviewed in detail ".repeat(6);
        if seen.prompt().contains("Partial summaries:") {
            return answer(&model_summary(&format!("combined: {long}")));
        }
        answer(&model_summary(&format!("partial: {long}")))
    })
    .await;
    let summarizer = GeminiSummarizer::new(server.settings(60), LocalSettings::default()).unwrap();
    let summary = summarizer.summarize(&long_transcript(12)).await.unwrap();
    let reduces = server
        .seen()
        .iter()
        .filter(|s| s.prompt().contains("Partial summaries:"))
        .count();
    assert!(reduces >= 2, "expected reduce rounds, got {reduces}");
    assert!(summary.summary.starts_with("combined:"));
}

/// Credentials that hand out a fixed bearer token, in place of ADC.
#[derive(Debug)]
struct StaticToken;

impl CredentialsProvider for StaticToken {
    async fn headers(
        &self,
        _: Extensions,
    ) -> Result<CacheableResource<HeaderMap>, CredentialsError> {
        let mut headers = HeaderMap::new();
        let mut value = HeaderValue::from_static("Bearer ya29.test-token");
        value.set_sensitive(true);
        headers.insert(http::header::AUTHORIZATION, value);
        Ok(CacheableResource::New {
            entity_tag: EntityTag::new(),
            data: headers,
        })
    }

    async fn universe_domain(&self) -> Option<String> {
        None
    }
}

#[tokio::test]
async fn vertex_requests_carry_the_bearer_token_to_the_publisher_model_path() {
    let server = Server::scripted(vec![answer(&model_summary("Vertex summary."))]).await;
    let mut settings = server.settings(100_000);
    settings.backend = Backend::Vertex {
        project: "acme-meetings".to_owned(),
        location: "europe-west4".to_owned(),
        base_url: format!("http://{}/v1", server.addr),
    };
    let credentials = Credentials::from(StaticToken);
    let summarizer =
        GeminiSummarizer::with_credentials(settings, LocalSettings::default(), credentials)
            .unwrap();
    let summary = summarizer.summarize(&transcript()).await.unwrap();
    assert_eq!(summary.summary, "Vertex summary.");
    let seen = server.seen();
    assert_eq!(
        seen[0].path,
        format!(
            "/v1/projects/acme-meetings/locations/europe-west4/publishers/google/models/{MODEL}:generateContent"
        )
    );
    assert_eq!(
        seen[0].headers[http::header::AUTHORIZATION],
        "Bearer ya29.test-token"
    );
    assert!(seen[0].headers.get("x-goog-api-key").is_none());
}
