//! What a queue stores per task: the push target, the schedule and the
//! record of attempts that Cloud Tasks reports back.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use tokio::time::Instant;

/// HTTP methods a task may push with, numbered as in the Cloud Tasks API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HttpMethod {
    Post,
    Get,
    Head,
    Put,
    Delete,
    Patch,
    Options,
}

impl HttpMethod {
    const ALL: [(HttpMethod, i64, &'static str); 7] = [
        (HttpMethod::Post, 1, "POST"),
        (HttpMethod::Get, 2, "GET"),
        (HttpMethod::Head, 3, "HEAD"),
        (HttpMethod::Put, 4, "PUT"),
        (HttpMethod::Delete, 5, "DELETE"),
        (HttpMethod::Patch, 6, "PATCH"),
        (HttpMethod::Options, 7, "OPTIONS"),
    ];

    /// The method for an enum number; 0 (unspecified) means POST.
    pub(crate) fn from_number(number: i64) -> Option<Self> {
        if number == 0 {
            return Some(HttpMethod::Post);
        }
        Self::ALL
            .iter()
            .find(|(_, n, _)| *n == number)
            .map(|(m, _, _)| *m)
    }

    /// The method for an enum name; `HTTP_METHOD_UNSPECIFIED` means POST.
    pub(crate) fn from_name(name: &str) -> Option<Self> {
        if name == "HTTP_METHOD_UNSPECIFIED" {
            return Some(HttpMethod::Post);
        }
        Self::ALL
            .iter()
            .find(|(_, _, s)| *s == name)
            .map(|(m, _, _)| *m)
    }

    /// The enum number.
    pub(crate) fn number(self) -> i64 {
        self.entry().1
    }

    /// The enum name, which is also the HTTP method.
    pub(crate) fn name(self) -> &'static str {
        self.entry().2
    }

    /// Whether Cloud Tasks allows a body with this method.
    pub(crate) fn allows_body(self) -> bool {
        matches!(self, HttpMethod::Post | HttpMethod::Put | HttpMethod::Patch)
    }

    fn entry(self) -> (HttpMethod, i64, &'static str) {
        // Every variant is listed in ALL, so the search always succeeds.
        Self::ALL
            .into_iter()
            .find(|(m, _, _)| *m == self)
            .unwrap_or((HttpMethod::Post, 1, "POST"))
    }
}

/// The `oidcToken` of a task: whose identity the push carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OidcToken {
    pub(crate) service_account_email: String,
    /// Empty means the task URL.
    pub(crate) audience: String,
}

/// Where and how a task is pushed.
#[derive(Debug, Clone)]
pub(crate) struct HttpTarget {
    pub(crate) url: String,
    pub(crate) method: HttpMethod,
    /// Header names as given, values as given; sorted by name.
    pub(crate) headers: Vec<(String, String)>,
    pub(crate) body: Bytes,
    pub(crate) oidc: Option<OidcToken>,
}

/// A task as the API hands it to a queue.
#[derive(Debug, Clone)]
pub(crate) struct NewTask {
    /// Task id (last name segment); `None` lets the queue pick one.
    pub(crate) id: Option<String>,
    pub(crate) target: HttpTarget,
    /// `None` or a past time means now.
    pub(crate) schedule_time: Option<SystemTime>,
    /// Emulated time the target has to answer one attempt.
    pub(crate) dispatch_deadline: Duration,
}

/// One attempt as the API reports it.
#[derive(Debug, Clone)]
pub(crate) struct Attempt {
    pub(crate) schedule_time: SystemTime,
    pub(crate) dispatch_time: SystemTime,
    pub(crate) response_time: Option<SystemTime>,
    /// gRPC code and message summarising the answer.
    pub(crate) response_status: Option<(i32, String)>,
}

/// A task in a queue.
#[derive(Debug, Clone)]
pub(crate) struct StoredTask {
    pub(crate) id: String,
    /// Distinguishes this task from an earlier one of the same name, so a
    /// late answer for a deleted task is not applied to its successor.
    pub(crate) incarnation: u64,
    pub(crate) target: Arc<HttpTarget>,
    pub(crate) create_time: SystemTime,
    /// When the next attempt is due, on the scheduler's clock.
    pub(crate) due: Instant,
    /// `due` as the wall-clock time the API shows.
    pub(crate) schedule_time: SystemTime,
    /// Bumped on every reschedule; older queue entries are stale.
    pub(crate) schedule_generation: u64,
    pub(crate) dispatch_deadline: Duration,
    /// Attempts dispatched, answered or not.
    pub(crate) dispatch_count: u32,
    /// Attempts the target answered.
    pub(crate) response_count: u32,
    /// Answered attempts that were not 5xx (`X-CloudTasks-TaskExecutionCount`).
    pub(crate) execution_count: u32,
    pub(crate) first_attempt: Option<Attempt>,
    pub(crate) last_attempt: Option<Attempt>,
    pub(crate) first_dispatch: Option<Instant>,
    pub(crate) previous_response: Option<u16>,
    pub(crate) retry_reason: Option<&'static str>,
    pub(crate) in_flight: bool,
}
