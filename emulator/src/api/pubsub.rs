//! Pub/Sub REST v1 for the dead-letter topics: publish, pull, acknowledge
//! and modifyAckDeadline under `/v1/projects/{p}/`.

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Value, json};

use super::{ApiError, Call, HttpResponse, json_ok, no_route, split_verb};
use crate::clock::format_timestamp;
use crate::pubsub::{NewMessage, PubSubError, Received};
use crate::server::Shared;

/// Longest ack deadline Pub/Sub allows, in seconds.
const MAX_ACK_DEADLINE_SECONDS: i64 = 600;

/// Routes the part of the path after `projects/{p}/`.
pub(super) async fn route(
    shared: &Shared,
    rest: &[&str],
    call: &Call<'_>,
) -> Result<HttpResponse, ApiError> {
    match (call.method, rest) {
        (_, ["topics", topic_and_verb]) => match (call.method, split_verb(topic_and_verb)) {
            (&Method::POST, (topic, Some("publish"))) => publish(shared, topic, call),
            (&Method::GET, (topic, None)) => get_topic(shared, topic),
            _ => Err(no_route(call.method, topic_and_verb)),
        },
        (_, ["subscriptions", sub_and_verb]) => {
            let (subscription, verb) = split_verb(sub_and_verb);
            match (call.method, verb) {
                (&Method::POST, Some("pull")) => pull(shared, subscription, call).await,
                (&Method::POST, Some("acknowledge")) => acknowledge(shared, subscription, call),
                (&Method::POST, Some("modifyAckDeadline")) => {
                    modify_ack_deadline(shared, subscription, call)
                }
                (&Method::GET, None) => get_subscription(shared, subscription),
                _ => Err(no_route(call.method, sub_and_verb)),
            }
        }
        _ => Err(no_route(call.method, &rest.join("/"))),
    }
}

fn pubsub_error(shared: &Shared, err: PubSubError) -> ApiError {
    match err {
        PubSubError::TopicNotFound(topic) => ApiError::not_found(format!(
            "Resource not found (resource={topic}): topic projects/{}/topics/{topic} is not \
             declared by any function spec",
            shared.project
        )),
        PubSubError::SubscriptionNotFound(sub) => ApiError::not_found(format!(
            "Resource not found (resource={sub}): subscription projects/{}/subscriptions/{sub} \
             is not declared by any function spec",
            shared.project
        )),
        other @ PubSubError::ConflictingSubscription { .. } => {
            ApiError::internal(other.to_string())
        }
    }
}

/// An integer as protobuf JSON allows it: a number or a decimal string.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum IntIn {
    Number(i64),
    Text(String),
}

