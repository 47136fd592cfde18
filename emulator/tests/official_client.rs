//! Google's official Rust client (google-cloud-tasks-v2) against an
//! in-process emulator, unmodified but for the endpoint and anonymous
//! credentials.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;

use common::{Sink, spec};
use google_cloud_auth::credentials::anonymous::Builder as Anonymous;
use google_cloud_gax::error::rpc::Code;
use google_cloud_tasks_v2::client::CloudTasks;
use google_cloud_tasks_v2::model::{HttpMethod, HttpRequest, OidcToken, Task, queue, task};
use tasklane_emulator::{Emulator, EmulatorHandle};

async fn start() -> (EmulatorHandle, CloudTasks) {
    let emulator = Emulator::builder()
        .spec(spec("official"))
        .spec(spec("second"))
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let client = CloudTasks::builder()
        .with_endpoint(emulator.base_url())
        .with_credentials(Anonymous::new().build())
        .build()
        .await
        .unwrap();
    (emulator, client)
}

fn http_task(url: &str) -> HttpRequest {
    HttpRequest::new()
        .set_url(url)
        .set_http_method(HttpMethod::Post)
        .set_headers(HashMap::from([("Content-Type", "application/json")]))
        .set_body(bytes::Bytes::from_static(br#"{"meeting_id":"m1"}"#))
}

#[tokio::test]
async fn official_rust_client_creates_gets_lists_and_deletes_tasks() {
    let (emulator, client) = start().await;
    let parent = emulator.queue_path("official");
    client.pause_queue().set_name(&parent).send().await.unwrap();
    let name = format!("{parent}/tasks/meeting-m1");

    let created = client
        .create_task()
        .set_parent(&parent)
        .set_task(
            Task::new()
                .set_name(&name)
                .set_http_request(http_task("http://127.0.0.1:9/t")),
        )
        .set_response_view(task::View::Full)
        .send()
        .await
        .unwrap();
    assert_eq!(created.name, name);
    assert_eq!(created.view, task::View::Full);
    let request = created.http_request().unwrap();
    assert_eq!(request.http_method, HttpMethod::Post);
    assert_eq!(&request.body[..], br#"{"meeting_id":"m1"}"#);
    assert!(created.schedule_time.is_some() && created.create_time.is_some());
    assert_eq!(created.dispatch_deadline.unwrap().seconds(), 600);

    let fetched = client.get_task().set_name(&name).send().await.unwrap();
    assert_eq!(fetched.name, name);
    assert!(
        fetched.http_request().unwrap().body.is_empty(),
        "BASIC view returned the body"
    );

    let listed = client
        .list_tasks()
        .set_parent(&parent)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = listed.tasks.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, [name.as_str()]);

    client.delete_task().set_name(&name).send().await.unwrap();
    let listed = client
        .list_tasks()
        .set_parent(&parent)
        .send()
        .await
        .unwrap();
    assert!(listed.tasks.is_empty());
}

#[tokio::test]
async fn official_rust_client_sees_already_exists_and_not_found() {
    let (emulator, client) = start().await;
    let parent = emulator.queue_path("official");
    client.pause_queue().set_name(&parent).send().await.unwrap();
    let name = format!("{parent}/tasks/dup");
    let create = || {
        client
            .create_task()
            .set_parent(&parent)
            .set_task(
                Task::new()
                    .set_name(&name)
                    .set_http_request(http_task("http://127.0.0.1:9/")),
            )
            .send()
    };

    create().await.unwrap();
    let duplicate = create().await.unwrap_err();
    assert_eq!(
        duplicate.status().map(|s| s.code),
        Some(Code::AlreadyExists)
    );
    assert_eq!(duplicate.http_status_code(), Some(409));

    client.delete_task().set_name(&name).send().await.unwrap();
    let missing = client.get_task().set_name(&name).send().await.unwrap_err();
    assert_eq!(missing.status().map(|s| s.code), Some(Code::NotFound));
    let again = create().await.unwrap_err();
    assert_eq!(again.status().map(|s| s.code), Some(Code::AlreadyExists));
}

#[tokio::test]
async fn official_rust_client_lists_pauses_resumes_and_purges_queues() {
    let (emulator, client) = start().await;
    let parent = format!(
        "projects/{}/locations/{}",
        emulator.project(),
        emulator.location()
    );
    let name = emulator.queue_path("official");

    let queues = client
        .list_queues()
        .set_parent(&parent)
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = queues.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(
        names,
        [name.as_str(), emulator.queue_path("second").as_str()]
    );
    let fetched = client.get_queue().set_name(&name).send().await.unwrap();
    let limits = fetched.rate_limits.unwrap();
    assert_eq!(limits.max_dispatches_per_second, 500.0);
    assert_eq!(limits.max_concurrent_dispatches, 100);
    assert_eq!(limits.max_burst_size, 100);
    let retry = fetched.retry_config.unwrap();
    assert_eq!(retry.max_attempts, 5);
    assert_eq!(retry.min_backoff.unwrap().seconds(), 1);
    assert_eq!(fetched.state, queue::State::Running);

    let paused = client.pause_queue().set_name(&name).send().await.unwrap();
    assert_eq!(paused.state, queue::State::Paused);
    client
        .create_task()
        .set_parent(&name)
        .set_task(Task::new().set_http_request(http_task("http://127.0.0.1:9/")))
        .send()
        .await
        .unwrap();
    let purged = client.purge_queue().set_name(&name).send().await.unwrap();
    assert!(purged.purge_time.is_some());
    let listed = client.list_tasks().set_parent(&name).send().await.unwrap();
    assert!(listed.tasks.is_empty());
    let resumed = client.resume_queue().set_name(&name).send().await.unwrap();
    assert_eq!(resumed.state, queue::State::Running);
}

#[tokio::test]
async fn task_created_by_the_official_client_is_pushed_with_an_id_token() {
    let (emulator, client) = start().await;
    let mut sink = Sink::answering(200).await;
    let url = sink.url("/tasks/summarize");
    let oidc = OidcToken::new().set_service_account_email("invoker@local.iam.gserviceaccount.com");

    let created = client
        .create_task()
        .set_parent(emulator.queue_path("official"))
        .set_task(Task::new().set_http_request(http_task(&url).set_oidc_token(oidc)))
        .send()
        .await
        .unwrap();
    let delivery = sink.next().await;

    let id = created.name.rsplit('/').next().unwrap();
    assert_eq!(delivery.task_name(), id);
    assert_eq!(&delivery.body[..], br#"{"meeting_id":"m1"}"#);
    let authorization = delivery.header("authorization").unwrap();
    assert!(authorization.starts_with("Bearer ey"), "{authorization}");
}
