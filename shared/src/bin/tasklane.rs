//! `tasklane`: migrations, imports, the task table and the outbox relay.

fn main() -> std::process::ExitCode {
    tasklane::ops::main()
}
