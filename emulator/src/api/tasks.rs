//! Cloud Tasks REST v2: the JSON shapes of queues and tasks, request
//! validation with Google's limits, and the handlers under
//! `/v2/projects/{p}/locations/{l}/queues`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value, json};

use super::{ApiError, Call, EnumEncoding, HttpResponse, json_ok, no_route, split_verb};
use crate::clock::{format_duration, format_timestamp, parse_duration, parse_timestamp};
use crate::queue::task::{Attempt, HttpMethod, HttpTarget, NewTask, OidcToken, StoredTask};
use crate::queue::{CreateError, Queue};
use crate::server::Shared;

/// Dispatch deadline of an HTTP task that sets none.
const DEFAULT_DISPATCH_DEADLINE: Duration = Duration::from_secs(600);
/// Allowed dispatch deadlines of HTTP tasks.
const DISPATCH_DEADLINE_RANGE: (Duration, Duration) =
    (Duration::from_secs(15), Duration::from_secs(1800));
/// Furthest in the future a task may be scheduled.
const MAX_SCHEDULE_AHEAD: Duration = Duration::from_secs(30 * 24 * 3600);
/// Largest task Cloud Tasks accepts.
const MAX_TASK_BYTES: usize = 100 * 1024;
/// Longest task id.
const MAX_TASK_ID_LEN: usize = 500;
/// Page size when none is asked for, and the most a page holds.
const MAX_PAGE_SIZE: usize = 1000;

/// Routes the part of the path after `projects/{p}/locations/{l}/`.
pub(super) fn route(
    shared: &Shared,
    rest: &[&str],
    call: &Call<'_>,
) -> Result<HttpResponse, ApiError> {
    match (call.method, rest) {
        (&Method::GET, ["queues"]) => list_queues(shared, call),
        (_, ["queues", queue_and_verb]) => {
            let (queue_id, verb) = split_verb(queue_and_verb);
            let queue = find_queue(shared, queue_id)?;
            queue_call(&queue, verb, call)
        }
        (_, ["queues", queue_id, "tasks"]) => {
            let queue = find_queue(shared, queue_id)?;
            match *call.method {
                Method::GET => list_tasks(&queue, call),
                Method::POST => create_task(&queue, call),
                _ => Err(no_route(call.method, "tasks")),
            }
        }
        (_, ["queues", queue_id, "tasks", task_id]) => {
            let queue = find_queue(shared, queue_id)?;
            match *call.method {
                Method::GET => get_task(&queue, task_id, call),
                Method::DELETE => delete_task(&queue, task_id),
                _ => Err(no_route(call.method, task_id)),
            }
        }
        _ => Err(no_route(call.method, &rest.join("/"))),
    }
}

fn find_queue(shared: &Shared, queue_id: &str) -> Result<Arc<Queue>, ApiError> {
    shared.queues.get(queue_id).cloned().ok_or_else(|| {
        ApiError::not_found(format!(
            "queue {}/queues/{queue_id} does not exist (queues come from the function specs \
             given to the emulator)",
            shared.parent()
        ))
    })
}

fn queue_call(
    queue: &Queue,
    verb: Option<&str>,
    call: &Call<'_>,
) -> Result<HttpResponse, ApiError> {
    match (call.method, verb) {
        (&Method::GET, None) => {}
        (&Method::POST, Some("pause")) => queue.pause(),
        (&Method::POST, Some("resume")) => queue.resume(),
        (&Method::POST, Some("purge")) => queue.purge(),
        _ => return Err(no_route(call.method, &queue.config.name)),
    }
    Ok(json_ok(&queue_json(queue, call.enums)))
}

fn list_queues(shared: &Shared, call: &Call<'_>) -> Result<HttpResponse, ApiError> {
    if call.param("filter").is_some() {
        return Err(ApiError::invalid_argument(
            "the emulator does not support queue filters",
        ));
    }
    let limit = page_size(call)?;
    let after = page_token(call)?;
    let mut ids = shared
        .queues
        .keys()
        .filter(|id| after.as_deref().is_none_or(|a| id.as_str() > a));
    let page: Vec<&String> = ids.by_ref().take(limit).collect();
    let more = ids.next().is_some();
    let queues: Vec<Value> = page
        .iter()
        .filter_map(|id| shared.queues.get(*id))
        .map(|q| queue_json(q, call.enums))
        .collect();
    let mut body = Map::new();
    if !queues.is_empty() {
        body.insert("queues".into(), Value::Array(queues));
    }
    if let (true, Some(last)) = (more, page.last()) {
        body.insert("nextPageToken".into(), Value::String(encode_token(last)));
    }
    Ok(json_ok(&body))
}

