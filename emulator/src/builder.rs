//! Configuring and starting an emulator: [`Emulator::builder`] collects
//! the settings, checks them and starts the server.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tasklane::spec::FunctionSpec;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::watch;
use tracing::{info, warn};

use crate::clock::{Clock, TimeScale};
use crate::dispatch::{Dispatcher, run_queue};
use crate::faults::{FaultDice, Faults};
use crate::oidc::{OidcError, TokenMinter};
use crate::pubsub::PubSub;
use crate::queue::{Queue, QueueConfig, Timing};
use crate::server::{EmulatorHandle, Shared, serve};

/// Cloud Tasks' own ceiling on a queue's dispatch rate; the emulator allows
/// more (benchmarks need it) but warns.
const GOOGLE_MAX_RATE: f64 = 500.0;
/// Cloud Tasks' own ceiling on concurrent dispatches.
const GOOGLE_MAX_CONCURRENT: u32 = 5000;

/// Why an emulator did not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A setting or a function spec is invalid.
    #[error("invalid emulator configuration: {0}")]
    Config(String),
    /// The listen address could not be bound.
    #[error("could not bind the listen address")]
    Bind(#[source] std::io::Error),
    /// The signing key could not be made.
    #[error("could not set up token signing")]
    Oidc(#[from] OidcError),
    /// The HTTP client for pushes could not be built.
    #[error("could not build the dispatch HTTP client")]
    Client(#[source] reqwest::Error),
}

/// Why a spec file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SpecFileError {
    /// The file could not be read.
    #[error("could not read spec file {path}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O failure.
        #[source]
        source: std::io::Error,
    },
    /// The file is not one `FunctionSpec` or an array of them.
    #[error("spec file {path} is not a FunctionSpec or an array of them")]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where parsing stopped.
        #[source]
        source: serde_json::Error,
    },
}

/// Reads the JSON `<function> spec` prints: one spec, or an array of them.
///
/// # Errors
///
/// [`SpecFileError`] when the file cannot be read or parsed.
pub fn load_specs(path: &Path) -> Result<Vec<FunctionSpec>, SpecFileError> {
    let parse_error = |source| SpecFileError::Parse {
        path: path.to_owned(),
        source,
    };
    let text = std::fs::read(path).map_err(|source| SpecFileError::Read {
        path: path.to_owned(),
        source,
    })?;
    // Parsing in two steps names the missing or wrong field, which an
    // untagged one-or-many enum would hide.
    let value: serde_json::Value = serde_json::from_slice(&text).map_err(parse_error)?;
    if value.is_array() {
        serde_json::from_value(value).map_err(parse_error)
    } else {
        serde_json::from_value(value)
            .map(|spec| vec![spec])
            .map_err(parse_error)
    }
}

/// Entry point of the library.
#[derive(Debug)]
pub struct Emulator;

impl Emulator {
    /// A builder with every setting at its default.
    pub fn builder() -> EmulatorBuilder {
        EmulatorBuilder::default()
    }
}

/// Settings of an emulator; see each setter for its default.
#[derive(Debug, Clone)]
pub struct EmulatorBuilder {
    project: String,
    location: String,
    specs: Vec<FunctionSpec>,
    time_scale: f64,
    deadline_scale: f64,
    dedup_window: Duration,
    ack_deadline: Duration,
    faults: Faults,
    seed: Option<u64>,
}

impl Default for EmulatorBuilder {
    fn default() -> Self {
        EmulatorBuilder {
            project: String::from("local"),
            location: String::from("us-central1"),
            specs: Vec::new(),
            time_scale: 1.0,
            deadline_scale: 1.0,
            dedup_window: Duration::from_secs(3600),
            ack_deadline: Duration::from_secs(10),
            faults: Faults::default(),
            seed: None,
        }
    }
}

