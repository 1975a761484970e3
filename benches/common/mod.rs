//! What the benchmarks share: the portal on SQLite with accounts of their
//! own and no rate limit in the way, a cookie-keeping client, the CSRF field
//! of a page, and a latency report.

use std::net::TcpListener;
use std::time::Duration;

use gatehouse::config::Settings;
use gatehouse::core::hashing::PasswordHasher;
use gatehouse::db::{Db, users};
use gatehouse::domain::email::EmailAddress;
use gatehouse::domain::password::Password;
use gatehouse::web::server::Application;

pub const PASSWORD: &str = "a benchmark passphrase";

/// Account `n` of the benchmark, with `PASSWORD`. Each signs in once: the
/// limits per account (3 codes per 15 minutes, 50 wrong codes a day) stay.
pub fn account(n: usize) -> String {
    format!("bench{n}@example.com")
}

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
    let hasher = PasswordHasher::new(&settings.check()?.hashing)?;
    let hash = hasher.hash(&Password::new_secret(PASSWORD.into())?).await?;
    for n in 0..accounts {
        users::insert(&db, &EmailAddress::parse(&account(n))?, None, &hash, 0).await?;
    }
    let app = Application::build_with_listener(settings, listener).await?;
    tokio::spawn(app.run_until_stopped());
    Ok(base)
}

pub fn client() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build()?)
}

pub fn csrf_of(page: &str) -> String {
    let start = page.find("name=\"csrf\" value=\"").map(|i| i + 19).unwrap_or(0);
    page[start..].split('"').next().unwrap_or_default().to_owned()
}

/// Prints p50, p90, p99 and the maximum of `times`.
pub fn report(what: &str, times: &[Duration]) {
    let mut sorted = times.to_vec();
    sorted.sort();
    let at = |q: f64| sorted[((sorted.len() as f64 - 1.0) * q).round() as usize];
    println!(
        "{what:<44} n={:<5} p50={:>8.2?} p90={:>8.2?} p99={:>8.2?} max={:>8.2?}",
        sorted.len(),
        at(0.5),
        at(0.9),
        at(0.99),
        at(1.0)
    );
}
