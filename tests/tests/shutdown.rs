//! SIGTERM under load loses no task.
//!
//! The push adapter runs in a child process (the `tasklane-slowfn` binary),
//! configured from its environment like `<function> serve`,
//! with the library's own SIGTERM handling; the parent sends it a real
//! SIGTERM with `kill`. A child process rather than the test process itself,
//! because a signal sent to the test harness would reach every test in it;
//! and not the `summarize` binary, because its core cannot be held at a
//! chosen point. Here the child's core is steered over stdin and stdout:
//! it prints `STARTED <meeting>` when it starts and waits, when asked to,
//! for an `OPEN <meeting>` line; the parent never sleeps to synchronise.
//!
//! The property: after shutdown every delivered task is either completed
//! (its push answered 200) or back to pending and unleased (claimable at
//! once), none is left running, and nothing completed twice.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{HashMap, HashSet};
use std::process::Stdio;
use std::sync::Arc;

use tasklane::runner::{self, Delivery, Outcome};
use tasklane::testing::TestDb;
use tasklane_e2e::slowfn::{FUNCTION, Gates, Input, SlowOp};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, watch};

const GRACE_SECS: &str = "3";

// ---------------------------------------------------------------------------
// The parent.

struct ChildServer {
    child: Child,
    stdin: ChildStdin,
    events: mpsc::UnboundedReceiver<String>,
    addr: String,
}

impl ChildServer {
    async fn start(db: &TestDb) -> ChildServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_tasklane-slowfn"))
            .env("DATABASE_URL", db.url())
            .env("TASKLANE_ENV", "development")
            .env_remove("K_SERVICE")
            .env("TASKLANE_SHUTDOWN_GRACE_SECS", GRACE_SECS)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, mut events) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let _ = tx.send(line);
            }
        });
        let addr = expect_event(&mut events, "LISTENING ").await;
        ChildServer {
            child,
            stdin,
            events,
            addr,
        }
    }

    async fn next(&mut self, prefix: &str) -> String {
        expect_event(&mut self.events, prefix).await
    }

    async fn open(&mut self, meeting: &str) {
        self.stdin
            .write_all(format!("OPEN {meeting}\n").as_bytes())
            .await
            .unwrap();
        self.stdin.flush().await.unwrap();
    }

    fn sigterm(&self) {
        let pid = self.child.id().unwrap().to_string();
        let sent = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap();
        assert!(sent.success(), "kill -TERM {pid} failed");
    }
}

/// The rest of the next child line starting with `prefix`; other lines
/// (the test harness's own) are skipped.
async fn expect_event(events: &mut mpsc::UnboundedReceiver<String>, prefix: &str) -> String {
    loop {
        let line = events
            .recv()
            .await
            .unwrap_or_else(|| panic!("child exited before {prefix}"));
        if let Some(rest) = line.strip_prefix(prefix) {
            return rest.trim().to_owned();
        }
    }
}

/// What a push got back: a status, or no answer at all.
type Answer = Result<u16, String>;

async fn push(client: &reqwest::Client, addr: &str, meeting: &str, wait: bool) -> Answer {
    let body = serde_json::json!({"meeting_id": meeting, "wait": wait});
    let response = client
        .post(format!("http://{addr}/tasks/{FUNCTION}"))
        .header("content-type", "application/json")
        .header("x-cloudtasks-queuename", FUNCTION)
        .header("x-cloudtasks-taskretrycount", "0")
        .body(body.to_string())
        .send()
        .await;
    response
        .map(|r| r.status().as_u16())
        .map_err(|e| e.to_string())
}

/// A load worker: the pushes it sent and what each got back.
type Worker = tokio::task::JoinHandle<Vec<(String, Answer)>>;

/// Workers that keep pushing quick tasks until the server stops answering;
/// `answered` counts their answers so far.
fn start_load(addr: &str, workers: usize) -> (Vec<Worker>, watch::Receiver<usize>) {
    let (answered_tx, answered) = watch::channel(0);
    let answered_tx = Arc::new(answered_tx);
    let handles = (0..workers)
        .map(|worker| {
            let addr = addr.to_owned();
            let answered_tx = Arc::clone(&answered_tx);
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut results = Vec::new();
                for n in 0.. {
                    let meeting = format!("quick-{worker}-{n}");
                    let answer = push(&client, &addr, &meeting, false).await;
                    let stop = !matches!(answer, Ok(200));
                    results.push((meeting, answer));
                    answered_tx.send_modify(|count| *count += 1);
                    if stop {
                        break;
                    }
                }
                results
            })
        })
        .collect();
    (handles, answered)
}

