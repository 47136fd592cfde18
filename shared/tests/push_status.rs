//! The push adapter's status table, one row per test, over real HTTP and a
//! real Postgres.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod push_support;

use push_support::{Harness, MAX_ATTEMPTS, Mode, send};
use serde_json::json;
use tasklane::db::{self, PoolSettings};
use tasklane::task::TaskStatus;
use tasklane::testing::TestDb;
use tasklane::{Context, ErrorKind};

#[tokio::test]
async fn completed_push_answers_200_with_the_result() {
    let h = Harness::start().await;

    let answer = send(h.push_task("m-1", Mode::Ok)).await;

    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        json!({"status": "completed", "key": "testfn:m-1",
               "result": {"meeting_id": "m-1", "run": 1}})
    );
    assert_eq!(answer.header("idempotent-replay"), None);
    assert_eq!(h.effects().await, [("m-1".to_owned(), 1)]);
}

#[tokio::test]
async fn repeated_push_replays_the_stored_result_without_running_the_core() {
    let h = Harness::start().await;
    let first = send(h.push_task("m-1", Mode::Ok)).await;

    let again = send(h.push_task("m-1", Mode::Ok)).await;

    assert_eq!(again.status, 200);
    assert_eq!(again.header("idempotent-replay"), Some("true"));
    assert_eq!(again.body, first.body);
    assert_eq!(h.probe.runs(), 1);
    assert_eq!(h.effects().await.len(), 1);
}

#[tokio::test]
async fn push_while_another_delivery_holds_the_lease_answers_409_with_retry_after() {
    let h = Harness::start().await;
    let holder = tokio::spawn(send(h.push_task("m-1", Mode::Block)));
    h.probe.started().await;

    let second = send(h.push_task("m-1", Mode::Block)).await;

    assert_eq!(second.status, 409);
    assert_eq!(second.body, json!({"status": "retry", "error": "busy"}));
    let wait: u64 = second.header("retry-after").unwrap().parse().unwrap();
    assert!(
        wait >= 1,
        "Retry-After must be a positive number of seconds"
    );
    assert_eq!(h.probe.runs(), 1);
    h.probe.open(1);
    assert_eq!(holder.await.unwrap().status, 200);
}

#[tokio::test]
async fn push_past_the_concurrency_limit_answers_429_at_once() {
    let h = Harness::start_with(|config| config.concurrency(1)).await;
    let holder = tokio::spawn(send(h.push_task("m-1", Mode::Block)));
    h.probe.started().await;

    let refused = send(h.push_task("m-2", Mode::Ok)).await;

    assert_eq!(refused.status, 429);
    assert_eq!(refused.header("retry-after"), Some("1"));
    assert_eq!(refused.body, json!({"error": "overloaded"}));
    assert!(
        h.task("m-2").await.is_none(),
        "the refused push must not become a task"
    );
    h.probe.open(1);
    assert_eq!(holder.await.unwrap().status, 200);
    assert_eq!(send(h.push_task("m-2", Mode::Ok)).await.status, 200);
}

#[tokio::test]
async fn downstream_rate_limit_answers_429_with_its_retry_after() {
    let h = Harness::start().await;

    let answer = send(h.push_task("m-1", Mode::RateLimited)).await;

    assert_eq!(answer.status, 429);
    assert_eq!(answer.header("retry-after"), Some("7"));
    assert_eq!(
        answer.body,
        json!({"status": "retry", "error": "rate_limited"})
    );
    let task = h.task("m-1").await.unwrap();
    assert_eq!(task.status, TaskStatus::Pending);
}

#[tokio::test]
async fn unreachable_postgres_answers_503_with_retry_after() {
    let db = TestDb::new().await;
    let nowhere = PoolSettings::for_url("postgres://postgres@127.0.0.1:1/nowhere");
    let ctx = Context::new(db::pool(&nowhere).unwrap());
    let h = Harness::start_on(db, ctx, |config| config).await;

    let answer = send(h.push_task("m-1", Mode::Ok)).await;

    assert_eq!(answer.status, 503);
    assert!(answer.header("retry-after").is_some());
    assert_eq!(
        answer.body,
        json!({"status": "retry", "error": "unavailable"})
    );
    assert_eq!(h.probe.runs(), 0);
}

