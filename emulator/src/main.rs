//! `tasklane-emulator`: runs the emulator until SIGTERM or Ctrl-C.
//!
//! Prints `listening on http://ADDR` on stdout once it accepts requests;
//! logs go to stderr.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use tasklane_emulator::{Emulator, EmulatorBuilder, load_specs};
use tokio::signal::unix::{SignalKind, signal};
use tracing_subscriber::EnvFilter;

/// Local Cloud Tasks + Pub/Sub emulator with Cloud Tasks' dispatch semantics.
#[derive(Debug, Parser)]
#[command(name = "tasklane-emulator", version)]
struct Cli {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long, env = "TASKLANE_EMULATOR_ADDR", default_value = "127.0.0.1:0")]
    addr: String,
    /// Project id in resource names.
    #[arg(long, default_value = "local")]
    project: String,
    /// Location id in resource names.
    #[arg(long, default_value = "us-central1")]
    location: String,
    /// FunctionSpec JSON file (what `<function> spec` prints); repeatable.
    #[arg(long = "spec", value_name = "FILE")]
    specs: Vec<PathBuf>,
    /// Emulated time runs this many times faster: divides backoff,
    /// scheduleTime and Retry-After waits.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Divides dispatch deadlines.
    #[arg(long, default_value_t = 1.0)]
    deadline_scale: f64,
    /// Seconds a finished task's name stays reserved.
    #[arg(long, default_value_t = 3600.0)]
    dedup_window_seconds: f64,
    /// Seconds a pulled Pub/Sub message waits for its ack.
    #[arg(long, default_value_t = 10.0)]
    ack_deadline_seconds: f64,
    /// Chance (0-1) that an attempt is delivered twice.
    #[arg(long, default_value_t = 0.0)]
    duplicate_probability: f64,
    /// Milliseconds between an attempt and its injected duplicate.
    #[arg(long, default_value_t = 0)]
    duplicate_delay_ms: u64,
    /// Chance (0-1) that a handler's answer is lost and the task retried.
    #[arg(long, default_value_t = 0.0)]
    drop_response_probability: f64,
    /// Seed of the fault-injection generator (random if absent).
    #[arg(long)]
    seed: Option<u64>,
    /// Log line format on stderr.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("tasklane-emulator: {}", error_chain(err.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let addr = cli.addr.clone();
    let builder = configure(cli)?;
    let emulator = builder.start(addr.as_str()).await?;
    println!("listening on {}", emulator.base_url());
    stop_signal().await?;
    emulator.shutdown().await;
    Ok(())
}

fn configure(cli: Cli) -> Result<EmulatorBuilder, Box<dyn std::error::Error>> {
    let mut builder = Emulator::builder()
        .project(cli.project)
        .location(cli.location)
        .time_scale(cli.time_scale)
        .deadline_scale(cli.deadline_scale)
        .dedup_window(seconds("--dedup-window-seconds", cli.dedup_window_seconds)?)
        .ack_deadline(seconds("--ack-deadline-seconds", cli.ack_deadline_seconds)?)
        .duplicate_probability(cli.duplicate_probability)
        .duplicate_delay(Duration::from_millis(cli.duplicate_delay_ms))
        .drop_response_probability(cli.drop_response_probability);
    if let Some(seed) = cli.seed {
        builder = builder.seed(seed);
    }
    for path in &cli.specs {
        builder = builder.specs(load_specs(path)?);
    }
    Ok(builder)
}

fn seconds(flag: &str, value: f64) -> Result<Duration, String> {
    Duration::try_from_secs_f64(value)
        .map_err(|_| format!("{flag} must be a non-negative number of seconds, got {value}"))
}

async fn stop_signal() -> std::io::Result<()> {
    let mut terminate = signal(SignalKind::terminate())?;
    tokio::select! {
        result = tokio::signal::ctrl_c() => result,
        _ = terminate.recv() => Ok(()),
    }
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal());
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
