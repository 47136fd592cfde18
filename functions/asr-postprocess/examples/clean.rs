//! Clean a sample meeting file (or a bare raw ASR body) with the default
//! settings and print the transcript and its statistics:
//! `cargo run -p asr-postprocess --example clean -- samples/release-planning.json`.

use std::process::ExitCode;

use asr_postprocess::{Pipeline, Settings};
use serde_json::Value;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: clean FILE");
        return ExitCode::from(2);
    };
    match clean(&path) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{path}: {err}");
            ExitCode::FAILURE
        }
    }
}

fn clean(path: &str) -> Result<(), Box<dyn std::error::Error>> {
    let file: Value = serde_json::from_str(&std::fs::read_to_string(path)?)?;
    let (body, language) = match file.get("raw_asr") {
        Some(raw) => (raw, file.get("language").and_then(Value::as_str)),
        None => (&file, None),
    };
    let pipeline = Pipeline::new(Settings::from_env()?);
    let transcript = pipeline.process(body, language)?;
    println!("{}\n", transcript.text);
    println!("{}", serde_json::to_string_pretty(&transcript.stats)?);
    Ok(())
}
