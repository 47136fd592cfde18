//! What an operation's core may touch while it runs: the Postgres pool, and
//! the registry of claims this process holds (so a shutting-down server can
//! hand unfinished tasks back).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use deadpool_postgres::{Object, Pool};
use serde_json::Value;

use crate::error::TaskError;
use crate::ids::{FencingToken, TaskKey};
use crate::task::DeadLetter;

/// Shared, cheaply cloned handle to the process's resources.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    in_flight: Mutex<HashMap<(String, TaskKey), Held>>,
}

/// A claim this process holds, as a shutdown needs it.
#[derive(Debug, Clone)]
pub struct Held {
    /// The function.
    pub function: String,
    /// The key.
    pub key: TaskKey,
    /// The claim's fencing token.
    pub token: FencingToken,
    /// Set when this is the queue's last attempt: the transport will not
    /// deliver the task again, so a shutdown must dead-letter it rather than
    /// hand it back. Holds the payload, the dead-letter topic and what the
    /// dead letter records about the delivery.
    pub last_attempt: Option<LastAttempt>,
}

/// What dead-lettering an interrupted last attempt needs.
#[derive(Debug, Clone)]
pub struct LastAttempt {
    /// The task's payload.
    pub payload: Value,
    /// The function's dead-letter topic.
    pub topic: String,
    /// The delivery's metadata and trace.
    pub letter: DeadLetter,
}

impl Context {
    /// A context over `pool`.
    pub fn new(pool: Pool) -> Self {
        Context {
            inner: Arc::new(Inner {
                pool,
                in_flight: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The Postgres pool.
    pub fn pool(&self) -> &Pool {
        &self.inner.pool
    }

    /// One pooled connection.
    ///
    /// # Errors
    ///
    /// [`ErrorKind::Unavailable`](crate::ErrorKind::Unavailable) when no
    /// connection can be had within the pool's wait timeout.
    pub async fn client(&self) -> Result<Object, TaskError> {
        Ok(self.inner.pool.get().await?)
    }

    pub(crate) fn track(&self, held: Held) {
        self.claims()
            .insert((held.function.clone(), held.key.clone()), held);
    }

    pub(crate) fn untrack(&self, function: &str, key: &TaskKey, token: FencingToken) {
        let mut claims = self.claims();
        let id = (function.to_owned(), key.clone());
        if claims.get(&id).is_some_and(|held| held.token == token) {
            claims.remove(&id);
        }
    }

    /// The claims this process holds right now.
    pub fn in_flight(&self) -> Vec<Held> {
        self.claims().values().cloned().collect()
    }

    fn claims(&self) -> std::sync::MutexGuard<'_, HashMap<(String, TaskKey), Held>> {
        // A panic while holding this lock leaves the map consistent (every
        // operation on it is a single insert or remove), so poisoning is
        // safe to ignore.
        self.inner
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
