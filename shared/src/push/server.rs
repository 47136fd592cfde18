//! The listener, its connections, and the shutdown sequence.
//!
//! Shutdown, in phases:
//!
//! 1. **draining**: stop accepting; each connection finishes the requests
//!    it has and closes (HTTP/1 without keep-alive, HTTP/2 with GOAWAY);
//! 2. **aborting**, only if the grace period ran out: handlers drop their
//!    unfinished tasks and give back their permits; once every permit is
//!    back, the tasks this process still holds are released to pending;
//! 3. **released**: the aborted handlers answer 503, and the connections
//!    close.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::{TcpListener, TcpStream, ToSocketAddrs};
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tracing::{debug, error, info, warn};

use super::config::{PushAuth, PushConfig};
use super::handler;
use crate::auth::IdTokenVerifier;
use crate::auth::verifier::VerifierError;
use crate::context::Context;
use crate::operation::Operation;
use crate::runner;

/// How long aborted handlers get to drop their tasks, and connections to
/// close after the tasks are handed back. Both take milliseconds; the bound
/// only keeps a stuck peer from holding up the exit.
const ABORT_WAIT: Duration = Duration::from_secs(1);

/// Pause after a failed `accept` (out of file descriptors, say) so that the
/// loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(50);

/// Where the server is in its life; only ever moves forward.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Phase {
    Serving,
    Draining,
    Aborting,
    Released,
}

/// What every request handler shares.
pub(crate) struct Shared<O> {
    pub(crate) ctx: Context,
    pub(crate) op: O,
    pub(crate) config: PushConfig,
    /// `None` under the development bypass.
    pub(crate) verifier: Option<IdTokenVerifier>,
    pub(crate) route: String,
    pub(crate) permits: Arc<Semaphore>,
    pub(crate) phase: watch::Sender<Phase>,
}