#[tokio::test]
async fn transient_core_failure_answers_500_and_hands_the_task_back() {
    let h = Harness::start().await;

    let answer = send(h.push_task("m-1", Mode::Transient)).await;

    assert_eq!(answer.status, 500);
    assert_eq!(
        answer.body,
        json!({"status": "retry", "error": "transient"})
    );
    let task = h.task("m-1").await.unwrap();
    assert_eq!(task.status, TaskStatus::Pending);
    assert!(!task.leased);
}

#[tokio::test]
async fn panicking_core_answers_500_and_the_next_delivery_claims_at_once() {
    let h = Harness::start().await;

    let answer = send(h.push_task("m-1", Mode::Panic)).await;

    assert_eq!(answer.status, 500);
    assert_eq!(h.task("m-1").await.unwrap().status, TaskStatus::Pending);
    let retry = send(h.push_task("m-1", Mode::Panic)).await;
    assert_eq!(
        retry.status, 500,
        "a released task is claimed, not refused as busy"
    );
    assert_eq!(h.probe.runs(), 2);
}

#[tokio::test]
async fn permanent_core_failure_is_dead_lettered_and_answered_200() {
    let h = Harness::start().await;

    let answer = send(h.push_task("m-1", Mode::Permanent)).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "dead_lettered");
    assert_eq!(answer.body["error"], "permanent");
    assert_eq!(answer.body["key"], "testfn:m-1");
    let letters = h.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(answer.body["dead_letter_id"], json!(letters_id(&h).await));
    assert_eq!(h.task("m-1").await.unwrap().status, TaskStatus::Dead);
}

async fn letters_id(h: &Harness) -> i64 {
    let client = h.db.pool().get().await.unwrap();
    client
        .query_one("SELECT max(id) FROM dead_letters", &[])
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn already_dead_key_answers_200_dead_lettered_without_running_the_core() {
    let h = Harness::start().await;
    send(h.push_task("m-1", Mode::Permanent)).await;

    let again = send(h.push_task("m-1", Mode::Permanent)).await;

    assert_eq!(again.status, 200);
    assert_eq!(again.body["status"], "dead_lettered");
    assert_eq!(h.probe.runs(), 1);
    assert_eq!(h.dead_letters().await.len(), 1);
}

#[tokio::test]
async fn payload_that_does_not_fit_the_input_is_dead_lettered_and_answered_200() {
    let h = Harness::start().await;

    let answer = send(h.push(&json!({"meeting_id": 42}))).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "dead_lettered");
    assert_eq!(answer.body["error"], "invalid_input");
    let letters = h.dead_letters().await;
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0].key, None);
    assert_eq!(letters[0].payload, Some(json!({"meeting_id": 42})));
    assert_eq!(h.probe.runs(), 0);
}

#[tokio::test]
async fn input_without_a_key_is_dead_lettered_and_answered_200() {
    let h = Harness::start().await;

    let answer = send(h.push_task("", Mode::Ok)).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "dead_lettered");
    assert_eq!(answer.body["error"], "invalid_input");
    assert_eq!(h.probe.runs(), 0);
}

#[tokio::test]
async fn payload_conflict_is_dead_lettered_and_answered_200() {
    let h = Harness::start().await;
    send(h.push_task("m-1", Mode::Ok)).await;

    let conflicting = send(h.push_task("m-1", Mode::Transient)).await;

    assert_eq!(conflicting.status, 200);
    assert_eq!(conflicting.body["status"], "dead_lettered");
    assert_eq!(
        conflicting.body["error"],
        ErrorKind::PayloadConflict.as_str()
    );
    assert_eq!(h.probe.runs(), 1);
    assert_eq!(h.task("m-1").await.unwrap().status, TaskStatus::Completed);
}

