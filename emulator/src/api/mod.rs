//! The HTTP surface: routing, Google's JSON error shape and the helpers the
//! Cloud Tasks ([`tasks`]) and Pub/Sub ([`pubsub`]) handlers share.

mod pubsub;
mod tasks;

use std::collections::HashMap;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper::body::Incoming;
use percent_encoding::percent_decode_str;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::server::Shared;

/// Request bodies larger than this are refused before parsing; Cloud Tasks
/// caps a whole task at 100 KiB, so this is generous.
const MAX_REQUEST_BODY: usize = 2 * 1024 * 1024;

/// Responses the server sends.
pub(crate) type HttpResponse = Response<Full<Bytes>>;

/// A failed call, rendered the way Google APIs report errors:
/// `{"error": {"code": 404, "message": "...", "status": "NOT_FOUND"}}`.
#[derive(Debug, thiserror::Error)]
#[error("{status}: {message}")]
pub(crate) struct ApiError {
    code: StatusCode,
    status: &'static str,
    message: String,
}

impl ApiError {
    pub(crate) fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", message)
    }

    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "NOT_FOUND", message)
    }

    pub(crate) fn already_exists(message: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "ALREADY_EXISTS", message)
    }

    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "INTERNAL", message)
    }

    fn new(code: StatusCode, status: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            code,
            status,
            message: message.into(),
        }
    }

    fn into_response(self) -> HttpResponse {
        let body = serde_json::json!({
            "error": {
                "code": self.code.as_u16(),
                "message": self.message,
                "status": self.status,
            }
        });
        json_response(self.code, body.to_string().into())
    }
}

/// How enums are written back: Google's REST clients ask for numbers with
/// `$alt=json;enum-encoding=int`; others get names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EnumEncoding {
    Names,
    Numbers,
}

/// The parts of a request the handlers look at.
#[derive(Debug)]
pub(crate) struct Call<'a> {
    pub(crate) method: &'a Method,
    pub(crate) query: HashMap<String, String>,
    pub(crate) body: Bytes,
    pub(crate) enums: EnumEncoding,
}

impl Call<'_> {
    /// The body as JSON; an empty body reads as `{}`.
    ///
    /// # Errors
    ///
    /// INVALID_ARGUMENT naming the parse error.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T, ApiError> {
        let body: &[u8] = if self.body.is_empty() {
            b"{}"
        } else {
            &self.body
        };
        serde_json::from_slice(body).map_err(|err| {
            ApiError::invalid_argument(format!("Invalid JSON payload received. {err}"))
        })
    }

    /// A query parameter; absent and empty read the same.
    pub(crate) fn param(&self, name: &str) -> Option<&str> {
        self.query
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// Serves one request.
pub(crate) async fn handle(shared: &Shared, request: Request<Incoming>) -> HttpResponse {
    let (parts, body) = request.into_parts();
    let body = match Limited::new(body, MAX_REQUEST_BODY).collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(_) => {
            let message = format!("request body unreadable or over {MAX_REQUEST_BODY} bytes");
            return ApiError::invalid_argument(message).into_response();
        }
    };
    let query = parse_query(parts.uri.query());
    let enums = match query.get("$alt") {
        Some(alt) if alt.contains("enum-encoding=int") => EnumEncoding::Numbers,
        _ => EnumEncoding::Names,
    };
    let path = percent_decode_str(parts.uri.path())
        .decode_utf8_lossy()
        .into_owned();
    let call = Call {
        method: &parts.method,
        query,
        body,
        enums,
    };
    route(shared, &path, &call)
        .await
        .unwrap_or_else(ApiError::into_response)
}

async fn route(shared: &Shared, path: &str, call: &Call<'_>) -> Result<HttpResponse, ApiError> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    match (call.method, segments.as_slice()) {
        (&Method::GET, ["oauth2", "v3", "certs"]) => Ok(jwks_response(shared)),
        (&Method::GET, ["stats"]) => Ok(json_ok(&shared.stats())),
        (_, ["v2", "projects", project, "locations", location, rest @ ..]) => {
            shared.check_location(project, location)?;
            tasks::route(shared, rest, call)
        }
        (_, ["v1", "projects", project, rest @ ..]) => {
            shared.check_project(project)?;
            pubsub::route(shared, rest, call).await
        }
        _ => Err(no_route(call.method, path)),
    }
}

/// The error for a path or method the emulator does not serve.
pub(crate) fn no_route(method: &Method, path: &str) -> ApiError {
    ApiError::not_found(format!(
        "the emulator serves no {method} {path} (supported: Cloud Tasks v2 queues get/list/\
         pause/resume/purge, tasks create/get/list/delete; Pub/Sub v1 publish/pull/\
         acknowledge/modifyAckDeadline; GET /oauth2/v3/certs; GET /stats)"
    ))
}

/// Splits `name:verb` into the name and the verb.
pub(crate) fn split_verb(segment: &str) -> (&str, Option<&str>) {
    match segment.split_once(':') {
        Some((name, verb)) => (name, Some(verb)),
        None => (segment, None),
    }
}

fn parse_query(query: Option<&str>) -> HashMap<String, String> {
    form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

fn jwks_response(shared: &Shared) -> HttpResponse {
    let mut response = json_response(StatusCode::OK, shared.minter.jwks());
    // Google lets verifiers cache its keys for hours; ours live as long as
    // the process, so caching is just as safe.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("public, max-age=3600"),
    );
    response
}

/// A 200 with `value` as JSON.
pub(crate) fn json_ok<T: Serialize>(value: &T) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(body) => json_response(StatusCode::OK, body.into()),
        Err(err) => {
            ApiError::internal(format!("could not encode the response: {err}")).into_response()
        }
    }
}

fn json_response(code: StatusCode, body: Bytes) -> HttpResponse {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = code;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json; charset=UTF-8"),
    );
    response
}
