//! The `summarize` function binary: `run`, `spec`, `serve` and `job`, all
//! provided by tasklane's CLI around the [`summarize::Summarize`] operation.

use std::process::ExitCode;

fn main() -> ExitCode {
    tasklane::cli::main(summarize::Summarize::from_env)
}
