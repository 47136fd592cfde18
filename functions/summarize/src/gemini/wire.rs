//! The `generateContent` wire format: the request body with its response
//! schema, and the reading of answers and `google.rpc.Status` errors.

use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

use super::GeminiError;
use crate::summary::ActionItem;

/// Wait before retrying a 429 that named no delay.
pub(crate) const DEFAULT_RETRY_AFTER: Duration = Duration::from_secs(30);

/// The body of one `generateContent` request: a system instruction, one
/// user turn, and JSON output constrained by [`response_schema`].
pub(crate) fn request_body(system: &str, prompt: &str, max_output_tokens: u32) -> Value {
    json!({
        "systemInstruction": { "parts": [{ "text": system }] },
        "contents": [{ "role": "user", "parts": [{ "text": prompt }] }],
        "generationConfig": {
            "responseMimeType": "application/json",
            "responseSchema": response_schema(),
            "temperature": 0.2,
            "maxOutputTokens": max_output_tokens,
        },
    })
}

/// The summary shape in the API's OpenAPI-subset schema.
pub(crate) fn response_schema() -> Value {
    let strings = json!({ "type": "ARRAY", "items": { "type": "STRING" } });
    json!({
        "type": "OBJECT",
        "properties": {
            "summary": { "type": "STRING", "description": "Prose summary of the meeting." },
            "key_points": strings,
            "decisions": strings,
            "action_items": {
                "type": "ARRAY",
                "items": {
                    "type": "OBJECT",
                    "properties": {
                        "owner": { "type": "STRING", "nullable": true },
                        "task": { "type": "STRING" },
                        "due": { "type": "STRING", "nullable": true },
                    },
                    "required": ["task"],
                    "propertyOrdering": ["owner", "task", "due"],
                },
            },
        },
        "required": ["summary", "key_points", "decisions", "action_items"],
        "propertyOrdering": ["summary", "key_points", "decisions", "action_items"],
    })
}

