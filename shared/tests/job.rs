//! The batch runner: sharding, idempotency across executions, and the
//! report that decides the job's exit code.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use support::{Recorder, effects, failing, input, setup};
use tasklane::job::{JobReport, Shard, run_batch};

fn inputs(n: usize) -> Vec<support::Input> {
    (0..n).map(|i| input(&format!("m{i}"), "x")).collect()
}

#[test]
fn shards_partition_keys_so_every_key_has_exactly_one_owner() {
    let shards: Vec<Shard> = (0..4).map(|index| Shard { index, count: 4 }).collect();
    for i in 0..500 {
        let key = format!("rec:m{i}");
        let owners = shards.iter().filter(|s| s.owns(&key)).count();
        assert_eq!(owners, 1, "{key} has {owners} owners");
    }
    let used: BTreeSet<u32> = (0..500)
        .filter_map(|i| {
            shards
                .iter()
                .find(|s| s.owns(&format!("rec:m{i}")))
                .map(|s| s.index)
        })
        .collect();
    assert_eq!(used.len(), 4, "every shard gets work");
}

#[tokio::test]
async fn two_shards_together_complete_every_input_once() {
    let (_db, ctx) = setup().await;
    let op = Arc::new(Recorder::new(5));

    let first = run_batch(
        &ctx,
        Arc::clone(&op),
        inputs(40),
        Shard { index: 0, count: 2 },
        4,
    )
    .await;
    let second = run_batch(
        &ctx,
        Arc::clone(&op),
        inputs(40),
        Shard { index: 1, count: 2 },
        4,
    )
    .await;

    assert_eq!(first.completed + second.completed, 40);
    assert!(first.completed > 0 && second.completed > 0);
    assert_eq!(op.runs(), 40);
    for i in 0..40 {
        assert_eq!(
            effects(&ctx, &format!("m{i}")).await.len(),
            1,
            "m{i} committed once"
        );
    }
}

#[tokio::test]
async fn a_second_execution_replays_instead_of_rerunning() {
    let (_db, ctx) = setup().await;
    let op = Arc::new(Recorder::new(5));
    let all = Shard { index: 0, count: 1 };
    run_batch(&ctx, Arc::clone(&op), inputs(10), all, 3).await;

    let again = run_batch(&ctx, Arc::clone(&op), inputs(10), all, 3).await;

    assert_eq!(
        again,
        JobReport {
            replayed: 10,
            ..JobReport::default()
        }
    );
    assert_eq!(op.runs(), 10);
}

#[tokio::test]
async fn retryable_failures_are_reported_so_the_shard_is_retried() {
    let (_db, ctx) = setup().await;
    let op = Arc::new(Recorder::new(5));
    let batch = vec![
        input("ok", "x"),
        failing("later", "transient"),
        failing("never", "permanent"),
    ];

    let report = run_batch(&ctx, op, batch, Shard { index: 0, count: 1 }, 2).await;

    assert_eq!(
        report,
        JobReport {
            completed: 1,
            replayed: 0,
            dead_lettered: 1,
            retryable: 1
        }
    );
    assert!(report.has_retryable());
}
