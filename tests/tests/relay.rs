//! The outbox relay against real Postgres, a Pub/Sub stand-in on loopback
//! that speaks Pub/Sub's REST shapes, and the emulator through the official
//! Cloud Tasks client.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use bytes::Bytes;
use google_cloud_auth::credentials::anonymous;
use google_cloud_gax::paginator::ItemPaginator as _;
use google_cloud_tasks_v2::client::CloudTasks;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tasklane::Context;
use tasklane::outbox::{self, TaskRequest};
use tasklane::relay::{Drained, Relay, RelaySettings};
use tasklane::runner::record_unclaimed;
use tasklane::spec::FunctionSpec;
use tasklane::task::DeadLetter;
use tasklane::testing::TestDb;
use tasklane_emulator::{Emulator, EmulatorHandle};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot, watch};

const TOPIC: &str = "summarize-dead-letters";
const SUBSCRIPTION: &str = "summarize-dead-letters-sub";
const INVOKER: &str = "tasks-invoker@tasklane-local.iam.gserviceaccount.com";
/// Bounds every wait on another party, so that a regression fails the test
/// instead of hanging it. Passing runs never come near it.
const GIVE_UP: Duration = Duration::from_secs(60);

const UNAVAILABLE: &str = r#"{"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}}"#;

/// One request as a stand-in server saw it.
#[derive(Debug, Clone)]
struct Seen {
    path: String,
    headers: HeaderMap,
    body: Bytes,
}

impl Seen {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

type Reply = Pin<Box<dyn Future<Output = (StatusCode, String)> + Send>>;

/// An HTTP server on 127.0.0.1:0 that records each request, then answers
/// it with `reply`.
struct StandIn {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl StandIn {
    async fn start<F>(reply: F) -> StandIn
    where
        F: Fn(Seen) -> Reply + Send + Sync + 'static,
    {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let reply = Arc::new(reply);
        let log = Arc::clone(&seen);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let (reply, log) = (Arc::clone(&reply), Arc::clone(&log));
                let service = service_fn(move |request: Request<Incoming>| {
                    let (reply, log) = (Arc::clone(&reply), Arc::clone(&log));
                    async move {
                        let seen = record(request, &log).await?;
                        let (status, body) = reply(seen).await;
                        Ok::<_, hyper::Error>(json_response(status, body))
                    }
                });
                tokio::spawn(http1::Builder::new().serve_connection(TokioIo::new(stream), service));
            }
        });
        StandIn { addr, seen }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

async fn record(request: Request<Incoming>, log: &Mutex<Vec<Seen>>) -> Result<Seen, hyper::Error> {
    let (parts, body) = request.into_parts();
    let seen = Seen {
        path: parts.uri.path().to_owned(),
        headers: parts.headers,
        body: body.collect().await?.to_bytes(),
    };
    log.lock().unwrap().push(seen.clone());
    Ok(seen)
}

fn json_response(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        "application/json".parse().unwrap(),
    );
    response
}

fn answer(status: StatusCode, body: &str) -> Reply {
    let body = body.to_owned();
    Box::pin(async move { (status, body) })
}

fn published(n: usize) -> String {
    json!({"messageIds": [format!("{}", 4000 + n)]}).to_string()
}

fn relay(vars: &[(&str, &str)]) -> Relay {
    let vars = vars.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    Relay::new(RelaySettings::from_vars(vars).unwrap()).unwrap()
}

fn pubsub_relay(endpoint: &str, extra: &[(&str, &str)]) -> Relay {
    let mut vars = vec![
        ("TASKLANE_PUBSUB_ENDPOINT", endpoint),
        ("GOOGLE_CLOUD_PROJECT", "test-project"),
    ];
    vars.extend_from_slice(extra);
    relay(&vars)
}

/// Dead-letter a delivery the way the runner does, which writes the outbox
/// row in the same transaction; returns (dead letter id, outbox row id).
async fn dead_letter(ctx: &Context, meeting: &str) -> (i64, i64) {
    let letter = DeadLetter {
        reason: "permanent: the prompt was blocked".to_owned(),
        error_kind: "permanent".to_owned(),
        ..DeadLetter::default()
    };
    let payload = json!({"meeting_id": meeting});
    let id = record_unclaimed(ctx, "summarize", TOPIC, None, Some(&payload), &letter)
        .await
        .unwrap();
    (id, outbox_id(ctx, &format!("dead-letter-{id}")).await)
}

