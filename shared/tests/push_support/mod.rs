//! Shared by the `push_*` and `auth_*` tests: a test operation whose core
//! each test steers, signing keys and a local JWKS server speaking Google's
//! wire format, token minting, and a harness that starts the push adapter on
//! port 0 against a fresh database.

#![allow(dead_code, unreachable_pub, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tasklane::operation::Transaction;
use tasklane::push::{PushConfig, PushConfigBuilder, RunningServer, Server, ShutdownReport};
use tasklane::spec::{FunctionSpec, RetryPolicy};
use tasklane::task::{self, TaskRef, TaskRow};
use tasklane::testing::TestDb;
use tasklane::{Context, Operation, TaskError, TaskKey};
use tokio::sync::{Semaphore, mpsc, watch};

pub const FUNCTION: &str = "testfn";
pub const QUEUE: &str = "testfn-queue";
pub const AUDIENCE: &str = "https://testfn.example.run.app/tasks/testfn";
pub const INVOKER: &str = "tasks-invoker@test-project.iam.gserviceaccount.com";
pub const ISSUER: &str = "https://accounts.google.com";
pub const MAX_ATTEMPTS: i32 = 3;

pub const KEY_A_PEM: &str = include_str!("../fixtures/push-signing-key-a.pem");
pub const KEY_A_PUBLIC_PEM: &str = include_str!("../fixtures/push-signing-key-a.pub.pem");
pub const KEY_B_PEM: &str = include_str!("../fixtures/push-signing-key-b.pem");

// ---------------------------------------------------------------------------
// The test operation.

