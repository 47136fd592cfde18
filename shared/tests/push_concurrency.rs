//! Concurrent and stale deliveries of one task: the core runs once, and a
//! delivery whose lease was taken over cannot commit.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod push_support;

use std::time::Duration;

use push_support::{FUNCTION, Harness, Mode, key_of, send, tally};
use serde_json::json;
use tasklane::Context;
use tasklane::db::{self, PoolSettings};
use tasklane::task::TaskStatus;
use tasklane::testing::TestDb;

#[tokio::test]
async fn fifty_concurrent_deliveries_run_the_core_once() {
    let db = TestDb::new().await;
    // Enough connections that no claim waits for one: this test is about
    // the claim, not the pool.
    let settings = PoolSettings {
        max_size: 64,
        wait: Duration::from_secs(30),
        ..PoolSettings::for_url(db.url())
    };
    let ctx = Context::new(db::pool(&settings).unwrap());
    let h = Harness::start_on(db, ctx, |config| config).await;

    let deliveries: Vec<_> = (0..50)
        .map(|_| tokio::spawn(send(h.push_task("m-1", Mode::Block))))
        .collect();
    h.probe.started().await;
    h.probe.open(1);
    let mut answers = Vec::new();
    for delivery in deliveries {
        answers.push(delivery.await.unwrap());
    }

    assert_eq!(h.probe.runs(), 1, "{:?}", tally(&answers));
    let first_runs = answers
        .iter()
        .filter(|a| a.status == 200 && a.header("idempotent-replay").is_none())
        .count();
    assert_eq!(first_runs, 1);
    for answer in &answers {
        let replay = answer.status == 200 && answer.body["result"]["run"] == json!(1);
        assert!(answer.status == 409 || replay, "{answer:?}");
    }
    assert_eq!(h.effects().await, [("m-1".to_owned(), 1)]);
}

#[tokio::test]
async fn stale_delivery_after_a_lease_takeover_cannot_commit() {
    let h = Harness::start().await;
    let stale = tokio::spawn(send(h.push_task("m-1", Mode::Block)));
    assert_eq!(h.probe.started().await, 1);
    expire_lease(&h, "m-1").await;
    let takeover = tokio::spawn(send(h.push_task("m-1", Mode::Block)));
    assert_eq!(h.probe.started().await, 2);

    h.probe.open(1);
    let stale = stale.await.unwrap();

    assert_eq!(stale.status, 409);
    assert_eq!(stale.body["error"], "lease_lost");
    assert!(stale.header("retry-after").is_some());
    assert!(
        h.effects().await.is_empty(),
        "the stale commit must roll back"
    );

    h.probe.open(1);
    let takeover = takeover.await.unwrap();
    assert_eq!(takeover.status, 200);
    assert_eq!(takeover.body["result"]["run"], 2);
    assert_eq!(h.effects().await, [("m-1".to_owned(), 2)]);
    let task = h.task("m-1").await.unwrap();
    assert_eq!(task.status, TaskStatus::Completed);
    assert_eq!(task.result.unwrap()["run"], 2);
}

/// What a stalled worker looks like from the outside: its lease ran out.
async fn expire_lease(h: &Harness, meeting_id: &str) {
    let client = h.db.pool().get().await.unwrap();
    let updated = client
        .execute(
            "UPDATE tasks SET lease_expires_at = now() - interval '1 second' \
             WHERE function = $1 AND key = $2 AND status = 'running'",
            &[&FUNCTION, &key_of(meeting_id).as_str()],
        )
        .await
        .unwrap();
    assert_eq!(updated, 1);
}
