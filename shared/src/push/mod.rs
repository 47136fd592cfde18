//! The Cloud Tasks push adapter: `<function> serve`.
//!
//! An HTTP/1.1 and h2c server (hyper, no framework) with three routes:
//!
//! - `POST /tasks/<function>`: a push. Its body is the operation's input;
//!   it runs through [`runner::execute`](crate::runner::execute) and the
//!   outcome or error kind alone picks the status (see `response`);
//! - `GET /healthz`: the process is up;
//! - `GET /readyz`: Postgres is reachable and migrated, and the server is
//!   not shutting down.
//!
//! A push is authenticated before anything else is read (see
//! [`crate::auth`]), limited to a number served at once (429 past it, never
//! queued), and bounded by the dispatch deadline. On SIGTERM the server
//! stops accepting, lets in-flight pushes finish for a grace period, then
//! hands unfinished tasks back to pending and exits.
//!
//! | module | role |
//! | --- | --- |
//! | `config` | [`PushConfig`], its builder and [`PushConfig::from_env`] |
//! | `server` | [`Server`], [`RunningServer`], connections and the shutdown sequence |
//! | `handler` | one request in phases: route, authorize, admit, read, run, answer |
//! | `body` | content type and length checks, the limited read, parsing |
//! | `delivery` | the `X-CloudTasks-*` headers, the attempt and the trace id |
//! | `response` | the status table |
//!
//! Configuration comes from the environment (defaults in
//! [`PushConfig::from_env`]); `DATABASE_URL` and the pool settings are read
//! by [`cli::connect`](crate::cli::connect).

mod body;
mod config;
mod delivery;
mod handler;
mod response;
mod server;

use std::net::{Ipv4Addr, SocketAddr};

use tracing::info;

pub use config::{
    AUDIENCE_VAR, CONCURRENCY_VAR, ConfigError, DEFAULT_MAX_BODY_BYTES, DEFAULT_PORT,
    DEFAULT_SHUTDOWN_GRACE, INVOKERS_VAR, JWKS_URL_VAR, MAX_BODY_BYTES_VAR, PORT_VAR, PushAuth,
    PushConfig, PushConfigBuilder, SHUTDOWN_GRACE_VAR,
};
pub use response::IDEMPOTENT_REPLAY;
pub use server::{RunningServer, ServeError, Server, ShutdownReport};

use crate::{BoxError, Context, Operation};

/// Serve pushes for `op` with settings from the environment until SIGTERM
/// or ctrl-c, then shut down gracefully.
///
/// # Errors
///
/// When the settings are wrong (the development bypass on Cloud Run among
/// them: checked first, before anything listens), the port cannot be bound,
/// or the signal handlers cannot be installed.
pub async fn serve_from_env<O: Operation>(ctx: Context, op: O) -> Result<(), BoxError> {
    let config = PushConfig::from_env(op.spec()).map_err(ServeError::from)?;
    let mut signal = ShutdownSignal::install()?;
    let addr = SocketAddr::from((Ipv4Addr::UNSPECIFIED, config.port()));
    let running = Server::new(ctx, op, config).bind(addr).await?;
    info!(addr = %running.local_addr(), "serving pushes");
    let received = signal.recv().await;
    info!(signal = received, "shutting down");
    running.stop().await?;
    Ok(())
}

/// SIGTERM (what Cloud Run sends before stopping an instance) or ctrl-c.
/// Installed before the server listens, so that a signal arriving during
/// start-up is not the default "terminate now".
pub struct ShutdownSignal {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    interrupt: tokio::signal::unix::Signal,
}

impl ShutdownSignal {
    /// Install the handlers.
    ///
    /// # Errors
    ///
    /// [`ServeError::Signal`] when the OS refuses.
    pub fn install() -> Result<Self, ServeError> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            Ok(ShutdownSignal {
                term: signal(SignalKind::terminate()).map_err(ServeError::Signal)?,
                interrupt: signal(SignalKind::interrupt()).map_err(ServeError::Signal)?,
            })
        }
        #[cfg(not(unix))]
        {
            Ok(ShutdownSignal {})
        }
    }

    /// Wait for the first signal; returns its name.
    pub async fn recv(&mut self) -> &'static str {
        #[cfg(unix)]
        {
            tokio::select! {
                _ = self.term.recv() => "SIGTERM",
                _ = self.interrupt.recv() => "SIGINT",
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
            "ctrl-c"
        }
    }
}
