//! A test operation shared by the state-machine and job tests: it counts
//! core runs, can be held at a gate, fails on request, and writes one row
//! per commit into `effects`.

#![allow(clippy::unwrap_used, dead_code, unreachable_pub)]

use std::sync::atomic::{AtomicUsize, Ordering};

use serde::{Deserialize, Serialize};
use tasklane::spec::RetryPolicy;
use tasklane::testing::TestDb;
use tasklane::{Context, FunctionSpec, Operation, TaskError, TaskKey, Transaction};
use tokio::sync::{Notify, Semaphore};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Input {
    pub id: String,
    #[serde(default)]
    pub text: String,
    #[serde(default)]
    pub fail: Option<String>,
}

/// A test operation that counts core runs, can be held at a gate, and
/// writes one row per commit into `effects`.
pub struct Recorder {
    spec: FunctionSpec,
    runs: AtomicUsize,
    pub gate: Option<Gate>,
}

pub struct Gate {
    pub entered: Notify,
    pub open: Semaphore,
}

impl Recorder {
    pub fn new(max_attempts: i32) -> Self {
        Recorder {
            spec: spec(max_attempts),
            runs: AtomicUsize::new(0),
            gate: None,
        }
    }

    pub fn gated(max_attempts: i32) -> Self {
        Recorder {
            gate: Some(Gate {
                entered: Notify::new(),
                open: Semaphore::new(0),
            }),
            ..Recorder::new(max_attempts)
        }
    }

    pub fn runs(&self) -> usize {
        self.runs.load(Ordering::SeqCst)
    }
}

impl Operation for Recorder {
    type Input = Input;
    type Output = String;

    fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    fn key(&self, input: &Input) -> Result<TaskKey, TaskError> {
        if input.id.is_empty() {
            return Err(TaskError::invalid_input("id is empty"));
        }
        Ok(TaskKey::from_parts(["rec", &input.id]))
    }

    async fn run(&self, _ctx: &Context, input: &Input) -> Result<String, TaskError> {
        let run = self.runs.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some(gate) = &self.gate {
            gate.entered.notify_one();
            gate.open.acquire().await.unwrap().forget();
        }
        match input.fail.as_deref() {
            Some("permanent") => Err(TaskError::permanent("the input can never work")),
            Some("transient") => Err(TaskError::transient("model timed out")),
            Some("panic") => panic!("core exploded"),
            _ => Ok(format!("{}#{run}", input.text)),
        }
    }

    async fn commit(
        &self,
        tx: &Transaction<'_>,
        input: &Input,
        output: &String,
    ) -> Result<(), TaskError> {
        tx.execute(
            "INSERT INTO effects (id, output) VALUES ($1, $2)",
            &[&input.id, output],
        )
        .await?;
        Ok(())
    }

    async fn backlog(&self, _ctx: &Context) -> Result<Vec<Input>, TaskError> {
        Ok(Vec::new())
    }
}

fn spec(max_attempts: i32) -> FunctionSpec {
    FunctionSpec {
        retry: RetryPolicy {
            max_attempts,
            min_backoff_seconds: 1.0,
            max_backoff_seconds: 10.0,
            max_doublings: 2,
            max_retry_duration_seconds: 0,
        },
        dispatch_deadline_seconds: 60,
        ..FunctionSpec::new("rec")
    }
}

pub async fn setup() -> (TestDb, Context) {
    let db = TestDb::new().await;
    let client = db.pool().get().await.unwrap();
    client
        .batch_execute("CREATE TABLE effects (id text NOT NULL, output text NOT NULL)")
        .await
        .unwrap();
    let ctx = db.context();
    (db, ctx)
}

pub fn input(id: &str, text: &str) -> Input {
    Input {
        id: id.into(),
        text: text.into(),
        fail: None,
    }
}

pub fn failing(id: &str, how: &str) -> Input {
    Input {
        fail: Some(how.into()),
        ..input(id, "x")
    }
}

pub async fn effects(ctx: &Context, id: &str) -> Vec<String> {
    let client = ctx.client().await.unwrap();
    client
        .query("SELECT output FROM effects WHERE id = $1", &[&id])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}
