//! `emulator-bench`: how fast and how faithfully the emulator dispatches.
//!
//! Runs each scenario a few times (`--runs N`, default 3) against an
//! in-process emulator and a trivial loopback sink, and prints medians:
//! - throughput: tasks per second pushed to a sink that answers 200 at once
//!   (goal: at least 3,000/s on 2 cores, release build);
//! - rate accuracy at 100/s and 500/s: the paced rate after the initial
//!   burst, against the queue's setting (goal: within 2 %);
//! - concurrency cap at 5, 50 and 500: the most requests the sink saw at
//!   once while each took 20 ms (goal: never above the cap).
//!
//! Tasks are created while the queue is paused and the clock starts at
//! resume, so creation speed does not count.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::json;
use tasklane::spec::{FunctionSpec, JobSettings, RateLimits, RetryPolicy, Scaling};
use tasklane_emulator::{Emulator, EmulatorHandle};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio::time::Instant;

type BenchResult<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

const QUEUE: &str = "bench";
const THROUGHPUT_TASKS: usize = 20_000;
const RATE_SECONDS: f64 = 5.0;
const CAP_WORK: Duration = Duration::from_millis(20);
const CAP_TASKS_PER_SLOT: usize = 20;
const CREATORS: usize = 32;

#[tokio::main]
async fn main() -> BenchResult<()> {
    let runs = runs_from_args()?;
    println!("emulator-bench: {runs} run(s) per scenario, medians shown\n");
    println!("| scenario | median | runs | goal |");
    println!("| --- | --- | --- | --- |");

    let throughput = repeat(runs, throughput).await?;
    row(
        "throughput",
        &format!("{:.0} tasks/s", median(&throughput)),
        &throughput,
        ">= 3000/s",
    );
    for rate in [100.0, 500.0] {
        let errors = repeat(runs, || rate_error(rate)).await?;
        let name = format!("rate {rate:.0}/s error");
        row(
            &name,
            &format!("{:.2} %", median(&errors)),
            &errors,
            "<= 2 %",
        );
    }
    for cap in [5u32, 50, 500] {
        let peaks = repeat(runs, || peak_concurrency(cap)).await?;
        let name = format!("concurrency cap {cap}: peak");
        row(
            &name,
            &format!("{:.0}", median(&peaks)),
            &peaks,
            &format!("<= {cap}"),
        );
    }
    Ok(())
}

fn runs_from_args() -> BenchResult<usize> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => Ok(3),
        [flag, n] if flag == "--runs" => Ok(n.parse()?),
        _ => Err("usage: emulator-bench [--runs N]".into()),
    }
}

async fn repeat<F, Fut>(runs: usize, mut scenario: F) -> BenchResult<Vec<f64>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = BenchResult<f64>>,
{
    let mut results = Vec::with_capacity(runs);
    for _ in 0..runs {
        results.push(scenario().await?);
    }
    Ok(results)
}

fn median(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    sorted.get(sorted.len() / 2).copied().unwrap_or(f64::NAN)
}

fn row(name: &str, median: &str, all: &[f64], goal: &str) {
    let runs: Vec<String> = all.iter().map(|v| format!("{v:.1}")).collect();
    println!("| {name} | {median} | {} | {goal} |", runs.join(", "));
}

/// Tasks per second from resume to the last delivery.
async fn throughput() -> BenchResult<f64> {
    let sink = Sink::start(Duration::ZERO, false).await?;
    let bench = Bench::start(1_000_000.0, 1000).await?;
    bench.fill(&sink, THROUGHPUT_TASKS).await?;
    let started = Instant::now();
    bench.resume().await?;
    sink.wait_for(THROUGHPUT_TASKS).await;
    let elapsed = started.elapsed().as_secs_f64();
    bench.emulator.shutdown().await;
    Ok(THROUGHPUT_TASKS as f64 / elapsed)
}

/// Percent difference between the paced rate and the configured one.
async fn rate_error(rate: f64) -> BenchResult<f64> {
    let tasks = (rate * RATE_SECONDS) as usize;
    let sink = Sink::start(Duration::ZERO, true).await?;
    let bench = Bench::start(rate, 1000).await?;
    let burst = bench.burst().await?;
    bench.fill(&sink, tasks).await?;
    bench.resume().await?;
    sink.wait_for(tasks).await;
    bench.emulator.shutdown().await;
    let arrivals = sink.arrivals();
    // The first `burst` go out at once from the full bucket; after that
    // one token arrives every 1/rate seconds.
    let paced = arrivals.len().saturating_sub(burst + 1) as f64;
    let span = (arrivals[arrivals.len() - 1] - arrivals[burst]).as_secs_f64();
    let measured = paced / span;
    Ok((measured - rate).abs() / rate * 100.0)
}

/// Most requests the sink served at once under a queue capped at `cap`.
async fn peak_concurrency(cap: u32) -> BenchResult<f64> {
    let tasks = cap as usize * CAP_TASKS_PER_SLOT;
    let sink = Sink::start(CAP_WORK, false).await?;
    let bench = Bench::start(1_000_000.0, cap).await?;
    bench.fill(&sink, tasks).await?;
    bench.resume().await?;
    sink.wait_for(tasks).await;
    bench.emulator.shutdown().await;
    Ok(sink.peak.load(Ordering::SeqCst) as f64)
}

