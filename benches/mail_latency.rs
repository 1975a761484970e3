//! Benchmark, not a test: how long from the password step to the code
//! mail's acceptance by an SMTP server, through the outbox (seal, queue,
//! claim, send, record). One sign-in at a time, SQLite, a local SMTP server.
//!
//! Run: `cargo bench --bench mail_latency`.

use std::time::{Duration, Instant};

use common::{PASSWORD, account, client, csrf_of, report, start_portal};

mod common;
#[path = "../tests/api/smtp_sink.rs"]
mod smtp_sink;

const SIGN_INS: usize = 100;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut sink = smtp_sink::SmtpSink::start().await;
    let sink_port = sink.port;
    let base = start_portal(dir.path(), SIGN_INS, |s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{sink_port}"));
        s.notify_new_sign_in = false;
    })
    .await?;

    let (mut to_accepted, mut redirect_to_accepted, mut password_step) = (Vec::new(), Vec::new(), Vec::new());
    for n in 0..SIGN_INS {
        let client = client()?;
        let csrf = csrf_of(&client.get(format!("{base}/login")).send().await?.text().await?);
        let email = account(n);
        let form = [("email", email.as_str()), ("password", PASSWORD), ("csrf", &csrf)];
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
