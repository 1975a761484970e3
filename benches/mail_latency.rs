//! Benchmark, not a test: how long from the password step to the code
//! mail's acceptance by an SMTP server, through the outbox (seal, queue,
//! claim, send, record). One sign-in at a time, SQLite, a local SMTP server.
//!
//! Run: `cargo bench --bench mail_latency`.

use std::net::TcpListener;
use std::time::{Duration, Instant};

use gatehouse::auth::email::EmailAddress;
use gatehouse::auth::password::{Password, PasswordHasher};
use gatehouse::config::Settings;
use gatehouse::db::{Db, users};
use gatehouse::startup::Application;

use common::{client, csrf_of, report};

mod common;
#[path = "../tests/api/smtp_sink.rs"]
mod smtp_sink;

const PASSWORD: &str = "a benchmark passphrase";
const SIGN_INS: usize = 100;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut sink = smtp_sink::SmtpSink::start().await;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://127.0.0.1:{}", listener.local_addr()?.port());
    let settings = Settings {
        database_url: format!("sqlite://{}/bench.db", dir.path().display()),
        public_url: base.clone(),
        secret_key: Some("benchmark secret key, at least thirty-two characters".into()),
        smtp_url: Some(format!("smtp://127.0.0.1:{}", sink.port)),
        notify_new_sign_in: false,
        sign_ins_per_ip_per_hour: 1_000_000,
        code_sends_per_15_min: 1_000_000,
        code_sends_per_day: 1_000_000,
        code_sends_per_ip_per_hour: 1_000_000,
        code_sends_per_hour: 1_000_000,
        ..Settings::default()
    };
    let db = Db::connect(&settings.database_url).await?;
    db.migrate().await?;
    let hash = PasswordHasher::new(&settings)?.hash(&Password::new_secret(PASSWORD.into())?).await?;
    users::insert(&db, &EmailAddress::parse("bench@example.com")?, &hash).await?;
    let app = Application::build_with_listener(settings, listener).await?;
    tokio::spawn(app.run_until_stopped());

    let (mut to_accepted, mut redirect_to_accepted, mut password_step) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..SIGN_INS {
        let client = client()?;
        let csrf = csrf_of(&client.get(format!("{base}/login")).send().await?.text().await?);
        let form = [("email", "bench@example.com"), ("password", PASSWORD), ("csrf", &csrf)];
        let started = Instant::now();
        let status = client.post(format!("{base}/login")).form(&form).send().await?.status();
        let answered = Instant::now();
        anyhow::ensure!(status == 303, "the password step answered {status}");
        tokio::time::timeout(Duration::from_secs(10), sink.inbox.recv())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the SMTP sink stopped"))?;
        let accepted = Instant::now();
        password_step.push(answered - started);
        to_accepted.push(accepted - started);
        redirect_to_accepted.push(accepted - answered);
    }
    report("POST /login answered (303)", &password_step);
    report("POST /login sent -> mail accepted by SMTP", &to_accepted);
    report("303 received -> mail accepted by SMTP", &redirect_to_accepted);
    Ok(())
}
