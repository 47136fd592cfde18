//! The whole chain on the local stack: the official Cloud Tasks client
//! enqueues into the emulator, which pushes with real ID tokens to the real
//! function binaries; asr-postprocess asks for the summary through its
//! outbox; dead letters land on the emulator's Pub/Sub subscription.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::time::Duration;

use serde_json::json;
use tasklane::meetings;
use tasklane::testing::TestDb;
use tasklane_e2e::stack::Stack;
use tasklane_e2e::{enqueue, report};

const SETTLE: Duration = Duration::from_secs(120);

/// The meeting ids inside the sample files.
const RELEASE: &str = "atlas-release-3-8-planning";
const BROKEN: &str = "vendor-call-aws-export";

fn sample(name: &str) -> meetings::MeetingFile {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples")
        .join(name);
    meetings::parse_file(&std::fs::read_to_string(path).unwrap()).unwrap()
}

async fn start(db: &TestDb, samples: &[&str], emulator_args: &[&str]) -> Stack {
    let client = db.pool().get().await.unwrap();
    for name in samples {
        meetings::import(&**client, &sample(name)).await.unwrap();
    }
    let logs = std::env::temp_dir().join(format!("tasklane-e2e-{}", rand_suffix()));
    let specs = [asr_postprocess::spec(), summarize::spec()];
    Stack::start(db.url(), &specs, &logs, emulator_args)
        .await
        .unwrap()
}

fn rand_suffix() -> String {
    format!("{}-{:?}", std::process::id(), std::thread::current().id())
        .replace(|c: char| !c.is_ascii_alphanumeric(), "")
}

async fn push_asr(stack: &Stack, meeting: &str) {
    let tasks = enqueue::client(&stack.emulator_url).await.unwrap();
    let service = stack.service("asr-postprocess");
    let name = enqueue::task_id("asr-postprocess", meeting);
    enqueue::create(&tasks, service, &name, &json!({"meeting_id": meeting}))
        .await
        .unwrap();
}

async fn status_of(db: &TestDb, function: &str, meeting: &str) -> (String, i32) {
    let client = db.pool().get().await.unwrap();
    let row = client
        .query_one(
            "SELECT status::text, attempts FROM tasks
              WHERE function = $1 AND payload->>'meeting_id' = $2",
            &[&function, &meeting],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1))
}

async fn settle(db: &TestDb) {
    let client = db.pool().get().await.unwrap();
    report::wait_settled(&client, SETTLE).await.unwrap();
}

#[tokio::test]
async fn a_raw_recognizer_result_becomes_a_clean_transcript_and_then_a_summary() {
    let db = TestDb::new().await;
    let stack = start(&db, &["release-planning.json"], &[]).await;

    push_asr(&stack, RELEASE).await;
    settle(&db).await;

    assert_eq!(
        status_of(&db, "asr-postprocess", RELEASE).await.0,
        "completed"
    );
    assert_eq!(status_of(&db, "summarize", RELEASE).await.0, "completed");
    let client = db.pool().get().await.unwrap();
    let stats = report::transcript_stats(&client, RELEASE)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stats["speakers"], 4);
    let summary = report::summary(&client, RELEASE).await.unwrap().unwrap();
    assert!(!summary["action_items"].as_array().unwrap().is_empty());
    stack.stop().await;
}

#[tokio::test]
async fn every_push_delivered_twice_still_claims_and_commits_once() {
    let db = TestDb::new().await;
    let stack = start(
        &db,
        &["release-planning.json"],
        &["--duplicate-probability", "1"],
    )
    .await;

    push_asr(&stack, RELEASE).await;
    settle(&db).await;

    let (asr, asr_claims) = status_of(&db, "asr-postprocess", RELEASE).await;
    let (sum, sum_claims) = status_of(&db, "summarize", RELEASE).await;
    assert_eq!((asr.as_str(), asr_claims), ("completed", 1));
    assert_eq!((sum.as_str(), sum_claims), ("completed", 1));
    let stats: serde_json::Value = reqwest::get(format!("{}/stats", stack.emulator_url))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let duplicates = stats["queues"]["asr-postprocess"]["duplicates_delivered"].as_u64();
    assert!(
        duplicates.unwrap() >= 1,
        "the emulator really duplicated: {stats}"
    );
    stack.stop().await;
}

#[tokio::test]
async fn an_unreadable_recognizer_result_is_dead_lettered_and_published() {
    let db = TestDb::new().await;
    let stack = start(&db, &["broken-format.json"], &[]).await;

    push_asr(&stack, BROKEN).await;
    settle(&db).await;

    assert_eq!(status_of(&db, "asr-postprocess", BROKEN).await.0, "dead");
    let sub = &stack
        .service("asr-postprocess")
        .spec
        .dead_letter_subscription;
    let pulled = report::pull(&stack.emulator_url, sub, SETTLE)
        .await
        .unwrap();
    assert_eq!(pulled.len(), 1);
    assert_eq!(pulled[0].data["error_kind"], "permanent");
    assert!(
        pulled[0].data["reason"]
            .as_str()
            .unwrap()
            .contains("Whisper")
    );
    assert_eq!(pulled[0].attributes["function"], "asr-postprocess");
    stack.stop().await;
}
