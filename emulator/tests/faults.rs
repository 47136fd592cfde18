//! Fault injection: duplicate deliveries, delayed duplicates and answers
//! lost after the handler finished.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::{Rest, Sink, spec};
use tasklane_emulator::{Emulator, EmulatorBuilder};

async fn start(builder: EmulatorBuilder) -> (tasklane_emulator::EmulatorHandle, Rest) {
    let emulator = builder.seed(7).start("127.0.0.1:0").await.unwrap();
    let rest = Rest::new(&emulator.base_url());
    (emulator, rest)
}

#[tokio::test]
async fn duplicate_probability_one_delivers_every_attempt_twice() {
    let builder = Emulator::builder()
        .spec(spec("dups"))
        .duplicate_probability(1.0);
    let (emulator, rest) = start(builder).await;
    let mut sink = Sink::answering(200).await;

    for name in ["a", "b", "c"] {
        rest.push(&emulator.queue_path("dups"), &sink.url("/t"), Some(name))
            .await;
    }
    let deliveries = sink.take(6).await;

    let mut per_task: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
    for delivery in &deliveries {
        per_task
            .entry(delivery.task_name())
            .or_default()
            .push(delivery.retry_count());
    }
    let expected: BTreeMap<&str, Vec<u32>> = ["a", "b", "c"]
        .into_iter()
        .map(|n| (n, vec![0, 0]))
        .collect();
    assert_eq!(per_task, expected);
    let stats = rest
        .wait_for_stats("success", |s| s.queues["dups"].succeeded == 3)
        .await;
    assert_eq!(stats.queues["dups"].duplicates_delivered, 3);
    assert_eq!(stats.queues["dups"].dispatched, 3);
}

#[tokio::test]
async fn delayed_duplicate_arrives_after_its_delay() {
    let delay = Duration::from_millis(300);
    let builder = Emulator::builder()
        .spec(spec("late"))
        .duplicate_probability(1.0)
        .duplicate_delay(delay);
    let (emulator, rest) = start(builder).await;
    let mut sink = Sink::answering(200).await;

    rest.push(&emulator.queue_path("late"), &sink.url("/t"), Some("once"))
        .await;
    let deliveries = sink.take(2).await;

    assert_eq!(deliveries[0].task_name(), deliveries[1].task_name());
    assert!(deliveries[1].at - deliveries[0].at >= delay);
}

#[tokio::test]
async fn lost_answer_is_retried_although_the_handler_succeeded() {
    let mut queue = spec("lossy");
    queue.retry.max_attempts = 3;
    let builder = Emulator::builder()
        .spec(queue)
        .time_scale(100.0)
        .drop_response_probability(1.0);
    let (emulator, rest) = start(builder).await;
    let mut sink = Sink::answering(200).await;

    rest.push(&emulator.queue_path("lossy"), &sink.url("/t"), None)
        .await;
    let stats = rest
        .wait_for_stats("deletion", |s| {
            s.queues["lossy"].deleted_after_max_attempts == 1
        })
        .await;

    let deliveries = sink.take(3).await;
    let reasons: Vec<Option<&str>> = deliveries
        .iter()
        .map(|d| d.header("x-cloudtasks-taskretryreason"))
        .collect();
    assert_eq!(
        reasons,
        [None, Some("RESPONSE_LOST"), Some("RESPONSE_LOST")]
    );
    let queue = &stats.queues["lossy"];
    assert_eq!(
        (
            queue.succeeded,
            queue.responses_dropped,
            queue.failed_attempts
        ),
        (0, 3, 3)
    );
}