impl IntIn {
    fn value(&self, field: &str) -> Result<i64, ApiError> {
        match self {
            IntIn::Number(n) => Ok(*n),
            IntIn::Text(text) => text.parse().map_err(|_| {
                ApiError::invalid_argument(format!("{field} {text:?} is not an integer"))
            }),
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PublishIn {
    #[serde(default)]
    messages: Vec<MessageIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct MessageIn {
    #[serde(default)]
    data: Option<String>,
    #[serde(default)]
    attributes: Option<BTreeMap<String, String>>,
    #[serde(default)]
    ordering_key: Option<String>,
    // Set by the server; ignored when a client sends them.
    #[serde(default, rename = "messageId")]
    _message_id: Option<IgnoredAny>,
    #[serde(default, rename = "publishTime")]
    _publish_time: Option<IgnoredAny>,
}

fn publish(shared: &Shared, topic: &str, call: &Call<'_>) -> Result<HttpResponse, ApiError> {
    let request: PublishIn = call.json()?;
    if request.messages.is_empty() {
        return Err(ApiError::invalid_argument("messages must not be empty"));
    }
    let messages = request
        .messages
        .into_iter()
        .map(new_message)
        .collect::<Result<Vec<_>, _>>()?;
    let ids = shared
        .pubsub
        .publish(topic, messages)
        .map_err(|err| pubsub_error(shared, err))?;
    Ok(json_ok(&json!({ "messageIds": ids })))
}

fn new_message(message: MessageIn) -> Result<NewMessage, ApiError> {
    let data = match message.data.as_deref() {
        None | Some("") => Bytes::new(),
        Some(text) => STANDARD
            .decode(text)
            .or_else(|_| URL_SAFE.decode(text))
            .map(Bytes::from)
            .map_err(|_| ApiError::invalid_argument("message data is not valid base64"))?,
    };
    let attributes = message.attributes.unwrap_or_default();
    if data.is_empty() && attributes.is_empty() {
        return Err(ApiError::invalid_argument(
            "a message must have data or at least one attribute",
        ));
    }
    Ok(NewMessage {
        data,
        attributes,
        ordering_key: message.ordering_key.unwrap_or_default(),
    })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PullIn {
    #[serde(default)]
    max_messages: Option<IntIn>,
    #[serde(default)]
    return_immediately: Option<bool>,
}

async fn pull(
    shared: &Shared,
    subscription: &str,
    call: &Call<'_>,
) -> Result<HttpResponse, ApiError> {
    let request: PullIn = call.json()?;
    let max = match &request.max_messages {
        Some(value) => value.value("maxMessages")?,
        None => 0,
    };
    if max <= 0 {
        return Err(ApiError::invalid_argument("maxMessages must be positive"));
    }
    let max = usize::try_from(max).unwrap_or(usize::MAX);
    let immediately = request.return_immediately.unwrap_or(false);
    let received = shared
        .pubsub
        .pull(subscription, max, immediately)
        .await
        .map_err(|err| pubsub_error(shared, err))?;
    if received.is_empty() {
        return Ok(json_ok(&json!({})));
    }
    let messages: Vec<Value> = received.iter().map(received_json).collect();
    Ok(json_ok(&json!({ "receivedMessages": messages })))
}

fn received_json(received: &Received) -> Value {
    let message = &received.message;
    let mut body = json!({
        "messageId": message.id,
        "publishTime": format_timestamp(message.publish_time),
    });
    if !message.data.is_empty() {
        body["data"] = Value::String(STANDARD.encode(&message.data));
    }
    if !message.attributes.is_empty() {
        body["attributes"] = json!(message.attributes);
    }
    if !message.ordering_key.is_empty() {
        body["orderingKey"] = Value::from(message.ordering_key.as_str());
    }
    json!({ "ackId": received.ack_id, "message": body })
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct AcknowledgeIn {
    #[serde(default)]
    ack_ids: Vec<String>,
}

fn acknowledge(
    shared: &Shared,
    subscription: &str,
    call: &Call<'_>,
) -> Result<HttpResponse, ApiError> {
    let request: AcknowledgeIn = call.json()?;
    if request.ack_ids.is_empty() {
        return Err(ApiError::invalid_argument("ackIds must not be empty"));
    }
    shared
        .pubsub
        .acknowledge(subscription, &request.ack_ids)
        .map_err(|err| pubsub_error(shared, err))?;
    Ok(json_ok(&json!({})))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ModifyAckDeadlineIn {
    #[serde(default)]
    ack_ids: Vec<String>,
    #[serde(default)]
    ack_deadline_seconds: Option<IntIn>,
}

fn modify_ack_deadline(
    shared: &Shared,
    subscription: &str,
    call: &Call<'_>,
) -> Result<HttpResponse, ApiError> {
    let request: ModifyAckDeadlineIn = call.json()?;
    let seconds = match &request.ack_deadline_seconds {
        Some(value) => value.value("ackDeadlineSeconds")?,
        None => 0,
    };
    if !(0..=MAX_ACK_DEADLINE_SECONDS).contains(&seconds) {
        return Err(ApiError::invalid_argument(format!(
            "ackDeadlineSeconds must lie between 0 and {MAX_ACK_DEADLINE_SECONDS}"
        )));
    }
    let deadline = Duration::from_secs(seconds.unsigned_abs());
    shared
        .pubsub
        .modify_ack_deadline(subscription, &request.ack_ids, deadline)
        .map_err(|err| pubsub_error(shared, err))?;
    Ok(json_ok(&json!({})))
}

fn get_topic(shared: &Shared, topic: &str) -> Result<HttpResponse, ApiError> {
    if !shared.pubsub.has_topic(topic) {
        return Err(pubsub_error(
            shared,
            PubSubError::TopicNotFound(topic.to_owned()),
        ));
    }
    Ok(json_ok(
        &json!({ "name": format!("projects/{}/topics/{topic}", shared.project) }),
    ))
}

fn get_subscription(shared: &Shared, subscription: &str) -> Result<HttpResponse, ApiError> {
    let topic = shared
        .pubsub
        .subscription_topic(subscription)
        .ok_or_else(|| {
            pubsub_error(
                shared,
                PubSubError::SubscriptionNotFound(subscription.to_owned()),
            )
        })?;
    let project = &shared.project;
    Ok(json_ok(&json!({
        "name": format!("projects/{project}/subscriptions/{subscription}"),
        "topic": format!("projects/{project}/topics/{topic}"),
        "pushConfig": {},
        "ackDeadlineSeconds": shared.ack_deadline.as_secs(),
    })))
}
