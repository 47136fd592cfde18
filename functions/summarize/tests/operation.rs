//! The `summarize` operation through tasklane's runner, on a fresh Postgres
//! database per test: reading transcripts, the fenced commit into
//! `summaries`, replays, input errors and the backlog.

#![allow(clippy::unwrap_used)]

mod common;

use common::{Server, error};
use serde_json::{Value, json};
use summarize::settings::LocalSettings;
use summarize::{Engine, Summarize, Summary, generate_summary};
use tasklane::meetings::{self, MeetingFile};
use tasklane::testing::TestDb;
use tasklane::{ErrorKind, MeetingId, Operation};

const TRANSCRIPT: &str = "\
Priya: Okay, um, the main thing today is the three point two release and the login crash.
Marco: The crash only happens when you come back from the password manager autofill.
Priya: Marco, can you fix the login crash by Thursday?
Marco: Yes, I'll have it merged by Thursday.
Dana: Checkout still has the coupon rounding bug, so it should ship behind the feature flag.
Priya: So we're agreed, the checkout flow ships behind the flag and we submit on Tuesday.
Dana: I'll tell marketing about the new date today.";

fn meeting_file(id: &str, transcript: Option<&str>) -> MeetingFile {
    MeetingFile {
        meeting_id: id.to_owned(),
        title: "Release planning".to_owned(),
        language: "en".to_owned(),
        started_at: None,
        raw_asr: transcript.is_none().then(|| json!({"results": []})),
        transcript: transcript.map(str::to_owned),
    }
}

async fn import(db: &TestDb, id: &str, transcript: Option<&str>) -> MeetingId {
    let client = db.pool().get().await.unwrap();
    meetings::import(&**client, &meeting_file(id, transcript))
        .await
        .unwrap()
}

fn local() -> Summarize {
    Summarize::with_engine(Engine::Local(summarize::local::LocalSummarizer::new(
        LocalSettings::default(),
    )))
}

async fn stored(db: &TestDb, id: &str) -> Option<(String, Value, String)> {
    let client = db.pool().get().await.unwrap();
    client
        .query_opt(
            "SELECT summary, content, engine FROM summaries WHERE meeting_id = $1",
            &[&id],
        )
        .await
        .unwrap()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
}

#[tokio::test]
async fn summary_is_committed_with_its_content_and_engine() {
    let db = TestDb::new().await;
    let meeting = import(&db, "m-release", Some(TRANSCRIPT)).await;

    let summary = generate_summary(&db.context(), &local(), &meeting)
        .await
        .unwrap();

    let (text, content, engine) = stored(&db, "m-release").await.unwrap();
    assert_eq!(text, summary.summary);
    assert_eq!(serde_json::from_value::<Summary>(content).unwrap(), summary);
    assert_eq!(engine, "local-extractive/1");
    assert!(
        summary
            .decisions
            .iter()
            .any(|d| d.contains("behind the flag")),
        "{summary:?}"
    );
    let marco = summary
        .action_items
        .iter()
        .find(|a| a.owner.as_deref() == Some("Marco"))
        .unwrap();
    assert!(marco.task.contains("login crash"), "{marco:?}");
    assert_eq!(marco.due.as_deref(), Some("by Thursday"));
}

#[tokio::test]
async fn second_request_replays_the_stored_summary_without_reading_again() {
    let db = TestDb::new().await;
    let meeting = import(&db, "m-replay", Some(TRANSCRIPT)).await;
    let op = local();
    let first = generate_summary(&db.context(), &op, &meeting)
        .await
        .unwrap();

    let client = db.pool().get().await.unwrap();
    client
        .execute(
            "UPDATE transcripts SET text = 'A: Something else entirely was said.', turns = '[]' \
             WHERE meeting_id = 'm-replay'",
            &[],
        )
        .await
        .unwrap();
    let second = generate_summary(&db.context(), &op, &meeting)
        .await
        .unwrap();

    assert_eq!(first, second);
    assert_eq!(stored(&db, "m-replay").await.unwrap().0, first.summary);
}

#[tokio::test]
async fn unknown_meeting_is_a_permanent_invalid_input() {
    let db = TestDb::new().await;
    let err = generate_summary(&db.context(), &local(), &MeetingId::new("m-missing"))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("m-missing does not exist"), "{err}");
}

#[tokio::test]
async fn meeting_without_transcript_is_a_permanent_invalid_input() {
    let db = TestDb::new().await;
    let meeting = import(&db, "m-raw-only", None).await;
    let err = generate_summary(&db.context(), &local(), &meeting)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(err.message().contains("has no transcript"), "{err}");
    assert!(stored(&db, "m-raw-only").await.is_none());
}

#[tokio::test]
async fn backlog_lists_meetings_with_a_transcript_and_no_summary() {
    let db = TestDb::new().await;
    let done = import(&db, "m-done", Some(TRANSCRIPT)).await;
    import(&db, "m-waiting", Some(TRANSCRIPT)).await;
    import(&db, "m-no-transcript", None).await;
    let op = local();
    generate_summary(&db.context(), &op, &done).await.unwrap();

    let backlog = op.backlog(&db.context()).await.unwrap();
    let ids: Vec<&str> = backlog.iter().map(|i| i.meeting_id.as_str()).collect();
    assert_eq!(ids, ["m-waiting"]);
}

#[tokio::test]
async fn gemini_quota_error_is_handed_back_for_retry_not_dead_lettered() {
    let db = TestDb::new().await;
    let meeting = import(&db, "m-quota", Some(TRANSCRIPT)).await;
    let details =
        json!([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "41s"}]);
    let server = Server::scripted(vec![error(
        429,
        "RESOURCE_EXHAUSTED",
        "Quota exceeded.",
        &details,
    )])
    .await;
    let op = Summarize::with_engine(Engine::Gemini(Box::new(server.summarizer())));

    let err = generate_summary(&db.context(), &op, &meeting)
        .await
        .unwrap_err();

    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert_eq!(err.retry_after(), Some(std::time::Duration::from_secs(41)));
    assert!(stored(&db, "m-quota").await.is_none());
    let client = db.pool().get().await.unwrap();
    let dead: i64 = client
        .query_one("SELECT count(*) FROM dead_letters", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(dead, 0);
}
