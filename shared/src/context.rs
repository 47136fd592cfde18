//! What an operation's core may touch while it runs: the Postgres pool, and
//! the registry of claims this process holds (so a shutting-down server can
//! hand unfinished tasks back).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use deadpool_postgres::{Object, Pool};

use crate::error::TaskError;
use crate::ids::{FencingToken, TaskKey};

/// Shared, cheaply cloned handle to the process's resources.
#[derive(Clone)]
pub struct Context {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    in_flight: Mutex<HashMap<(String, TaskKey), FencingToken>>,
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

    pub(crate) fn track(&self, function: &str, key: &TaskKey, token: FencingToken) {
        self.claims()
            .insert((function.to_owned(), key.clone()), token);
    }

    pub(crate) fn untrack(&self, function: &str, key: &TaskKey, token: FencingToken) {
        let mut claims = self.claims();
        let id = (function.to_owned(), key.clone());
        if claims.get(&id) == Some(&token) {
            claims.remove(&id);
        }
    }

    /// The claims this process holds right now.
    pub fn in_flight(&self) -> Vec<(String, TaskKey, FencingToken)> {
        self.claims()
            .iter()
            .map(|((f, k), t)| (f.clone(), k.clone(), *t))
            .collect()
    }

    fn claims(&self) -> std::sync::MutexGuard<'_, HashMap<(String, TaskKey), FencingToken>> {
        // A panic while holding this lock leaves the map consistent (every
        // operation on it is a single insert or remove), so poisoning is
        // safe to ignore.
        self.inner
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}
