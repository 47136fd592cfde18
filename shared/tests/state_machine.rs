//! The task state machine against real Postgres: claims, fencing, replays,
//! conflicts and dead letters, driven through `runner::execute`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use support::{Recorder, effects, failing, input, setup};
use tasklane::spec::RetryPolicy;
use tasklane::task::{self, TaskRef, TaskStatus};
use tasklane::{Context, Delivery, ErrorKind, Outcome, TaskKey, execute};

async fn row(ctx: &Context, id: &str) -> task::TaskRow {
    let key = TaskKey::from_parts(["rec", id]);
    let client = ctx.client().await.unwrap();
    let task = TaskRef {
        function: "rec",
        key: &key,
    };
    task::get(&client, &task)
        .await
        .unwrap()
        .expect("task row exists")
}

async fn count(ctx: &Context, sql: &str) -> i64 {
    let client = ctx.client().await.unwrap();
    client.query_one(sql, &[]).await.unwrap().get(0)
}

#[tokio::test]
async fn claim_on_a_new_key_runs_the_core_and_stores_the_result() {
    let (_db, ctx) = setup().await;
    let op = Recorder::new(5);

    let outcome = execute(&ctx, &op, input("a", "hello"), &Delivery::default())
        .await
        .unwrap();

    let Outcome::Completed {
        output,
        attempt,
        token,
    } = outcome
    else {
        panic!("expected completion, got {outcome:?}");
    };
    assert_eq!(output, "hello#1");
    assert_eq!(attempt, 1);
    assert_eq!(token.get(), 1);
    let stored = row(&ctx, "a").await;
    assert_eq!(stored.status, TaskStatus::Completed);
    assert_eq!(stored.token.get(), 1);
    assert_eq!(stored.result, Some(serde_json::json!("hello#1")));
    assert_eq!(effects(&ctx, "a").await, vec!["hello#1"]);
}

#[tokio::test]
async fn thirty_two_concurrent_claims_of_one_key_run_the_core_once() {
    let (_db, ctx) = setup().await;
    let op = Arc::new(Recorder::new(5));

    let attempts = (0..32).map(|_| {
        let (ctx, op) = (ctx.clone(), Arc::clone(&op));
        tokio::spawn(
            async move { execute(&ctx, &*op, input("one", "x"), &Delivery::default()).await },
        )
    });
    let results = futures::future::join_all(attempts).await;

    let mut completed = 0;
    for result in results {
        match result.unwrap() {
            Ok(Outcome::Completed { .. }) => completed += 1,
            Ok(Outcome::Replayed { output }) => assert_eq!(output, "x#1"),
            Err(err) => assert_eq!(err.kind(), ErrorKind::Busy, "unexpected {err:?}"),
            Ok(other) => panic!("unexpected outcome {other:?}"),
        }
    }
    assert_eq!(completed, 1);
    assert_eq!(op.runs(), 1);
    assert_eq!(effects(&ctx, "one").await, vec!["x#1"]);
}

#[tokio::test]
async fn reclaim_after_lease_expiry_bumps_the_token_and_the_stale_commit_rolls_back() {
    let (_db, ctx) = setup().await;
    let slow = Arc::new(Recorder::gated(5));
    let stale = {
        let (ctx, slow) = (ctx.clone(), Arc::clone(&slow));
        tokio::spawn(
            async move { execute(&ctx, &*slow, input("k", "old"), &Delivery::default()).await },
        )
    };
    slow.gate.as_ref().unwrap().entered.notified().await;

    let client = ctx.client().await.unwrap();
    client
        .execute(
            "UPDATE tasks SET lease_expires_at = now() - interval '1 second'",
            &[],
        )
        .await
        .unwrap();
    let fresh = Recorder::new(5);
    let taken = execute(&ctx, &fresh, input("k", "old"), &Delivery::default())
        .await
        .unwrap();
    assert!(
        matches!(taken, Outcome::Completed { attempt: 2, .. }),
        "{taken:?}"
    );
    assert_eq!(row(&ctx, "k").await.token.get(), 2);

    slow.gate.as_ref().unwrap().open.add_permits(1);
    let err = stale
        .await
        .unwrap()
        .expect_err("stale worker must not complete");

    assert_eq!(err.kind(), ErrorKind::LeaseLost);
    assert_eq!(
        effects(&ctx, "k").await,
        vec!["old#1"],
        "only the new holder's write stays"
    );
    assert_eq!(row(&ctx, "k").await.status, TaskStatus::Completed);
}

#[tokio::test]
async fn a_completed_key_replays_its_stored_result_without_running_the_core() {
    let (_db, ctx) = setup().await;
    let op = Recorder::new(5);
    execute(&ctx, &op, input("r", "first"), &Delivery::default())
        .await
        .unwrap();

    let replay = execute(&ctx, &op, input("r", "first"), &Delivery::default())
        .await
        .unwrap();

    assert!(
        matches!(&replay, Outcome::Replayed { output } if output == "first#1"),
        "{replay:?}"
    );
    assert_eq!(op.runs(), 1);
    assert_eq!(effects(&ctx, "r").await.len(), 1);
}

