//! The counters `GET /stats` and [`EmulatorHandle::stats`] report.
//!
//! [`EmulatorHandle::stats`]: crate::EmulatorHandle::stats

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A snapshot of every queue, topic and subscription.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Per queue id.
    pub queues: BTreeMap<String, QueueStats>,
    /// Per topic id.
    pub topics: BTreeMap<String, TopicStats>,
    /// Per subscription id.
    pub subscriptions: BTreeMap<String, SubscriptionStats>,
}

/// One queue's counters since start, and its gauges now.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct QueueStats {
    /// Tasks in the queue (scheduled or in flight).
    pub tasks: u64,
    /// Attempts sent and not yet answered.
    pub in_flight: u64,
    /// Attempts sent, injected duplicates not included.
    pub dispatched: u64,
    /// Attempts answered 2xx (each deletes its task).
    pub succeeded: u64,
    /// Attempts that failed: non-2xx, deadline, connection or lost answer.
    pub failed_attempts: u64,
    /// Tasks deleted because their retry limits were used up.
    pub deleted_after_max_attempts: u64,
    /// Extra deliveries sent by duplicate fault injection.
    pub duplicates_delivered: u64,
    /// Answers thrown away by fault injection.
    pub responses_dropped: u64,
    /// Attempts per second over the last ten whole seconds.
    pub dispatch_rate: f64,
    /// Dispatches per second now allowed: the queue's rate, lowered after
    /// 429 and 503 answers and recovering with successes.
    pub effective_rate_limit: f64,
    /// Whether the queue is paused.
    pub paused: bool,
}

/// One topic's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TopicStats {
    /// Messages published.
    pub published: u64,
}

/// One subscription's counters.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SubscriptionStats {
    /// Topic id the subscription is attached to.
    pub topic: String,
    /// Messages waiting to be pulled.
    pub backlog: u64,
    /// Messages pulled and neither acknowledged nor expired.
    pub outstanding: u64,
    /// Messages acknowledged.
    pub acknowledged: u64,
}
