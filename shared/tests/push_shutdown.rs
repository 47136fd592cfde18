//! Graceful shutdown in-process, through `RunningServer`: in-flight pushes
//! finish within the grace period; after it, unfinished tasks are handed
//! back to pending, claimable at once, and their pushes answered 503.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod push_support;

use std::time::Duration;

use push_support::{Harness, Input, Mode, Probe, TestOp, send};
use serde_json::json;
use tasklane::push::ShutdownReport;
use tasklane::runner::{self, Delivery, Outcome};
use tasklane::task::TaskStatus;

#[tokio::test]
async fn in_flight_push_finishes_within_the_grace_period() {
    let mut h = Harness::start_with(|c| c.shutdown_grace(Duration::from_secs(60))).await;
    let in_flight = tokio::spawn(send(h.push_task("m-1", Mode::Block)));
    h.probe.started().await;

    h.running().shutdown().await;
    let refused = tokio::net::TcpStream::connect(h.running().local_addr()).await;
    assert!(refused.is_err(), "no new connection after shutdown starts");
    h.probe.open(1);

    let answer = in_flight.await.unwrap();
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "completed");
    let report = h.join().await;
    assert_eq!(
        report,
        ShutdownReport {
            drained: true,
            released: 0
        }
    );
    assert_eq!(h.task("m-1").await.unwrap().status, TaskStatus::Completed);
}

#[tokio::test]
async fn unfinished_tasks_are_handed_back_after_the_grace_period() {
    let mut h = Harness::start_with(|c| c.shutdown_grace(Duration::ZERO)).await;
    let meetings = ["m-1", "m-2", "m-3"];
    let pushes: Vec<_> = meetings
        .iter()
        .map(|m| tokio::spawn(send(h.push_task(m, Mode::Block))))
        .collect();
    for _ in meetings {
        h.probe.started().await;
    }

    h.running().shutdown().await;
    let report = h.join().await;

    assert_eq!(
        report,
        ShutdownReport {
            drained: false,
            released: 3
        }
    );
    for push in pushes {
        let answer = push.await.unwrap();
        assert_eq!(answer.status, 503);
        assert_eq!(answer.body, json!({"error": "shutting_down"}));
        assert!(answer.header("retry-after").is_some());
    }
    for meeting in meetings {
        let task = h.task(meeting).await.unwrap();
        assert_eq!(task.status, TaskStatus::Pending, "{meeting}");
        assert!(!task.leased, "{meeting}");
    }
    assert!(h.effects().await.is_empty());
}

#[tokio::test]
async fn a_handed_back_task_is_claimed_at_once_by_the_next_delivery() {
    let mut h = Harness::start_with(|c| c.shutdown_grace(Duration::ZERO)).await;
    let push = tokio::spawn(send(h.push_task("m-1", Mode::Block)));
    h.probe.started().await;
    h.running().shutdown().await;
    h.join().await;
    assert_eq!(push.await.unwrap().status, 503);

    let next = Probe::new();
    next.open(1);
    let input = Input {
        meeting_id: "m-1".to_owned(),
        mode: Mode::Block,
    };
    let outcome = runner::execute(
        &h.db.context(),
        &TestOp::new(next),
        input,
        &Delivery::default(),
    )
    .await;

    assert!(
        matches!(outcome, Ok(Outcome::Completed { .. })),
        "{outcome:?}"
    );
    assert_eq!(h.task("m-1").await.unwrap().status, TaskStatus::Completed);
}
