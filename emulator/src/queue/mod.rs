//! One Cloud Tasks queue: its tasks, the schedule of due attempts, the
//! rate and concurrency limits, and the reserved names of finished tasks.
//!
//! All state sits behind one mutex held only for bookkeeping, never across
//! I/O. The dispatcher asks [`Queue::next_jobs`] what to send, sends it, and
//! reports each answer back through [`Queue::finish`].

mod bucket;
pub(crate) mod retry;
pub(crate) mod task;

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use tasklane::spec::{FunctionSpec, RetryPolicy};
use tokio::sync::Notify;
use tokio::time::Instant;

use crate::clock::{Clock, TimeScale};
use crate::stats::QueueStats;
use bucket::TokenBucket;
use retry::AfterFailure;
use task::{Attempt, HttpTarget, NewTask, StoredTask};

/// A queue's settings, taken from the function spec that declares it.
#[derive(Debug, Clone)]
pub(crate) struct QueueConfig {
    /// Queue id, the last segment of the name.
    pub(crate) id: String,
    /// `projects/P/locations/L/queues/Q`.
    pub(crate) name: String,
    pub(crate) max_dispatches_per_second: f64,
    pub(crate) max_burst_size: u32,
    pub(crate) max_concurrent_dispatches: u32,
    pub(crate) retry: RetryPolicy,
}

impl QueueConfig {
    /// The queue a function's spec declares, under `parent`
    /// (`projects/P/locations/L`).
    pub(crate) fn from_spec(spec: &FunctionSpec, parent: &str) -> Self {
        let rate = spec.rate_limits.max_dispatches_per_second;
        QueueConfig {
            id: spec.queue.clone(),
            name: format!("{parent}/queues/{}", spec.queue),
            max_dispatches_per_second: rate,
            max_burst_size: retry::max_burst_size(rate),
            max_concurrent_dispatches: spec.rate_limits.max_concurrent_dispatches,
            retry: spec.retry.clone(),
        }
    }
}

/// Timing settings shared by all queues.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timing {
    pub(crate) clock: Clock,
    pub(crate) scale: TimeScale,
    /// How long a finished task's name stays reserved (real time).
    pub(crate) dedup_window: Duration,
}

/// Why a task could not be created.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CreateError {
    #[error("task {0} already exists or was finished within the dedup window")]
    AlreadyExists(String),
}

/// One attempt to send, taken off the queue by the dispatcher.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub(crate) task_id: String,
    pub(crate) incarnation: u64,
    pub(crate) target: Arc<HttpTarget>,
    /// 1-based number of this attempt.
    pub(crate) attempt: u32,
    pub(crate) execution_count: u32,
    pub(crate) eta: SystemTime,
    pub(crate) previous_response: Option<u16>,
    pub(crate) retry_reason: Option<&'static str>,
    /// Emulated time the target has to answer.
    pub(crate) dispatch_deadline: Duration,
}

/// How an attempt ended.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Outcome {
    /// The target answered with this status.
    Responded {
        status: u16,
        retry_after: Option<Duration>,
    },
    /// The target answered but fault injection threw the answer away.
    ResponseDropped { status: u16 },
    /// No answer within the dispatch deadline.
    DeadlineExceeded,
    /// No connection or a broken one.
    Unreachable(String),
}

impl Outcome {
    /// A short name for logs.
    pub(crate) fn label(&self) -> &'static str {
        match self {
            Outcome::Responded { .. } => "responded",
            Outcome::ResponseDropped { .. } => "response_dropped",
            Outcome::DeadlineExceeded => "deadline_exceeded",
            Outcome::Unreachable(_) => "unreachable",
        }
    }

    fn succeeded(&self) -> bool {
        matches!(self, Outcome::Responded { status, .. } if (200..300).contains(status))
    }

    fn asks_to_slow_down(&self) -> bool {
        matches!(
            self,
            Outcome::Responded {
                status: 429 | 503,
                ..
            }
        )
    }

    /// The reason sent in the next attempt's `X-CloudTasks-TaskRetryReason`.
    /// Google does not document the values; these name the failure class.
    fn retry_reason(&self) -> &'static str {
        match self {
            Outcome::Responded { status: 429, .. } => "TOO_MANY_REQUESTS",
            Outcome::Responded { status: 503, .. } => "UNAVAILABLE",
            Outcome::Responded { status, .. } if *status >= 500 => "SERVER_ERROR",
            Outcome::Responded { status, .. } if *status < 400 => "REDIRECTION",
            Outcome::Responded { .. } => "CLIENT_ERROR",
            Outcome::ResponseDropped { .. } => "RESPONSE_LOST",
            Outcome::DeadlineExceeded => "DEADLINE_EXCEEDED",
            Outcome::Unreachable(_) => "CONNECTION_ERROR",
        }
    }

    /// The attempt's `responseStatus` as a gRPC code and message.
    fn rpc_status(&self) -> (i32, String) {
        match self {
            Outcome::Responded { status, .. } => (grpc_code(*status), format!("HTTP {status}")),
            Outcome::ResponseDropped { status } => {
                (14, format!("HTTP {status} answer lost (fault injection)"))
            }
            Outcome::DeadlineExceeded => (4, String::from("dispatch deadline exceeded")),
            Outcome::Unreachable(reason) => (14, reason.clone()),
        }
    }
}