impl EmulatorBuilder {
    /// Project id in resource names. Default `local`.
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = project.into();
        self
    }

    /// Location id in resource names. Default `us-central1`.
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.location = location.into();
        self
    }

    /// Adds a function: its queue, dead-letter topic and subscription.
    /// Default: none.
    pub fn spec(mut self, spec: FunctionSpec) -> Self {
        self.specs.push(spec);
        self
    }

    /// Adds several functions.
    pub fn specs(mut self, specs: impl IntoIterator<Item = FunctionSpec>) -> Self {
        self.specs.extend(specs);
        self
    }

    /// How many times faster than real time the queues' waits run: backoff,
    /// `scheduleTime`, `Retry-After`, and the age `maxRetryDuration` is
    /// checked against. Rate limits, dispatch deadlines, the dedup window
    /// and ack deadlines are not scaled. Default 1 (real time).
    pub fn time_scale(mut self, factor: f64) -> Self {
        self.time_scale = factor;
        self
    }

    /// Divides every dispatch deadline, so deadline tests need not wait
    /// 15 s, Cloud Tasks' shortest. Kept apart from [`time_scale`] because a
    /// scaled deadline cuts real handlers short. Default 1.
    ///
    /// [`time_scale`]: EmulatorBuilder::time_scale
    pub fn deadline_scale(mut self, factor: f64) -> Self {
        self.deadline_scale = factor;
        self
    }

    /// How long the name of a deleted or finished task stays reserved
    /// (ALREADY_EXISTS on reuse). Zero reserves nothing. Default 1 hour.
    pub fn dedup_window(mut self, window: Duration) -> Self {
        self.dedup_window = window;
        self
    }

    /// How long a pulled Pub/Sub message waits for its ack before it is
    /// delivered again. Default 10 s, Pub/Sub's default.
    pub fn ack_deadline(mut self, deadline: Duration) -> Self {
        self.ack_deadline = deadline;
        self
    }

    /// All fault-injection settings at once. Default: no faults.
    pub fn faults(mut self, faults: Faults) -> Self {
        self.faults = faults;
        self
    }

    /// Chance (0 to 1) that an attempt is delivered twice. Default 0.
    pub fn duplicate_probability(mut self, probability: f64) -> Self {
        self.faults.duplicate_probability = probability;
        self
    }

    /// How long after the original a duplicate goes out. Default 0.
    pub fn duplicate_delay(mut self, delay: Duration) -> Self {
        self.faults.duplicate_delay = delay;
        self
    }

    /// Chance (0 to 1) that a handler's answer is lost, so the attempt is
    /// retried although the handler finished. Default 0.
    pub fn drop_response_probability(mut self, probability: f64) -> Self {
        self.faults.drop_response_probability = probability;
        self
    }

    /// Seed of the fault-injection generator. Default: random, reported by
    /// [`EmulatorHandle::seed`] and logged at start.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Binds `addr` (port 0 picks a free port) and starts serving and
    /// dispatching.
    ///
    /// # Errors
    ///
    /// [`StartError::Config`] for invalid settings or specs,
    /// [`StartError::Bind`] when the address cannot be bound, and
    /// [`StartError::Oidc`] or [`StartError::Client`] when the signing key
    /// or the HTTP client cannot be set up.
    pub async fn start(self, addr: impl ToSocketAddrs) -> Result<EmulatorHandle, StartError> {
        self.validate()?;
        let listener = TcpListener::bind(addr).await.map_err(StartError::Bind)?;
        let local = listener.local_addr().map_err(StartError::Bind)?;
        let seed = self.seed.unwrap_or_else(rand::random);
        let minter = Arc::new(TokenMinter::generate()?);
        let (stop, stopped) = watch::channel(false);
        let shared = Arc::new(self.shared(Arc::clone(&minter))?);
        let dice = FaultDice::new(self.faults.clone(), seed);
        let scale = TimeScale::new(self.deadline_scale);
        let dispatcher =
            Dispatcher::new(minter, dice, scale, stopped.clone()).map_err(StartError::Client)?;
        let dispatcher = Arc::new(dispatcher);
        let mut tasks: Vec<_> = shared
            .queues
            .values()
            .map(|queue| tokio::spawn(run_queue(Arc::clone(queue), Arc::clone(&dispatcher))))
            .collect();
        tasks.push(tokio::spawn(serve(listener, Arc::clone(&shared), stopped)));
        info!(
            addr = %local, project = %self.project, location = %self.location,
            queues = shared.queues.len(), time_scale = self.time_scale, seed,
            "emulator started"
        );
        Ok(EmulatorHandle::new(local, seed, shared, stop, tasks))
    }

    fn shared(&self, minter: Arc<TokenMinter>) -> Result<Shared, StartError> {
        let timing = Timing {
            clock: Clock::start(),
            scale: TimeScale::new(self.time_scale),
            dedup_window: self.dedup_window,
        };
        let parent = format!("projects/{}/locations/{}", self.project, self.location);
        let queues: BTreeMap<String, Arc<Queue>> = self
            .specs
            .iter()
            .map(|spec| {
                let config = QueueConfig::from_spec(spec, &parent);
                (config.id.clone(), Arc::new(Queue::new(config, timing)))
            })
            .collect();
        let pubsub = PubSub::from_specs(&self.specs, self.ack_deadline)
            .map_err(|err| StartError::Config(err.to_string()))?;
        Ok(Shared {
            project: self.project.clone(),
            location: self.location.clone(),
            queues,
            pubsub,
            minter,
            ack_deadline: self.ack_deadline,
        })
    }

    fn validate(&self) -> Result<(), StartError> {
        check_id("project", &self.project)?;
        check_id("location", &self.location)?;
        check_scale("time scale", self.time_scale)?;
        check_scale("deadline scale", self.deadline_scale)?;
        self.faults.validate().map_err(StartError::Config)?;
        let mut owners: BTreeMap<&str, &str> = BTreeMap::new();
        for spec in &self.specs {
            validate_spec(spec)?;
            if let Some(other) = owners.insert(&spec.queue, &spec.name) {
                return Err(StartError::Config(format!(
                    "queue {} is declared by both {other} and {}",
                    spec.queue, spec.name
                )));
            }
        }
        Ok(())
    }
}