/// An emulator with one paused queue.
struct Bench {
    emulator: EmulatorHandle,
    client: reqwest::Client,
    queue_url: String,
}

impl Bench {
    async fn start(rate: f64, concurrency: u32) -> BenchResult<Bench> {
        let emulator = Emulator::builder()
            .spec(spec(rate, concurrency))
            .start("127.0.0.1:0")
            .await?;
        let queue_url = format!("{}/v2/{}", emulator.base_url(), emulator.queue_path(QUEUE));
        let bench = Bench {
            emulator,
            client: reqwest::Client::new(),
            queue_url,
        };
        bench
            .client
            .post(format!("{}:pause", bench.queue_url))
            .send()
            .await?
            .error_for_status()?;
        Ok(bench)
    }

    async fn burst(&self) -> BenchResult<usize> {
        let queue: serde_json::Value = self
            .client
            .get(&self.queue_url)
            .send()
            .await?
            .json()
            .await?;
        let burst = queue["rateLimits"]["maxBurstSize"]
            .as_u64()
            .ok_or("no maxBurstSize")?;
        Ok(usize::try_from(burst)?)
    }

    /// Creates `count` tasks aimed at the sink, from several creators.
    async fn fill(&self, sink: &Sink, count: usize) -> BenchResult<()> {
        let mut creators = JoinSet::new();
        let body = json!({"task": {"httpRequest": {"url": sink.url(), "body": "e30="}}});
        for creator in 0..CREATORS {
            let share = count / CREATORS + usize::from(creator < count % CREATORS);
            let client = self.client.clone();
            let url = format!("{}/tasks", self.queue_url);
            let body = body.clone();
            creators.spawn(async move {
                for _ in 0..share {
                    client
                        .post(&url)
                        .json(&body)
                        .send()
                        .await?
                        .error_for_status()?;
                }
                Ok::<_, reqwest::Error>(())
            });
        }
        while let Some(done) = creators.join_next().await {
            done??;
        }
        Ok(())
    }

    async fn resume(&self) -> BenchResult<()> {
        self.client
            .post(format!("{}:resume", self.queue_url))
            .send()
            .await?
            .error_for_status()?;
        Ok(())
    }
}

fn spec(rate: f64, concurrency: u32) -> FunctionSpec {
    FunctionSpec {
        name: QUEUE.into(),
        queue: QUEUE.into(),
        rate_limits: RateLimits {
            max_dispatches_per_second: rate,
            max_concurrent_dispatches: concurrency,
        },
        retry: RetryPolicy {
            max_attempts: 1,
            min_backoff_seconds: 1.0,
            max_backoff_seconds: 1.0,
            max_doublings: 0,
            max_retry_duration_seconds: 0,
        },
        dispatch_deadline_seconds: 600,
        lease_margin_seconds: 30,
        request_concurrency: concurrency,
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
        dead_letter_topic: "bench-dead-letters".into(),
        dead_letter_subscription: "bench-dead-letters-sub".into(),
    }
}

/// A loopback target that answers 200 after `work`, counting deliveries
/// and the most served at once.
struct Sink {
    addr: SocketAddr,
    state: Arc<SinkState>,
    peak: Arc<AtomicUsize>,
}

struct SinkState {
    work: Duration,
    record: bool,
    delivered: AtomicUsize,
    in_flight: AtomicUsize,
    peak: Arc<AtomicUsize>,
    arrivals: Mutex<Vec<Instant>>,
    progress: Notify,
}

impl Sink {
    async fn start(work: Duration, record: bool) -> BenchResult<Sink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let peak = Arc::new(AtomicUsize::new(0));
        let state = Arc::new(SinkState {
            work,
            record,
            delivered: AtomicUsize::new(0),
            in_flight: AtomicUsize::new(0),
            peak: Arc::clone(&peak),
            arrivals: Mutex::new(Vec::new()),
            progress: Notify::new(),
        });
        tokio::spawn(accept(listener, Arc::clone(&state)));
        Ok(Sink { addr, state, peak })
    }

    fn url(&self) -> String {
        format!("http://{}/sink", self.addr)
    }

    async fn wait_for(&self, count: usize) {
        loop {
            let progressed = self.state.progress.notified();
            if self.state.delivered.load(Ordering::SeqCst) >= count {
                return;
            }
            progressed.await;
        }
    }

    fn arrivals(&self) -> Vec<Instant> {
        let mut arrivals = self
            .state
            .arrivals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        arrivals.sort();
        arrivals
    }
}

async fn accept(listener: TcpListener, state: Arc<SinkState>) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let service = service_fn(move |_request| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(answer(&state).await) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

async fn answer(state: &SinkState) -> hyper::Response<Full<Bytes>> {
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.peak.fetch_max(now, Ordering::SeqCst);
    if state.record {
        let mut arrivals = state
            .arrivals
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        arrivals.push(Instant::now());
    }
    if !state.work.is_zero() {
        tokio::time::sleep(state.work).await;
    }
    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    state.delivered.fetch_add(1, Ordering::SeqCst);
    state.progress.notify_waiters();
    hyper::Response::new(Full::new(Bytes::from_static(b"ok")))
}
