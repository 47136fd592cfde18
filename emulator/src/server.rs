//! Starting and stopping: the listener, the per-connection hyper service,
//! the dispatcher loops, and the handle a caller keeps.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

use crate::api::{self, ApiError};
use crate::pubsub::PubSub;
use crate::queue::Queue;
use crate::stats::Stats;

/// How long shutdown waits for open connections to finish their requests.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

/// Pause after a failed accept (such as running out of file descriptors),
/// so the loop does not spin while the condition lasts.
const ACCEPT_RETRY: Duration = Duration::from_millis(50);

/// State every request handler and dispatcher shares.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) project: String,
    pub(crate) location: String,
    /// By queue id.
    pub(crate) queues: BTreeMap<String, Arc<Queue>>,
    pub(crate) pubsub: PubSub,
    pub(crate) minter: Arc<crate::oidc::TokenMinter>,
    pub(crate) ack_deadline: Duration,
}

impl Shared {
    /// `projects/P/locations/L`.
    pub(crate) fn parent(&self) -> String {
        format!("projects/{}/locations/{}", self.project, self.location)
    }

    /// Refuses paths for another project or location.
    ///
    /// # Errors
    ///
    /// NOT_FOUND naming what the emulator serves.
    pub(crate) fn check_location(&self, project: &str, location: &str) -> Result<(), ApiError> {
        if project == self.project && location == self.location {
            return Ok(());
        }
        Err(ApiError::not_found(format!(
            "projects/{project}/locations/{location} is not served here; the emulator serves {}",
            self.parent()
        )))
    }

    /// Refuses paths for another project.
    ///
    /// # Errors
    ///
    /// NOT_FOUND naming the project the emulator serves.
    pub(crate) fn check_project(&self, project: &str) -> Result<(), ApiError> {
        if project == self.project {
            return Ok(());
        }
        Err(ApiError::not_found(format!(
            "project {project} is not served here; the emulator serves project {}",
            self.project
        )))
    }

    /// A snapshot of all counters.
    pub(crate) fn stats(&self) -> Stats {
        let queues = self
            .queues
            .iter()
            .map(|(id, q)| (id.clone(), q.stats()))
            .collect();
        let (topics, subscriptions) = self.pubsub.stats();
        Stats {
            queues,
            topics,
            subscriptions,
        }
    }
}

/// A running emulator. Dropping it stops the emulator in the background;
/// [`EmulatorHandle::shutdown`] stops it and waits.
#[derive(Debug)]
pub struct EmulatorHandle {
    addr: SocketAddr,
    seed: u64,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl EmulatorHandle {
    pub(crate) fn new(
        addr: SocketAddr,
        seed: u64,
        shared: Arc<Shared>,
        stop: watch::Sender<bool>,
        tasks: Vec<JoinHandle<()>>,
    ) -> Self {
        EmulatorHandle {
            addr,
            seed,
            shared,
            stop,
            tasks,
        }
    }

    /// The address the emulator listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR`, the endpoint to give Google's clients.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Where the JWKS of the push tokens is served (`TASKLANE_JWKS_URL`).
    pub fn jwks_url(&self) -> String {
        format!("{}/oauth2/v3/certs", self.base_url())
    }

    /// The project the emulator serves.
    pub fn project(&self) -> &str {
        &self.shared.project
    }

    /// The location the emulator serves.
    pub fn location(&self) -> &str {
        &self.shared.location
    }

    /// `projects/P/locations/L/queues/QUEUE`, the parent for creating tasks.
    pub fn queue_path(&self, queue: &str) -> String {
        format!("{}/queues/{queue}", self.shared.parent())
    }

    /// An ID token for `email` with audience `audience`, signed by the key
    /// behind [`jwks_url`](Self::jwks_url), exactly as a push would carry
    /// it: for benchmarks and tests that push by hand.
    ///
    /// # Errors
    ///
    /// [`OidcError::Signing`](crate::OidcError::Signing) when signing fails.
    pub fn id_token(&self, email: &str, audience: &str) -> Result<String, crate::OidcError> {
        self.shared.minter.token(email, audience)
    }

    /// The seed of the fault-injection generator, to replay a run.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// Counters of every queue, topic and subscription, as `GET /stats`
    /// reports them.
    pub fn stats(&self) -> Stats {
        self.shared.stats()
    }

    /// Stops accepting connections and dispatching, lets open requests
    /// finish (up to 5 s) and waits for everything to stop.
    pub async fn shutdown(mut self) {
        // Sending fails only when every receiver is gone, i.e. all stopped.
        let _ = self.stop.send(true);
        for task in std::mem::take(&mut self.tasks) {
            if let Err(err) = task.await {
                warn!(error = %err, "emulator task ended abnormally");
            }
        }
    }
}

impl Drop for EmulatorHandle {
    fn drop(&mut self) {
        let _ = self.stop.send(true);
    }
}

/// Accepts connections until told to stop, then drains them.
pub(crate) async fn serve(
    listener: TcpListener,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
) {
    let graceful = GracefulShutdown::new();
    let builder = auto::Builder::new(TokioExecutor::new());
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = stop.changed() => break,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(err) => {
                warn!(error = %err, "accept failed");
                tokio::time::sleep(ACCEPT_RETRY).await;
                continue;
            }
        };
        // Small JSON exchanges: Nagle's delay would dominate their latency.
        let _ = stream.set_nodelay(true);
        let shared = Arc::clone(&shared);
        let service = service_fn(move |request| {
            let shared = Arc::clone(&shared);
            async move { Ok::<_, Infallible>(api::handle(&shared, request).await) }
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            // Clients that hang up mid-request are routine, not errors.
            let _ = connection.await;
        });
    }
    drop(listener);
    if tokio::time::timeout(DRAIN_TIMEOUT, graceful.shutdown())
        .await
        .is_err()
    {
        info!("connections still open after the drain timeout; closing them");
    }
}