/// What the model returns, before the engine name and word count are
/// added.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub(crate) struct ModelSummary {
    pub(crate) summary: String,
    #[serde(default)]
    pub(crate) key_points: Vec<String>,
    #[serde(default)]
    pub(crate) decisions: Vec<String>,
    #[serde(default)]
    pub(crate) action_items: Vec<ActionItem>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerateContentResponse {
    #[serde(default)]
    candidates: Vec<Candidate>,
    prompt_feedback: Option<PromptFeedback>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Candidate {
    content: Option<Content>,
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Content {
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Debug, Deserialize)]
struct Part {
    text: Option<String>,
    #[serde(default)]
    thought: bool,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PromptFeedback {
    block_reason: Option<String>,
}

/// Finish reasons that mean the content was refused, not cut short.
const BLOCKING_FINISH: [&str; 7] = [
    "SAFETY",
    "RECITATION",
    "BLOCKLIST",
    "PROHIBITED_CONTENT",
    "SPII",
    "LANGUAGE",
    "IMAGE_SAFETY",
];

/// Read a response: `status` and `body` as received, `retry_after` from
/// the `Retry-After` header if there was one.
///
/// # Errors
///
/// The [`GeminiError`] the response amounts to.
pub(crate) fn read_response(
    status: u16,
    retry_after: Option<Duration>,
    body: &str,
) -> Result<ModelSummary, GeminiError> {
    if !(200..300).contains(&status) {
        return Err(read_error(status, retry_after, body));
    }
    let response: GenerateContentResponse =
        serde_json::from_str(body).map_err(|e| GeminiError::Malformed {
            detail: format!("response body is not a GenerateContentResponse ({e})"),
        })?;
    let text = candidate_text(response)?;
    serde_json::from_str(&text).map_err(|e| GeminiError::Malformed {
        detail: format!("candidate text is not the requested JSON ({e})"),
    })
}

fn candidate_text(response: GenerateContentResponse) -> Result<String, GeminiError> {
    if let Some(reason) = response.prompt_feedback.and_then(|f| f.block_reason) {
        return Err(GeminiError::PromptBlocked { reason });
    }
    let candidate = response
        .candidates
        .into_iter()
        .next()
        .ok_or_else(|| malformed("no candidates"))?;
    match candidate.finish_reason.as_deref() {
        None | Some("STOP") => {}
        Some(reason) if BLOCKING_FINISH.contains(&reason) => {
            return Err(GeminiError::ResponseBlocked {
                reason: reason.to_owned(),
            });
        }
        Some(reason) => return Err(malformed(&format!("finish reason {reason}"))),
    }
    let text: String = candidate
        .content
        .map(|c| c.parts)
        .unwrap_or_default()
        .into_iter()
        .filter(|p| !p.thought)
        .filter_map(|p| p.text)
        .collect();
    if text.trim().is_empty() {
        return Err(malformed("candidate has no text"));
    }
    Ok(text)
}

fn malformed(detail: &str) -> GeminiError {
    GeminiError::Malformed {
        detail: detail.to_owned(),
    }
}

/// The `google.rpc.Status` inside an error body. Vertex AI sometimes wraps
/// it in a one-element array.
#[derive(Debug, Default, Deserialize)]
struct Status {
    #[serde(default)]
    message: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    details: Vec<Value>,
}

#[derive(Debug, Deserialize)]
struct ErrorEnvelope {
    error: Status,
}

fn read_status(body: &str) -> Status {
    if let Ok(e) = serde_json::from_str::<ErrorEnvelope>(body) {
        return e.error;
    }
    if let Ok(mut list) = serde_json::from_str::<Vec<ErrorEnvelope>>(body)
        && !list.is_empty()
    {
        return list.swap_remove(0).error;
    }
    Status {
        message: body.chars().take(300).collect(),
        ..Status::default()
    }
}

fn read_error(code: u16, retry_after: Option<Duration>, body: &str) -> GeminiError {
    let status = read_status(body);
    let exhausted = code == 429 || status.status == "RESOURCE_EXHAUSTED";
    if exhausted {
        let delay = retry_delay(&status.details).or(retry_after);
        return GeminiError::RateLimited {
            status: non_empty(status.status, "RESOURCE_EXHAUSTED"),
            message: status.message,
            retry_after: delay.unwrap_or(DEFAULT_RETRY_AFTER),
        };
    }
    let status_name = non_empty(status.status, "UNKNOWN");
    if code >= 500 || code == 408 {
        GeminiError::Server {
            code,
            status: status_name,
            message: status.message,
        }
    } else {
        GeminiError::Rejected {
            code,
            status: status_name,
            message: status.message,
        }
    }
}

fn non_empty(value: String, default: &str) -> String {
    if value.is_empty() {
        default.to_owned()
    } else {
        value
    }
}

/// `retryDelay` of the `google.rpc.RetryInfo` detail ("23s", "0.5s").
fn retry_delay(details: &[Value]) -> Option<Duration> {
    details
        .iter()
        .filter(|d| d["@type"] == "type.googleapis.com/google.rpc.RetryInfo")
        .find_map(|d| d["retryDelay"].as_str())
        .and_then(parse_duration)
}

/// A protobuf JSON duration: decimal seconds with an `s` suffix.
fn parse_duration(text: &str) -> Option<Duration> {
    let seconds: f64 = text.strip_suffix('s')?.parse().ok()?;
    (seconds.is_finite() && seconds >= 0.0).then(|| Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protobuf_durations_parse_with_fractions() {
        assert_eq!(parse_duration("23s"), Some(Duration::from_secs(23)));
        assert_eq!(parse_duration("38.5s"), Some(Duration::from_millis(38_500)));
        assert_eq!(parse_duration("soon"), None);
    }

    #[test]
    fn vertex_array_wrapped_errors_are_read() {
        let body = r#"[{"error":{"code":429,"message":"Resource exhausted.","status":"RESOURCE_EXHAUSTED"}}]"#;
        match read_response(429, Some(Duration::from_secs(7)), body) {
            Err(GeminiError::RateLimited { retry_after, .. }) => {
                assert_eq!(retry_after, Duration::from_secs(7));
            }
            other => panic!("expected rate limit, got {other:?}"),
        }
    }

    #[test]
    fn non_json_error_bodies_still_classify_by_status() {
        let err = read_response(502, None, "<html>Bad Gateway</html>").unwrap_err();
        assert!(
            matches!(err, GeminiError::Server { code: 502, .. }),
            "{err:?}"
        );
    }

    #[test]
    fn thought_parts_are_not_part_of_the_answer() {
        let body = json!({"candidates": [{"finishReason": "STOP", "content": {"parts": [
            {"text": "thinking...", "thought": true},
            {"text": "{\"summary\":\"ok\",\"key_points\":[],\"decisions\":[],\"action_items\":[]}"}
        ]}}]});
        let summary = read_response(200, None, &body.to_string()).unwrap();
        assert_eq!(summary.summary, "ok");
    }
}
