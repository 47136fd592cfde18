//! The `tasklane` operations command: `migrate`, `import FILE...`,
//! `tasks` (the task table), and `dlq publish` (send pending outbox rows
//! once).

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::cli::{EXIT_CONFIG, EXIT_RETRYABLE};
use crate::context::Context;
use crate::db::{self, PoolSettings};
use crate::{BoxError, meetings, telemetry};

#[derive(Debug, Parser)]
#[command(name = "tasklane", version, about = "tasklane operations")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply database migrations.
    Migrate,
    /// Load meeting files (metadata plus raw ASR output or a transcript) and
    /// print each meeting id.
    Import {
        /// Meeting files.
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Print every task as JSON lines (function, key, status, attempts).
    Tasks,
    /// Dead letters and the outbox.
    Dlq {
        #[command(subcommand)]
        command: DlqCommand,
    },
}

#[derive(Debug, Subcommand)]
enum DlqCommand {
    /// Send every due outbox row once (dead-letter publishes and follow-up
    /// tasks) and print how many were sent.
    Publish,
    /// Print dead letters as JSON lines.
    List,
}

/// The whole `main` of the `tasklane` binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => return fail(&err.into()),
    };
    runtime.block_on(async move {
        let _guard = match telemetry::init("tasklane") {
            Ok(guard) => guard,
            Err(err) => return fail(&err.into()),
        };
        match run(cli.command).await {
            Ok(code) => code,
            Err(err) => fail(&err),
        }
    })
}

async fn run(command: Command) -> Result<ExitCode, BoxError> {
    let pool = db::pool(&PoolSettings::from_env()?)?;
    match command {
        Command::Migrate => {
            db::migrate(&pool).await?;
            println!("migrations applied");
        }
        Command::Import { files } => import(&Context::new(pool), &files).await?,
        Command::Tasks => print_rows(&pool, LIST_TASKS).await?,
        Command::Dlq {
            command: DlqCommand::List,
        } => print_rows(&pool, LIST_DEAD).await?,
        Command::Dlq {
            command: DlqCommand::Publish,
        } => {
            let relay = crate::relay::Relay::from_env()?;
            let sent = relay.drain_once(&Context::new(pool)).await?;
            println!(
                "{}",
                serde_json::json!({"sent": sent.sent, "failed": sent.failed})
            );
            if sent.failed > 0 {
                return Ok(ExitCode::from(EXIT_RETRYABLE));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

const LIST_TASKS: &str = "\
SELECT json_build_object('function', function, 'key', key, 'status', status,
       'attempts', attempts, 'token', fencing_token, 'last_error', last_error)::text
  FROM tasks ORDER BY created_at, function, key";

const LIST_DEAD: &str = "\
SELECT json_build_object('id', id, 'function', function, 'key', key,
       'error_kind', error_kind, 'reason', reason, 'attempts', attempts,
       'created_at', created_at)::text
  FROM dead_letters ORDER BY id";

async fn import(ctx: &Context, files: &[PathBuf]) -> Result<(), BoxError> {
    let client = ctx.client().await?;
    for path in files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let file = meetings::parse_file(&text)
            .map_err(|e| format!("{}: {}", path.display(), e.report()))?;
        let id = meetings::import(&**client, &file).await?;
        println!("{id}");
    }
    Ok(())
}

async fn print_rows(pool: &deadpool_postgres::Pool, sql: &str) -> Result<(), BoxError> {
    let client = pool.get().await?;
    for row in client.query(sql, &[]).await? {
        println!("{}", row.get::<_, String>(0));
    }
    Ok(())
}

fn fail(err: &BoxError) -> ExitCode {
    eprintln!("error: {}", crate::error::chain(err.as_ref()));
    ExitCode::from(EXIT_CONFIG)
}