#[tokio::test]
async fn final_attempt_retryable_failure_is_dead_lettered_with_its_headers() {
    let h = Harness::start().await;
    let last_retry = (MAX_ATTEMPTS - 1).to_string();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    let answer = send(h.push_task_with(
        "m-1",
        Mode::Transient,
        &[
            ("x-cloudtasks-taskretrycount", &last_retry),
            ("traceparent", traceparent),
        ],
    ))
    .await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "dead_lettered");
    assert_eq!(answer.body["error"], "transient");
    let letters = h.dead_letters().await;
    assert_eq!(letters.len(), 1);
    let letter = &letters[0];
    assert_eq!(letter.key.as_deref(), Some("testfn:m-1"));
    assert_eq!(
        letter.delivery["x-cloudtasks-taskretrycount"],
        json!(last_retry)
    );
    assert_eq!(
        letter.delivery["x-cloudtasks-queuename"],
        json!(push_support::QUEUE)
    );
    assert_eq!(
        letter.trace_id.as_deref(),
        Some("4bf92f3577b34da6a3ce929d0e0e4736")
    );
    assert_eq!(h.task("m-1").await.unwrap().status, TaskStatus::Dead);
}

#[tokio::test]
async fn retryable_failure_before_the_final_attempt_is_not_dead_lettered() {
    let h = Harness::start().await;
    let before_last = (MAX_ATTEMPTS - 2).to_string();

    let answer = send(h.push_task_with(
        "m-1",
        Mode::Transient,
        &[("x-cloudtasks-taskretrycount", &before_last)],
    ))
    .await;

    assert_eq!(answer.status, 500);
    assert!(h.dead_letters().await.is_empty());
}

#[tokio::test]
async fn oversized_declared_body_answers_413_without_running_the_core() {
    let h = Harness::start_with(|config| config.max_body_bytes(64)).await;
    let big = json!({"meeting_id": "m-1", "padding": "x".repeat(100)});

    let answer = send(h.push(&big)).await;

    assert_eq!(answer.status, 413);
    assert_eq!(answer.body, json!({"error": "payload_too_large"}));
    assert_eq!(h.probe.runs(), 0);
}

#[tokio::test]
async fn oversized_streamed_body_answers_413_while_reading() {
    let h = Harness::start_with(|config| config.max_body_bytes(64)).await;
    let big = json!({"meeting_id": "m-1", "padding": "x".repeat(100)}).to_string();

    let status = push_support_chunked::post_chunked(&h, big.into_bytes()).await;

    assert_eq!(status, 413);
    assert_eq!(h.probe.runs(), 0);
}

#[tokio::test]
async fn wrong_content_type_answers_415() {
    let h = Harness::start().await;

    let answer = send(h.push_task_with("m-1", Mode::Ok, &[("content-type", "text/plain")])).await;

    assert_eq!(answer.status, 415);
    assert_eq!(answer.body, json!({"error": "unsupported_media_type"}));
    assert_eq!(h.probe.runs(), 0);
}

#[tokio::test]
async fn json_with_a_utf8_charset_is_accepted() {
    let h = Harness::start().await;

    let answer = send(h.push_task_with(
        "m-1",
        Mode::Ok,
        &[("content-type", "application/json; charset=utf-8")],
    ))
    .await;

    assert_eq!(answer.status, 200);
}

#[tokio::test]
async fn malformed_json_answers_400_and_never_becomes_a_task() {
    let h = Harness::start().await;

    let answer = send(h.request("{\"meeting_id\": ", &[])).await;

    assert_eq!(answer.status, 400);
    assert_eq!(answer.body, json!({"error": "malformed_json"}));
    assert!(h.dead_letters().await.is_empty());
    assert_eq!(h.probe.runs(), 0);
}

#[tokio::test]
async fn invalid_utf8_answers_400() {
    let h = Harness::start().await;
    let body = b"{\"meeting_id\": \"m-\xff\"}".to_vec();

    let answer = send(h.request(body, &[])).await;

    assert_eq!(answer.status, 400);
    assert_eq!(answer.body, json!({"error": "invalid_utf8"}));
    assert_eq!(h.probe.runs(), 0);
}

