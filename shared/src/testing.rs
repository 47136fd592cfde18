//! Per-test databases on the cluster named by `DATABASE_URL` (the Makefile
//! starts a local one when it is unset). Each [`TestDb`] is a fresh,
//! migrated database, dropped when the value is dropped.

#![allow(clippy::unwrap_used)]

use std::sync::atomic::{AtomicU32, Ordering};

use deadpool_postgres::Pool;

use crate::context::Context;
use crate::db::{self, PoolSettings, with_database};

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh, migrated database for one test.
pub struct TestDb {
    admin_url: String,
    name: String,
    url: String,
    pool: Pool,
}

impl TestDb {
    /// Create and migrate a database named after the process and a counter.
    ///
    /// # Panics
    ///
    /// When `DATABASE_URL` is unset or the cluster cannot be reached: tests
    /// need a real Postgres (`make test` provides one).
    pub async fn new() -> TestDb {
        let admin_url = std::env::var("DATABASE_URL")
            .expect("DATABASE_URL must point at a Postgres cluster (make test starts one)");
        let name = format!(
            "t_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand::random::<u32>()
        );
        let (client, conn) = tokio_postgres::connect(&admin_url, tokio_postgres::NoTls)
            .await
            .expect("connect to the test cluster");
        tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("create test database");
        let url = with_database(&admin_url, &name);
        let pool = db::pool(&PoolSettings::for_url(url.clone())).unwrap();
        db::migrate(&pool).await.expect("migrate test database");
        TestDb {
            admin_url,
            name,
            url,
            pool,
        }
    }

    /// The pool.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// A context over the pool.
    pub fn context(&self) -> Context {
        Context::new(self.pool.clone())
    }

    /// The database's connection string.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        self.pool.close();
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop runs inside the test's runtime, which cannot be blocked on;
        // a short-lived thread with its own runtime does the cleanup.
        let cleanup = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok((client, conn)) =
                    tokio_postgres::connect(&admin_url, tokio_postgres::NoTls).await
                {
                    tokio::spawn(conn);
                    let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                    let _ = client.batch_execute(&sql).await;
                }
            });
        });
        let _ = cleanup.join();
    }
}
