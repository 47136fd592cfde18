//! Dispatch semantics over real loopback HTTP: retry schedule, retry
//! limits, concurrency cap, `Retry-After`, deadlines, headers, schedule
//! times and pausing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use common::{Reply, Rest, Sink, spec};
use serde_json::json;
use tasklane_emulator::{Emulator, EmulatorHandle};
use tokio::time::Instant;

async fn start(
    specs: Vec<tasklane::spec::FunctionSpec>,
    time_scale: f64,
) -> (EmulatorHandle, Rest) {
    let emulator = Emulator::builder()
        .specs(specs)
        .time_scale(time_scale)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let rest = Rest::new(&emulator.base_url());
    (emulator, rest)
}

#[tokio::test]
async fn backoff_schedule_follows_the_retry_formula() {
    // min 1 s, max 12 s, 2 doublings: 1, 2, 4, then +4 per retry: 8, 12.
    let expected_secs = [1.0, 2.0, 4.0, 8.0, 12.0];
    let mut queue = spec("backoff");
    queue.retry.max_attempts = 6;
    queue.retry.min_backoff_seconds = 1.0;
    queue.retry.max_backoff_seconds = 12.0;
    queue.retry.max_doublings = 2;
    let scale = 10.0;
    let (emulator, rest) = start(vec![queue], scale).await;
    let mut sink = Sink::answering(500).await;

    rest.push(&emulator.queue_path("backoff"), &sink.url("/t"), None)
        .await;
    let deliveries = sink.take(6).await;

    // Never early; late by less than the smallest step between two
    // backoffs (100 ms here), so a schedule one step off fails.
    let tolerance = Duration::from_millis(90);
    for (pair, secs) in deliveries.windows(2).zip(expected_secs) {
        let gap = pair[1].at - pair[0].at;
        let expected = Duration::from_secs_f64(secs / scale);
        assert!(gap >= expected, "gap {gap:?} shorter than {expected:?}");
        assert!(
            gap < expected + tolerance,
            "gap {gap:?} too long for {expected:?}"
        );
    }
    let counts: Vec<u32> = deliveries.iter().map(|d| d.retry_count()).collect();
    assert_eq!(counts, [0, 1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn task_is_deleted_after_max_attempts() {
    let mut queue = spec("limited");
    queue.retry.max_attempts = 3;
    let (emulator, rest) = start(vec![queue], 100.0).await;
    let mut sink = Sink::answering(500).await;

    let task = rest
        .push(&emulator.queue_path("limited"), &sink.url("/t"), None)
        .await;
    let stats = rest
        .wait_for_stats("deletion", |s| {
            s.queues["limited"].deleted_after_max_attempts == 1
        })
        .await;

    assert_eq!(stats.queues["limited"].dispatched, 3);
    assert_eq!(stats.queues["limited"].tasks, 0);
    assert_eq!(sink.take(3).await.len(), 3);
    assert!(
        sink.deliveries.try_recv().is_err(),
        "a fourth attempt was made"
    );
    let name = task["name"].as_str().unwrap();
    let (status, body) = rest.get(&format!("/v2/{name}")).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn max_retry_duration_keeps_retrying_past_max_attempts() {
    let mut queue = spec("aged");
    queue.retry.max_attempts = 2;
    queue.retry.max_retry_duration_seconds = 3;
    queue.retry.min_backoff_seconds = 1.0;
    queue.retry.max_backoff_seconds = 1.0;
    let scale = 10.0;
    let (emulator, rest) = start(vec![queue], scale).await;
    let mut sink = Sink::answering(503).await;

    rest.push(&emulator.queue_path("aged"), &sink.url("/t"), None)
        .await;
    let stats = rest
        .wait_for_stats("deletion", |s| {
            s.queues["aged"].deleted_after_max_attempts == 1
        })
        .await;

    let attempts = usize::try_from(stats.queues["aged"].dispatched).unwrap();
    assert!(
        attempts > 2,
        "stopped at max_attempts although the retry window was open"
    );
    let deliveries = sink.take(attempts).await;
    let window = Duration::from_secs_f64(3.0 / scale);
    let first = deliveries[0].at;
    let last = deliveries[attempts - 1].at - first;
    let before_last = deliveries[attempts - 2].at - first;
    assert!(
        before_last < window,
        "retried after the window closed: {before_last:?}"
    );
    let slack = Duration::from_millis(50);
    assert!(
        last + slack >= window,
        "gave up before the window closed: {last:?}"
    );
}

#[tokio::test]
async fn concurrency_cap_is_never_exceeded() {
    let mut queue = spec("capped");
    queue.rate_limits.max_concurrent_dispatches = 3;
    let (emulator, rest) = start(vec![queue], 1.0).await;
    let mut sink = Sink::start(|_| Reply::status(200).after(Duration::from_millis(20))).await;

    for _ in 0..30 {
        rest.push(&emulator.queue_path("capped"), &sink.url("/t"), None)
            .await;
    }
    sink.take(30).await;

    assert!(
        sink.peak_concurrency() <= 3,
        "peak {}",
        sink.peak_concurrency()
    );
    assert_eq!(
        sink.peak_concurrency(),
        3,
        "the cap was never reached, so nothing was tested"
    );
}

#[tokio::test]
async fn retry_after_delays_the_next_attempt_beyond_the_backoff() {
    let scale = 100.0;
    let (emulator, rest) = start(vec![spec("polite")], scale).await;
    let seen = Arc::new(AtomicU32::new(0));
    let mut sink = Sink::start(move |_| match seen.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::status(503).with_header("retry-after", "30"),
        _ => Reply::status(200),
    })
    .await;

    rest.push(&emulator.queue_path("polite"), &sink.url("/t"), None)
        .await;
    let deliveries = sink.take(2).await;

    // The backoff would be 1 s (10 ms real); Retry-After asks for 30 s.
    let gap = deliveries[1].at - deliveries[0].at;
    assert!(gap >= Duration::from_secs_f64(30.0 / scale), "gap {gap:?}");
    assert_eq!(
        deliveries[1].header("x-cloudtasks-taskpreviousresponse"),
        Some("503")
    );
    assert_eq!(
        deliveries[1].header("x-cloudtasks-taskretryreason"),
        Some("UNAVAILABLE")
    );
}

#[tokio::test]
async fn retry_after_http_date_delays_the_next_attempt() {
    let scale = 100.0;
    let (emulator, rest) = start(vec![spec("dated")], scale).await;
    let seen = Arc::new(AtomicU32::new(0));
    let mut sink = Sink::start(move |_| match seen.fetch_add(1, Ordering::SeqCst) {
        0 => {
            let at = SystemTime::now() + Duration::from_secs(30);
            Reply::status(429).with_header("retry-after", httpdate::fmt_http_date(at))
        }
        _ => Reply::status(200),
    })
    .await;

    rest.push(&emulator.queue_path("dated"), &sink.url("/t"), None)
        .await;
    let deliveries = sink.take(2).await;

    // The date has whole seconds, so it lies 29 to 30 s ahead.
    let gap = deliveries[1].at - deliveries[0].at;
    assert!(gap >= Duration::from_secs_f64(29.0 / scale), "gap {gap:?}");
    let reason = deliveries[1].header("x-cloudtasks-taskretryreason");
    assert_eq!(reason, Some("TOO_MANY_REQUESTS"));
}

#[tokio::test]
async fn too_many_requests_answers_slow_the_queue_down() {
    let (emulator, rest) = start(vec![spec("throttled")], 100.0).await;
    let seen = Arc::new(AtomicU32::new(0));
    let mut sink = Sink::start(move |_| {
        let n = seen.fetch_add(1, Ordering::SeqCst);
        Reply::status(if n < 3 { 429 } else { 200 })
    })
    .await;

    rest.push(&emulator.queue_path("throttled"), &sink.url("/t"), None)
        .await;
    sink.take(4).await;
    let stats = rest
        .wait_for_stats("success", |s| s.queues["throttled"].succeeded == 1)
        .await;

    // Three halvings of 500/s, and one success has won back only a little.
    let limit = stats.queues["throttled"].effective_rate_limit;
    assert!(
        limit < 500.0 / 4.0,
        "rate limit still {limit}/s after three 429s"
    );
}

#[tokio::test]
async fn dispatch_deadline_fails_a_slow_attempt_while_the_handler_runs_on() {
    let emulator = Emulator::builder()
        .spec(spec("slow"))
        .time_scale(100.0)
        .deadline_scale(30.0)
        .start("127.0.0.1:0")
        .await
        .unwrap();
    let rest = Rest::new(&emulator.base_url());
    let seen = Arc::new(AtomicU32::new(0));
    let mut sink = Sink::start(move |_| match seen.fetch_add(1, Ordering::SeqCst) {
        0 => Reply::status(200).after(Duration::from_secs(5)),
        _ => Reply::status(200),
    })
    .await;

    let task = json!({
        "httpRequest": {"url": sink.url("/t"), "httpMethod": "POST"},
        "dispatchDeadline": "15s",
    });
    let (status, body) = rest.create_task(&emulator.queue_path("slow"), task).await;
    assert_eq!(status, 200, "{body}");
    let deliveries = sink.take(2).await;

    // 15 s / 30 = 500 ms: the first handler is still working when the
    // retry arrives.
    let gap = deliveries[1].at - deliveries[0].at;
    assert!(gap >= Duration::from_millis(500), "gap {gap:?}");
    assert!(
        gap < Duration::from_secs(5),
        "waited for the slow handler: {gap:?}"
    );
    let retry = &deliveries[1];
    assert_eq!(
        retry.header("x-cloudtasks-taskretryreason"),
        Some("DEADLINE_EXCEEDED")
    );
    assert_eq!(retry.header("x-cloudtasks-taskexecutioncount"), Some("0"));
    assert_eq!(retry.header("x-cloudtasks-taskpreviousresponse"), None);
    rest.wait_for_stats("success", |s| s.queues["slow"].succeeded == 1)
        .await;
}

#[tokio::test]
async fn pushes_carry_cloud_tasks_headers_and_the_task_request() {
    let (emulator, rest) = start(vec![spec("headers")], 100.0).await;
    let mut sink = Sink::start({
        let seen = Arc::new(AtomicU32::new(0));
        move |_| match seen.fetch_add(1, Ordering::SeqCst) {
            0 => Reply::status(404),
            1 => Reply::status(500),
            _ => Reply::status(200),
        }
    })
    .await;

    let queue_path = emulator.queue_path("headers");
    let created_at = SystemTime::now();
    rest.push(
        &queue_path,
        &sink.url("/tasks/summarize"),
        Some("meeting-m1"),
    )
    .await;
    let d = sink.take(3).await;

    let first = &d[0];
    assert_eq!(first.method, "POST");
    assert_eq!(first.path, "/tasks/summarize");
    assert_eq!(first.header("user-agent"), Some("Google-Cloud-Tasks"));
    assert_eq!(first.header("content-type"), Some("application/json"));
    assert_eq!(first.header("x-cloudtasks-queuename"), Some("headers"));
    assert_eq!(first.task_name(), "meeting-m1");
    assert_eq!(first.header("x-cloudtasks-taskexecutioncount"), Some("0"));
    assert_eq!(first.header("x-cloudtasks-taskpreviousresponse"), None);
    assert_eq!(first.header("x-cloudtasks-taskretryreason"), None);
    assert_eq!(&first.body[..], br#"{"meeting_id":"m1"}"#);
    let eta: f64 = first
        .header("x-cloudtasks-tasketa")
        .unwrap()
        .parse()
        .unwrap();
    let created = created_at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!(
        (eta - created).abs() < 5.0,
        "eta {eta} far from creation {created}"
    );

    // A 404 reached the handler, so it counts as an execution; a 500 does
    // not.
    let counts = |i: usize, name: &str| d[i].header(name).map(str::to_owned);
    assert_eq!(
        counts(1, "x-cloudtasks-taskretrycount").as_deref(),
        Some("1")
    );
    assert_eq!(
        counts(1, "x-cloudtasks-taskexecutioncount").as_deref(),
        Some("1")
    );
    assert_eq!(
        counts(1, "x-cloudtasks-taskpreviousresponse").as_deref(),
        Some("404")
    );
    assert_eq!(
        counts(2, "x-cloudtasks-taskretrycount").as_deref(),
        Some("2")
    );
    assert_eq!(
        counts(2, "x-cloudtasks-taskexecutioncount").as_deref(),
        Some("1")
    );
    assert_eq!(
        counts(2, "x-cloudtasks-taskpreviousresponse").as_deref(),
        Some("500")
    );
    assert_eq!(
        counts(2, "x-cloudtasks-taskretryreason").as_deref(),
        Some("SERVER_ERROR")
    );
}

#[tokio::test]
async fn scheduled_task_waits_for_its_schedule_time() {
    let scale = 100.0;
    let (emulator, rest) = start(vec![spec("later")], scale).await;
    let mut sink = Sink::answering(200).await;

    let sent = Instant::now();
    let schedule = SystemTime::now() + Duration::from_secs(60);
    let schedule = time::OffsetDateTime::from(schedule)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let task = json!({
        "httpRequest": {"url": sink.url("/t")},
        "scheduleTime": schedule,
    });
    let (status, body) = rest.create_task(&emulator.queue_path("later"), task).await;
    assert_eq!(status, 200, "{body}");
    let delivery = sink.next().await;

    // 60 s at scale 100 is 600 ms; a few ms go to the request itself.
    let waited = delivery.at - sent;
    assert!(
        waited >= Duration::from_millis(590),
        "delivered after only {waited:?}"
    );
}

#[tokio::test]
async fn paused_queue_holds_tasks_until_resumed() {
    let (emulator, rest) = start(vec![spec("held"), spec("flowing")], 1.0).await;
    let mut sink = Sink::answering(200).await;
    let held = emulator.queue_path("held");

    let (status, queue) = rest.post(&format!("/v2/{held}:pause"), &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(queue["state"], "PAUSED");
    rest.push(&held, &sink.url("/held"), None).await;
    // A task created later on a running queue is delivered first.
    rest.push(&emulator.queue_path("flowing"), &sink.url("/flowing"), None)
        .await;
    assert_eq!(sink.next().await.path, "/flowing");
    assert_eq!(rest.stats().await.queues["held"].dispatched, 0);

    let (status, queue) = rest.post(&format!("/v2/{held}:resume"), &json!({})).await;
    assert_eq!(status, 200);
    assert_eq!(queue["state"], "RUNNING");
    assert_eq!(sink.next().await.path, "/held");
}

#[tokio::test]
async fn purge_deletes_every_task_and_reserves_their_names() {
    let (emulator, rest) = start(vec![spec("purged")], 1.0).await;
    let queue = emulator.queue_path("purged");
    rest.post(&format!("/v2/{queue}:pause"), &json!({})).await;
    for name in ["a", "b", "c"] {
        rest.push(&queue, "http://127.0.0.1:9/never", Some(name))
            .await;
    }

    let (status, body) = rest.post(&format!("/v2/{queue}:purge"), &json!({})).await;
    assert_eq!(status, 200);
    assert!(body["purgeTime"].is_string(), "{body}");
    let (_, listed) = rest.get(&format!("/v2/{queue}/tasks")).await;
    assert_eq!(listed, json!({}));
    let task =
        json!({"name": format!("{queue}/tasks/a"), "httpRequest": {"url": "http://127.0.0.1:9/"}});
    let (status, _) = rest.create_task(&queue, task).await;
    assert_eq!(status, 409);
}

#[tokio::test]
async fn body_bytes_reach_the_target_unchanged() {
    let (emulator, rest) = start(vec![spec("bytes")], 1.0).await;
    let mut sink = Sink::answering(200).await;
    let payload: Vec<u8> = (0..=255).collect();
    let task = json!({
        "httpRequest": {
            "url": sink.url("/raw"),
            "httpMethod": 4,
            "body": base64::engine::general_purpose::STANDARD.encode(&payload),
        }
    });

    let (status, body) = rest.create_task(&emulator.queue_path("bytes"), task).await;
    assert_eq!(status, 200, "{body}");
    let delivery = sink.next().await;

    assert_eq!(delivery.method, "PUT");
    assert_eq!(&delivery.body[..], &payload[..]);
}
