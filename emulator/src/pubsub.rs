//! The Pub/Sub side: the dead-letter topics and subscriptions the function
//! specs declare, with publish, pull, acknowledge and redelivery of
//! messages whose ack deadline passed.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tasklane::spec::FunctionSpec;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep_until};

use crate::stats::{SubscriptionStats, TopicStats};

/// Longest a pull waits for a first message before answering empty.
const PULL_WAIT: Duration = Duration::from_secs(1);

/// Why a Pub/Sub call failed.
#[derive(Debug, thiserror::Error)]
pub(crate) enum PubSubError {
    #[error("topic {0} not found")]
    TopicNotFound(String),
    #[error("subscription {0} not found")]
    SubscriptionNotFound(String),
    #[error("subscription {subscription} is declared for topic {first} and for topic {second}")]
    ConflictingSubscription {
        subscription: String,
        first: String,
        second: String,
    },
}

/// A message as published.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) id: String,
    pub(crate) data: Bytes,
    pub(crate) attributes: BTreeMap<String, String>,
    pub(crate) ordering_key: String,
    pub(crate) publish_time: SystemTime,
}

/// A message handed out by a pull.
#[derive(Debug, Clone)]
pub(crate) struct Received {
    pub(crate) ack_id: String,
    pub(crate) message: Message,
}

/// A message before the server gives it an id and a time.
#[derive(Debug, Clone, Default)]
pub(crate) struct NewMessage {
    pub(crate) data: Bytes,
    pub(crate) attributes: BTreeMap<String, String>,
    pub(crate) ordering_key: String,
}

/// All topics and subscriptions of the project.
#[derive(Debug)]
pub(crate) struct PubSub {
    topics: HashMap<String, Topic>,
    subscriptions: HashMap<String, Arc<Subscription>>,
    ack_deadline: Duration,
    next_message_id: AtomicU64,
}

#[derive(Debug, Default)]
struct Topic {
    subscriptions: Vec<Arc<Subscription>>,
    published: AtomicU64,
}

#[derive(Debug)]
struct Subscription {
    topic: String,
    state: Mutex<SubscriptionState>,
    arrived: Notify,
}

#[derive(Debug, Default)]
struct SubscriptionState {
    backlog: VecDeque<Message>,
    outstanding: HashMap<String, Outstanding>,
    next_ack: u64,
    acknowledged: u64,
}

#[derive(Debug)]
struct Outstanding {
    message: Message,
    deadline: Instant,
}

impl PubSub {
    /// The topics and subscriptions named by `specs`.
    ///
    /// # Errors
    ///
    /// [`PubSubError::ConflictingSubscription`] when two specs attach one
    /// subscription to different topics.
    pub(crate) fn from_specs(
        specs: &[FunctionSpec],
        ack_deadline: Duration,
    ) -> Result<Self, PubSubError> {
        let mut topics: HashMap<String, Topic> = HashMap::new();
        let mut subscriptions: HashMap<String, Arc<Subscription>> = HashMap::new();
        for spec in specs {
            let topic = topics.entry(spec.dead_letter_topic.clone()).or_default();
            let name = &spec.dead_letter_subscription;
            if let Some(existing) = subscriptions.get(name) {
                if existing.topic != spec.dead_letter_topic {
                    return Err(PubSubError::ConflictingSubscription {
                        subscription: name.clone(),
                        first: existing.topic.clone(),
                        second: spec.dead_letter_topic.clone(),
                    });
                }
                continue;
            }
            let subscription = Arc::new(Subscription::new(&spec.dead_letter_topic));
            topic.subscriptions.push(Arc::clone(&subscription));
            subscriptions.insert(name.clone(), subscription);
        }
        Ok(PubSub {
            topics,
            subscriptions,
            ack_deadline,
            next_message_id: AtomicU64::new(1),
        })
    }

    /// Whether a topic exists.
    pub(crate) fn has_topic(&self, topic: &str) -> bool {
        self.topics.contains_key(topic)
    }

    /// The topic a subscription is attached to.
    pub(crate) fn subscription_topic(&self, subscription: &str) -> Option<&str> {
        self.subscriptions
            .get(subscription)
            .map(|s| s.topic.as_str())
    }

    /// Stores the messages on every subscription of the topic and returns
    /// their ids. A topic without subscriptions drops them, as Pub/Sub does.
    ///
    /// # Errors
    ///
    /// [`PubSubError::TopicNotFound`] for an unknown topic.
    pub(crate) fn publish(
        &self,
        topic: &str,
        messages: Vec<NewMessage>,
    ) -> Result<Vec<String>, PubSubError> {
        let target = self
            .topics
            .get(topic)
            .ok_or_else(|| PubSubError::TopicNotFound(topic.to_owned()))?;
        let now = SystemTime::now();
        let stored: Vec<Message> = messages
            .into_iter()
            .map(|new| Message {
                id: self
                    .next_message_id
                    .fetch_add(1, Ordering::Relaxed)
                    .to_string(),
                data: new.data,
                attributes: new.attributes,
                ordering_key: new.ordering_key,
                publish_time: now,
            })
            .collect();
        target
            .published
            .fetch_add(stored.len() as u64, Ordering::Relaxed);
        for subscription in &target.subscriptions {
            subscription.lock().backlog.extend(stored.iter().cloned());
            subscription.arrived.notify_waiters();
        }
        Ok(stored.into_iter().map(|m| m.id).collect())
    }

