//! A push server whose cores wait for permission, for the SIGTERM test
//! (see `tasklane_e2e::slowfn`).

#[tokio::main]
async fn main() {
    tasklane_e2e::slowfn::serve().await;
}
