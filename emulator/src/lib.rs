//! A local Cloud Tasks and Pub/Sub emulator with Cloud Tasks' dispatch
//! semantics, for `make run` and the end-to-end tests.
//!
//! Queues, dead-letter topics and subscriptions come from the functions'
//! [`FunctionSpec`](tasklane::spec::FunctionSpec)s. The emulator speaks the
//! REST dialects Google's official clients use (Cloud Tasks v2, Pub/Sub v1)
//! and pushes tasks the way Cloud Tasks does: token-bucket rate limits,
//! a concurrency cap, the retry schedule, `Retry-After`, dispatch
//! deadlines, the dedup window, Cloud Tasks' request headers and a
//! Google-shaped OIDC token whose keys it serves at `/oauth2/v3/certs`.
//!
//! ```no_run
//! # async fn demo(spec: tasklane::spec::FunctionSpec) -> Result<(), Box<dyn std::error::Error>> {
//! let emulator = tasklane_emulator::Emulator::builder()
//!     .project("local")
//!     .location("us-central1")
//!     .spec(spec)
//!     .time_scale(100.0)
//!     .start("127.0.0.1:0")
//!     .await?;
//! println!("Cloud Tasks endpoint: {}", emulator.base_url());
//! emulator.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Modules:
//! - `builder`: [`Emulator::builder`], settings, validation, start.
//! - `server`: listener, hyper service, [`EmulatorHandle`], shutdown.
//! - `api`: routing and Google's JSON error shape; `api::tasks` holds the
//!   Cloud Tasks REST shapes and handlers, `api::pubsub` the Pub/Sub ones.
//! - `queue`: a queue's tasks, schedule, token bucket and reserved names;
//!   `queue::retry` the retry rules as pure functions.
//! - `dispatch`: the per-queue dispatcher loop and the push of one attempt
//!   (headers, token, deadline, faults).
//! - `oidc`: the RSA key, token minting and caching, the JWKS.
//! - `pubsub`: topics, subscriptions, pull, ack and redelivery.
//! - `faults`: [`Faults`] and the seeded dice.
//! - `clock`: time scaling and protobuf JSON timestamps and durations.
//! - `stats`: [`Stats`], served at `GET /stats`.

mod api;
mod builder;
mod clock;
mod dispatch;
mod faults;
mod oidc;
mod pubsub;
mod queue;
mod server;
mod stats;

pub use builder::{Emulator, EmulatorBuilder, SpecFileError, StartError, load_specs};
pub use faults::Faults;
pub use oidc::OidcError;
pub use server::EmulatorHandle;
pub use stats::{QueueStats, Stats, SubscriptionStats, TopicStats};
