//! What the benchmarks share: the portal on SQLite with accounts of their
//! own and no rate limit in the way, a cookie-keeping client, the CSRF field
//! of a page, and a latency report.

mod sign_in;

use std::net::TcpListener;
use std::time::Duration;

use gatehouse::config::Settings;
use gatehouse::db::Db;
use gatehouse::web::server::Application;
pub use sign_in::{PASSWORD, account, add_accounts, csrf_of};

/// Starts the portal on SQLite in `dir` with `accounts` accounts, the
/// limits per IP and per deployment lifted and `configure`'s changes;
/// returns its base URL.
pub async fn start_portal(
    dir: &std::path::Path,
    accounts: usize,
    configure: impl FnOnce(&mut Settings),
) -> anyhow::Result<String> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let mut settings = Settings {
        database_url: format!("sqlite://{}/bench.db", dir.display()),
        public_url: base.clone(),
        secret_key: Some("benchmark secret key, at least thirty-two characters".into()),
        mail_dir: dir.join("mail"),
        sign_ins_per_ip_per_hour: 10_000_000,
        code_sends_per_ip_per_hour: 100_000,
        code_sends_per_hour: 10_000_000,
        ..Settings::default()
    };
    configure(&mut settings);
    let db = Db::connect(&settings.database_url).await?;
    db.migrate().await?;
    add_accounts(&db, accounts).await?;
    let app = Application::build_with_listener(settings, listener).await?;
    tokio::spawn(app.run_until_stopped());
    Ok(base)
}

pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?)
}

/// Prints p50, p90, p99 and the maximum of `times`.
pub fn report(what: &str, times: &[Duration]) {
    let at = |q| percentile(times, q);
    println!(
        "{what:<44} n={:<5} p50={:>8.2?} p90={:>8.2?} p99={:>8.2?} max={:>8.2?}",
        times.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}

/// The `q` quantile of `times` (0.99: p99), by the nearest rank.
pub fn percentile(times: &[Duration], q: f64) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted[((sorted.len() as f64 - 1.0) * q).round() as usize]
}