fn check_id(what: &str, id: &str) -> Result<(), StartError> {
    let valid = !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if valid {
        return Ok(());
    }
    Err(StartError::Config(format!(
        "{what} {id:?} must be letters, digits and hyphens"
    )))
}

fn check_scale(what: &str, factor: f64) -> Result<(), StartError> {
    if factor.is_finite() && factor > 0.0 {
        return Ok(());
    }
    Err(StartError::Config(format!(
        "{what} must be a positive number, got {factor}"
    )))
}

/// Checks the parts of a spec the queue and topics are built from.
fn validate_spec(spec: &FunctionSpec) -> Result<(), StartError> {
    let fail = |reason: String| Err(StartError::Config(format!("spec {}: {reason}", spec.name)));
    let queue_ok = spec.queue.len() <= 100
        && !spec.queue.is_empty()
        && spec
            .queue
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !queue_ok {
        return fail(format!(
            "queue id {:?} must be 1 to 100 letters, digits or hyphens",
            spec.queue
        ));
    }
    let rate = spec.rate_limits.max_dispatches_per_second;
    if !(rate.is_finite() && rate > 0.0) {
        return fail(format!(
            "max_dispatches_per_second must be positive, got {rate}"
        ));
    }
    if spec.rate_limits.max_concurrent_dispatches == 0 {
        return fail(String::from("max_concurrent_dispatches must be at least 1"));
    }
    let retry = &spec.retry;
    if retry.max_attempts < -1 || retry.max_attempts == 0 {
        return fail(format!(
            "max_attempts must be -1 or at least 1, got {}",
            retry.max_attempts
        ));
    }
    let (min, max) = (retry.min_backoff_seconds, retry.max_backoff_seconds);
    if !(min.is_finite() && max.is_finite() && min >= 0.0 && max >= min) {
        return fail(format!(
            "backoff must satisfy 0 <= min ({min}) <= max ({max})"
        ));
    }
    if spec.dead_letter_topic.is_empty() || spec.dead_letter_subscription.is_empty() {
        return fail(String::from(
            "dead_letter_topic and dead_letter_subscription are required",
        ));
    }
    warn_beyond_google_limits(spec);
    Ok(())
}