async fn follow_up(ctx: &Context, meeting: &str) -> i64 {
    let request = TaskRequest {
        function: "summarize".to_owned(),
        task_name: format!("summarize-{meeting}"),
        payload: json!({"meeting_id": meeting}),
    };
    let mut client = ctx.client().await.unwrap();
    let tx = client.transaction().await.unwrap();
    outbox::enqueue_task(&tx, &request).await.unwrap();
    tx.commit().await.unwrap();
    outbox_id(ctx, &request.task_name).await
}

async fn outbox_id(ctx: &Context, dedup_key: &str) -> i64 {
    let client = ctx.client().await.unwrap();
    let row = client
        .query_one("SELECT id FROM outbox WHERE dedup_key = $1", &[&dedup_key])
        .await
        .unwrap();
    row.get(0)
}

/// An outbox row as stored.
#[derive(Debug)]
struct RowState {
    attempts: i32,
    last_error: Option<String>,
    sent: bool,
    due: bool,
}

async fn row_state(ctx: &Context, id: i64) -> RowState {
    let client = ctx.client().await.unwrap();
    let row = client
        .query_one(
            "SELECT attempts, last_error, sent_at IS NOT NULL, next_attempt_at <= now() \
               FROM outbox WHERE id = $1",
            &[&id],
        )
        .await
        .unwrap();
    RowState {
        attempts: row.get(0),
        last_error: row.get(1),
        sent: row.get(2),
        due: row.get(3),
    }
}

/// Time passing, without sleeping: the row's backoff or lease has run out.
async fn make_due(ctx: &Context, id: i64) {
    let client = ctx.client().await.unwrap();
    let sql = "UPDATE outbox SET next_attempt_at = now() WHERE id = $1";
    client.execute(sql, &[&id]).await.unwrap();
}

#[tokio::test]
async fn failed_publish_keeps_its_error_and_is_sent_once_its_backoff_is_due() {
    let db = TestDb::new().await;
    let ctx = db.context();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let pubsub = StandIn::start(move |_| match counter.fetch_add(1, Ordering::SeqCst) {
        0 => answer(StatusCode::SERVICE_UNAVAILABLE, UNAVAILABLE),
        n => answer(StatusCode::OK, &published(n)),
    })
    .await;
    let relay = pubsub_relay(&pubsub.url(), &[("TASKLANE_RELAY_MIN_BACKOFF_SECS", "30")]);
    let (_, row) = dead_letter(&ctx, "meeting-1").await;

    let first = relay.drain_once(&ctx).await.unwrap();
    let failed = row_state(&ctx, row).await;
    let early = relay.drain_once(&ctx).await.unwrap();
    let requests_before_due = pubsub.seen().len();
    make_due(&ctx, row).await;
    let due = relay.drain_once(&ctx).await.unwrap();
    let sent = row_state(&ctx, row).await;
    let after = relay.drain_once(&ctx).await.unwrap();

    assert_eq!(first, Drained { sent: 0, failed: 1 });
    assert!(
        !failed.sent && !failed.due,
        "kept, with a backoff: {failed:?}"
    );
    assert_eq!(failed.attempts, 1);
    let error = failed.last_error.unwrap();
    assert!(
        error.contains("503") && error.contains("UNAVAILABLE"),
        "{error}"
    );
    assert_eq!(early, Drained::default(), "not sent before its backoff");
    assert_eq!(requests_before_due, 1);
    assert_eq!(due, Drained { sent: 1, failed: 0 });
    assert!(sent.sent);
    assert_eq!(sent.attempts, 2);
    assert_eq!(after, Drained::default(), "a sent row is not sent again");
    assert_eq!(pubsub.seen().len(), 2);
}

#[tokio::test]
async fn publish_speaks_pubsub_rest_and_carries_the_dead_letter_id() {
    let db = TestDb::new().await;
    let ctx = db.context();
    let pubsub = StandIn::start(|_| answer(StatusCode::OK, &published(1))).await;
    let relay = pubsub_relay(&pubsub.url(), &[]);
    let (letter, _) = dead_letter(&ctx, "meeting-2").await;

    relay.drain_once(&ctx).await.unwrap();

    let seen = pubsub.seen();
    assert_eq!(seen.len(), 1);
    let request = &seen[0];
    assert_eq!(
        request.path,
        format!("/v1/projects/test-project/topics/{TOPIC}:publish")
    );
    assert_eq!(request.header("content-type"), Some("application/json"));
    assert_eq!(
        request.header("authorization"),
        None,
        "emulator endpoints get no token"
    );
    let messages = request.json()["messages"].as_array().unwrap().clone();
    assert_eq!(messages.len(), 1);
    let data = STANDARD
        .decode(messages[0]["data"].as_str().unwrap())
        .unwrap();
    let payload: Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(payload["dead_letter_id"], letter);
    assert_eq!(payload["payload"]["meeting_id"], "meeting-2");
    let attributes = &messages[0]["attributes"];
    assert_eq!(attributes["dead_letter_id"], letter.to_string());
    assert_eq!(attributes["function"], "summarize");
    assert_eq!(attributes["error_kind"], "permanent");
}

