//! The command line every function binary shares:
//!
//! - `run --input FILE|-`: run one task and print its outcome as JSON;
//! - `spec`: print the function's settings as JSON;
//! - `serve`: the Cloud Tasks push adapter on `$PORT`;
//! - `job [--input FILE]`: the batch runner for Cloud Run Jobs.
//!
//! Exit codes: 0 done (completed, replayed), 65 permanent failure
//! (dead-lettered), 75 retryable failure, 78 configuration error.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use serde_json::json;

use crate::context::Context;
use crate::db::{self, PoolSettings};
use crate::error::TaskError;
use crate::job::{self, Shard};
use crate::operation::Operation;
use crate::relay::Relay;
use crate::runner::{self, Delivery, Outcome};
use crate::{BoxError, telemetry};

/// Exit code for a task that completed or replayed.
pub const EXIT_OK: u8 = 0;
/// Exit code for a permanent failure (the task was dead-lettered).
pub const EXIT_PERMANENT: u8 = 65;
/// Exit code for a retryable failure (run it again later).
pub const EXIT_RETRYABLE: u8 = 75;
/// Exit code for bad configuration.
pub const EXIT_CONFIG: u8 = 78;

#[derive(Debug, Parser)]
#[command(version, about = "A tasklane function")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run one task and print its outcome as JSON.
    Run {
        /// JSON input file, or `-` for standard input.
        #[arg(long, default_value = "-")]
        input: PathBuf,
    },
    /// Print the function's settings as JSON.
    Spec,
    /// Serve Cloud Tasks pushes on $PORT (default 8080).
    Serve,
    /// Run a batch (Cloud Run Jobs): inputs from a JSON-lines file, or the
    /// operation's backlog.
    Job {
        /// JSON-lines file of inputs; without it, the backlog.
        #[arg(long)]
        input: Option<PathBuf>,
        /// Tasks run at once.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
}

/// The whole `main` of a function binary: parse the command line, start
/// telemetry, build the operation with `build`, and run the subcommand.
pub fn main<O, F>(build: F) -> ExitCode
where
    O: Operation,
    F: FnOnce() -> Result<O, BoxError>,
{
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(err) => return config_error("cannot start the async runtime", &err),
    };
    runtime.block_on(async move {
        let op = match build() {
            Ok(op) => op,
            Err(err) => return config_error("invalid configuration", err.as_ref()),
        };
        let guard = match telemetry::init(&op.spec().name) {
            Ok(guard) => guard,
            Err(err) => return config_error("cannot start telemetry", &err),
        };
        let code = dispatch(cli.command, op).await;
        drop(guard);
        code
    })
}

async fn dispatch<O: Operation>(command: Command, op: O) -> ExitCode {
    if let Command::Spec = command {
        return print_json(&json!(op.spec()));
    }
    if let Err(mismatch) = op.spec().check_deployment(|name| std::env::var(name).ok()) {
        return config_error("deployment does not match the spec", &mismatch);
    }
    let ctx = match connect().await {
        Ok(ctx) => ctx,
        Err(err) => return config_error("cannot set up postgres", err.as_ref()),
    };
    match command {
        Command::Run { input } => run_one(&ctx, &op, &input).await,
        Command::Serve => serve(ctx, op).await,
        Command::Job { input, concurrency } => run_job(&ctx, op, input, concurrency).await,
        Command::Spec => ExitCode::SUCCESS,
    }
}

/// Build the pool from the environment, migrating first when
/// `TASKLANE_MIGRATE=auto` (default: off; run `tasklane migrate`).
///
/// # Errors
///
/// When `DATABASE_URL` is missing or invalid, or migrating fails.
pub async fn connect() -> Result<Context, BoxError> {
    let pool = db::pool(&PoolSettings::from_env()?)?;
    if std::env::var("TASKLANE_MIGRATE").is_ok_and(|v| v == "auto") {
        db::migrate(&pool).await?;
    }
    Ok(Context::new(pool))
}

/// The push adapter, with the outbox relay beside it: the relay sends the
/// dead letters and follow-up tasks that pushes commit, and stops after the
/// server has drained.
async fn serve<O: Operation>(ctx: Context, op: O) -> ExitCode {
    let relay = match Relay::from_env() {
        Ok(relay) => relay,
        Err(err) => return config_error("invalid relay settings", &err),
    };
    let (stop, mut stopped) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(relay.run(ctx.clone(), async move {
        // An error means the sender is gone, which also means stop.
        let _ = stopped.wait_for(|stop| *stop).await;
    }));
    let served = crate::push::serve_from_env(ctx, op).await;
    let _ = stop.send(true);
    if let Err(err) = relay.await {
        tracing::warn!(error = %err, "outbox relay ended abnormally");
    }
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => config_error("push adapter stopped", err.as_ref()),
    }
}