#[tokio::test]
async fn a_key_seen_again_with_another_payload_is_a_dead_lettered_conflict() {
    let (_db, ctx) = setup().await;
    let op = Recorder::new(5);
    execute(&ctx, &op, input("c", "first"), &Delivery::default())
        .await
        .unwrap();

    let conflict = execute(&ctx, &op, input("c", "second"), &Delivery::default())
        .await
        .unwrap();

    let Outcome::DeadLettered { error, .. } = conflict else {
        panic!("expected a dead letter, got {conflict:?}");
    };
    assert_eq!(error.kind(), ErrorKind::PayloadConflict);
    assert_eq!(op.runs(), 1, "the conflicting payload is never processed");
    assert_eq!(
        row(&ctx, "c").await.result,
        Some(serde_json::json!("first#1"))
    );
    let letters = count(
        &ctx,
        "SELECT count(*) FROM dead_letters WHERE error_kind = 'payload_conflict'",
    )
    .await;
    assert_eq!(letters, 1);
}

#[tokio::test]
async fn payload_field_order_does_not_change_the_hash() {
    let a = serde_json::json!({"id": "x", "text": "t", "nested": {"b": 1, "a": [1, 2]}});
    let b: serde_json::Value =
        serde_json::from_str(r#"{"nested":{"a":[1,2],"b":1},"text":"t","id":"x"}"#).unwrap();
    let c = serde_json::json!({"id": "x", "text": "u", "nested": {"b": 1, "a": [1, 2]}});

    assert_eq!(task::payload_hash(&a), task::payload_hash(&b));
    assert_ne!(task::payload_hash(&a), task::payload_hash(&c));
}

#[tokio::test]
async fn a_permanent_failure_is_dead_lettered_with_its_reason_and_an_outbox_message() {
    let (_db, ctx) = setup().await;
    let op = Recorder::new(5);

    let outcome = execute(&ctx, &op, failing("p", "permanent"), &Delivery::default())
        .await
        .unwrap();

    assert!(
        matches!(outcome, Outcome::DeadLettered { .. }),
        "{outcome:?}"
    );
    assert_eq!(row(&ctx, "p").await.status, TaskStatus::Dead);
    let client = ctx.client().await.unwrap();
    let letter = client
        .query_one(
            "SELECT reason, error_kind, attempts FROM dead_letters WHERE key = 'rec:p'",
            &[],
        )
        .await
        .unwrap();
    assert!(
        letter
            .get::<_, String>(0)
            .contains("the input can never work")
    );
    assert_eq!(letter.get::<_, String>(1), "permanent");
    assert_eq!(letter.get::<_, i32>(2), 1);
    let outbox = count(
        &ctx,
        "SELECT count(*) FROM outbox WHERE kind = 'pubsub' AND target = 'rec-dead-letters'",
    )
    .await;
    assert_eq!(outbox, 1);
    let again = execute(&ctx, &op, failing("p", "permanent"), &Delivery::default())
        .await
        .unwrap();
    assert!(matches!(again, Outcome::AlreadyDead { .. }), "{again:?}");
    assert_eq!(op.runs(), 1);
}

#[tokio::test]
async fn a_retryable_failure_hands_the_task_back_for_the_next_delivery() {
    let (_db, ctx) = setup().await;
    let op = Recorder::new(5);

    let err = execute(&ctx, &op, failing("t", "transient"), &Delivery::default())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Transient);
    let stored = row(&ctx, "t").await;
    assert_eq!(stored.status, TaskStatus::Pending);
    assert!(!stored.leased);
    assert!(stored.last_error.unwrap().contains("model timed out"));
    let retry = execute(&ctx, &op, failing("t", "transient"), &Delivery::default())
        .await
        .unwrap_err();
    assert_eq!(
        retry.kind(),
        ErrorKind::Transient,
        "the next delivery claims at once"
    );
    assert_eq!(op.runs(), 2);
}

#[tokio::test]
async fn a_retryable_failure_on_the_final_attempt_is_dead_lettered() {
    let (_db, ctx) = setup().await;
    let op = Recorder::new(3);
    let last = Delivery {
        attempt: Some(3),
        metadata: serde_json::json!({"X-CloudTasks-TaskRetryCount": "2"}),
        ..Delivery::default()
    };

    let outcome = execute(&ctx, &op, failing("f", "transient"), &last)
        .await
        .unwrap();

    assert!(
        matches!(outcome, Outcome::DeadLettered { .. }),
        "{outcome:?}"
    );
    assert_eq!(row(&ctx, "f").await.status, TaskStatus::Dead);
    let delivery = count(
        &ctx,
        "SELECT count(*) FROM dead_letters WHERE delivery->>'X-CloudTasks-TaskRetryCount' = '2'",
    )
    .await;
    assert_eq!(delivery, 1, "the dead letter keeps the delivery headers");
}