fn warn_beyond_google_limits(spec: &FunctionSpec) {
    let limits = &spec.rate_limits;
    if limits.max_dispatches_per_second > GOOGLE_MAX_RATE
        || limits.max_concurrent_dispatches > GOOGLE_MAX_CONCURRENT
    {
        warn!(
            queue = %spec.queue,
            rate = limits.max_dispatches_per_second,
            concurrency = limits.max_concurrent_dispatches,
            "queue limits exceed what Cloud Tasks allows (500/s, 5000 concurrent)"
        );
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn example_spec(queue: &str) -> serde_json::Value {
        serde_json::json!({
            "name": format!("{queue}-fn"), "queue": queue,
            "rate_limits": {"max_dispatches_per_second": 20.0, "max_concurrent_dispatches": 50},
            "retry": {"max_attempts": 8, "min_backoff_seconds": 10.0,
                      "max_backoff_seconds": 300.0, "max_doublings": 3,
                      "max_retry_duration_seconds": 3600},
            "dispatch_deadline_seconds": 600, "lease_margin_seconds": 30,
            "request_concurrency": 40,
            "scaling": {"min_instances": 0, "max_instances": 10, "cpu": "1", "memory": "512Mi"},
            "job": {"task_count": 4, "parallelism": 2, "max_retries": 1, "timeout_seconds": 3600},
            "dead_letter_topic": "dl", "dead_letter_subscription": "dl-sub"
        })
    }

    fn write_temp(name: &str, value: &serde_json::Value) -> PathBuf {
        let path = std::env::temp_dir().join(format!("{name}-{}.json", std::process::id()));
        std::fs::write(&path, value.to_string()).unwrap();
        path
    }

    #[test]
    fn specs_load_from_one_object_or_an_array() {
        let one = write_temp("emulator-one-spec", &example_spec("a"));
        let many = write_temp(
            "emulator-many-specs",
            &serde_json::json!([example_spec("a"), example_spec("b")]),
        );

        assert_eq!(load_specs(&one).unwrap().len(), 1);
        let queues: Vec<String> = load_specs(&many)
            .unwrap()
            .into_iter()
            .map(|s| s.queue)
            .collect();
        assert_eq!(queues, ["a", "b"]);
        let _ = std::fs::remove_file(one);
        let _ = std::fs::remove_file(many);
    }

    #[tokio::test]
    async fn a_queue_declared_by_two_functions_is_refused() {
        let spec: FunctionSpec = serde_json::from_value(example_spec("shared")).unwrap();
        let mut other = spec.clone();
        other.name = String::from("other-fn");

        let err = Emulator::builder()
            .spec(spec)
            .spec(other)
            .start("127.0.0.1:0")
            .await;

        let message = err.unwrap_err().to_string();
        assert!(
            message.contains("queue shared is declared by both"),
            "{message}"
        );
    }

    #[tokio::test]
    async fn out_of_range_settings_are_refused_before_binding() {
        let zero_scale = Emulator::builder()
            .time_scale(0.0)
            .start("127.0.0.1:0")
            .await;
        assert!(matches!(zero_scale, Err(StartError::Config(_))));
        let certain = Emulator::builder()
            .drop_response_probability(1.5)
            .start("127.0.0.1:0")
            .await;
        assert!(matches!(certain, Err(StartError::Config(_))));
    }
}
