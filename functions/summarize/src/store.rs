//! Every query the function runs, in one place.

use serde_json::Value;
use tasklane::{MeetingId, TaskError};
use tokio_postgres::GenericClient;

use crate::summary::Summary;
use crate::transcript::Transcript;

/// The meeting, and its transcript if it has one (a left join, so that a
/// missing meeting and a missing transcript can be told apart).
const LOAD_TRANSCRIPT: &str = "\
SELECT m.language, t.meeting_id IS NOT NULL AS has_transcript, t.text, t.turns
  FROM meetings m
  LEFT JOIN transcripts t ON t.meeting_id = m.id
 WHERE m.id = $1";

const UPSERT_SUMMARY: &str = "\
INSERT INTO summaries (meeting_id, summary, content, engine)
VALUES ($1, $2, $3, $4)
ON CONFLICT (meeting_id) DO UPDATE
   SET summary = excluded.summary, content = excluded.content,
       engine = excluded.engine, updated_at = now()";

/// Meetings with a transcript and no summary, oldest transcript first.
const BACKLOG: &str = "\
SELECT t.meeting_id
  FROM transcripts t
  LEFT JOIN summaries s ON s.meeting_id = t.meeting_id
 WHERE s.meeting_id IS NULL
 ORDER BY t.updated_at, t.meeting_id";

/// Read the transcript of `meeting`.
///
/// # Errors
///
/// Permanent invalid input when the meeting does not exist, has no
/// transcript, or its transcript is empty or unreadable; retryable when
/// Postgres fails.
pub async fn load_transcript(
    client: &impl GenericClient,
    meeting: &MeetingId,
) -> Result<Transcript, TaskError> {
    let row = client
        .query_opt(LOAD_TRANSCRIPT, &[&meeting.as_str()])
        .await?
        .ok_or_else(|| TaskError::invalid_input(format!("meeting {meeting} does not exist")))?;
    if !row.try_get::<_, bool>("has_transcript")? {
        return Err(TaskError::invalid_input(format!(
            "meeting {meeting} has no transcript yet"
        )));
    }
    let language: String = row.try_get("language")?;
    let text: String = row.try_get("text")?;
    let turns: Value = row.try_get("turns")?;
    Transcript::from_stored(&language, &text, turns)
}

/// Write (or replace) the summary of `meeting`.
///
/// # Errors
///
/// Retryable when Postgres fails.
pub async fn save_summary(
    client: &impl GenericClient,
    meeting: &MeetingId,
    summary: &Summary,
) -> Result<(), TaskError> {
    let content = serde_json::to_value(summary)
        .map_err(|e| TaskError::permanent("summary does not serialize").with_source(e))?;
    client
        .execute(
            UPSERT_SUMMARY,
            &[
                &meeting.as_str(),
                &summary.summary,
                &content,
                &summary.engine,
            ],
        )
        .await?;
    Ok(())
}

/// Meetings that have a transcript but no summary.
///
/// # Errors
///
/// Retryable when Postgres fails.
pub async fn backlog(client: &impl GenericClient) -> Result<Vec<MeetingId>, TaskError> {
    let rows = client.query(BACKLOG, &[]).await?;
    rows.iter()
        .map(|r| Ok(MeetingId::new(r.try_get::<_, String>(0)?)))
        .collect()
}
