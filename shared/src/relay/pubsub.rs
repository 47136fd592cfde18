//! Publishing to Pub/Sub over its REST API (`topics.publish`), which the
//! Pub/Sub emulator speaks too.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use google_cloud_auth::credentials::{self, CacheableResource, Credentials};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tokio::sync::OnceCell;

use super::OutboxRow;
use super::error::SendError;
use super::settings::RelaySettings;

/// Longest answer body kept in a row's `last_error`.
const MAX_ERROR_BODY: usize = 512;

/// A Pub/Sub publisher: one HTTP client, and Application Default Credentials
/// fetched on first use (never for an emulator).
pub(crate) struct Publisher {
    http: reqwest::Client,
    credentials: OnceCell<Credentials>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PublishResponse {
    #[serde(default)]
    message_ids: Vec<String>,
}

impl Publisher {
    pub(crate) fn new(http: reqwest::Client) -> Self {
        Publisher {
            http,
            credentials: OnceCell::new(),
        }
    }

    /// Publish `row` to its topic; returns the message id Pub/Sub assigned.
    pub(crate) async fn publish(
        &self,
        settings: &RelaySettings,
        row: &OutboxRow,
    ) -> Result<String, SendError> {
        check_topic_id(&row.target)?;
        let url = publish_url(settings, &row.target);
        let mut request = self.http.post(&url).json(&message_body(row));
        if !settings.pubsub_is_emulator() {
            request = request.headers(self.auth_headers().await?);
        }
        let response = request
            .send()
            .await
            .map_err(|source| SendError::Transport {
                url: url.clone(),
                source,
            })?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(SendError::Status {
                url,
                status,
                body: truncate(body),
            });
        }
        let answer: PublishResponse = response
            .json()
            .await
            .map_err(|source| SendError::Transport { url, source })?;
        answer
            .message_ids
            .into_iter()
            .next()
            .ok_or(SendError::NoMessageId)
    }

    async fn auth_headers(&self) -> Result<http::HeaderMap, SendError> {
        let credentials = self
            .credentials
            .get_or_try_init(|| async {
                credentials::Builder::default()
                    .build()
                    .map_err(|e| SendError::Credentials(e.into()))
            })
            .await?;
        match credentials.headers(http::Extensions::new()).await {
            Ok(CacheableResource::New { data, .. }) => Ok(data),
            // Only returned when the caller passes an entity tag, which this
            // caller never does.
            Ok(CacheableResource::NotModified) => Err(SendError::Credentials(
                "credentials returned no headers".into(),
            )),
            Err(err) => Err(SendError::Credentials(err.into())),
        }
    }
}

fn publish_url(settings: &RelaySettings, topic: &str) -> String {
    let base = settings.pubsub_endpoint.as_str().trim_end_matches('/');
    format!(
        "{base}/v1/projects/{}/topics/{topic}:publish",
        settings.project
    )
}

/// `{"messages": [{"data": base64(JSON), "attributes": {...}}]}`; Pub/Sub
/// attribute values are strings, so other JSON values are sent as their
/// JSON text.
fn message_body(row: &OutboxRow) -> Value {
    let attributes: Map<String, Value> = match &row.attributes {
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), Value::String(text))
            })
            .collect(),
        _ => Map::new(),
    };
    let data = STANDARD.encode(row.payload.to_string());
    json!({"messages": [{"data": data, "attributes": attributes}]})
}

/// Pub/Sub topic ids: 3 to 255 characters, starting with a letter, of
/// letters, digits and `-_.~+%`. Checked here so that a bad id cannot bend
/// the request path.
fn check_topic_id(topic: &str) -> Result<(), SendError> {
    let valid = (3..=255).contains(&topic.len())
        && topic.starts_with(|c: char| c.is_ascii_alphabetic())
        && topic
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.~+%".contains(c));
    if valid {
        Ok(())
    } else {
        Err(SendError::InvalidName {
            what: "topic id",
            value: topic.to_owned(),
            reason: "use 3 to 255 letters, digits or -_.~+%, starting with a letter",
        })
    }
}

fn truncate(mut body: String) -> String {
    if body.len() > MAX_ERROR_BODY {
        let mut end = MAX_ERROR_BODY;
        while !body.is_char_boundary(end) {
            end -= 1;
        }
        body.truncate(end);
        body.push_str("...");
    }
    body
}
