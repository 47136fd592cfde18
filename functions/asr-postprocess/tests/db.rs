//! The operation against real Postgres: samples imported the way
//! `tasklane import` does, run through the shared runner, committed in the
//! fenced transaction together with the follow-up summarize task.

#![allow(clippy::unwrap_used)]

mod common;

use asr_postprocess::{AsrPostprocess, Input, Transcript, summarize_task_name};
use common::sample_text;
use serde_json::{Value, json};
use tasklane::ErrorKind;
use tasklane::ids::MeetingId;
use tasklane::meetings;
use tasklane::operation::Operation;
use tasklane::runner::{Delivery, Outcome, execute};
use tasklane::testing::TestDb;

async fn import(db: &TestDb, file_text: &str) -> MeetingId {
    let object = db.pool().get().await.unwrap();
    let client: &tokio_postgres::Client = &object;
    meetings::import(client, &meetings::parse_file(file_text).unwrap())
        .await
        .unwrap()
}

fn input(id: &MeetingId) -> Input {
    Input {
        meeting_id: id.clone(),
        revision: None,
    }
}

async fn query_one(db: &TestDb, sql: &str, id: &MeetingId) -> tokio_postgres::Row {
    let client = db.pool().get().await.unwrap();
    client.query_one(sql, &[&id.as_str()]).await.unwrap()
}

async fn outbox_rows(db: &TestDb) -> Vec<(String, String, String, Value)> {
    let client = db.pool().get().await.unwrap();
    let rows = client
        .query(
            "SELECT kind, target, dedup_key, payload FROM outbox ORDER BY id",
            &[],
        )
        .await
        .unwrap();
    rows.iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
        .collect()
}

#[tokio::test]
async fn cleaning_a_sample_stores_turns_and_asks_for_its_summary() {
    let db = TestDb::new().await;
    let id = import(&db, &sample_text("release-planning")).await;
    let op = AsrPostprocess::default();

    let outcome = execute(&db.context(), &op, input(&id), &Delivery::default())
        .await
        .unwrap();
    let Outcome::Completed { output, .. } = outcome else {
        panic!("not completed: {outcome:?}");
    };

    let row = query_one(
        &db,
        "SELECT text, turns, stats, source FROM transcripts WHERE meeting_id = $1",
        &id,
    )
    .await;
    let (text, turns, stats, source): (String, Value, Value, String) =
        (row.get(0), row.get(1), row.get(2), row.get(3));
    assert_eq!(source, "asr-postprocess");
    assert_eq!(text, output.text);
    assert_eq!(stats["speakers"], json!(4));
    let first = &turns[0];
    assert_eq!(first["speaker"], json!("S1"));
    assert!(first["start_ms"].is_u64() && first["end_ms"].is_u64());
    assert!(
        first["text"]
            .as_str()
            .unwrap()
            .starts_with("Okay I think everyone's here.")
    );
    assert_eq!(turns.as_array().unwrap().len(), output.turns.len());

    let outbox = outbox_rows(&db).await;
    let task_name = summarize_task_name(&id, None);
    assert_eq!(
        outbox,
        [(
            "cloud_tasks".to_owned(),
            "summarize".to_owned(),
            task_name,
            json!({"meeting_id": id.as_str()})
        )]
    );
}

#[tokio::test]
async fn a_second_delivery_replays_without_writing_again() {
    let db = TestDb::new().await;
    let id = import(&db, &sample_text("mobile-sync-zh")).await;
    let op = AsrPostprocess::default();
    let ctx = db.context();

    let first = execute(&ctx, &op, input(&id), &Delivery::default())
        .await
        .unwrap();
    let second = execute(&ctx, &op, input(&id), &Delivery::default())
        .await
        .unwrap();

    let (Outcome::Completed { output: a, .. }, Outcome::Replayed { output: b }) = (first, second)
    else {
        panic!("expected completed then replayed");
    };
    assert_eq!(a, b);
    assert_eq!(outbox_rows(&db).await.len(), 1);
}

