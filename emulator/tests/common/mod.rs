//! Shared test fixtures: function specs, a push target that records every
//! delivery, and a small REST client for the emulator.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, unreachable_pub)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};
use tasklane::spec::{FunctionSpec, JobSettings, RateLimits, RetryPolicy, Scaling};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// A spec whose queue pushes fast and retries quickly.
pub fn spec(queue: &str) -> FunctionSpec {
    FunctionSpec {
        name: format!("{queue}-fn"),
        queue: queue.to_owned(),
        rate_limits: RateLimits {
            max_dispatches_per_second: 500.0,
            max_concurrent_dispatches: 100,
        },
        retry: RetryPolicy {
            max_attempts: 5,
            min_backoff_seconds: 1.0,
            max_backoff_seconds: 10.0,
            max_doublings: 3,
            max_retry_duration_seconds: 0,
        },
        dispatch_deadline_seconds: 600,
        lease_margin_seconds: 30,
        request_concurrency: 10,
        scaling: Scaling {
            min_instances: 0,
            max_instances: 1,
            cpu: "1".into(),
            memory: "512Mi".into(),
        },
        job: JobSettings {
            task_count: 1,
            parallelism: 1,
            max_retries: 0,
            timeout_seconds: 60,
        },
        dead_letter_topic: format!("{queue}-dead-letters"),
        dead_letter_subscription: format!("{queue}-dead-letters-sub"),
    }
}

/// One request the sink received.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Delivery {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn task_name(&self) -> &str {
        self.header("x-cloudtasks-taskname").unwrap_or_default()
    }

    pub fn retry_count(&self) -> u32 {
        self.header("x-cloudtasks-taskretrycount")
            .unwrap()
            .parse()
            .unwrap()
    }
}

/// What the sink answers.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(&'static str, String)>,
    /// Simulated work before answering.
    pub work: Duration,
}

impl Reply {
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            headers: Vec::new(),
            work: Duration::ZERO,
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }

    pub fn after(mut self, work: Duration) -> Self {
        self.work = work;
        self
    }
}

type Responder = Arc<dyn Fn(&Delivery) -> Reply + Send + Sync>;

/// A push target on a loopback port that reports each delivery on a
/// channel and tracks how many requests it serves at once.
pub struct Sink {
    pub addr: SocketAddr,
    pub deliveries: mpsc::UnboundedReceiver<Delivery>,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

impl Sink {
    pub async fn start(responder: impl Fn(&Delivery) -> Reply + Send + Sync + 'static) -> Sink {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = mpsc::unbounded_channel();
        let in_flight = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let state = SinkState {
            tx,
            responder: Arc::new(responder),
            in_flight: Arc::clone(&in_flight),
            peak: Arc::clone(&peak),
        };
        tokio::spawn(accept_loop(listener, state));
        Sink {
            addr,
            deliveries: rx,
            in_flight,
            peak,
        }
    }

    /// A sink that answers every request with `status`.
    pub async fn answering(status: u16) -> Sink {
        Sink::start(move |_| Reply::status(status)).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The next delivery, failing the test if none comes within 20 s.
    pub async fn next(&mut self) -> Delivery {
        tokio::time::timeout(Duration::from_secs(20), self.deliveries.recv())
            .await
            .expect("no delivery within 20 s")
            .expect("sink closed")
    }

    /// The next `n` deliveries.
    pub async fn take(&mut self, n: usize) -> Vec<Delivery> {
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            out.push(self.next().await);
        }
        out
    }

    /// Most requests served at once so far.
    pub fn peak_concurrency(&self) -> usize {
        self.peak.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct SinkState {
    tx: mpsc::UnboundedSender<Delivery>,
    responder: Responder,
    in_flight: Arc<AtomicUsize>,
    peak: Arc<AtomicUsize>,
}

async fn accept_loop(listener: TcpListener, state: SinkState) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            return;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let state = state.clone();
                async move { Ok::<_, Infallible>(serve(state, request).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn serve(state: SinkState, request: Request<Incoming>) -> Response<Full<Bytes>> {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.peak.fetch_max(now, Ordering::SeqCst);
    let at = Instant::now();
    let (parts, body) = request.into_parts();
    let body = body
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let delivery = Delivery {
        at,
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        headers: parts.headers,
        body,
    };
    let reply = (state.responder)(&delivery);
    let _ = state.tx.send(delivery);
    if !reply.work.is_zero() {
        tokio::time::sleep(reply.work).await;
    }
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    let mut response = Response::new(Full::new(Bytes::from_static(b"ok")));
    *response.status_mut() = StatusCode::from_u16(reply.status).unwrap();
    for (name, value) in reply.headers {
        response.headers_mut().insert(name, value.parse().unwrap());
    }
    response
}

/// Calls the emulator's REST API.
pub struct Rest {
    client: reqwest::Client,
    base: String,
}

impl Rest {
    pub fn new(base: &str) -> Rest {
        Rest {
            client: reqwest::Client::new(),
            base: base.to_owned(),
        }
    }

    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        read(response).await
    }

    pub async fn post(&self, path: &str, body: &Value) -> (StatusCode, Value) {
        let url = format!("{}{path}", self.base);
        let response = self.client.post(url).json(body).send().await.unwrap();
        read(response).await
    }

    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        let response = self
            .client
            .delete(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        read(response).await
    }

    /// Creates a task; `task` is the Task JSON.
    pub async fn create_task(&self, queue_path: &str, task: Value) -> (StatusCode, Value) {
        self.post(&format!("/v2/{queue_path}/tasks"), &json!({ "task": task }))
            .await
    }

    /// Creates a POST task to `url` with a JSON body, optionally named.
    pub async fn push(&self, queue_path: &str, url: &str, name: Option<&str>) -> Value {
        let mut task = json!({
            "httpRequest": {
                "url": url,
                "httpMethod": "POST",
                "headers": {"Content-Type": "application/json"},
                "body": "eyJtZWV0aW5nX2lkIjoibTEifQ==",
            }
        });
        if let Some(name) = name {
            task["name"] = Value::from(format!("{queue_path}/tasks/{name}"));
        }
        let (status, body) = self.create_task(queue_path, task).await;
        assert_eq!(status, StatusCode::OK, "create failed: {body}");
        body
    }

    pub async fn stats(&self) -> tasklane_emulator::Stats {
        let (status, body) = self.get("/stats").await;
        assert_eq!(status, StatusCode::OK);
        serde_json::from_value(body).unwrap()
    }

    /// Polls `/stats` until `done` holds, failing after 20 s.
    pub async fn wait_for_stats(
        &self,
        what: &str,
        done: impl Fn(&tasklane_emulator::Stats) -> bool,
    ) -> tasklane_emulator::Stats {
        let give_up = Instant::now() + Duration::from_secs(20);
        loop {
            let stats = self.stats().await;
            if done(&stats) {
                return stats;
            }
            assert!(
                Instant::now() < give_up,
                "timed out waiting for {what}: {stats:?}"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

async fn read(response: reqwest::Response) -> (StatusCode, Value) {
    let status = StatusCode::from_u16(response.status().as_u16()).unwrap();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}