#[tokio::test]
async fn concurrent_drains_never_send_a_row_twice() {
    const BATCH: usize = 4;
    let db = TestDb::new().await;
    let (ctx_a, ctx_b) = (db.context(), second_instance(&db));
    // Requests wait until both relays have a full batch in flight, so the
    // two drains overlap for certain; later requests pass straight through.
    let gate = Gate::new(2 * BATCH);
    let pubsub = StandIn::start(move |_| {
        let gate = gate.clone();
        Box::pin(async move {
            gate.arrive().await;
            (StatusCode::OK, published(0))
        })
    })
    .await;
    let batch = BATCH.to_string();
    let settings = [("TASKLANE_RELAY_BATCH_SIZE", batch.as_str())];
    let (relay_a, relay_b) = (
        pubsub_relay(&pubsub.url(), &settings),
        pubsub_relay(&pubsub.url(), &settings),
    );
    let mut rows = Vec::new();
    for n in 0..2 * BATCH {
        rows.push(dead_letter(&ctx_a, &format!("meeting-{n}")).await.1);
    }

    let drains = async { tokio::join!(relay_a.drain_once(&ctx_a), relay_b.drain_once(&ctx_b)) };
    let (a, b) = tokio::time::timeout(GIVE_UP, drains)
        .await
        .expect("both relays must claim a batch each");

    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(
        (a.sent, b.sent),
        (BATCH, BATCH),
        "each relay sent its own batch"
    );
    let sent: Vec<String> = pubsub
        .seen()
        .iter()
        .map(|s| s.json()["messages"][0]["attributes"]["dead_letter_id"].to_string())
        .collect();
    let mut distinct = sent.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(sent.len(), 2 * BATCH, "one publish per row: {sent:?}");
    assert_eq!(
        distinct.len(),
        2 * BATCH,
        "no row published twice: {sent:?}"
    );
    for row in rows {
        let state = row_state(&ctx_a, row).await;
        assert!(state.sent && state.attempts == 1, "{state:?}");
    }
}

/// Holds every arrival until `count` have arrived, then lets all through.
#[derive(Clone)]
struct Gate {
    count: usize,
    arrived: Arc<AtomicUsize>,
    open: watch::Sender<bool>,
}

impl Gate {
    fn new(count: usize) -> Gate {
        Gate {
            count,
            arrived: Arc::new(AtomicUsize::new(0)),
            open: watch::Sender::new(false),
        }
    }

    async fn arrive(&self) {
        if self.arrived.fetch_add(1, Ordering::SeqCst) + 1 >= self.count {
            self.open.send_replace(true);
        }
        let mut open = self.open.subscribe();
        // The sender lives in `self`, so waiting cannot fail.
        let _ = open.wait_for(|open| *open).await;
    }
}

/// A context over its own pool, as a second relay process would have.
fn second_instance(db: &TestDb) -> Context {
    let settings = tasklane::db::PoolSettings::for_url(db.url());
    Context::new(tasklane::db::pool(&settings).unwrap())
}

#[tokio::test]
async fn send_cut_short_by_a_crash_stays_leased_then_is_sent_again() {
    let db = TestDb::new().await;
    let ctx = db.context();
    let (arrived, mut arrival) = mpsc::unbounded_channel();
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let pubsub = StandIn::start(move |_| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        let arrived = arrived.clone();
        Box::pin(async move {
            let _ = arrived.send(n);
            if n == 0 {
                // The relay "crashes" while this first send is in flight.
                std::future::pending::<()>().await;
            }
            (StatusCode::OK, published(n))
        })
    })
    .await;
    let crashing = pubsub_relay(&pubsub.url(), &[]);
    let survivor = pubsub_relay(&pubsub.url(), &[]);
    let (_, row) = dead_letter(&ctx, "meeting-3").await;

    tokio::select! {
        result = crashing.drain_once(&ctx) => panic!("the first send never answers: {result:?}"),
        first = arrival.recv() => assert_eq!(first, Some(0)),
    }
    let leased = row_state(&ctx, row).await;
    let during_lease = survivor.drain_once(&ctx).await.unwrap();
    make_due(&ctx, row).await;
    let after_lease = survivor.drain_once(&ctx).await.unwrap();
    let sent = row_state(&ctx, row).await;

    assert!(
        !leased.sent && !leased.due,
        "claimed rows are hidden: {leased:?}"
    );
    assert_eq!(
        during_lease,
        Drained::default(),
        "no second relay while leased"
    );
    assert_eq!(after_lease, Drained { sent: 1, failed: 0 });
    assert!(sent.sent);
    assert_eq!(sent.attempts, 2);
    assert_eq!(pubsub.seen().len(), 2, "sent at least once: twice here");
}

