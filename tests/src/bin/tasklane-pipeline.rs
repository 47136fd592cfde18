//! `make run`: the samples end to end on the local stack. Recreates the
//! `tasklane_run` database, imports `samples/`, starts the emulator and both
//! function services, enqueues every sample through the official Cloud
//! Tasks client, waits until each task is completed or dead-lettered, and
//! prints what happened.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use serde_json::{Value, json};
use tasklane::db::{self, PoolSettings};
use tasklane::meetings::{self, MeetingFile};
use tasklane_e2e::stack::Stack;
use tasklane_e2e::{BoxError, enqueue, report};

const DATABASE: &str = "tasklane_run";
const SETTLE_TIMEOUT: Duration = Duration::from_secs(180);

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("make run failed: {}", tasklane::error::chain(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), BoxError> {
    let root = workspace_root();
    let admin = std::env::var("DATABASE_URL").map_err(|_| "DATABASE_URL is not set")?;
    let url = recreate_database(&admin).await?;
    let samples = load_samples(&root.join("samples"))?;
    import(&url, &samples).await?;
    println!("imported {} sample meetings into {DATABASE}", samples.len());

    let specs = [asr_postprocess::spec(), summarize::spec()];
    let stack = Stack::start(&url, &specs, &root.join(".local/run"), &[]).await?;
    println!("emulator at {}; logs in .local/run/", stack.emulator_url);
    let outcome = drive(&stack, &url, &samples).await;
    stack.stop().await;
    outcome
}

async fn drive(stack: &Stack, url: &str, samples: &[MeetingFile]) -> Result<(), BoxError> {
    let tasks = enqueue::client(&stack.emulator_url).await?;
    for sample in samples {
        let function = if sample.raw_asr.is_some() {
            "asr-postprocess"
        } else {
            "summarize"
        };
        let service = stack.service(function);
        let name = enqueue::task_id(function, &sample.meeting_id);
        enqueue::create(
            &tasks,
            service,
            &name,
            &json!({"meeting_id": sample.meeting_id}),
        )
        .await?;
        println!("enqueued {name} on queue {}", service.spec.queue);
    }
    let client = connect(url).await?;
    report::wait_settled(&client, SETTLE_TIMEOUT).await?;
    print_tasks(&client).await?;
    for sample in samples {
        print_meeting(&client, sample).await?;
    }
    print_dead_letters(stack).await
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, BoxError> {
    let (client, connection) = tokio_postgres::connect(url, tokio_postgres::NoTls).await?;
    tokio::spawn(connection);
    Ok(client)
}

async fn recreate_database(admin: &str) -> Result<String, BoxError> {
    let client = connect(admin).await?;
    // Two statements: CREATE DATABASE cannot share an implicit transaction.
    let drop = format!("DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)");
    client.batch_execute(&drop).await?;
    client
        .batch_execute(&format!("CREATE DATABASE {DATABASE}"))
        .await?;
    let url = db::with_database(admin, DATABASE);
    let pool = db::pool(&PoolSettings::for_url(url.clone()))?;
    db::migrate(&pool).await?;
    Ok(url)
}

fn load_samples(dir: &Path) -> Result<Vec<MeetingFile>, BoxError> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            name.ends_with(".json") && !name.ends_with(".expected.json")
        })
        .collect();
    paths.sort();
    paths
        .iter()
        .map(|p| {
            let text = std::fs::read_to_string(p)?;
            meetings::parse_file(&text)
                .map_err(|e| format!("{}: {}", p.display(), e.report()).into())
        })
        .collect()
}

async fn import(url: &str, samples: &[MeetingFile]) -> Result<(), BoxError> {
    let client = connect(url).await?;
    for sample in samples {
        meetings::import(&client, sample).await?;
    }
    Ok(())
}

async fn print_tasks(client: &tokio_postgres::Client) -> Result<(), BoxError> {
    println!(
        "\n{:<16} {:<44} {:>8}  {:<10} {:>10}",
        "function", "key", "attempts", "outcome", "duration"
    );
    for t in report::tasks(client).await? {
        let outcome = if t.status == "dead" {
            "dead-letter"
        } else {
            t.status.as_str()
        };
        println!(
            "{:<16} {:<44} {:>8}  {:<10} {:>7.0} ms",
            t.function, t.key, t.attempts, outcome, t.duration_ms
        );
    }
    Ok(())
}

async fn print_meeting(
    client: &tokio_postgres::Client,
    sample: &MeetingFile,
) -> Result<(), BoxError> {
    println!("\n== {} — {} ==", sample.meeting_id, sample.title);
    match report::transcript_stats(client, &sample.meeting_id).await? {
        Some(stats) if stats != json!({}) => println!("transcript: {}", one_line(&stats)),
        Some(_) => println!("transcript: imported as text"),
        None => println!("transcript: none (post-processing failed; see dead letters)"),
    }
    let Some(summary) = report::summary(client, &sample.meeting_id).await? else {
        println!("summary: none");
        return Ok(());
    };
    println!(
        "summary ({}): {}",
        text(&summary["engine"]),
        text(&summary["summary"])
    );
    for decision in summary["decisions"].as_array().into_iter().flatten() {
        println!("  decision: {}", text(decision));
    }
    for item in summary["action_items"].as_array().into_iter().flatten() {
        println!(
            "  action: [{}] {}{}",
            text(&item["owner"]),
            text(&item["task"]),
            item["due"]
                .as_str()
                .map(|d| format!(" (due {d})"))
                .unwrap_or_default()
        );
    }
    Ok(())
}

async fn print_dead_letters(stack: &Stack) -> Result<(), BoxError> {
    println!("\ndead letters pulled from the emulator's Pub/Sub subscriptions:");
    let mut any = false;
    for service in stack.services.values() {
        let subscription = &service.spec.dead_letter_subscription;
        for message in
            report::pull(&stack.emulator_url, subscription, Duration::from_secs(2)).await?
        {
            any = true;
            println!(
                "  {subscription}: key {} — {} — {}",
                text(&message.data["key"]),
                text(&message.data["error_kind"]),
                text(&message.data["reason"])
            );
        }
    }
    if !any {
        println!("  (none)");
    }
    Ok(())
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "-".to_owned(),
        other => other.to_string(),
    }
}

fn one_line(stats: &Value) -> String {
    stats
        .as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}={}", text(v)))
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}
