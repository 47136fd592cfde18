//! A function whose core can be held at a chosen point, for shutdown tests:
//! the `tasklane-slowfn` binary serves it like `<function> serve` and is
//! steered over stdin and stdout. It prints `LISTENING <addr>` once bound,
//! `STARTED <meeting>` when a core starts, `DRAINING <signal>` and
//! `REPORT <drained> <released>` at shutdown; a core whose input says
//! `"wait": true` finishes only after an `OPEN <meeting>` line on stdin.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use tasklane::operation::Transaction;
use tasklane::push::{PushConfig, Server, ShutdownSignal};
use tasklane::spec::{FunctionSpec, RetryPolicy};
use tasklane::{Context, Operation, TaskError, TaskKey};
use tokio::sync::Semaphore;

/// The function's name, queue and key prefix.
pub const FUNCTION: &str = "slowfn";

/// A push body.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Input {
    /// The meeting.
    pub meeting_id: String,
    /// Wait for `OPEN <meeting_id>` before finishing.
    #[serde(default)]
    pub wait: bool,
}

/// The result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Output {
    /// The meeting.
    pub meeting_id: String,
}

/// One gate per meeting; `OPEN <meeting>` opens it.
#[derive(Default)]
pub struct Gates {
    by_meeting: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Gates {
    fn gate(&self, meeting: &str) -> Arc<Semaphore> {
        let mut gates = self.by_meeting.lock().unwrap();
        Arc::clone(
            gates
                .entry(meeting.to_owned())
                .or_insert_with(|| Arc::new(Semaphore::new(0))),
        )
    }

    /// Let `meeting`'s core finish.
    pub fn open(&self, meeting: &str) {
        self.gate(meeting).add_permits(1);
    }
}

/// The operation: records each commit in `e2e_effects`.
pub struct SlowOp {
    spec: FunctionSpec,
    gates: Arc<Gates>,
}

impl SlowOp {
    /// An operation whose cores wait on `gates`.
    pub fn new(gates: Arc<Gates>) -> SlowOp {
        SlowOp {
            spec: spec(),
            gates,
        }
    }
}

fn spec() -> FunctionSpec {
    FunctionSpec {
        retry: RetryPolicy {
            max_attempts: 10,
            ..FunctionSpec::new(FUNCTION).retry
        },
        request_concurrency: 64,
        ..FunctionSpec::new(FUNCTION)
    }
}

impl Operation for SlowOp {
    type Input = Input;
    type Output = Output;

    fn spec(&self) -> &FunctionSpec {
        &self.spec
    }

    fn key(&self, input: &Input) -> Result<TaskKey, TaskError> {
        Ok(TaskKey::from_parts([FUNCTION, &input.meeting_id]))
    }

    async fn run(&self, _ctx: &Context, input: &Input) -> Result<Output, TaskError> {
        println!("STARTED {}", input.meeting_id);
        if input.wait {
            let gate = self.gates.gate(&input.meeting_id);
            gate.acquire().await.unwrap().forget();
        }
        Ok(Output {
            meeting_id: input.meeting_id.clone(),
        })
    }

    async fn commit(
        &self,
        tx: &Transaction<'_>,
        input: &Input,
        _output: &Output,
    ) -> Result<(), TaskError> {
        tx.execute(
            "INSERT INTO e2e_effects (meeting_id) VALUES ($1)",
            &[&input.meeting_id],
        )
        .await?;
        Ok(())
    }

    async fn backlog(&self, _ctx: &Context) -> Result<Vec<Input>, TaskError> {
        Ok(Vec::new())
    }
}

/// What `<function> serve` does, with the address and phases printed.
///
/// # Panics
///
/// On any start-up failure: this is test scaffolding.
pub async fn serve() {
    let mut signal = ShutdownSignal::install().unwrap();
    let gates = Arc::new(Gates::default());
    follow_stdin(Arc::clone(&gates));
    let ctx = tasklane::cli::connect().await.unwrap();
    let op = SlowOp::new(gates);
    let config = PushConfig::from_env(op.spec()).unwrap();
    let running = Server::new(ctx, op, config)
        .bind("127.0.0.1:0")
        .await
        .unwrap();
    println!("LISTENING {}", running.local_addr());

    let received = signal.recv().await;
    running.shutdown().await;
    println!("DRAINING {received}");
    let report = running.join().await.unwrap();
    println!("REPORT {} {}", report.drained, report.released);
}

/// `OPEN <meeting>` lines from the parent open that meeting's gate. A plain
/// thread: a blocked stdin read must not hold up the runtime's exit.
fn follow_stdin(gates: Arc<Gates>) {
    std::thread::spawn(move || {
        for line in std::io::stdin().lines() {
            let Ok(line) = line else { break };
            if let Some(meeting) = line.strip_prefix("OPEN ") {
                gates.open(meeting.trim());
            }
        }
    });
}