#[tokio::test]
async fn unknown_route_answers_404() {
    let h = Harness::start().await;

    let answer = send(h.client.post(format!("{}/tasks/other", h.base))).await;

    assert_eq!(answer.status, 404);
    assert_eq!(answer.body, json!({"error": "not_found"}));
}

#[tokio::test]
async fn wrong_method_answers_405_with_allow() {
    let h = Harness::start().await;

    let answer = send(h.client.get(h.push_url())).await;

    assert_eq!(answer.status, 405);
    assert_eq!(answer.header("allow"), Some("POST"));
}

#[tokio::test]
async fn healthz_answers_200() {
    let h = Harness::start().await;

    let answer = send(h.client.get(format!("{}/healthz", h.base))).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, json!({"status": "ok"}));
}

#[tokio::test]
async fn readyz_answers_200_when_postgres_is_migrated() {
    let h = Harness::start().await;

    let answer = send(h.client.get(format!("{}/readyz", h.base))).await;

    assert_eq!(answer.status, 200);
    assert_eq!(answer.body, json!({"status": "ready"}));
}

#[tokio::test]
async fn readyz_answers_503_when_postgres_is_unreachable() {
    let db = TestDb::new().await;
    let nowhere = PoolSettings::for_url("postgres://postgres@127.0.0.1:1/nowhere");
    let ctx = Context::new(db::pool(&nowhere).unwrap());
    let h = Harness::start_on(db, ctx, |config| config).await;

    let answer = send(h.client.get(format!("{}/readyz", h.base))).await;

    assert_eq!(answer.status, 503);
    assert_eq!(answer.body, json!({"status": "unavailable"}));
}

#[tokio::test]
async fn h2c_push_is_served_like_http1() {
    let h = Harness::start().await;
    let body = json!({"meeting_id": "m-h2", "mode": "ok"}).to_string();

    let (status, bytes) = push_support_chunked::post_h2c(&h, body.into_bytes()).await;

    assert_eq!(status, 200);
    let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(answer["status"], "completed");
    assert_eq!(h.probe.runs(), 1);
}

/// Raw hyper clients for what reqwest (as configured here) does not send: a
/// chunked body without `Content-Length`, and HTTP/2 with prior knowledge.
mod push_support_chunked {
    use bytes::Bytes;
    use futures::stream;
    use http_body_util::{BodyExt, Full, StreamBody};
    use hyper::body::Frame;
    use hyper_util::rt::{TokioExecutor, TokioIo};

    use super::Harness;

    fn request<B>(h: &Harness, body: B) -> hyper::Request<B> {
        hyper::Request::post(h.push_url())
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", h.token()))
            .header("x-cloudtasks-queuename", super::push_support::QUEUE)
            .header("x-cloudtasks-taskretrycount", "0")
            .body(body)
            .unwrap()
    }

    pub(super) async fn post_chunked(h: &Harness, body: Vec<u8>) -> u16 {
        let stream = tokio::net::TcpStream::connect(h.running().local_addr())
            .await
            .unwrap();
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .unwrap();
        tokio::spawn(conn);
        let chunks: Vec<Result<Frame<Bytes>, std::convert::Infallible>> = body
            .chunks(16)
            .map(|chunk| Ok(Frame::data(Bytes::copy_from_slice(chunk))))
            .collect();
        let body = StreamBody::new(stream::iter(chunks));
        let response = sender.send_request(request(h, body)).await.unwrap();
        response.status().as_u16()
    }

    pub(super) async fn post_h2c(h: &Harness, body: Vec<u8>) -> (u16, Bytes) {
        let stream = tokio::net::TcpStream::connect(h.running().local_addr())
            .await
            .unwrap();
        let (mut sender, conn) =
            hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream))
                .await
                .unwrap();
        tokio::spawn(conn);
        let response = sender
            .send_request(request(h, Full::new(Bytes::from(body))))
            .await;
        let response = response.unwrap();
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (status, bytes)
    }
}
