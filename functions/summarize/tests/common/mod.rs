//! A loopback stand-in for the Gemini API that speaks its wire format,
//! shared by the test files that need one.

#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use serde_json::{Value, json};
use summarize::gemini::GeminiSummarizer;
use summarize::settings::{ApiKey, Backend, GeminiSettings, LocalSettings};
use tokio::net::TcpListener;

pub const KEY: &str = "AIza-test-key-do-not-log";
pub const MODEL: &str = "gemini-test";

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub path: String,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Seen {
    pub fn prompt(&self) -> &str {
        self.body["contents"][0]["parts"][0]["text"]
            .as_str()
            .unwrap()
    }
}

/// What the server answers.
pub enum Answer {
    Reply(StatusCode, Value),
    /// Never answer (the client must time out).
    Hang,
}

type Responder = dyn Fn(&Seen) -> Answer + Send + Sync;

pub struct Server {
    pub addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Server {
    /// Serve on 127.0.0.1 on a free port, answering with `respond`.
    pub async fn start(respond: impl Fn(&Seen) -> Answer + Send + Sync + 'static) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let respond: Arc<Responder> = Arc::new(respond);
        let log = seen.clone();
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let (respond, log) = (respond.clone(), log.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(req, respond.clone(), log.clone()));
                    let _ = ConnBuilder::new(TokioExecutor::new())
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Server { addr, seen }
    }

    /// Answer every request from `script`, in order.
    pub async fn scripted(script: Vec<Answer>) -> Server {
        let script = Mutex::new(script.into_iter());
        Server::start(move |_| {
            script.lock().unwrap().next().unwrap_or(Answer::Reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                json!({"error": {"code": 500, "message": "script exhausted", "status": "INTERNAL"}}),
            ))
        })
        .await
    }

    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    pub fn settings(&self, chunk_tokens: usize) -> GeminiSettings {
        GeminiSettings {
            model: MODEL.to_owned(),
            backend: Backend::ApiKey {
                key: ApiKey::new(KEY),
                base_url: format!("http://{}/v1beta", self.addr),
            },
            chunk_tokens,
            timeout: Duration::from_secs(2),
            max_output_tokens: 2048,
            concurrency: 2,
        }
    }

    pub fn summarizer(&self) -> GeminiSummarizer {
        GeminiSummarizer::new(self.settings(100_000), LocalSettings::default()).unwrap()
    }
}

async fn handle(
    req: Request<Incoming>,
    respond: Arc<Responder>,
    log: Arc<Mutex<Vec<Seen>>>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let path = req.uri().path().to_owned();
    let headers = req.headers().clone();
    let bytes = req.into_body().collect().await.unwrap().to_bytes();
    let seen = Seen {
        path,
        headers,
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    };
    log.lock().unwrap().push(seen.clone());
    match respond(&seen) {
        Answer::Reply(status, body) => Ok(Response::builder()
            .status(status)
            .header("content-type", "application/json; charset=UTF-8")
            .body(Full::new(Bytes::from(body.to_string())))
            .unwrap()),
        Answer::Hang => std::future::pending().await,
    }
}

/// A `generateContent` success whose candidate text is `model_json`.
pub fn answer(model_json: &Value) -> Answer {
    Answer::Reply(
        StatusCode::OK,
        json!({
            "candidates": [{
                "content": {"role": "model", "parts": [{"text": model_json.to_string()}]},
                "finishReason": "STOP",
                "index": 0
            }],
            "usageMetadata": {"promptTokenCount": 812, "candidatesTokenCount": 120, "totalTokenCount": 932},
            "modelVersion": MODEL
        }),
    )
}

pub fn model_summary(summary: &str) -> Value {
    json!({
        "summary": summary,
        "key_points": ["The release moves to Tuesday."],
        "decisions": ["Submit to both stores on Tuesday."],
        "action_items": [{"owner": "Priya", "task": "Fix the login crash", "due": "Thursday"}]
    })
}

/// A `google.rpc.Status` error body, as the API sends it.
pub fn error(code: u16, status: &str, message: &str, details: &Value) -> Answer {
    Answer::Reply(
        StatusCode::from_u16(code).unwrap(),
        json!({"error": {"code": code, "message": message, "status": status, "details": details}}),
    )
}
