//! Pooled Postgres and embedded migrations.

use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

mod embedded {
    refinery::embed_migrations!("migrations");
}

/// Advisory lock key held while migrating, so that instances starting
/// together with `TASKLANE_MIGRATE=auto` apply migrations once.
const MIGRATION_LOCK: i64 = 0x7461_736b_6c61_6e65;

/// Why the database could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// `DATABASE_URL` is unset.
    #[error("DATABASE_URL is not set (make db prints one for a local cluster)")]
    MissingUrl,
    /// `DATABASE_URL` does not parse.
    #[error("DATABASE_URL is not a valid postgres connection string")]
    InvalidUrl(#[source] tokio_postgres::Error),
    /// A pool setting is out of range.
    #[error("invalid pool setting {name}={value}")]
    InvalidSetting {
        /// The environment variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// The pool could not be built.
    #[error("could not build the connection pool")]
    Build(#[source] deadpool_postgres::BuildError),
    /// No connection could be had.
    #[error("could not connect to postgres")]
    Connect(#[source] deadpool_postgres::PoolError),
    /// A statement failed.
    #[error("postgres statement failed")]
    Query(#[source] tokio_postgres::Error),
    /// A migration failed.
    #[error("migration failed")]
    Migrate(#[source] refinery::Error),
}

/// Pool settings, read from the environment by [`PoolSettings::from_env`].
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Connection string (`DATABASE_URL`; no default).
    pub url: String,
    /// Connections at most (`TASKLANE_DB_POOL_SIZE`; default 16).
    pub max_size: usize,
    /// How long a request waits for a free connection before it is answered
    /// 503 (`TASKLANE_DB_POOL_WAIT_MS`; default 1,000 ms).
    pub wait: Duration,
}

impl PoolSettings {
    /// Read the settings from the environment.
    ///
    /// # Errors
    ///
    /// [`DbError::MissingUrl`] without `DATABASE_URL`;
    /// [`DbError::InvalidSetting`] for a malformed number.
    pub fn from_env() -> Result<Self, DbError> {
        let url = std::env::var("DATABASE_URL").map_err(|_| DbError::MissingUrl)?;
        Ok(PoolSettings {
            url,
            max_size: env_number("TASKLANE_DB_POOL_SIZE", 16)?,
            wait: Duration::from_millis(env_number("TASKLANE_DB_POOL_WAIT_MS", 1_000)?),
        })
    }

    /// Settings for `url` with the defaults.
    pub fn for_url(url: impl Into<String>) -> Self {
        PoolSettings {
            url: url.into(),
            max_size: 16,
            wait: Duration::from_millis(1_000),
        }
    }
}

fn env_number<T: FromStr>(name: &'static str, default: T) -> Result<T, DbError> {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .map_err(|_| DbError::InvalidSetting { name, value }),
        Err(_) => Ok(default),
    }
}

/// Build a pool. Connections are opened lazily.
///
/// # Errors
///
/// [`DbError::InvalidUrl`] or [`DbError::Build`].
pub fn pool(settings: &PoolSettings) -> Result<Pool, DbError> {
    let config = tokio_postgres::Config::from_str(&settings.url).map_err(DbError::InvalidUrl)?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(settings.max_size)
        .wait_timeout(Some(settings.wait))
        .create_timeout(Some(settings.wait.max(Duration::from_secs(5))))
        .runtime(Runtime::Tokio1)
        .build()
        .map_err(DbError::Build)
}

/// Apply every embedded migration not yet applied, under an advisory lock.
///
/// # Errors
///
/// [`DbError::Connect`], [`DbError::Query`] or [`DbError::Migrate`].
pub async fn migrate(pool: &Pool) -> Result<(), DbError> {
    let mut client = pool.get().await.map_err(DbError::Connect)?;
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(DbError::Query)?;
    let applied = embedded::migrations::runner()
        .run_async(&mut **client)
        .await
        .map_err(DbError::Migrate);
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(DbError::Query)?;
    applied.map(|_| ())
}

/// Whether every embedded migration has been applied (for `/readyz`).
///
/// # Errors
///
/// [`DbError::Connect`] or [`DbError::Query`] when Postgres cannot answer.
pub async fn is_migrated(pool: &Pool) -> Result<bool, DbError> {
    let client = pool.get().await.map_err(DbError::Connect)?;
    let latest = embedded::migrations::runner()
        .get_migrations()
        .iter()
        .map(|m| i64::from(m.version()))
        .max()
        .unwrap_or(0);
    let row = client
        .query_opt(
            "SELECT max(version)::bigint FROM refinery_schema_history",
            &[],
        )
        .await;
    match row {
        Ok(Some(row)) => Ok(row.get::<_, Option<i64>>(0).unwrap_or(0) >= latest),
        Ok(None) => Ok(false),
        Err(err) if err.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE) => {
            Ok(false)
        }
        Err(err) => Err(DbError::Query(err)),
    }
}

/// `url` with its database replaced by `database`. Accepts both URL and
/// key=value connection strings.
pub fn with_database(url: &str, database: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let (base, query) = match url.split_once('?') {
            Some((b, q)) => (b, Some(q)),
            None => (url, None),
        };
        let scheme_end = base.find("://").map_or(0, |i| i + 3);
        let path_start = base[scheme_end..]
            .find('/')
            .map_or(base.len(), |i| scheme_end + i);
        let mut out = format!("{}/{}", &base[..path_start], database);
        if let Some(q) = query {
            out.push('?');
            out.push_str(q);
        }
        out
    } else {
        let kept: Vec<&str> = url
            .split_whitespace()
            .filter(|kv| !kv.starts_with("dbname="))
            .collect();
        format!("{} dbname={}", kept.join(" "), database)
    }
}