fn queue_json(queue: &Queue, enums: EnumEncoding) -> Value {
    let config = &queue.config;
    let (paused, purge_time) = queue.status();
    let retry = &config.retry;
    let mut retry_config = json!({
        "maxAttempts": retry.max_attempts,
        "minBackoff": format_duration(Duration::from_secs_f64(retry.min_backoff_seconds)),
        "maxBackoff": format_duration(Duration::from_secs_f64(retry.max_backoff_seconds)),
        "maxDoublings": retry.max_doublings,
    });
    if retry.max_retry_duration_seconds > 0 {
        retry_config["maxRetryDuration"] =
            Value::String(format!("{}s", retry.max_retry_duration_seconds));
    }
    let state = if paused {
        (2, "PAUSED")
    } else {
        (1, "RUNNING")
    };
    let mut body = json!({
        "name": config.name,
        "rateLimits": {
            "maxDispatchesPerSecond": config.max_dispatches_per_second,
            "maxBurstSize": config.max_burst_size,
            "maxConcurrentDispatches": config.max_concurrent_dispatches,
        },
        "retryConfig": retry_config,
        "state": enum_value(enums, state),
    });
    if let Some(at) = purge_time {
        body["purgeTime"] = Value::String(format_timestamp(at));
    }
    body
}

/// The `Task.View` numbers and names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum View {
    Basic,
    Full,
}

impl View {
    fn parse(value: Option<&EnumIn>) -> Result<View, ApiError> {
        let view = match value {
            None => return Ok(View::Basic),
            Some(EnumIn::Number(0 | 1)) => View::Basic,
            Some(EnumIn::Number(2)) => View::Full,
            Some(EnumIn::Name(name)) => match name.as_str() {
                "VIEW_UNSPECIFIED" | "BASIC" => View::Basic,
                "FULL" => View::Full,
                other => return Err(bad_enum("responseView", other)),
            },
            Some(EnumIn::Number(other)) => return Err(bad_enum("responseView", other)),
        };
        Ok(view)
    }

    fn from_query(call: &Call<'_>) -> Result<View, ApiError> {
        let raw = call.param("responseView");
        let value = raw.map(|v| {
            v.parse::<i64>()
                .map_or_else(|_| EnumIn::Name(v.to_owned()), EnumIn::Number)
        });
        View::parse(value.as_ref())
    }

    fn json(self, enums: EnumEncoding) -> Value {
        match self {
            View::Basic => enum_value(enums, (1, "BASIC")),
            View::Full => enum_value(enums, (2, "FULL")),
        }
    }
}

fn bad_enum(field: &str, value: impl std::fmt::Display) -> ApiError {
    ApiError::invalid_argument(format!("invalid value for {field}: {value}"))
}

fn enum_value(enums: EnumEncoding, (number, name): (i64, &str)) -> Value {
    match enums {
        EnumEncoding::Numbers => Value::from(number),
        EnumEncoding::Names => Value::from(name),
    }
}