/// The server could not start or stopped abnormally.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// The settings are wrong.
    #[error("invalid push configuration")]
    Config(#[from] super::config::ConfigError),
    /// Token verification could not be set up.
    #[error("cannot set up push authentication")]
    Auth(#[from] VerifierError),
    /// The address could not be bound.
    #[error("cannot listen for pushes")]
    Bind(#[source] std::io::Error),
    /// SIGTERM / ctrl-c handlers could not be installed.
    #[error("cannot listen for shutdown signals")]
    Signal(#[source] std::io::Error),
    /// The server task panicked or was cancelled.
    #[error("the push server task failed")]
    Task(#[source] tokio::task::JoinError),
}

/// How a shutdown went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShutdownReport {
    /// Every in-flight push was answered within the grace period.
    pub drained: bool,
    /// Tasks handed back to pending because their push did not finish in
    /// time.
    pub released: usize,
}

/// The push adapter for one operation, before it listens.
pub struct Server<O> {
    ctx: Context,
    op: O,
    config: PushConfig,
}

impl<O: Operation> Server<O> {
    /// A server for `op` over `ctx`'s pool.
    pub fn new(ctx: Context, op: O, config: PushConfig) -> Self {
        Server { ctx, op, config }
    }

    /// Listen on `addr` (port 0 picks a free port), fetch the signing keys
    /// once (failure is logged; verification fails closed until a fetch
    /// succeeds), and serve in a background task.
    ///
    /// # Errors
    ///
    /// [`ServeError::Bind`] when the address cannot be bound;
    /// [`ServeError::Auth`] when the JWKS client cannot be built.
    pub async fn bind(self, addr: impl ToSocketAddrs) -> Result<RunningServer, ServeError> {
        let verifier = match self.config.auth() {
            PushAuth::Oidc(oidc) => Some(IdTokenVerifier::new(oidc)?),
            PushAuth::DevelopmentBypass => {
                warn!("push authentication is OFF (TASKLANE_ENV=development)");
                None
            }
        };
        let listener = TcpListener::bind(addr).await.map_err(ServeError::Bind)?;
        let local_addr = listener.local_addr().map_err(ServeError::Bind)?;
        if let Some(verifier) = &verifier {
            verifier.warm().await;
        }

        let (phase, phase_rx) = watch::channel(Phase::Serving);
        let shared = Arc::new(Shared {
            route: self.op.spec().route(),
            permits: Arc::new(Semaphore::new(self.config.concurrency() as usize)),
            ctx: self.ctx,
            op: self.op,
            config: self.config,
            verifier,
            phase,
        });
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(serve(listener, shared, stop_rx));
        Ok(RunningServer {
            local_addr,
            stop,
            phase: phase_rx,
            task,
        })
    }
}

/// A listening push adapter. Dropping it starts a graceful shutdown in the
/// background; [`RunningServer::stop`] does the same and waits for it.
pub struct RunningServer {
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    phase: watch::Receiver<Phase>,
    task: JoinHandle<ShutdownReport>,
}

impl RunningServer {
    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Start the graceful shutdown and return once the listener is closed
    /// (no new connection is accepted after this returns). In-flight pushes
    /// keep running; [`RunningServer::join`] waits for the rest.
    pub async fn shutdown(&self) {
        self.stop.send_replace(true);
        let mut phase = self.phase.clone();
        // An error means the server task already ended: it is closed too.
        let _ = phase.wait_for(|p| *p >= Phase::Draining).await;
    }

    /// Wait for the server to finish its shutdown.
    ///
    /// # Errors
    ///
    /// [`ServeError::Task`] when the server task panicked.
    pub async fn join(self) -> Result<ShutdownReport, ServeError> {
        self.task.await.map_err(ServeError::Task)
    }

    /// [`shutdown`](Self::shutdown), then [`join`](Self::join).
    ///
    /// # Errors
    ///
    /// As [`RunningServer::join`].
    pub async fn stop(self) -> Result<ShutdownReport, ServeError> {
        self.shutdown().await;
        self.join().await
    }
}

async fn serve<O: Operation>(
    listener: TcpListener,
    shared: Arc<Shared<O>>,
    mut stop: watch::Receiver<bool>,
) -> ShutdownReport {
    let http = http_builder();
    let graceful = GracefulShutdown::new();
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.wait_for(|stop| *stop) => break,
        };
        match accepted {
            Ok((stream, _)) => connect(&http, &graceful, &shared, stream),
            Err(err) => {
                warn!(error = %err, "accept failed");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    drop(listener);
    drain(&shared, graceful).await
}

/// HTTP/1.1 and h2c (prior knowledge) on the same port.
fn http_builder() -> auto::Builder<TokioExecutor> {
    let mut http = auto::Builder::new(TokioExecutor::new());
    http.http1().timer(TokioTimer::new());
    http.http2().timer(TokioTimer::new());
    http
}

fn connect<O: Operation>(
    http: &auto::Builder<TokioExecutor>,
    graceful: &GracefulShutdown,
    shared: &Arc<Shared<O>>,
    stream: TcpStream,
) {
    // Answers are small and sent whole; Nagle would only delay them.
    if let Err(err) = stream.set_nodelay(true) {
        debug!(error = %err, "cannot set TCP_NODELAY");
    }
    let shared = Arc::clone(shared);
    let service = service_fn(move |req| handler::handle(Arc::clone(&shared), req));
    let conn = http
        .serve_connection(TokioIo::new(stream), service)
        .into_owned();
    let conn = graceful.watch(conn);
    tokio::spawn(async move {
        if let Err(err) = conn.await {
            debug!(error = %err, "connection ended with an error");
        }
    });
}

async fn drain<O: Operation>(shared: &Shared<O>, graceful: GracefulShutdown) -> ShutdownReport {
    let grace = shared.config.shutdown_grace();
    shared.phase.send_replace(Phase::Draining);
    info!(
        grace_ms = grace.as_millis() as u64,
        connections = graceful.count(),
        "draining"
    );
    let drained = graceful.shutdown();
    tokio::pin!(drained);
    let in_grace = tokio::time::timeout(grace, &mut drained).await.is_ok();

    if !in_grace {
        shared.phase.send_replace(Phase::Aborting);
        let every_permit = shared.permits.acquire_many(shared.config.concurrency());
        if tokio::time::timeout(ABORT_WAIT, every_permit)
            .await
            .is_err()
        {
            warn!("some pushes did not stop in time; releasing their tasks anyway");
        }
    }
    let released = release(&shared.ctx).await;
    shared.phase.send_replace(Phase::Released);
    if !in_grace
        && tokio::time::timeout(ABORT_WAIT, &mut drained)
            .await
            .is_err()
    {
        warn!("some connections did not close; dropping them");
    }
    info!(drained = in_grace, released, "stopped");
    ShutdownReport {
        drained: in_grace,
        released,
    }
}

/// Hand every task this process still holds back to pending, so that the
/// redelivery claims it at once instead of waiting out the lease.
async fn release(ctx: &Context) -> usize {
    if ctx.in_flight().is_empty() {
        return 0;
    }
    match runner::release_in_flight(ctx).await {
        Ok(released) => {
            info!(released, "unfinished tasks handed back");
            released
        }
        Err(err) => {
            error!(error = %err.report(), "cannot hand tasks back; they wait for lease expiry");
            0
        }
    }
}