    /// Up to `max` messages, waiting up to a second for the first unless
    /// `return_immediately`. Messages whose ack deadline passed come again.
    ///
    /// # Errors
    ///
    /// [`PubSubError::SubscriptionNotFound`] for an unknown subscription.
    pub(crate) async fn pull(
        &self,
        subscription: &str,
        max: usize,
        return_immediately: bool,
    ) -> Result<Vec<Received>, PubSubError> {
        let sub = self.subscription(subscription)?;
        let give_up = Instant::now() + PULL_WAIT;
        loop {
            let arrived = sub.arrived.notified();
            let (received, next_expiry) = sub.take(subscription, max, self.ack_deadline);
            if !received.is_empty() || return_immediately || Instant::now() >= give_up {
                return Ok(received);
            }
            let wake = next_expiry.map_or(give_up, |at| at.min(give_up));
            tokio::select! {
                () = arrived => {}
                () = sleep_until(wake) => {}
            }
        }
    }

    /// Acknowledges messages; unknown or expired ack ids are ignored.
    ///
    /// # Errors
    ///
    /// [`PubSubError::SubscriptionNotFound`] for an unknown subscription.
    pub(crate) fn acknowledge(
        &self,
        subscription: &str,
        ack_ids: &[String],
    ) -> Result<(), PubSubError> {
        let sub = self.subscription(subscription)?;
        let mut state = sub.lock();
        for ack_id in ack_ids {
            if state.outstanding.remove(ack_id).is_some() {
                state.acknowledged += 1;
            }
        }
        Ok(())
    }

    /// Moves the ack deadline of outstanding messages; 0 hands them back at
    /// once (a nack).
    ///
    /// # Errors
    ///
    /// [`PubSubError::SubscriptionNotFound`] for an unknown subscription.
    pub(crate) fn modify_ack_deadline(
        &self,
        subscription: &str,
        ack_ids: &[String],
        deadline: Duration,
    ) -> Result<(), PubSubError> {
        let sub = self.subscription(subscription)?;
        let until = Instant::now() + deadline;
        let mut state = sub.lock();
        for ack_id in ack_ids {
            if let Some(entry) = state.outstanding.get_mut(ack_id) {
                entry.deadline = until;
            }
        }
        drop(state);
        sub.arrived.notify_waiters();
        Ok(())
    }

    /// Counters per topic and per subscription.
    pub(crate) fn stats(
        &self,
    ) -> (
        BTreeMap<String, TopicStats>,
        BTreeMap<String, SubscriptionStats>,
    ) {
        let topics = self
            .topics
            .iter()
            .map(|(id, topic)| {
                let published = topic.published.load(Ordering::Relaxed);
                (id.clone(), TopicStats { published })
            })
            .collect();
        let subscriptions = self
            .subscriptions
            .iter()
            .map(|(id, sub)| (id.clone(), sub.stats()))
            .collect();
        (topics, subscriptions)
    }

    fn subscription(&self, id: &str) -> Result<&Arc<Subscription>, PubSubError> {
        self.subscriptions
            .get(id)
            .ok_or_else(|| PubSubError::SubscriptionNotFound(id.to_owned()))
    }
}

impl Subscription {
    fn new(topic: &str) -> Self {
        Subscription {
            topic: topic.to_owned(),
            state: Mutex::new(SubscriptionState::default()),
            arrived: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, SubscriptionState> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands out up to `max` messages and says when the next outstanding
    /// one expires.
    fn take(
        &self,
        id: &str,
        max: usize,
        ack_deadline: Duration,
    ) -> (Vec<Received>, Option<Instant>) {
        let now = Instant::now();
        let mut state = self.lock();
        state.redeliver_expired(now);
        let mut received = Vec::new();
        while received.len() < max {
            let Some(message) = state.backlog.pop_front() else {
                break;
            };
            state.next_ack += 1;
            let ack_id = format!("{id}-{}", state.next_ack);
            let deadline = now + ack_deadline;
            let entry = Outstanding {
                message: message.clone(),
                deadline,
            };
            state.outstanding.insert(ack_id.clone(), entry);
            received.push(Received { ack_id, message });
        }
        let next_expiry = state.outstanding.values().map(|o| o.deadline).min();
        (received, next_expiry)
    }

    fn stats(&self) -> SubscriptionStats {
        let state = self.lock();
        SubscriptionStats {
            topic: self.topic.clone(),
            backlog: state.backlog.len() as u64,
            outstanding: state.outstanding.len() as u64,
            acknowledged: state.acknowledged,
        }
    }
}

impl SubscriptionState {
    fn redeliver_expired(&mut self, now: Instant) {
        let mut expired: Vec<Message> = Vec::new();
        self.outstanding.retain(|_, entry| {
            let keep = entry.deadline > now;
            if !keep {
                expired.push(entry.message.clone());
            }
            keep
        });
        // Ids count up from 1, so the newest goes to the front first and the
        // oldest ends up ahead of everything, messages never delivered too.
        expired.sort_by_key(|m| std::cmp::Reverse(m.id.parse::<u64>().unwrap_or(0)));
        for message in expired {
            self.backlog.push_front(message);
        }
    }
}
