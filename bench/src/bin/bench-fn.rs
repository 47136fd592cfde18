//! The baseline's work behind tasklane's runners (`bench-fn serve`).

fn main() -> std::process::ExitCode {
    tasklane::cli::main(tasklane_bench::BenchSummarize::from_env)
}
