//! Benchmark, not a test: the goals of the performance work, each measured
//! against a baseline taken in this same run on this same machine.
//!
//! | measure | baseline | goal |
//! | --- | --- | --- |
//! | `GET /login` | a bare actix-web page of the same size | ≥ 0.5 |
//! | `GET /auth/verify` | the same bare page | ≥ 0.3 |
//! | password steps | the machine's argon2id ceiling (m=19456, t=2, p=1, a thread per core), measured before and after | ≥ 0.9 |
//! | right-code checks | (a rate) | ≥ 2,000/s SQLite, ≥ 1,000/s Postgres |
//! | peak RSS under the password load | idle RSS | ≤ idle + 19 MiB × hashing threads + 20 MiB |
//!
//! The portal runs as its own process, the release binary's `gatehouse
//! serve`, on SQLite and, when it is reachable, on Postgres
//! (`GATEHOUSE_TEST_POSTGRES_URL`, default the local server); the bare page
//! is this benchmark run again as a server (`--bare-page`). Each step of a
//! sign-in uses 16 concurrent flows and 4,000 accounts.
//!
//! Run: `cargo bench --bench ratios`.

mod bare;
#[path = "../common/load.rs"]
mod load;
mod portal;
mod server_cpu;
#[path = "../common/sign_in.rs"]
mod sign_in;
#[path = "../../tests/api/smtp_sink.rs"]
mod smtp_sink;
mod steps;

use std::time::Duration;

/// Concurrent connections or flows, as wrk's `-c 16`.
pub const CONNECTIONS: usize = 16;
/// How long each page is loaded.
pub const LOAD_FOR: Duration = Duration::from_secs(5);
/// Accounts, each signing in once.
pub const ACCOUNTS: usize = 4_000;

/// One line of the results.
pub struct Row {
    pub what: String,
    pub measured: String,
    pub baseline: String,
    pub ratio: f64,
    pub goal: f64,
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == "--bare-page") {
        return bare::serve(&args[at + 1..]);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("{cores} cores; {CONNECTIONS} connections; {ACCOUNTS} accounts\n");
    let mut rows = Vec::new();
    for backend in portal::backends().await {
        rows.extend(steps::measure(&backend, cores).await?);
    }
    println!("\n{:<44} {:>16} {:>16} {:>7} {:>7}", "measure", "measured", "baseline", "ratio", "goal");
    for row in &rows {
        let verdict = if row.ratio >= row.goal { "ok" } else { "BELOW" };
        println!(
            "{:<44} {:>16} {:>16} {:>7.2} {:>7} {verdict}",
            row.what,
            row.measured,
            row.baseline,
            row.ratio,
            format!("≥ {:.2}", row.goal)
        );
    }
    Ok(())
}