/// An enum as protobuf JSON allows it: its name or its number.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
enum EnumIn {
    Number(i64),
    Name(String),
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CreateTaskIn {
    #[serde(default)]
    parent: Option<String>,
    #[serde(default)]
    task: Option<TaskIn>,
    #[serde(default)]
    response_view: Option<EnumIn>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TaskIn {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    http_request: Option<HttpRequestIn>,
    #[serde(default)]
    app_engine_http_request: Option<Value>,
    #[serde(default)]
    schedule_time: Option<String>,
    #[serde(default)]
    dispatch_deadline: Option<String>,
    // Output-only fields a client may echo back; Cloud Tasks ignores them.
    #[serde(default, rename = "createTime")]
    _create_time: Option<IgnoredAny>,
    #[serde(default, rename = "dispatchCount")]
    _dispatch_count: Option<IgnoredAny>,
    #[serde(default, rename = "responseCount")]
    _response_count: Option<IgnoredAny>,
    #[serde(default, rename = "firstAttempt")]
    _first_attempt: Option<IgnoredAny>,
    #[serde(default, rename = "lastAttempt")]
    _last_attempt: Option<IgnoredAny>,
    #[serde(default, rename = "view")]
    _view: Option<IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HttpRequestIn {
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    http_method: Option<EnumIn>,
    #[serde(default)]
    headers: Option<BTreeMap<String, String>>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    oidc_token: Option<OidcTokenIn>,
    #[serde(default)]
    oauth_token: Option<Value>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct OidcTokenIn {
    #[serde(default)]
    service_account_email: Option<String>,
    #[serde(default)]
    audience: Option<String>,
}

fn create_task(queue: &Queue, call: &Call<'_>) -> Result<HttpResponse, ApiError> {
    let request: CreateTaskIn = call.json()?;
    if let Some(parent) = request.parent.as_deref().filter(|p| !p.is_empty())
        && parent != queue.config.name
    {
        return Err(ApiError::invalid_argument(format!(
            "parent {parent} does not match the queue in the URL, {}",
            queue.config.name
        )));
    }
    let view = View::parse(request.response_view.as_ref())?;
    let task = request
        .task
        .ok_or_else(|| ApiError::invalid_argument("task is required"))?;
    let new = validate_task(queue, task)?;
    let stored = queue.create(new).map_err(|err| match err {
        CreateError::AlreadyExists(id) => ApiError::already_exists(format!(
            "Requested entity already exists: task {}/tasks/{id} exists or was deleted or \
             executed within the dedup window",
            queue.config.name
        )),
    })?;
    Ok(json_ok(&task_json(queue, &stored, view, call.enums)))
}

fn validate_task(queue: &Queue, task: TaskIn) -> Result<NewTask, ApiError> {
    if task.app_engine_http_request.is_some() {
        return Err(ApiError::invalid_argument(
            "App Engine tasks are not supported by the emulator; use httpRequest",
        ));
    }
    let id = task
        .name
        .as_deref()
        .filter(|n| !n.is_empty())
        .map(|name| task_id(queue, name))
        .transpose()?;
    let http = task
        .http_request
        .ok_or_else(|| ApiError::invalid_argument("task.httpRequest is required"))?;
    let target = validate_target(http)?;
    let schedule_time = task
        .schedule_time
        .as_deref()
        .map(validate_schedule_time)
        .transpose()?;
    let dispatch_deadline = task
        .dispatch_deadline
        .as_deref()
        .map(validate_deadline)
        .transpose()?
        .unwrap_or(DEFAULT_DISPATCH_DEADLINE);
    Ok(NewTask {
        id,
        target,
        schedule_time,
        dispatch_deadline,
    })
}

/// The task id of a full task name, which must lie under `queue`.
fn task_id(queue: &Queue, name: &str) -> Result<String, ApiError> {
    let prefix = format!("{}/tasks/", queue.config.name);
    let id = name.strip_prefix(&prefix).ok_or_else(|| {
        ApiError::invalid_argument(format!(
            "task name {name} must have the form {prefix}TASK_ID"
        ))
    })?;
    let valid_chars = id
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if id.is_empty() || id.len() > MAX_TASK_ID_LEN || !valid_chars {
        return Err(ApiError::invalid_argument(format!(
            "task id {id:?} must be 1 to {MAX_TASK_ID_LEN} letters, digits, hyphens or \
             underscores"
        )));
    }
    Ok(id.to_owned())
}

fn validate_target(http: HttpRequestIn) -> Result<HttpTarget, ApiError> {
    if http.oauth_token.is_some() {
        return Err(ApiError::invalid_argument(
            "oauthToken is not supported by the emulator; use oidcToken",
        ));
    }
    let url = validate_url(http.url.as_deref().unwrap_or_default())?;
    let method = match http.http_method {
        None => HttpMethod::Post,
        Some(EnumIn::Number(n)) => {
            HttpMethod::from_number(n).ok_or_else(|| bad_enum("httpRequest.httpMethod", n))?
        }
        Some(EnumIn::Name(name)) => {
            HttpMethod::from_name(&name).ok_or_else(|| bad_enum("httpRequest.httpMethod", name))?
        }
    };
    let headers = validate_headers(http.headers.unwrap_or_default())?;
    let body = http
        .body
        .as_deref()
        .map(decode_body)
        .transpose()?
        .unwrap_or_default();
    if !body.is_empty() && !method.allows_body() {
        return Err(ApiError::invalid_argument(format!(
            "a body is allowed only with POST, PUT or PATCH, not {}",
            method.name()
        )));
    }
    let oidc = http.oidc_token.map(validate_oidc).transpose()?;
    let size = url.len()
        + body.len()
        + headers
            .iter()
            .map(|(k, v)| k.len() + v.len())
            .sum::<usize>();
    if size > MAX_TASK_BYTES {
        return Err(ApiError::invalid_argument(format!(
            "Task size too large: {size} bytes, the limit is {MAX_TASK_BYTES}"
        )));
    }
    Ok(HttpTarget {
        url,
        method,
        headers,
        body,
        oidc,
    })
}

fn validate_url(url: &str) -> Result<String, ApiError> {
    let parsed = reqwest::Url::parse(url).map_err(|err| {
        ApiError::invalid_argument(format!("httpRequest.url {url:?} is not a valid URL: {err}"))
    })?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(ApiError::invalid_argument(format!(
            "httpRequest.url {url:?} must be an http:// or https:// URL with a host"
        )));
    }
    Ok(url.to_owned())
}

fn validate_headers(headers: BTreeMap<String, String>) -> Result<Vec<(String, String)>, ApiError> {
    for (name, value) in &headers {
        let name_ok = http::HeaderName::from_bytes(name.as_bytes()).is_ok();
        let value_ok = http::HeaderValue::from_str(value).is_ok();
        if !name_ok || !value_ok {
            return Err(ApiError::invalid_argument(format!(
                "httpRequest.headers has an invalid header {name:?}"
            )));
        }
    }
    Ok(headers.into_iter().collect())
}

/// Decodes a protobuf JSON `bytes` field, which may use either base64
/// alphabet, padded or not.
fn decode_body(text: &str) -> Result<Bytes, ApiError> {
    [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD]
        .iter()
        .find_map(|engine| engine.decode(text).ok())
        .map(Bytes::from)
        .ok_or_else(|| ApiError::invalid_argument("httpRequest.body is not valid base64"))
}

fn validate_oidc(oidc: OidcTokenIn) -> Result<OidcToken, ApiError> {
    let email = oidc.service_account_email.unwrap_or_default();
    if email.is_empty() {
        return Err(ApiError::invalid_argument(
            "httpRequest.oidcToken.serviceAccountEmail is required",
        ));
    }
    Ok(OidcToken {
        service_account_email: email,
        audience: oidc.audience.unwrap_or_default(),
    })
}

fn validate_schedule_time(text: &str) -> Result<SystemTime, ApiError> {
    let at = parse_timestamp(text).map_err(ApiError::invalid_argument)?;
    let ahead = at.duration_since(SystemTime::now()).unwrap_or_default();
    if ahead > MAX_SCHEDULE_AHEAD {
        return Err(ApiError::invalid_argument(format!(
            "scheduleTime {text} is more than 30 days ahead"
        )));
    }
    Ok(at)
}

fn validate_deadline(text: &str) -> Result<Duration, ApiError> {
    let deadline = parse_duration(text).map_err(ApiError::invalid_argument)?;
    let (min, max) = DISPATCH_DEADLINE_RANGE;
    if deadline < min || deadline > max {
        return Err(ApiError::invalid_argument(format!(
            "dispatchDeadline {text} must lie between 15s and 1800s"
        )));
    }
    Ok(deadline)
}

fn get_task(queue: &Queue, task_id: &str, call: &Call<'_>) -> Result<HttpResponse, ApiError> {
    let view = View::from_query(call)?;
    let task = queue
        .get(task_id)
        .ok_or_else(|| task_not_found(queue, task_id))?;
    Ok(json_ok(&task_json(queue, &task, view, call.enums)))
}

fn delete_task(queue: &Queue, task_id: &str) -> Result<HttpResponse, ApiError> {
    if !queue.delete(task_id) {
        return Err(task_not_found(queue, task_id));
    }
    Ok(json_ok(&json!({})))
}

fn task_not_found(queue: &Queue, task_id: &str) -> ApiError {
    ApiError::not_found(format!(
        "Requested entity was not found: task {}/tasks/{task_id}",
        queue.config.name
    ))
}

fn list_tasks(queue: &Queue, call: &Call<'_>) -> Result<HttpResponse, ApiError> {
    let view = View::from_query(call)?;
    let limit = page_size(call)?;
    let after = page_token(call)?;
    let (tasks, more) = queue.list(after.as_deref(), limit);
    let mut body = Map::new();
    if let (true, Some(last)) = (more, tasks.last()) {
        body.insert(
            "nextPageToken".into(),
            Value::String(encode_token(&last.id)),
        );
    }
    if !tasks.is_empty() {
        let items = tasks
            .iter()
            .map(|t| task_json(queue, t, view, call.enums))
            .collect();
        body.insert("tasks".into(), Value::Array(items));
    }
    Ok(json_ok(&body))
}

fn page_size(call: &Call<'_>) -> Result<usize, ApiError> {
    let Some(raw) = call.param("pageSize") else {
        return Ok(MAX_PAGE_SIZE);
    };
    let size: i64 = raw
        .parse()
        .map_err(|_| ApiError::invalid_argument(format!("pageSize {raw:?} is not a number")))?;
    match size {
        ..0 => Err(ApiError::invalid_argument("pageSize must not be negative")),
        0 => Ok(MAX_PAGE_SIZE),
        n => Ok(usize::try_from(n)
            .unwrap_or(MAX_PAGE_SIZE)
            .min(MAX_PAGE_SIZE)),
    }
}

/// Page tokens carry the last id of the previous page, so pages stay
/// consistent while tasks come and go.
fn page_token(call: &Call<'_>) -> Result<Option<String>, ApiError> {
    let Some(token) = call.param("pageToken") else {
        return Ok(None);
    };
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|raw| String::from_utf8(raw).ok())
        .map(Some)
        .ok_or_else(|| ApiError::invalid_argument(format!("invalid pageToken {token:?}")))
}

fn encode_token(last: &str) -> String {
    URL_SAFE_NO_PAD.encode(last)
}

fn task_json(queue: &Queue, task: &StoredTask, view: View, enums: EnumEncoding) -> Value {
    let mut body = json!({
        "name": format!("{}/tasks/{}", queue.config.name, task.id),
        "httpRequest": http_request_json(task, view, enums),
        "scheduleTime": format_timestamp(task.schedule_time),
        "createTime": format_timestamp(task.create_time),
        "dispatchDeadline": format_duration(task.dispatch_deadline),
        "view": view.json(enums),
    });
    if task.dispatch_count > 0 {
        body["dispatchCount"] = Value::from(task.dispatch_count);
    }
    if task.response_count > 0 {
        body["responseCount"] = Value::from(task.response_count);
    }
    if let Some(first) = &task.first_attempt {
        // Cloud Tasks keeps only the dispatch time of the first attempt.
        body["firstAttempt"] = json!({"dispatchTime": format_timestamp(first.dispatch_time)});
    }
    if let Some(last) = &task.last_attempt {
        body["lastAttempt"] = attempt_json(last);
    }
    body
}

fn http_request_json(task: &StoredTask, view: View, enums: EnumEncoding) -> Value {
    let target = &task.target;
    let method = (target.method.number(), target.method.name());
    let mut body = json!({
        "url": target.url,
        "httpMethod": enum_value(enums, method),
    });
    if !target.headers.is_empty() {
        let headers: Map<String, Value> = target
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), Value::from(v.as_str())))
            .collect();
        body["headers"] = Value::Object(headers);
    }
    // BASIC leaves out the payload, which can be large or sensitive.
    if view == View::Full && !target.body.is_empty() {
        body["body"] = Value::String(STANDARD.encode(&target.body));
    }
    if let Some(oidc) = &target.oidc {
        let mut token = json!({"serviceAccountEmail": oidc.service_account_email});
        if !oidc.audience.is_empty() {
            token["audience"] = Value::from(oidc.audience.as_str());
        }
        body["oidcToken"] = token;
    }
    body
}

fn attempt_json(attempt: &Attempt) -> Value {
    let mut body = json!({
        "scheduleTime": format_timestamp(attempt.schedule_time),
        "dispatchTime": format_timestamp(attempt.dispatch_time),
    });
    if let Some(at) = attempt.response_time {
        body["responseTime"] = Value::String(format_timestamp(at));
    }
    if let Some((code, message)) = &attempt.response_status {
        let mut status = json!({"message": message});
        if *code != 0 {
            status["code"] = Value::from(*code);
        }
        body["responseStatus"] = status;
    }
    body
}