/// What the core does with an input.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Finish at once.
    #[default]
    Ok,
    /// Wait until the test opens the gate.
    Block,
    /// Fail with a retryable error.
    Transient,
    /// Fail with a permanent error.
    Permanent,
    /// Say a downstream quota wants a 7 s wait.
    RateLimited,
    /// Panic.
    Panic,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Input {
    pub meeting_id: String,
    #[serde(default)]
    pub mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Output {
    pub meeting_id: String,
    pub run: u32,
}

/// The test's view into the core: how often it ran, a channel announcing
/// each run as it starts, and a gate that `Block` runs wait at (FIFO).
#[derive(Clone)]
pub struct Probe {
    runs: Arc<AtomicU32>,
    started_tx: mpsc::UnboundedSender<u32>,
    started_rx: Arc<tokio::sync::Mutex<mpsc::UnboundedReceiver<u32>>>,
    gate: Arc<Semaphore>,
}

impl Probe {
    pub fn new() -> Probe {
        let (started_tx, started_rx) = mpsc::unbounded_channel();
        Probe {
            runs: Arc::new(AtomicU32::new(0)),
            started_tx,
            started_rx: Arc::new(tokio::sync::Mutex::new(started_rx)),
            gate: Arc::new(Semaphore::new(0)),
        }
    }

    /// Core runs so far.
    pub fn runs(&self) -> u32 {
        self.runs.load(Ordering::SeqCst)
    }

    /// Wait for the next core run to start; returns its run number.
    pub async fn started(&self) -> u32 {
        self.started_rx.lock().await.recv().await.unwrap()
    }

    /// Let `n` blocked runs go on, oldest first.
    pub fn open(&self, n: usize) {
        self.gate.add_permits(n);
    }
}

pub struct TestOp {
    spec: FunctionSpec,
    probe: Probe,
}

impl TestOp {
    pub fn new(probe: Probe) -> TestOp {
        TestOp {
            spec: spec(),
            probe,
        }
    }
}

pub fn spec() -> FunctionSpec {
    FunctionSpec {
        queue: QUEUE.to_owned(),
        retry: RetryPolicy {
            max_attempts: MAX_ATTEMPTS,
            ..FunctionSpec::new(FUNCTION).retry
        },
        request_concurrency: 64,
        ..FunctionSpec::new(FUNCTION)
    }
}

pub fn key_of(meeting_id: &str) -> TaskKey {
    TaskKey::from_parts([FUNCTION, meeting_id])
}

impl Operation for TestOp {
    type Input = Input;
    type Output = Output;

    fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    fn key(&self, input: &Input) -> Result<TaskKey, TaskError> {
        if input.meeting_id.is_empty() {
            return Err(TaskError::invalid_input("meeting_id is empty"));
        }
        Ok(key_of(&input.meeting_id))
    }

    async fn run(&self, _ctx: &Context, input: &Input) -> Result<Output, TaskError> {
        let run = self.probe.runs.fetch_add(1, Ordering::SeqCst) + 1;
        let _ = self.probe.started_tx.send(run);
        match input.mode {
            Mode::Ok => {}
            Mode::Block => self.probe.gate.acquire().await.unwrap().forget(),
            Mode::Transient => return Err(TaskError::transient("model answered 500")),
            Mode::Permanent => return Err(TaskError::permanent("prompt was blocked")),
            Mode::RateLimited => {
                return Err(TaskError::rate_limited("quota", Duration::from_secs(7)));
            }
            Mode::Panic => panic!("core exploded"),
        }
        Ok(Output {
            meeting_id: input.meeting_id.clone(),
            run,
        })
    }

    async fn commit(
        &self,
        tx: &Transaction<'_>,
        input: &Input,
        output: &Output,
    ) -> Result<(), TaskError> {
        tx.execute(
            "INSERT INTO test_effects (meeting_id, run) VALUES ($1, $2)",
            &[&input.meeting_id, &(output.run as i32)],
        )
        .await?;
        Ok(())
    }

    async fn backlog(&self, _ctx: &Context) -> Result<Vec<Input>, TaskError> {
        Ok(Vec::new())
    }
}

// ---------------------------------------------------------------------------
// Signing keys and tokens.

pub struct SigningKey {
    pub kid: &'static str,
    pub key: EncodingKey,
}

impl SigningKey {
    pub fn a() -> SigningKey {
        SigningKey {
            kid: "key-a",
            key: EncodingKey::from_rsa_pem(KEY_A_PEM.as_bytes()).unwrap(),
        }
    }

    pub fn b() -> SigningKey {
        SigningKey {
            kid: "key-b",
            key: EncodingKey::from_rsa_pem(KEY_B_PEM.as_bytes()).unwrap(),
        }
    }

    /// The public half as a JWKS entry, as Google publishes it.
    pub fn jwk(&self) -> Value {
        let jwk = Jwk::from_encoding_key(&self.key, Algorithm::RS256).unwrap();
        let AlgorithmParameters::RSA(rsa) = jwk.algorithm else {
            panic!("not an RSA key");
        };
        json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": self.kid,
               "n": rsa.n, "e": rsa.e})
    }

    /// `claims` signed with `alg` under this key's kid.
    pub fn sign(&self, alg: Algorithm, claims: &Value) -> String {
        self.sign_as(self.kid, alg, claims)
    }

    /// `claims` signed with this key but naming `kid`.
    pub fn sign_as(&self, kid: &str, alg: Algorithm, claims: &Value) -> String {
        let mut header = Header::new(alg);
        header.kid = Some(kid.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key).unwrap()
    }
}

pub fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// The claims of a valid Google ID token for this service.
pub fn valid_claims() -> Value {
    json!({
        "iss": ISSUER,
        "aud": AUDIENCE,
        "azp": "1234567890",
        "sub": "1234567890",
        "email": INVOKER,
        "email_verified": true,
        "iat": now(),
        "exp": now() + 3_600,
    })
}

/// `valid_claims` with `field` replaced (or removed, for `Value::Null`).
pub fn claims_with(field: &str, value: Value) -> Value {
    let mut claims = valid_claims();
    let map = claims.as_object_mut().unwrap();
    if value.is_null() {
        map.remove(field);
    } else {
        map.insert(field.to_owned(), value);
    }
    claims
}

