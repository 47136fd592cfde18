//! Newtypes for the identifiers tasklane passes around, so that a task key,
//! a meeting id and a fencing token cannot be swapped by accident.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The idempotency key of a task, unique within its function
/// (`summarize:<meeting id>`, optionally `:<revision>`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskKey(String);

impl TaskKey {
    /// Build a key from its parts, joined with `:`.
    pub fn from_parts<'a>(parts: impl IntoIterator<Item = &'a str>) -> Self {
        TaskKey(parts.into_iter().collect::<Vec<_>>().join(":"))
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<String> for TaskKey {
    fn from(s: String) -> Self {
        TaskKey(s)
    }
}

impl fmt::Display for TaskKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The id of a meeting in the domain tables.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct MeetingId(String);

impl MeetingId {
    /// Wrap a meeting id.
    pub fn new(id: impl Into<String>) -> Self {
        MeetingId(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for MeetingId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The fencing token of a claim: it grows by one on every claim of a key,
/// and a completion commits only under the token it claimed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FencingToken(i64);

impl FencingToken {
    /// Wrap a token read from the database.
    pub fn new(token: i64) -> Self {
        FencingToken(token)
    }

    /// The token as stored.
    pub fn get(self) -> i64 {
        self.0
    }
}

impl fmt::Display for FencingToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}