/// The usual mapping of HTTP status to gRPC code.
fn grpc_code(status: u16) -> i32 {
    match status {
        200..=299 => 0,
        400 => 3,
        401 => 16,
        403 => 7,
        404 => 5,
        409 => 10,
        412 => 9,
        416 => 11,
        429 => 8,
        499 => 1,
        501 => 12,
        503 => 14,
        504 => 4,
        500..=599 => 13,
        _ => 2,
    }
}

/// What became of a task after an attempt.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Verdict {
    /// 2xx: the task is deleted.
    Succeeded,
    /// Failed; next attempt after this much emulated time.
    Retry(Duration),
    /// Failed for the last time: the task is deleted.
    GaveUp,
    /// The task was deleted or purged while the attempt ran.
    Gone,
}

/// What the dispatcher should do next.
#[derive(Debug)]
pub(crate) enum NextStep {
    /// Send these.
    Jobs(Vec<Job>),
    /// Nothing can go before this instant (a due time or a token).
    WaitUntil(Instant),
    /// Nothing to do until something changes (a task, a finished attempt, a
    /// resume).
    Idle,
}

/// A fault the dispatcher injected, counted in the stats.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Fault {
    DuplicateDelivered,
    ResponseDropped,
}

/// A queue and the signal that wakes its dispatcher.
#[derive(Debug)]
pub(crate) struct Queue {
    pub(crate) config: QueueConfig,
    timing: Timing,
    state: Mutex<QueueState>,
    /// Wakes the dispatcher when tasks arrive, attempts finish or the queue
    /// resumes.
    pub(crate) wake: Notify,
}

#[derive(Debug)]
struct QueueState {
    tasks: HashMap<String, StoredTask>,
    schedule: BinaryHeap<Due>,
    reserved: HashMap<String, Instant>,
    reserved_order: VecDeque<(Instant, String)>,
    bucket: TokenBucket,
    in_flight: u32,
    paused: bool,
    purge_time: Option<SystemTime>,
    next_incarnation: u64,
    next_sequence: u64,
    counters: QueueStats,
    recent: RateWindow,
}

/// An entry in the schedule; stale once the task is rescheduled or gone.
#[derive(Debug, PartialEq, Eq)]
struct Due {
    at: Instant,
    sequence: u64,
    task_id: String,
    incarnation: u64,
    generation: u64,
}

impl Ord for Due {
    fn cmp(&self, other: &Self) -> Ordering {
        // Reversed: BinaryHeap is a max-heap and the earliest must come out.
        (other.at, other.sequence).cmp(&(self.at, self.sequence))
    }
}

