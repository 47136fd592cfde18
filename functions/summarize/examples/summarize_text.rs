//! Summarize a plain transcript with the local engine, without Postgres.
//!
//! ```text
//! cargo run -p summarize --example summarize_text -- --words 150 < meeting.txt
//! ```
//!
//! Reads `Speaker: text` or bare lines on standard input and prints the
//! summary as JSON. The word budget defaults to `TASKLANE_SUMMARY_WORDS`
//! (250 when unset).

use std::io::Read;
use std::process::ExitCode;

use summarize::local::LocalSummarizer;
use summarize::settings::Settings;
use summarize::transcript::Transcript;

fn main() -> ExitCode {
    match run() {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("summarize_text: {message}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<String, String> {
    let mut settings = Settings::from_env().map_err(|e| e.to_string())?.local;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--words" => {
                let value = args.next().ok_or("--words needs a number")?;
                settings.words = value
                    .parse()
                    .map_err(|_| format!("--words must be a whole number, not {value:?}"))?;
            }
            other => return Err(format!("unknown argument {other:?} (only --words N)")),
        }
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| format!("cannot read standard input: {e}"))?;
    let summary = LocalSummarizer::new(settings).summarize(&Transcript::from_text(&text));
    serde_json::to_string_pretty(&summary).map_err(|e| e.to_string())
}