#[tokio::test]
async fn our_own_attempt_counter_also_ends_retries() {
    let (_db, ctx) = setup().await;
    let op = Recorder::new(2);

    let first = execute(&ctx, &op, failing("o", "transient"), &Delivery::default()).await;
    let second = execute(&ctx, &op, failing("o", "transient"), &Delivery::default())
        .await
        .unwrap();

    assert!(first.is_err());
    assert!(matches!(second, Outcome::DeadLettered { .. }), "{second:?}");
}

#[tokio::test]
async fn a_panicking_core_is_caught_and_its_lease_released() {
    let (_db, ctx) = setup().await;
    let op = Recorder::new(5);

    let err = execute(&ctx, &op, failing("x", "panic"), &Delivery::default())
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::Transient);
    assert!(err.message().contains("core exploded"));
    let stored = row(&ctx, "x").await;
    assert_eq!(stored.status, TaskStatus::Pending);
    assert!(ctx.in_flight().is_empty());
}

#[tokio::test]
async fn an_input_without_a_key_is_dead_lettered_without_a_task_row() {
    let (_db, ctx) = setup().await;
    let op = Recorder::new(5);

    let outcome = execute(&ctx, &op, input("", "x"), &Delivery::default())
        .await
        .unwrap();

    assert!(
        matches!(outcome, Outcome::DeadLettered { .. }),
        "{outcome:?}"
    );
    assert_eq!(op.runs(), 0);
    assert_eq!(count(&ctx, "SELECT count(*) FROM tasks").await, 0);
    assert_eq!(
        count(&ctx, "SELECT count(*) FROM dead_letters WHERE key IS NULL").await,
        1
    );
}

#[tokio::test]
async fn releasing_in_flight_claims_makes_them_claimable_at_once() {
    let (_db, ctx) = setup().await;
    let op = Arc::new(Recorder::gated(5));
    let running = {
        let (ctx, op) = (ctx.clone(), Arc::clone(&op));
        tokio::spawn(
            async move { execute(&ctx, &*op, input("s", "x"), &Delivery::default()).await },
        )
    };
    op.gate.as_ref().unwrap().entered.notified().await;

    let released = tasklane::runner::release_in_flight(&ctx).await.unwrap();

    assert_eq!(released, 1);
    assert_eq!(row(&ctx, "s").await.status, TaskStatus::Pending);
    op.gate.as_ref().unwrap().open.add_permits(1);
    let late = running.await.unwrap().unwrap_err();
    assert_eq!(
        late.kind(),
        ErrorKind::LeaseLost,
        "a released claim cannot commit"
    );
    let redelivered = execute(
        &ctx,
        &Recorder::new(5),
        input("s", "x"),
        &Delivery::default(),
    )
    .await;
    assert!(
        matches!(redelivered, Ok(Outcome::Completed { .. })),
        "{redelivered:?}"
    );
}

#[test]
fn backoff_follows_cloud_tasks_doubling_then_linear_growth() {
    let policy = RetryPolicy {
        max_attempts: 10,
        min_backoff_seconds: 10.0,
        max_backoff_seconds: 300.0,
        max_doublings: 3,
        max_retry_duration_seconds: 0,
    };
    let schedule: Vec<u64> = (1..=8).map(|n| policy.backoff(n).as_secs()).collect();
    assert_eq!(schedule, vec![10, 20, 40, 80, 160, 240, 300, 300]);
}

#[tokio::test]
async fn a_last_attempt_cut_short_by_shutdown_is_dead_lettered_not_stranded() {
    let (_db, ctx) = setup().await;
    let op = Arc::new(Recorder::gated(3));
    let last = Delivery {
        attempt: Some(3),
        metadata: serde_json::json!({"x-cloudtasks-taskretrycount": "2"}),
        ..Delivery::default()
    };
    let running = {
        let (ctx, op) = (ctx.clone(), Arc::clone(&op));
        tokio::spawn(async move { execute(&ctx, &*op, input("z", "x"), &last).await })
    };
    op.gate.as_ref().unwrap().entered.notified().await;

    let settled = tasklane::runner::release_in_flight(&ctx).await.unwrap();

    assert_eq!(settled, 1);
    assert_eq!(row(&ctx, "z").await.status, TaskStatus::Dead);
    let kept = count(
        &ctx,
        "SELECT count(*) FROM dead_letters
          WHERE key = 'rec:z' AND delivery->>'x-cloudtasks-taskretrycount' = '2'
            AND reason LIKE '%shutdown%'",
    )
    .await;
    assert_eq!(
        kept, 1,
        "the dead letter keeps the payload's delivery and the reason"
    );
    op.gate.as_ref().unwrap().open.add_permits(1);
    let late = running.await.unwrap().unwrap_err();
    assert_eq!(late.kind(), ErrorKind::LeaseLost);
}