fn summarize_spec() -> FunctionSpec {
    serde_json::from_value(json!({
        "name": "summarize", "queue": "summarize",
        "rate_limits": {"max_dispatches_per_second": 20.0, "max_concurrent_dispatches": 50},
        "retry": {"max_attempts": 8, "min_backoff_seconds": 10.0, "max_backoff_seconds": 300.0,
                  "max_doublings": 3, "max_retry_duration_seconds": 3600},
        "dispatch_deadline_seconds": 600, "lease_margin_seconds": 30, "request_concurrency": 40,
        "scaling": {"min_instances": 0, "max_instances": 10, "cpu": "1", "memory": "512Mi"},
        "job": {"task_count": 4, "parallelism": 2, "max_retries": 1, "timeout_seconds": 3600},
        "dead_letter_topic": TOPIC, "dead_letter_subscription": SUBSCRIPTION
    }))
    .unwrap()
}

async fn emulator() -> EmulatorHandle {
    Emulator::builder()
        .project("local")
        .location("us-central1")
        .spec(summarize_spec())
        .start("127.0.0.1:0")
        .await
        .unwrap()
}

fn tasks_relay(emulator: &EmulatorHandle, function_url: &str) -> Relay {
    relay(&[
        ("TASKLANE_TASKS_ENDPOINT", &emulator.base_url()),
        ("GOOGLE_CLOUD_PROJECT", "local"),
        ("TASKLANE_LOCATION", "us-central1"),
        ("TASKLANE_INVOKER_SA", INVOKER),
        ("TASKLANE_TARGET_URL_SUMMARIZE", function_url),
    ])
}

async fn tasks_client(emulator: &EmulatorHandle) -> CloudTasks {
    CloudTasks::builder()
        .with_endpoint(emulator.base_url())
        .with_credentials(anonymous::Builder::new().build())
        .build()
        .await
        .unwrap()
}

/// The claims of a JWT, unverified (the emulator's keys are its own).
fn jwt_claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn follow_up_task_reaches_its_function_through_the_emulator() {
    let db = TestDb::new().await;
    let ctx = db.context();
    let (pushed, mut pushes) = mpsc::unbounded_channel();
    let function = StandIn::start(move |seen| {
        let _ = pushed.send(seen);
        answer(StatusCode::OK, "{}")
    })
    .await;
    let emulator = emulator().await;
    let relay = tasks_relay(&emulator, &format!("{}/tasks/summarize", function.url()));
    let row = follow_up(&ctx, "meeting-4").await;

    let drained = relay.drain_once(&ctx).await.unwrap();
    let push = tokio::time::timeout(GIVE_UP, pushes.recv())
        .await
        .expect("the emulator pushes the task")
        .unwrap();

    assert_eq!(drained, Drained { sent: 1, failed: 0 });
    assert!(row_state(&ctx, row).await.sent);
    assert_eq!(push.path, "/tasks/summarize");
    assert_eq!(push.json(), json!({"meeting_id": "meeting-4"}));
    assert_eq!(push.header("content-type"), Some("application/json"));
    assert_eq!(
        push.header("x-cloudtasks-taskname"),
        Some("summarize-meeting-4")
    );
    assert_eq!(push.header("x-cloudtasks-queuename"), Some("summarize"));
    let bearer = push
        .header("authorization")
        .unwrap()
        .strip_prefix("Bearer ")
        .unwrap();
    let claims = jwt_claims(bearer);
    assert_eq!(claims["email"], INVOKER);
    assert_eq!(
        claims["aud"],
        function.url(),
        "audience defaults to the URL's origin"
    );
    emulator.shutdown().await;
}