/// A token with `"alg": "none"` and an empty signature.
pub fn unsigned_token(claims: &Value) -> String {
    let header = json!({"alg": "none", "typ": "JWT", "kid": "key-a"});
    format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

// ---------------------------------------------------------------------------
// A local JWKS endpoint.

/// Serves `{"keys": [...]}` with `Cache-Control: public, max-age=N` and
/// counts fetches.
pub struct JwksServer {
    pub url: String,
    state: Arc<JwksState>,
}

struct JwksState {
    keys: Mutex<Vec<Value>>,
    max_age: AtomicU64,
    fetches: watch::Sender<usize>,
}

impl JwksServer {
    pub async fn start(keys: Vec<Value>) -> JwksServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/oauth2/v3/certs", listener.local_addr().unwrap());
        let state = Arc::new(JwksState {
            keys: Mutex::new(keys),
            max_age: AtomicU64::new(3_600),
            fetches: watch::channel(0).0,
        });
        let served = Arc::clone(&state);
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let state = Arc::clone(&served);
                let service = service_fn(move |_req| {
                    let state = Arc::clone(&state);
                    async move { Ok::<_, Infallible>(state.answer()) }
                });
                tokio::spawn(
                    hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service),
                );
            }
        });
        JwksServer { url, state }
    }

    /// Fetches answered so far.
    pub fn fetches(&self) -> usize {
        *self.state.fetches.borrow()
    }

    /// Wait until at least `n` fetches were answered.
    pub async fn wait_for_fetches(&self, n: usize) {
        let mut rx = self.state.fetches.subscribe();
        rx.wait_for(|count| *count >= n).await.unwrap();
    }

    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.state.keys.lock().unwrap() = keys;
    }

    pub fn set_max_age(&self, secs: u64) {
        self.state.max_age.store(secs, Ordering::SeqCst);
    }
}

impl JwksState {
    fn answer(&self) -> hyper::Response<Full<Bytes>> {
        let body = json!({"keys": *self.keys.lock().unwrap()}).to_string();
        let max_age = self.max_age.load(Ordering::SeqCst);
        let response = hyper::Response::builder()
            .header("content-type", "application/json; charset=UTF-8")
            .header(
                "cache-control",
                format!("public, max-age={max_age}, must-revalidate"),
            )
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        self.fetches.send_modify(|count| *count += 1);
        response
    }
}

// ---------------------------------------------------------------------------
// The harness.

/// A push adapter for `TestOp` on port 0, with its database, JWKS server
/// and a client.
pub struct Harness {
    pub db: TestDb,
    pub jwks: JwksServer,
    pub probe: Probe,
    server: Option<RunningServer>,
    pub base: String,
    pub client: reqwest::Client,
    pub signer: SigningKey,
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().unwrap())
    }
}

impl Harness {
    pub async fn start() -> Harness {
        Harness::start_with(|config| config).await
    }

    /// Start with the default test settings adjusted by `configure`.
    pub async fn start_with(
        configure: impl FnOnce(PushConfigBuilder) -> PushConfigBuilder,
    ) -> Harness {
        let db = TestDb::new().await;
        let ctx = db.context();
        Harness::start_on(db, ctx, configure).await
    }

    /// Start serving over `ctx` (which may point elsewhere than `db`).
    pub async fn start_on(
        db: TestDb,
        ctx: Context,
        configure: impl FnOnce(PushConfigBuilder) -> PushConfigBuilder,
    ) -> Harness {
        create_effects_table(&db).await;
        let signer = SigningKey::a();
        let jwks = JwksServer::start(vec![signer.jwk()]).await;
        let builder = PushConfig::builder(&spec())
            .audience(AUDIENCE)
            .invokers([INVOKER])
            .jwks_url(jwks.url.clone());
        let config = configure(builder).build().unwrap();
        let probe = Probe::new();
        let server = Server::new(ctx, TestOp::new(probe.clone()), config)
            .bind("127.0.0.1:0")
            .await
            .unwrap();
        let base = format!("http://{}", server.local_addr());
        Harness {
            db,
            jwks,
            probe,
            server: Some(server),
            base,
            client: reqwest::Client::new(),
            signer,
        }
    }

    /// The running server.
    pub fn running(&self) -> &RunningServer {
        self.server.as_ref().expect("the server was already joined")
    }

    /// Wait for the server's shutdown to finish.
    pub async fn join(&mut self) -> ShutdownReport {
        let server = self.server.take().expect("the server was already joined");
        server.join().await.unwrap()
    }

    pub fn push_url(&self) -> String {
        format!("{}/tasks/{FUNCTION}", self.base)
    }