impl PartialOrd for Due {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Queue {
    /// An empty, running queue.
    pub(crate) fn new(config: QueueConfig, timing: Timing) -> Self {
        let now = Instant::now();
        let bucket = TokenBucket::new(config.max_dispatches_per_second, config.max_burst_size, now);
        let state = QueueState {
            tasks: HashMap::new(),
            schedule: BinaryHeap::new(),
            reserved: HashMap::new(),
            reserved_order: VecDeque::new(),
            bucket,
            in_flight: 0,
            paused: false,
            purge_time: None,
            next_incarnation: 1,
            next_sequence: 0,
            counters: QueueStats::default(),
            recent: RateWindow::new(now),
        };
        Queue {
            config,
            timing,
            state: Mutex::new(state),
            wake: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, QueueState> {
        // A panic while holding the lock leaves only counters half-updated;
        // keep serving rather than poisoning every later request.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a task.
    ///
    /// # Errors
    ///
    /// [`CreateError::AlreadyExists`] when the name is taken by a live task
    /// or reserved after a finished one.
    pub(crate) fn create(&self, new: NewTask) -> Result<StoredTask, CreateError> {
        let now = Instant::now();
        let mut state = self.lock();
        state.expire_reservations(now);
        let id = match new.id {
            Some(id) if state.name_taken(&id) => return Err(CreateError::AlreadyExists(id)),
            Some(id) => id,
            None => state.fresh_id(),
        };
        let ahead = new
            .schedule_time
            .map_or(Duration::ZERO, |at| self.timing.clock.ahead(at, now));
        let due = now + self.timing.scale.to_real(ahead);
        let incarnation = state.next_incarnation;
        state.next_incarnation += 1;
        let task = StoredTask {
            id: id.clone(),
            incarnation,
            target: Arc::new(new.target),
            create_time: self.timing.clock.wall(now),
            due,
            schedule_time: self.timing.clock.wall(due),
            schedule_generation: 0,
            dispatch_deadline: new.dispatch_deadline,
            dispatch_count: 0,
            response_count: 0,
            execution_count: 0,
            first_attempt: None,
            last_attempt: None,
            first_dispatch: None,
            previous_response: None,
            retry_reason: None,
            in_flight: false,
        };
        state.enqueue(&task);
        state.tasks.insert(id, task.clone());
        drop(state);
        self.wake.notify_one();
        Ok(task)
    }

    /// A copy of a task.
    pub(crate) fn get(&self, id: &str) -> Option<StoredTask> {
        self.lock().tasks.get(id).cloned()
    }

    /// Up to `limit` tasks whose ids sort after `after`, in id order, and
    /// whether more follow.
    pub(crate) fn list(&self, after: Option<&str>, limit: usize) -> (Vec<StoredTask>, bool) {
        let state = self.lock();
        let mut ids: Vec<&String> = state
            .tasks
            .keys()
            .filter(|id| after.is_none_or(|a| id.as_str() > a))
            .collect();
        ids.sort();
        let more = ids.len() > limit;
        let page = ids
            .into_iter()
            .take(limit)
            .filter_map(|id| state.tasks.get(id))
            .cloned();
        (page.collect(), more)
    }

    /// Deletes a task, reserving its name; false when there is none.
    pub(crate) fn delete(&self, id: &str) -> bool {
        let mut state = self.lock();
        let found = state.tasks.remove(id).is_some();
        if found {
            state.reserve(id.to_owned(), Instant::now(), self.timing.dedup_window);
        }
        found
    }

    /// Stops dispatching; tasks can still be added.
    pub(crate) fn pause(&self) {
        self.lock().paused = true;
    }

    /// Starts dispatching again.
    pub(crate) fn resume(&self) {
        self.lock().paused = false;
        self.wake.notify_one();
    }

    /// Deletes every task, reserving their names, and records the purge.
    pub(crate) fn purge(&self) {
        let now = Instant::now();
        let mut state = self.lock();
        let ids: Vec<String> = state.tasks.drain().map(|(id, _)| id).collect();
        for id in ids {
            state.reserve(id, now, self.timing.dedup_window);
        }
        state.schedule.clear();
        state.purge_time = Some(self.timing.clock.wall(now));
    }

    /// Whether the queue is paused, and when it was last purged.
    pub(crate) fn status(&self) -> (bool, Option<SystemTime>) {
        let state = self.lock();
        (state.paused, state.purge_time)
    }

    /// Counters and gauges for `/stats`.
    pub(crate) fn stats(&self) -> QueueStats {
        let now = Instant::now();
        let mut state = self.lock();
        let mut stats = state.counters.clone();
        stats.tasks = state.tasks.len() as u64;
        stats.in_flight = u64::from(state.in_flight);
        stats.paused = state.paused;
        stats.dispatch_rate = state.recent.rate(now);
        stats.effective_rate_limit = state.bucket.effective_rate();
        stats
    }

    /// Counts an injected fault.
    pub(crate) fn record_fault(&self, fault: Fault) {
        let mut state = self.lock();
        match fault {
            Fault::DuplicateDelivered => state.counters.duplicates_delivered += 1,
            Fault::ResponseDropped => state.counters.responses_dropped += 1,
        }
    }

    /// Takes up to `max` attempts that are due now and allowed by the rate
    /// and concurrency limits, marking them in flight.
    pub(crate) fn next_jobs(&self, max: usize) -> NextStep {
        let now = Instant::now();
        let mut state = self.lock();
        if state.paused {
            return NextStep::Idle;
        }
        let mut jobs = Vec::new();
        let blocked = loop {
            if jobs.len() >= max {
                break NextStep::Idle;
            }
            match state.take_due(now, &self.config, self.timing.clock) {
                Ok(job) => jobs.push(job),
                Err(step) => break step,
            }
        };
        if jobs.is_empty() {
            blocked
        } else {
            NextStep::Jobs(jobs)
        }
    }

    /// Applies an attempt's outcome: deletes the task on success or when
    /// retries are exhausted, otherwise schedules the next attempt.
    pub(crate) fn finish(&self, job: &Job, outcome: &Outcome) -> Verdict {
        let now = Instant::now();
        let mut state = self.lock();
        state.in_flight = state.in_flight.saturating_sub(1);
        let verdict = state.apply(job, outcome, now, &self.config.retry, self.timing);
        drop(state);
        self.wake.notify_one();
        verdict
    }
}

impl QueueState {
    fn name_taken(&self, id: &str) -> bool {
        self.tasks.contains_key(id) || self.reserved.contains_key(id)
    }

    fn fresh_id(&self) -> String {
        // Cloud Tasks picks long decimal ids; retry in the unlikely event of
        // a clash with a live or reserved name.
        loop {
            let id = rand::random::<u64>().to_string();
            if !self.name_taken(&id) {
                return id;
            }
        }
    }

    fn reserve(&mut self, id: String, now: Instant, window: Duration) {
        if window.is_zero() {
            return;
        }
        let until = now + window;
        self.reserved.insert(id.clone(), until);
        self.reserved_order.push_back((until, id));
    }

    fn expire_reservations(&mut self, now: Instant) {
        while let Some((until, _)) = self.reserved_order.front() {
            if *until > now {
                break;
            }
            if let Some((until, id)) = self.reserved_order.pop_front() {
                // A later reservation of the same name replaces this one.
                if self.reserved.get(&id) == Some(&until) {
                    self.reserved.remove(&id);
                }
            }
        }
    }

    fn enqueue(&mut self, task: &StoredTask) {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        self.schedule.push(Due {
            at: task.due,
            sequence,
            task_id: task.id.clone(),
            incarnation: task.incarnation,
            generation: task.schedule_generation,
        });
    }

    /// The next due attempt, or the step that says why there is none.
    fn take_due(
        &mut self,
        now: Instant,
        config: &QueueConfig,
        clock: Clock,
    ) -> Result<Job, NextStep> {
        loop {
            if self.in_flight >= config.max_concurrent_dispatches {
                return Err(NextStep::Idle);
            }
            let Some(next) = self.schedule.peek() else {
                return Err(NextStep::Idle);
            };
            if !self.is_current(next) {
                self.schedule.pop();
                continue;
            }
            if next.at > now {
                return Err(NextStep::WaitUntil(next.at));
            }
            if let Err(wait) = self.bucket.take(now) {
                return Err(NextStep::WaitUntil(now + wait));
            }
            let Some(due) = self.schedule.pop() else {
                return Err(NextStep::Idle);
            };
            if let Some(job) = self.start_attempt(&due.task_id, now, clock) {
                return Ok(job);
            }
        }
    }

    fn is_current(&self, due: &Due) -> bool {
        self.tasks.get(&due.task_id).is_some_and(|task| {
            task.incarnation == due.incarnation
                && task.schedule_generation == due.generation
                && !task.in_flight
        })
    }

    fn start_attempt(&mut self, id: &str, now: Instant, clock: Clock) -> Option<Job> {
        let task = self.tasks.get_mut(id)?;
        self.in_flight += 1;
        self.counters.dispatched += 1;
        self.recent.record(now);
        let wall = clock.wall(now);
        task.in_flight = true;
        task.dispatch_count += 1;
        let attempt = Attempt {
            schedule_time: task.schedule_time,
            dispatch_time: wall,
            response_time: None,
            response_status: None,
        };
        if task.first_attempt.is_none() {
            task.first_attempt = Some(attempt.clone());
            task.first_dispatch = Some(now);
        }
        task.last_attempt = Some(attempt);
        Some(Job {
            task_id: task.id.clone(),
            incarnation: task.incarnation,
            target: Arc::clone(&task.target),
            attempt: task.dispatch_count,
            execution_count: task.execution_count,
            eta: task.schedule_time,
            previous_response: task.previous_response,
            retry_reason: task.retry_reason,
            dispatch_deadline: task.dispatch_deadline,
        })
    }

    fn apply(
        &mut self,
        job: &Job,
        outcome: &Outcome,
        now: Instant,
        policy: &RetryPolicy,
        timing: Timing,
    ) -> Verdict {
        let Some(task) = self
            .tasks
            .get_mut(&job.task_id)
            .filter(|task| task.incarnation == job.incarnation)
        else {
            return Verdict::Gone;
        };
        record_outcome(task, outcome, timing.clock.wall(now));
        if outcome.succeeded() {
            self.counters.succeeded += 1;
            self.bucket.recover(now);
            self.remove_finished(&job.task_id, now, timing.dedup_window);
            return Verdict::Succeeded;
        }
        self.counters.failed_attempts += 1;
        if outcome.asks_to_slow_down() {
            self.bucket.slow_down(now);
        }
        self.after_failure(job, outcome, now, policy, timing)
    }

    fn after_failure(
        &mut self,
        job: &Job,
        outcome: &Outcome,
        now: Instant,
        policy: &RetryPolicy,
        timing: Timing,
    ) -> Verdict {
        let Some(task) = self.tasks.get_mut(&job.task_id) else {
            return Verdict::Gone;
        };
        let first = task.first_dispatch.unwrap_or(now);
        let elapsed = timing
            .scale
            .to_emulated(now.saturating_duration_since(first));
        let retry_after = match outcome {
            Outcome::Responded { retry_after, .. } => *retry_after,
            _ => None,
        };
        match retry::after_failure(policy, task.dispatch_count, elapsed, retry_after) {
            AfterFailure::GiveUp => {
                self.counters.deleted_after_max_attempts += 1;
                self.remove_finished(&job.task_id, now, timing.dedup_window);
                Verdict::GaveUp
            }
            AfterFailure::Retry(delay) => {
                task.due = now + timing.scale.to_real(delay);
                task.schedule_time = timing.clock.wall(task.due);
                task.schedule_generation += 1;
                let task = task.clone();
                self.enqueue(&task);
                Verdict::Retry(delay)
            }
        }
    }

    fn remove_finished(&mut self, id: &str, now: Instant, window: Duration) {
        self.tasks.remove(id);
        self.reserve(id.to_owned(), now, window);
    }
}

/// Updates the attempt record and the counters the next attempt's headers
/// carry.
fn record_outcome(task: &mut StoredTask, outcome: &Outcome, wall: SystemTime) {
    task.in_flight = false;
    if let Some(last) = task.last_attempt.as_mut() {
        last.response_time = Some(wall);
        last.response_status = Some(outcome.rpc_status());
    }
    match outcome {
        Outcome::Responded { status, .. } => {
            task.response_count += 1;
            if *status < 500 {
                task.execution_count += 1;
            }
            task.previous_response = Some(*status);
        }
        _ => task.previous_response = None,
    }
    task.retry_reason = (!outcome.succeeded()).then(|| outcome.retry_reason());
}

/// Dispatches per second over the last ten whole seconds.
#[derive(Debug)]
struct RateWindow {
    origin: Instant,
    counts: [u64; RateWindow::SECONDS],
    second: u64,
}

impl RateWindow {
    const SECONDS: usize = 10;

    fn new(origin: Instant) -> Self {
        RateWindow {
            origin,
            counts: [0; RateWindow::SECONDS],
            second: 0,
        }
    }

    fn record(&mut self, now: Instant) {
        self.advance(now);
        self.counts[self.slot(self.second)] += 1;
    }

    fn rate(&mut self, now: Instant) -> f64 {
        self.advance(now);
        let whole = self.second.min(RateWindow::SECONDS as u64);
        if whole == 0 {
            return 0.0;
        }
        let total: u64 = (1..=whole)
            .map(|back| self.counts[self.slot(self.second - back)])
            .sum();
        total as f64 / whole as f64
    }

    fn advance(&mut self, now: Instant) {
        let second = now.saturating_duration_since(self.origin).as_secs();
        let steps = second
            .saturating_sub(self.second)
            .min(RateWindow::SECONDS as u64);
        for step in 1..=steps {
            let slot = self.slot(self.second + step);
            self.counts[slot] = 0;
        }
        self.second = self.second.max(second);
    }

    fn slot(&self, second: u64) -> usize {
        (second % RateWindow::SECONDS as u64) as usize
    }
}
