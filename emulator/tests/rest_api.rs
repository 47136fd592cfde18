//! The Cloud Tasks REST surface: resource shapes, enum encodings, views,
//! paging and Google's error shape for bad requests.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Rest, spec};
use serde_json::{Value, json};
use tasklane_emulator::{Emulator, EmulatorHandle};

async fn start() -> (EmulatorHandle, Rest, String) {
    let emulator = Emulator::builder()
        .spec(spec("api"))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let rest = Rest::new(&emulator.base_url());
    let queue = emulator.queue_path("api");
    // Nothing is dispatched: these tests look at stored tasks only.
    rest.post(&format!("/v2/{queue}:pause"), &json!({})).await;
    (emulator, rest, queue)
}

#[tokio::test]
async fn queue_reflects_its_function_spec() {
    let (_emulator, rest, queue) = start().await;

    let (status, body) = rest.get(&format!("/v2/{queue}")).await;

    assert_eq!(status, 200);
    assert_eq!(body["name"], queue.as_str());
    assert_eq!(body["rateLimits"]["maxDispatchesPerSecond"], 500.0);
    assert_eq!(body["rateLimits"]["maxBurstSize"], 100);
    assert_eq!(body["rateLimits"]["maxConcurrentDispatches"], 100);
    assert_eq!(body["retryConfig"]["maxAttempts"], 5);
    assert_eq!(body["retryConfig"]["minBackoff"], "1s");
    assert_eq!(body["retryConfig"]["maxBackoff"], "10s");
    assert_eq!(body["retryConfig"]["maxDoublings"], 3);
    assert_eq!(body["state"], "PAUSED");
}

#[tokio::test]
async fn unknown_queue_is_not_found_in_googles_error_shape() {
    let (emulator, rest, _) = start().await;

    let missing = emulator.queue_path("missing");
    let (status, body) = rest
        .create_task(&missing, json!({"httpRequest": {"url": "http://x/"}}))
        .await;

    assert_eq!(status, 404);
    assert_eq!(body["error"]["code"], 404);
    assert_eq!(body["error"]["status"], "NOT_FOUND");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("missing")
    );
    let (status, _) = rest
        .get("/v2/projects/other/locations/us-central1/queues/api")
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn invalid_tasks_are_rejected_with_invalid_argument() {
    let (_emulator, rest, queue) = start().await;
    let other_queue = "projects/local/locations/us-central1/queues/other/tasks/a";
    let cases = [
        json!({}),
        json!({"httpRequest": {"url": "ftp://example.com/"}}),
        json!({"httpRequest": {"url": "http://x/", "body": "not base64!"}}),
        json!({"httpRequest": {"url": "http://x/", "httpMethod": "GET", "body": "AQID"}}),
        json!({"httpRequest": {"url": "http://x/", "httpMethod": 42}}),
        json!({"httpRequest": {"url": "http://x/"}, "dispatchDeadline": "5s"}),
        json!({"httpRequest": {"url": "http://x/"}, "scheduleTime": "tomorrow"}),
        json!({"httpRequest": {"url": "http://x/"}, "name": other_queue}),
        json!({"httpRequest": {"url": "http://x/"}, "name": format!("{queue}/tasks/a.b")}),
        json!({"httpRequest": {"url": "http://x/", "oidcToken": {}}}),
        json!({"httpRequest": {"url": "http://x/", "unknownField": 1}}),
        json!({"appEngineHttpRequest": {"relativeUri": "/"}}),
    ];

    for task in cases {
        let (status, body) = rest.create_task(&queue, task.clone()).await;
        assert_eq!(status, 400, "accepted {task}: {body}");
        assert_eq!(body["error"]["status"], "INVALID_ARGUMENT", "{body}");
    }
}

#[tokio::test]
async fn enums_are_read_as_names_or_numbers_and_written_as_asked() {
    let (_emulator, rest, queue) = start().await;
    let numeric = format!("/v2/{queue}/tasks?%24alt=json%3Benum-encoding%3Dint");
    let body =
        json!({"task": {"httpRequest": {"url": "http://x/", "httpMethod": 4}}, "responseView": 2});

    let (status, as_numbers) = rest.post(&numeric, &body).await;
    assert_eq!(status, 200, "{as_numbers}");
    assert_eq!(as_numbers["httpRequest"]["httpMethod"], 4);
    assert_eq!(as_numbers["view"], 2);

    let put = json!({"url": "http://x/", "httpMethod": "PUT"});
    let body = json!({"task": {"httpRequest": put}, "responseView": "FULL"});
    let (status, as_names) = rest.post(&format!("/v2/{queue}/tasks"), &body).await;
    assert_eq!(status, 200, "{as_names}");
    assert_eq!(as_names["httpRequest"]["httpMethod"], "PUT");
    assert_eq!(as_names["view"], "FULL");
}

#[tokio::test]
async fn full_view_returns_the_body_and_basic_view_leaves_it_out() {
    let (_emulator, rest, queue) = start().await;
    let task = rest
        .push(&queue, "http://127.0.0.1:9/t", Some("viewed"))
        .await;
    let name = task["name"].as_str().unwrap();

    let (_, basic) = rest.get(&format!("/v2/{name}")).await;
    let (_, full) = rest.get(&format!("/v2/{name}?responseView=FULL")).await;

    assert_eq!(basic["view"], "BASIC");
    assert_eq!(basic["httpRequest"].get("body"), None);
    assert_eq!(full["httpRequest"]["body"], "eyJtZWV0aW5nX2lkIjoibTEifQ==");
    assert_eq!(
        full["httpRequest"]["headers"]["Content-Type"],
        "application/json"
    );
    assert_eq!(full["dispatchDeadline"], "600s");
}

#[tokio::test]
async fn list_tasks_pages_through_every_task_once() {
    let (_emulator, rest, queue) = start().await;
    for i in 0..5 {
        rest.push(&queue, "http://127.0.0.1:9/t", Some(&format!("t{i}")))
            .await;
    }

    let mut seen = Vec::new();
    let mut token = String::new();
    loop {
        let (status, page) = rest
            .get(&format!("/v2/{queue}/tasks?pageSize=2&pageToken={token}"))
            .await;
        assert_eq!(status, 200, "{page}");
        let tasks = page["tasks"].as_array().unwrap();
        assert!(tasks.len() <= 2);
        seen.extend(tasks.iter().map(|t| {
            t["name"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
                .to_owned()
        }));
        match page.get("nextPageToken").and_then(Value::as_str) {
            Some(next) => token = next.to_owned(),
            None => break,
        }
    }

    assert_eq!(seen, ["t0", "t1", "t2", "t3", "t4"]);
}