    /// A valid token.
    pub fn token(&self) -> String {
        self.signer.sign(Algorithm::RS256, &valid_claims())
    }

    /// A push as Cloud Tasks sends it (valid token, queue, task name, retry
    /// count 0, JSON content type) with `overrides` replacing those headers;
    /// an empty value removes one.
    pub fn request(
        &self,
        body: impl Into<reqwest::Body>,
        overrides: &[(&str, &str)],
    ) -> reqwest::RequestBuilder {
        let token = format!("Bearer {}", self.token());
        let defaults = [
            ("authorization", token.as_str()),
            ("content-type", "application/json"),
            ("x-cloudtasks-queuename", QUEUE),
            (
                "x-cloudtasks-taskname",
                "projects/p/locations/l/queues/q/tasks/t1",
            ),
            ("x-cloudtasks-taskretrycount", "0"),
            ("x-cloudtasks-taskexecutioncount", "0"),
        ];
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in defaults.iter().chain(overrides) {
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes()).unwrap();
            if value.is_empty() {
                headers.remove(&name);
            } else {
                headers.insert(name, value.parse().unwrap());
            }
        }
        self.client
            .post(self.push_url())
            .headers(headers)
            .body(body)
    }

    /// A push of `body` with the default headers.
    pub fn push(&self, body: &Value) -> reqwest::RequestBuilder {
        self.request(body.to_string(), &[])
    }

    /// A push of `meeting_id` in `mode`.
    pub fn push_task(&self, meeting_id: &str, mode: Mode) -> reqwest::RequestBuilder {
        self.push_task_with(meeting_id, mode, &[])
    }

    /// A push of `meeting_id` in `mode` with header overrides.
    pub fn push_task_with(
        &self,
        meeting_id: &str,
        mode: Mode,
        overrides: &[(&str, &str)],
    ) -> reqwest::RequestBuilder {
        let body = json!({"meeting_id": meeting_id, "mode": mode}).to_string();
        self.request(body, overrides)
    }

    pub async fn task(&self, meeting_id: &str) -> Option<TaskRow> {
        let client = self.db.pool().get().await.unwrap();
        let key = key_of(meeting_id);
        let task = TaskRef {
            function: FUNCTION,
            key: &key,
        };
        task::get(&client, &task).await.unwrap()
    }

    /// Rows the committed cores wrote: (meeting id, run).
    pub async fn effects(&self) -> Vec<(String, i32)> {
        let client = self.db.pool().get().await.unwrap();
        let rows = client
            .query("SELECT meeting_id, run FROM test_effects ORDER BY run", &[])
            .await
            .unwrap();
        rows.iter().map(|r| (r.get(0), r.get(1))).collect()
    }

    pub async fn dead_letters(&self) -> Vec<DeadLetterRow> {
        let client = self.db.pool().get().await.unwrap();
        let rows = client
            .query(
                "SELECT key, error_kind, delivery, trace_id, payload, attempts \
                 FROM dead_letters WHERE function = $1 ORDER BY id",
                &[&FUNCTION],
            )
            .await
            .unwrap();
        rows.iter()
            .map(|r| DeadLetterRow {
                key: r.get(0),
                error_kind: r.get(1),
                delivery: r.get(2),
                trace_id: r.get(3),
                payload: r.get(4),
                attempts: r.get(5),
            })
            .collect()
    }
}

#[derive(Debug)]
pub struct DeadLetterRow {
    pub key: Option<String>,
    pub error_kind: String,
    pub delivery: Value,
    pub trace_id: Option<String>,
    pub payload: Option<Value>,
    pub attempts: i32,
}

pub async fn create_effects_table(db: &TestDb) {
    let client = db.pool().get().await.unwrap();
    client
        .batch_execute("CREATE TABLE test_effects (meeting_id text NOT NULL, run int NOT NULL)")
        .await
        .unwrap();
}

/// Send and read the answer.
pub async fn send(request: reqwest::RequestBuilder) -> Answer {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

/// Counts of each status among `answers`.
pub fn tally(answers: &[Answer]) -> HashMap<u16, usize> {
    let mut counts = HashMap::new();
    for answer in answers {
        *counts.entry(answer.status).or_default() += 1;
    }
    counts
}
