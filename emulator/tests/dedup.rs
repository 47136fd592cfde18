//! Task names stay reserved after their task is gone, for the dedup
//! window, and conflict with live tasks.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::{Rest, Sink, spec};
use serde_json::json;
use tasklane_emulator::Emulator;
use tokio::time::Instant;

#[tokio::test]
async fn task_name_is_reserved_for_the_dedup_window() {
    let window = Duration::from_millis(500);
    let emulator = Emulator::builder()
        .spec(spec("dedup"))
        .dedup_window(window)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let rest = Rest::new(&emulator.base_url());
    let mut sink = Sink::answering(200).await;
    let queue = emulator.queue_path("dedup");
    let task = json!({
        "name": format!("{queue}/tasks/meeting-42"),
        "httpRequest": {"url": sink.url("/t")},
    });

    let before_first = Instant::now();
    let (status, _) = rest.create_task(&queue, task.clone()).await;
    assert_eq!(status, 200);
    sink.next().await;
    rest.wait_for_stats("success", |s| s.queues["dedup"].succeeded == 1)
        .await;

    let (status, body) = rest.create_task(&queue, task.clone()).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], 409);
    assert_eq!(body["error"]["status"], "ALREADY_EXISTS");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("meeting-42")
    );

    let give_up = Instant::now() + Duration::from_secs(10);
    loop {
        let (status, _) = rest.create_task(&queue, task.clone()).await;
        if status == 200 {
            break;
        }
        assert_eq!(status, 409);
        assert!(
            Instant::now() < give_up,
            "name still reserved long after the window"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        before_first.elapsed() >= window,
        "name freed before the window passed"
    );
}

#[tokio::test]
async fn live_and_deleted_task_names_cannot_be_reused() {
    let emulator = Emulator::builder()
        .spec(spec("names"))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let rest = Rest::new(&emulator.base_url());
    let queue = emulator.queue_path("names");
    rest.post(&format!("/v2/{queue}:pause"), &json!({})).await;
    let name = format!("{queue}/tasks/t1");
    let task = json!({"name": name, "httpRequest": {"url": "http://127.0.0.1:9/"}});

    assert_eq!(rest.create_task(&queue, task.clone()).await.0, 200);
    assert_eq!(
        rest.create_task(&queue, task.clone()).await.0,
        409,
        "live name reused"
    );
    assert_eq!(rest.delete(&format!("/v2/{name}")).await.0, 200);
    assert_eq!(
        rest.create_task(&queue, task.clone()).await.0,
        409,
        "deleted name reused"
    );
    assert_eq!(rest.delete(&format!("/v2/{name}")).await.0, 404);
}
