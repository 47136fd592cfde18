//! Creating follow-up tasks through the official Cloud Tasks client.
//!
//! The task is named after the row's dedup key, so a second create of the
//! same row (a resend after a crash) answers `ALREADY_EXISTS`, which counts
//! as sent.

use google_cloud_auth::credentials::anonymous;
use google_cloud_gax::error::rpc::Code;
use google_cloud_tasks_v2::client::CloudTasks;
use google_cloud_tasks_v2::model::{HttpMethod, HttpRequest, OidcToken, Task};
use tokio::sync::OnceCell;

use super::OutboxRow;
use super::error::SendError;
use super::settings::{self, RelaySettings};

/// What a create found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Created {
    New,
    AlreadyExisted,
}

/// A Cloud Tasks client, built on first use.
pub(crate) struct TaskCreator {
    client: OnceCell<CloudTasks>,
}

impl TaskCreator {
    pub(crate) fn new() -> Self {
        TaskCreator {
            client: OnceCell::new(),
        }
    }

    /// Create the task `row` describes on its function's queue.
    pub(crate) async fn create(
        &self,
        settings: &RelaySettings,
        row: &OutboxRow,
    ) -> Result<Created, SendError> {
        let route = settings.route(&row.target)?;
        settings::check_resource_id("task id", &row.dedup_key)?;
        let mut request = HttpRequest::new()
            .set_url(route.url)
            .set_http_method(HttpMethod::Post)
            .set_headers([("Content-Type", "application/json")])
            .set_body(row.payload.to_string());
        if let Some(account) = &settings.invoker_service_account {
            request = request.set_oidc_token(
                OidcToken::new()
                    .set_service_account_email(account)
                    .set_audience(route.audience),
            );
        }
        let task = Task::new()
            .set_name(format!("{}/tasks/{}", route.queue_path, row.dedup_key))
            .set_http_request(request);
        let sent = self
            .client(settings)
            .await?
            .create_task()
            .set_parent(route.queue_path)
            .set_task(task)
            .send()
            .await;
        match sent {
            Ok(_) => Ok(Created::New),
            Err(err) if err.status().is_some_and(|s| s.code == Code::AlreadyExists) => {
                Ok(Created::AlreadyExisted)
            }
            Err(err) => Err(SendError::CloudTasks(err)),
        }
    }

    async fn client(&self, settings: &RelaySettings) -> Result<&CloudTasks, SendError> {
        self.client
            .get_or_try_init(|| async {
                let builder = CloudTasks::builder().with_endpoint(settings.tasks_endpoint.as_str());
                let builder = if settings.tasks_is_emulator() {
                    builder.with_credentials(anonymous::Builder::new().build())
                } else {
                    builder
                };
                builder.build().await.map_err(SendError::Client)
            })
            .await
    }
}