async fn run_one<O: Operation>(ctx: &Context, op: &O, path: &PathBuf) -> ExitCode {
    let input = match read_input(path).and_then(|text| parse_input::<O>(&text)) {
        Ok(input) => input,
        Err(err) => return report_error(op, &err),
    };
    match runner::execute(ctx, op, input, &Delivery::default()).await {
        Ok(outcome) => report_outcome(op, outcome),
        Err(err) => report_error(op, &err),
    }
}

fn read_input(path: &PathBuf) -> Result<String, TaskError> {
    let mut text = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::read_to_string(path).map(|t| text = t)
    };
    read.map_err(|e| {
        TaskError::invalid_input(format!("cannot read input {}", path.display())).with_source(e)
    })?;
    Ok(text)
}

/// Parse a JSON input for `O`, with a message that says what is wrong.
///
/// # Errors
///
/// An invalid-input error.
pub fn parse_input<O: Operation>(text: &str) -> Result<O::Input, TaskError> {
    serde_json::from_str(text)
        .map_err(|e| TaskError::invalid_input(format!("input is not a valid task: {e}")))
}

fn report_outcome<O: Operation>(op: &O, outcome: Outcome<O::Output>) -> ExitCode {
    let function = &op.spec().name;
    let status = outcome.as_str();
    match outcome {
        Outcome::Completed {
            output, attempt, ..
        } => print_json(
            &json!({"function": function, "status": status, "attempt": attempt,
                "output": output}),
        ),
        Outcome::Replayed { output } => {
            print_json(&json!({"function": function, "status": status, "output": output}))
        }
        Outcome::DeadLettered {
            error,
            dead_letter_id,
        } => {
            print_json(&json!({"function": function, "status": status,
                "dead_letter_id": dead_letter_id, "error": error.kind().as_str(),
                "reason": error.report()}));
            ExitCode::from(EXIT_PERMANENT)
        }
        Outcome::AlreadyDead { reason } => {
            print_json(&json!({"function": function, "status": status, "reason": reason}));
            ExitCode::from(EXIT_PERMANENT)
        }
    }
}

fn report_error<O: Operation>(op: &O, err: &TaskError) -> ExitCode {
    print_json(&json!({"function": op.spec().name, "status": "failed",
        "error": err.kind().as_str(), "retryable": err.is_retryable(), "reason": err.report()}));
    ExitCode::from(if err.is_retryable() {
        EXIT_RETRYABLE
    } else {
        EXIT_PERMANENT
    })
}

async fn run_job<O: Operation>(
    ctx: &Context,
    op: O,
    input: Option<PathBuf>,
    concurrency: usize,
) -> ExitCode {
    let inputs = match input {
        Some(path) => read_input(&path).and_then(|text| parse_lines::<O>(&text)),
        None => op.backlog(ctx).await,
    };
    let (inputs, shard) = match inputs.and_then(|i| Ok((i, Shard::from_env()?))) {
        Ok(both) => both,
        Err(err) => return report_error(&op, &err),
    };
    let report = job::run_batch(ctx, Arc::new(op), inputs, shard, concurrency).await;
    print_json(
        &json!({"completed": report.completed, "replayed": report.replayed,
        "dead_lettered": report.dead_lettered, "retryable": report.retryable}),
    );
    if report.has_retryable() {
        ExitCode::from(EXIT_RETRYABLE)
    } else {
        ExitCode::SUCCESS
    }
}

fn parse_lines<O: Operation>(text: &str) -> Result<Vec<O::Input>, TaskError> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            parse_input::<O>(line)
                .map_err(|e| TaskError::invalid_input(format!("line {}: {}", n + 1, e.message())))
        })
        .collect()
}

fn print_json(value: &serde_json::Value) -> ExitCode {
    println!("{value}");
    ExitCode::SUCCESS
}

fn config_error(what: &str, err: &(dyn std::error::Error + 'static)) -> ExitCode {
    eprintln!("error: {what}: {}", crate::error::chain(err));
    ExitCode::from(EXIT_CONFIG)
}
