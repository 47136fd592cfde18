//! The asr-postprocess binary: configuration comes from the environment,
//! everything else (CLI, telemetry, serving) from the shared crate.

use std::process::ExitCode;

fn main() -> ExitCode {
    tasklane::cli::main(asr_postprocess::AsrPostprocess::from_env)
}
