//! Pub/Sub REST v1 for the dead-letter topics: publish, pull, acknowledge,
//! redelivery after the ack deadline and nacks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Rest, spec};
use serde_json::{Value, json};
use tasklane_emulator::{Emulator, EmulatorHandle};
use tokio::time::Instant;

const TOPIC: &str = "/v1/projects/local/topics/summarize-dead-letters";
const SUBSCRIPTION: &str = "/v1/projects/local/subscriptions/summarize-dead-letters-sub";

async fn start(ack_deadline: Duration) -> (EmulatorHandle, Rest) {
    let emulator = Emulator::builder()
        .spec(spec("summarize"))
        .ack_deadline(ack_deadline)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let rest = Rest::new(&emulator.base_url());
    (emulator, rest)
}

async fn publish(rest: &Rest, data: &str) -> String {
    let body = json!({"messages": [{"data": data, "attributes": {"task_key": "k1"}}]});
    let (status, reply) = rest.post(&format!("{TOPIC}:publish"), &body).await;
    assert_eq!(status, 200, "{reply}");
    reply["messageIds"][0].as_str().unwrap().to_owned()
}

async fn pull(rest: &Rest, return_immediately: bool) -> Vec<Value> {
    let body = json!({"maxMessages": 10, "returnImmediately": return_immediately});
    let (status, reply) = rest.post(&format!("{SUBSCRIPTION}:pull"), &body).await;
    assert_eq!(status, 200, "{reply}");
    reply["receivedMessages"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

async fn ack(rest: &Rest, ack_id: &Value) {
    let body = json!({"ackIds": [ack_id]});
    let (status, reply) = rest
        .post(&format!("{SUBSCRIPTION}:acknowledge"), &body)
        .await;
    assert_eq!(status, 200, "{reply}");
}

#[tokio::test]
async fn published_dead_letter_is_pulled_with_its_attributes_and_acknowledged() {
    let (_emulator, rest) = start(Duration::from_secs(10)).await;

    let id = publish(&rest, "eyJ0YXNrIjoiazEifQ==").await;
    let received = pull(&rest, false).await;

    assert_eq!(received.len(), 1);
    let message = &received[0]["message"];
    assert_eq!(message["messageId"], id.as_str());
    assert_eq!(message["data"], "eyJ0YXNrIjoiazEifQ==");
    assert_eq!(message["attributes"]["task_key"], "k1");
    assert!(message["publishTime"].as_str().unwrap().ends_with('Z'));
    ack(&rest, &received[0]["ackId"]).await;
    assert!(pull(&rest, true).await.is_empty());
    let stats = rest.stats().await;
    assert_eq!(stats.topics["summarize-dead-letters"].published, 1);
    assert_eq!(
        stats.subscriptions["summarize-dead-letters-sub"].acknowledged,
        1
    );
}

#[tokio::test]
async fn unacked_message_is_redelivered_after_the_ack_deadline() {
    let deadline = Duration::from_millis(300);
    let (_emulator, rest) = start(deadline).await;
    let id = publish(&rest, "AQID").await;

    let first = pull(&rest, false).await;
    let pulled_at = Instant::now();
    let mut again = Vec::new();
    let give_up = pulled_at + Duration::from_secs(10);
    while again.is_empty() {
        assert!(Instant::now() < give_up, "message never redelivered");
        again = pull(&rest, false).await;
    }

    assert!(pulled_at.elapsed() >= deadline - Duration::from_millis(20));
    assert_eq!(again[0]["message"]["messageId"], id.as_str());
    assert_ne!(again[0]["ackId"], first[0]["ackId"]);
    ack(&rest, &first[0]["ackId"]).await;
    ack(&rest, &again[0]["ackId"]).await;
    let stats = rest.stats().await;
    let sub = &stats.subscriptions["summarize-dead-letters-sub"];
    assert_eq!((sub.acknowledged, sub.outstanding, sub.backlog), (1, 0, 0));
}

#[tokio::test]
async fn zero_ack_deadline_hands_a_message_back_at_once() {
    let (_emulator, rest) = start(Duration::from_secs(600)).await;
    let id = publish(&rest, "AQID").await;
    let first = pull(&rest, false).await;

    let body = json!({"ackIds": [first[0]["ackId"]], "ackDeadlineSeconds": 0});
    let (status, _) = rest
        .post(&format!("{SUBSCRIPTION}:modifyAckDeadline"), &body)
        .await;
    assert_eq!(status, 200);

    let again = pull(&rest, true).await;
    assert_eq!(again[0]["message"]["messageId"], id.as_str());
}

#[tokio::test]
async fn unknown_topic_and_empty_messages_are_refused() {
    let (_emulator, rest) = start(Duration::from_secs(10)).await;
    let body = json!({"messages": [{"data": "AQID"}]});

    let (status, reply) = rest
        .post("/v1/projects/local/topics/nope:publish", &body)
        .await;
    assert_eq!(status, 404);
    assert_eq!(reply["error"]["status"], "NOT_FOUND");
    let (status, reply) = rest
        .post(&format!("{TOPIC}:publish"), &json!({"messages": [{}]}))
        .await;
    assert_eq!(status, 400);
    assert_eq!(reply["error"]["status"], "INVALID_ARGUMENT");
}
