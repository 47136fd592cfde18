//! `bench-token --audience A --email E`: runs a bare emulator (no queues)
//! for its JWKS, prints `JWKS_URL=...` and `TOKEN=...` (an RS256 ID token
//! for E and A, as Cloud Tasks would send it), and serves until killed.

use std::process::ExitCode;

use tasklane_emulator::Emulator;

fn arg(name: &str) -> Option<String> {
    let mut args = std::env::args().skip_while(|a| a != name);
    args.next();
    args.next()
}

#[tokio::main]
async fn main() -> ExitCode {
    let (Some(audience), Some(email)) = (arg("--audience"), arg("--email")) else {
        eprintln!("usage: bench-token --audience AUDIENCE --email EMAIL");
        return ExitCode::from(2);
    };
    let emulator = match Emulator::builder().start("127.0.0.1:0").await {
        Ok(emulator) => emulator,
        Err(err) => {
            eprintln!("bench-token: {err}");
            return ExitCode::FAILURE;
        }
    };
    let token = match emulator.id_token(&email, &audience) {
        Ok(token) => token,
        Err(err) => {
            eprintln!("bench-token: {err}");
            return ExitCode::FAILURE;
        }
    };
    println!("JWKS_URL={}", emulator.jwks_url());
    println!("TOKEN={token}");
    let _ = tokio::signal::ctrl_c().await;
    emulator.shutdown().await;
    ExitCode::SUCCESS
}