#[tokio::test]
async fn task_that_already_exists_counts_as_sent() {
    let db = TestDb::new().await;
    let ctx = db.context();
    let emulator = emulator().await;
    let queue = emulator.queue_path("summarize");
    let client = tasks_client(&emulator).await;
    // Paused, the queue keeps its tasks where the test can count them.
    client.pause_queue().set_name(&queue).send().await.unwrap();
    let relay = tasks_relay(&emulator, "http://127.0.0.1:9/tasks/summarize");
    let row = follow_up(&ctx, "meeting-5").await;

    let created = relay.drain_once(&ctx).await.unwrap();
    // A relay that created the task and died before marking the row; its
    // lease has since run out.
    let db_client = ctx.client().await.unwrap();
    let unmark = "UPDATE outbox SET sent_at = NULL WHERE id = $1";
    db_client.execute(unmark, &[&row]).await.unwrap();
    make_due(&ctx, row).await;
    let resent = relay.drain_once(&ctx).await.unwrap();

    assert_eq!(created, Drained { sent: 1, failed: 0 });
    assert_eq!(resent, Drained { sent: 1, failed: 0 });
    let state = row_state(&ctx, row).await;
    assert!(state.sent && state.last_error.is_none(), "{state:?}");
    assert_eq!(state.attempts, 2);
    let mut tasks = client.list_tasks().set_parent(&queue).by_item();
    let mut names = Vec::new();
    while let Some(task) = tasks.next().await {
        names.push(task.unwrap().name);
    }
    assert_eq!(names, [format!("{queue}/tasks/summarize-meeting-5")]);
    emulator.shutdown().await;
}

#[tokio::test]
async fn follow_up_task_without_a_target_url_stays_with_an_error_naming_the_variable() {
    let db = TestDb::new().await;
    let ctx = db.context();
    let emulator = emulator().await;
    let relay = relay(&[("TASKLANE_TASKS_ENDPOINT", &emulator.base_url())]);
    let row = follow_up(&ctx, "meeting-6").await;

    let drained = relay.drain_once(&ctx).await.unwrap();

    assert_eq!(drained, Drained { sent: 0, failed: 1 });
    let state = row_state(&ctx, row).await;
    assert!(!state.sent);
    let error = state.last_error.unwrap();
    assert!(error.contains("TASKLANE_TARGET_URL_SUMMARIZE"), "{error}");
    emulator.shutdown().await;
}

#[tokio::test]
async fn dead_letter_reaches_the_emulator_topic_with_its_id() {
    let db = TestDb::new().await;
    let ctx = db.context();
    let emulator = emulator().await;
    let host = emulator.addr().to_string();
    let relay = relay(&[
        ("TASKLANE_PUBSUB_EMULATOR_HOST", &host),
        ("GOOGLE_CLOUD_PROJECT", "local"),
    ]);
    let (letter, _) = dead_letter(&ctx, "meeting-7").await;

    let drained = relay.drain_once(&ctx).await.unwrap();
    let pulled: Value = reqwest::Client::new()
        .post(format!(
            "{}/v1/projects/local/subscriptions/{SUBSCRIPTION}:pull",
            emulator.base_url()
        ))
        .json(&json!({"maxMessages": 10, "returnImmediately": true}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();

    assert_eq!(drained, Drained { sent: 1, failed: 0 });
    let received = pulled["receivedMessages"].as_array().unwrap();
    assert_eq!(received.len(), 1, "{pulled}");
    let message = &received[0]["message"];
    assert_eq!(message["attributes"]["dead_letter_id"], letter.to_string());
    let data = STANDARD.decode(message["data"].as_str().unwrap()).unwrap();
    let payload: Value = serde_json::from_slice(&data).unwrap();
    assert_eq!(payload["payload"]["meeting_id"], "meeting-7");
    emulator.shutdown().await;
}

#[tokio::test]
async fn run_sends_rows_as_they_appear_and_returns_on_shutdown() {
    let db = TestDb::new().await;
    let ctx = db.context();
    let (arrived, mut arrival) = mpsc::unbounded_channel();
    let pubsub = StandIn::start(move |seen| {
        let _ = arrived.send(seen);
        answer(StatusCode::OK, &published(1))
    })
    .await;
    let relay = pubsub_relay(&pubsub.url(), &[("TASKLANE_RELAY_POLL_MS", "20")]);
    let (stop, stopped) = oneshot::channel::<()>();
    let running = tokio::spawn(relay.run(ctx.clone(), async {
        let _ = stopped.await;
    }));

    let (letter, _) = dead_letter(&ctx, "meeting-8").await;
    let seen = tokio::time::timeout(GIVE_UP, arrival.recv())
        .await
        .expect("the running relay picks the new row up")
        .unwrap();
    stop.send(()).unwrap();
    tokio::time::timeout(GIVE_UP, running)
        .await
        .expect("run returns once shutdown completes")
        .unwrap();

    let attributes = &seen.json()["messages"][0]["attributes"];
    assert_eq!(attributes["dead_letter_id"], letter.to_string());
}