async fn task_states(db: &TestDb) -> HashMap<String, (String, bool)> {
    let client = db.pool().get().await.unwrap();
    let rows = client
        .query(
            "SELECT key, status::text, coalesce(lease_expires_at > now(), false) \
             FROM tasks WHERE function = $1",
            &[&FUNCTION],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|row| {
            let key: String = row.get(0);
            let meeting = key.trim_start_matches("slowfn:").to_owned();
            (meeting, (row.get(1), row.get(2)))
        })
        .collect()
}

async fn effects(db: &TestDb) -> Vec<String> {
    let client = db.pool().get().await.unwrap();
    let rows = client
        .query("SELECT meeting_id FROM e2e_effects", &[])
        .await
        .unwrap();
    rows.iter().map(|row| row.get(0)).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_loses_no_task() {
    let db = TestDb::new().await;
    let client = db.pool().get().await.unwrap();
    client
        .batch_execute("CREATE TABLE e2e_effects (meeting_id text NOT NULL)")
        .await
        .unwrap();
    drop(client);
    let mut server = ChildServer::start(&db).await;
    let http = reqwest::Client::new();

    // Tasks that will finish during the grace period, and tasks that never
    // will: both in flight when SIGTERM arrives, under a stream of quick
    // pushes.
    let finishing: Vec<String> = (0..4).map(|i| format!("finishing-{i}")).collect();
    let stuck: Vec<String> = (0..4).map(|i| format!("stuck-{i}")).collect();
    let mut blocked = Vec::new();
    for meeting in finishing.iter().chain(&stuck) {
        let (http, addr, meeting) = (http.clone(), server.addr.clone(), meeting.clone());
        blocked.push(tokio::spawn(async move {
            let answer = push(&http, &addr, &meeting, true).await;
            (meeting, answer)
        }));
    }
    let mut started = HashSet::new();
    while started.len() < finishing.len() + stuck.len() {
        let meeting = server.next("STARTED ").await;
        if !meeting.starts_with("quick-") {
            started.insert(meeting);
        }
    }
    let (load, mut answered) = start_load(&server.addr, 4);
    answered.wait_for(|count| *count >= 20).await.unwrap();

    server.sigterm();
    server.next("DRAINING ").await;
    for meeting in &finishing {
        server.open(meeting).await;
    }
    let report = server.next("REPORT ").await;
    let status = server.child.wait().await.unwrap();

    assert!(status.success(), "the child must exit 0, got {status}");
    assert_eq!(report, "false 4", "drained? and tasks released");

    let mut answers: HashMap<String, Answer> = HashMap::new();
    for handle in blocked {
        let (meeting, answer) = handle.await.unwrap();
        answers.insert(meeting, answer);
    }
    let mut quick = 0;
    for handle in load {
        for (meeting, answer) in handle.await.unwrap() {
            quick += usize::from(answer == Ok(200));
            answers.insert(meeting, answer);
        }
    }
    assert!(quick >= 20, "the load must have been served: {quick}");

    let states = task_states(&db).await;
    for (meeting, (state, _)) in &states {
        assert_ne!(state, "running", "{meeting} was left running");
    }
    for meeting in &finishing {
        assert_eq!(answers[meeting], Ok(200), "{meeting}");
        assert_eq!(states[meeting].0, "completed", "{meeting}");
    }
    for meeting in &stuck {
        assert_eq!(answers[meeting], Ok(503), "{meeting}");
        assert_eq!(states[meeting], ("pending".to_owned(), false), "{meeting}");
    }
    for (meeting, answer) in &answers {
        let state = states.get(meeting).map(|(s, _)| s.as_str());
        match answer {
            Ok(200) => assert_eq!(state, Some("completed"), "{meeting} answered 200"),
            Ok(code) => assert_eq!(state, Some("pending"), "{meeting} answered {code}"),
            Err(_) => assert!(state != Some("running"), "{meeting} got no answer"),
        }
    }

    let done = effects(&db).await;
    let unique: HashSet<&String> = done.iter().collect();
    assert_eq!(unique.len(), done.len(), "a task committed twice");
    let completed = states.values().filter(|(s, _)| s == "completed").count();
    assert_eq!(done.len(), completed);

    // The redelivery of a handed-back task claims it at once.
    let gates = Arc::new(Gates::default());
    gates.open(&stuck[0]);
    let input = Input {
        meeting_id: stuck[0].clone(),
        wait: true,
    };
    let redelivery = runner::execute(
        &db.context(),
        &SlowOp::new(gates),
        input,
        &Delivery::default(),
    )
    .await;
    assert!(
        matches!(redelivery, Ok(Outcome::Completed { .. })),
        "{redelivery:?}"
    );
}
