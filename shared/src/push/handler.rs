//! One request, in phases: route; then, for a push, authenticate, check the
//! body's headers, take a concurrency permit, read and parse the body, run
//! the task, answer. Everything from the permit on races the shutdown's
//! abort signal, so that a task still running after the grace period is
//! dropped here and handed back by the server.

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::header::AUTHORIZATION;
use http::{HeaderMap, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use tokio::sync::{OwnedSemaphorePermit, watch};
use tracing::{Instrument, Span, field, info, warn};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::body::{self, Parsed};
use super::delivery::{self, QUEUE_NAME, TASK_NAME};
use super::response::{self, Body, Rejection};
use super::server::{Phase, Shared};
use crate::error::TaskError;
use crate::ids::TaskKey;
use crate::operation::Operation;
use crate::runner::{self, Delivery};
use crate::telemetry;

/// Answer one request.
pub(crate) async fn handle<O: Operation>(
    shared: Arc<Shared<O>>,
    req: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    let path = req.uri().path();
    let response = if path == shared.route {
        match *req.method() {
            Method::POST => push(&shared, req).await,
            _ => Rejection::MethodNotAllowed("POST").into_response(),
        }
    } else {
        match (req.method(), path) {
            (&Method::GET | &Method::HEAD, "/healthz") => response::status(StatusCode::OK, "ok"),
            (&Method::GET | &Method::HEAD, "/readyz") => ready(&shared).await,
            (_, "/healthz" | "/readyz") => Rejection::MethodNotAllowed("GET, HEAD").into_response(),
            _ => Rejection::NotFound.into_response(),
        }
    };
    Ok(response)
}

/// Ready when serving and Postgres is reachable and fully migrated.
async fn ready<O: Operation>(shared: &Shared<O>) -> Response<Body> {
    if *shared.phase.borrow() != Phase::Serving {
        return response::status(StatusCode::SERVICE_UNAVAILABLE, "shutting_down");
    }
    match crate::db::is_migrated(shared.ctx.pool()).await {
        Ok(true) => response::status(StatusCode::OK, "ready"),
        Ok(false) => response::status(StatusCode::SERVICE_UNAVAILABLE, "not_migrated"),
        Err(err) => {
            warn!(error = %err, "readiness check failed");
            response::status(StatusCode::SERVICE_UNAVAILABLE, "unavailable")
        }
    }
}

async fn push<O: Operation>(shared: &Shared<O>, req: Request<Incoming>) -> Response<Body> {
    let (parts, body) = req.into_parts();
    let headers = &parts.headers;
    let span = tracing::info_span!(
        "push",
        queue = field::Empty,
        task_name = field::Empty,
        retry_count = delivery::retry_count(headers),
        caller = field::Empty,
        key = field::Empty,
        attempt = field::Empty,
        token = field::Empty,
        outcome = field::Empty,
        status = field::Empty,
    );
    // Cloud Tasks forwards the producer's trace; the push joins it.
    let _ = span.set_parent(telemetry::parent_context_from_headers(headers));
    let response = answer_push(shared, headers, body)
        .instrument(span.clone())
        .await;
    span.record("status", response.status().as_u16());
    info!(parent: &span, "answered");
    response
}

async fn answer_push<O: Operation>(
    shared: &Shared<O>,
    headers: &HeaderMap,
    body: Incoming,
) -> Response<Body> {
    if let Err(rejection) = authorize(shared, headers).await {
        return rejection.into_response();
    }
    if let Err(rejection) = body::check_headers(headers, shared.config.max_body_bytes()) {
        info!(reason = rejection.code(), "push refused");
        return rejection.into_response();
    }
    let permit = match admit(shared) {
        Ok(permit) => permit,
        Err(rejection) => return rejection.into_response(),
    };

    let mut phase = shared.phase.subscribe();
    let answer = tokio::select! {
        response = read_and_run(shared, headers, body) => Some(response),
        () = reached(&mut phase, Phase::Aborting) => None,
    };
    drop(permit);
    match answer {
        Some(response) => response,
        None => {
            // Answer only once the task is handed back, so the redelivery
            // this invites can claim it at once.
            reached(&mut phase, Phase::Released).await;
            Rejection::ShuttingDown.into_response()
        }
    }
}

/// The token proves a Google identity that may push, and the push came
/// from this function's queue. The queue and task names are recorded only
/// once the caller is known, so that unauthenticated callers cannot write
/// what they like into the logs.
async fn authorize<O: Operation>(shared: &Shared<O>, headers: &HeaderMap) -> Result<(), Rejection> {
    if let Some(verifier) = &shared.verifier {
        match verifier.verify(headers.get(AUTHORIZATION)).await {
            Ok(caller) => {
                Span::current().record("caller", caller.email());
            }
            Err(err) => {
                warn!(reason = err.reason(), error = %err, "push refused");
                let forbidden = err.is_forbidden();
                return Err(if forbidden {
                    Rejection::Forbidden
                } else {
                    Rejection::Unauthenticated
                });
            }
        }
    }
    let span = Span::current();
    span.record("queue", delivery::header(headers, QUEUE_NAME));
    span.record("task_name", delivery::header(headers, TASK_NAME));
    let expected = shared.op.spec().queue.as_str();
    match delivery::header(headers, QUEUE_NAME) {
        Some(queue) if queue == expected => Ok(()),
        None if shared.verifier.is_none() => Ok(()),
        queue => {
            warn!(reason = "wrong_queue", queue, expected, "push refused");
            Err(Rejection::Forbidden)
        }
    }
}

/// A concurrency permit, refused at once (never queued) when the instance
/// is full or stopping.
fn admit<O: Operation>(shared: &Shared<O>) -> Result<OwnedSemaphorePermit, Rejection> {
    if *shared.phase.borrow() >= Phase::Aborting {
        return Err(Rejection::ShuttingDown);
    }
    Arc::clone(&shared.permits)
        .try_acquire_owned()
        .map_err(|_| {
            info!(reason = "concurrency_limit", "push refused");
            Rejection::Overloaded
        })
}

async fn reached(phase: &mut watch::Receiver<Phase>, target: Phase) {
    // An error means the server is gone, which is past every phase.
    let _ = phase.wait_for(|current| *current >= target).await;
}

async fn read_and_run<O: Operation>(
    shared: &Shared<O>,
    headers: &HeaderMap,
    body: Incoming,
) -> Response<Body> {
    let limit = shared.config.max_body_bytes();
    let bytes = match body::read(body, limit, shared.config.request_timeout()).await {
        Ok(bytes) => bytes,
        Err(rejection) => return rejection.into_response(),
    };
    let delivery = delivery::delivery(headers, shared.config.request_timeout());
    if let Some(attempt) = delivery.attempt {
        Span::current().record("attempt", attempt);
    }
    match body::parse::<O::Input>(&bytes) {
        Ok(Parsed::Input(input)) => run(shared, input, &bytes, &delivery).await,
        Ok(Parsed::Mismatch { payload, error }) => {
            let err = TaskError::invalid_input(format!("payload does not fit the input: {error}"));
            dead_letter(shared, None, payload, err, &delivery).await
        }
        Err(rejection) => {
            info!(reason = rejection.code(), "push refused");
            rejection.into_response()
        }
    }
}

async fn run<O: Operation>(
    shared: &Shared<O>,
    input: O::Input,
    body: &Bytes,
    delivery: &Delivery,
) -> Response<Body> {
    let key = shared.op.key(&input).ok();
    if let Some(key) = &key {
        Span::current().record("key", field::display(key));
    }
    let result = runner::execute(&shared.ctx, &shared.op, input, delivery).await;
    match result {
        Ok(outcome) => {
            let span = Span::current();
            span.record("outcome", outcome.as_str());
            if let runner::Outcome::Completed { token, .. } = &outcome {
                span.record("token", token.get());
            }
            response::outcome(key.as_ref(), &outcome)
        }
        Err(err) if !err.is_retryable() => {
            // The runner dead-letters permanent failures itself; one that
            // still escapes it (a stored result that no longer parses, say)
            // is recorded here, or Cloud Tasks would retry it forever.
            let payload = serde_json::from_slice(body).unwrap_or_default();
            dead_letter(shared, key, payload, err, delivery).await
        }
        Err(err) => {
            Span::current().record("outcome", err.kind().as_str());
            response::failure(&err)
        }
    }
}

/// Record a dead letter for a delivery that never became a claimed task and
/// answer 200, so that Cloud Tasks stops retrying it.
async fn dead_letter<O: Operation>(
    shared: &Shared<O>,
    key: Option<TaskKey>,
    payload: serde_json::Value,
    err: TaskError,
    delivery: &Delivery,
) -> Response<Body> {
    warn!(error = %err.report(), kind = %err.kind(), "dead-lettering delivery");
    let spec = shared.op.spec();
    let letter = runner::dead_letter_of(&err, delivery);
    let recorded = runner::record_unclaimed(
        &shared.ctx,
        &spec.name,
        &spec.dead_letter_topic,
        key.as_ref(),
        Some(&payload),
        &letter,
    )
    .await;
    match recorded {
        Ok(id) => {
            Span::current().record("outcome", "dead_lettered");
            response::dead_lettered(key.as_ref(), Some(id), Some(err.kind()))
        }
        Err(failure) => {
            Span::current().record("outcome", failure.kind().as_str());
            response::failure(&failure)
        }
    }
}