#[tokio::test]
async fn the_broken_sample_is_dead_lettered_with_a_reason_naming_both_formats() {
    let db = TestDb::new().await;
    let id = import(&db, &sample_text("broken-format")).await;
    let op = AsrPostprocess::default();

    let outcome = execute(&db.context(), &op, input(&id), &Delivery::default())
        .await
        .unwrap();
    let Outcome::DeadLettered { error, .. } = outcome else {
        panic!("not dead-lettered: {outcome:?}");
    };
    assert_eq!(error.kind(), ErrorKind::Permanent);
    assert!(error.message().contains(id.as_str()), "{}", error.message());

    let row = query_one(
        &db,
        "SELECT reason, error_kind FROM dead_letters WHERE payload->>'meeting_id' = $1",
        &id,
    )
    .await;
    let (reason, kind): (String, String) = (row.get(0), row.get(1));
    assert_eq!(kind, "permanent");
    assert!(
        reason.contains("Speech-to-Text v2") && reason.contains("Whisper verbose_json"),
        "{reason}"
    );
    let clean = query_one(
        &db,
        "SELECT count(*) FROM transcripts WHERE meeting_id = $1",
        &id,
    )
    .await;
    assert_eq!(clean.get::<_, i64>(0), 0);
    assert!(
        outbox_rows(&db)
            .await
            .iter()
            .all(|row| row.0 != "cloud_tasks")
    );
}

#[tokio::test]
async fn an_unknown_meeting_is_invalid_input() {
    let db = TestDb::new().await;
    let op = AsrPostprocess::default();
    let err = op
        .run(&db.context(), &input(&MeetingId::new("no-such-meeting")))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(!err.is_retryable());
    assert_eq!(err.message(), "meeting no-such-meeting does not exist");
}

#[tokio::test]
async fn a_meeting_without_raw_output_has_nothing_to_clean() {
    let db = TestDb::new().await;
    let file = json!({"meeting_id": "plain-1", "title": "Imported notes",
        "transcript": "Priya: We ship Thursday.\nLeo: Agreed."});
    let id = import(&db, &file.to_string()).await;
    let err = AsrPostprocess::default()
        .run(&db.context(), &input(&id))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(
        err.message(),
        "meeting plain-1 has no raw transcript to clean"
    );
}

#[tokio::test]
async fn backlog_lists_meetings_with_raw_output_and_no_clean_transcript() {
    let db = TestDb::new().await;
    let op = AsrPostprocess::default();
    let release = import(&db, &sample_text("release-planning")).await;
    let mobile = import(&db, &sample_text("mobile-sync-zh")).await;
    import(
        &db,
        &json!({"meeting_id": "plain-2", "transcript": "A: hi"}).to_string(),
    )
    .await;

    let backlog: Vec<MeetingId> = op
        .backlog(&db.context())
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.meeting_id)
        .collect();
    assert_eq!(backlog, [release.clone(), mobile.clone()]);

    execute(&db.context(), &op, input(&release), &Delivery::default())
        .await
        .unwrap();
    let backlog: Vec<MeetingId> = op
        .backlog(&db.context())
        .await
        .unwrap()
        .into_iter()
        .map(|i| i.meeting_id)
        .collect();
    assert_eq!(backlog, [mobile]);
}

#[tokio::test]
async fn a_revision_replaces_the_transcript_and_asks_for_a_new_summary() {
    let db = TestDb::new().await;
    let id = import(&db, &sample_text("release-planning")).await;
    let op = AsrPostprocess::default();
    let ctx = db.context();
    execute(&ctx, &op, input(&id), &Delivery::default())
        .await
        .unwrap();

    let revised = Input {
        meeting_id: id.clone(),
        revision: Some("2".to_owned()),
    };
    let outcome = execute(&ctx, &op, revised, &Delivery::default())
        .await
        .unwrap();
    assert!(matches!(outcome, Outcome::Completed { .. }), "{outcome:?}");

    let outbox = outbox_rows(&db).await;
    assert_eq!(outbox.len(), 2);
    assert_eq!(outbox[1].2, summarize_task_name(&id, Some("2")));
    assert_eq!(
        outbox[1].3,
        json!({"meeting_id": id.as_str(), "revision": "2"})
    );
    let count = query_one(
        &db,
        "SELECT count(*) FROM transcripts WHERE meeting_id = $1",
        &id,
    )
    .await;
    assert_eq!(count.get::<_, i64>(0), 1);
}

#[tokio::test]
async fn commit_writes_nothing_when_its_transaction_rolls_back() {
    let db = TestDb::new().await;
    let id = import(&db, &sample_text("release-planning")).await;
    let op = AsrPostprocess::default();
    let output: Transcript = op.run(&db.context(), &input(&id)).await.unwrap();

    let mut client = db.pool().get().await.unwrap();
    let tx = client.transaction().await.unwrap();
    op.commit(&tx, &input(&id), &output).await.unwrap();
    tx.rollback().await.unwrap();

    let count = query_one(
        &db,
        "SELECT count(*) FROM transcripts WHERE meeting_id = $1",
        &id,
    )
    .await;
    assert_eq!(count.get::<_, i64>(0), 0);
    assert!(outbox_rows(&db).await.is_empty());
}
