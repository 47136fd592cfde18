//! Creating tasks the way a producer does: the official Cloud Tasks client,
//! pointed at the emulator, with deterministic task names.

use google_cloud_auth::credentials::anonymous;
use google_cloud_tasks_v2::client::CloudTasks;
use google_cloud_tasks_v2::model::{HttpMethod, HttpRequest, OidcToken, Task};
use serde_json::Value;

use crate::stack::Service;
use crate::{BoxError, INVOKER, LOCATION, PROJECT};

/// A Cloud Tasks client for the emulator at `endpoint`.
///
/// # Errors
///
/// When the client cannot be built.
pub async fn client(endpoint: &str) -> Result<CloudTasks, BoxError> {
    Ok(CloudTasks::builder()
        .with_endpoint(endpoint)
        .with_credentials(anonymous::Builder::new().build())
        .build()
        .await?)
}

/// The queue path of `service`'s function.
pub fn queue_path(service: &Service) -> String {
    format!(
        "projects/{PROJECT}/locations/{LOCATION}/queues/{}",
        service.spec.queue
    )
}

/// A task name made only of the characters Cloud Tasks allows.
pub fn task_id(function: &str, meeting_id: &str) -> String {
    let clean: String = meeting_id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{function}-{clean}")
}

/// Create a push task for `service` with `payload`, named `task_id`, with
/// an OIDC token for the invoker, the service's URL as audience, and the
/// function's dispatch deadline (Cloud Tasks sets it per task).
///
/// # Errors
///
/// The client's error, `ALREADY_EXISTS` included.
pub async fn create(
    client: &CloudTasks,
    service: &Service,
    task_id: &str,
    payload: &Value,
) -> Result<Task, BoxError> {
    let request = HttpRequest::new()
        .set_url(service.push_url())
        .set_http_method(HttpMethod::Post)
        .set_headers([("Content-Type", "application/json")])
        .set_body(payload.to_string())
        .set_oidc_token(
            OidcToken::new()
                .set_service_account_email(INVOKER)
                .set_audience(&service.base_url),
        );
    let queue = queue_path(service);
    let deadline = i64::from(service.spec.dispatch_deadline_seconds);
    let task = Task::new()
        .set_name(format!("{queue}/tasks/{task_id}"))
        .set_dispatch_deadline(google_cloud_wkt::Duration::clamp(deadline, 0))
        .set_http_request(request);
    Ok(client
        .create_task()
        .set_parent(queue)
        .set_task(task)
        .send()
        .await?)
}
