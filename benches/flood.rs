//! Benchmark, not a test: floods the password step (a botnet of unknown
//! addresses from many forwarded IPs) and measures, meanwhile, the latency
//! of `GET /login` and of the code step (`POST /login/code`), against the
//! same measurements without the flood.
//!
//! Run: `cargo bench --bench flood` (SQLite in a temporary directory).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::{PASSWORD, account, client, csrf_of, percentile, report, start_portal};

mod common;

const FLOODERS: usize = 64;
const PROBES: usize = 400;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let sign_ins = PROBES.div_ceil(9);
    // Each sign-in of its own account: 9 wrong codes each stay within the
    // account's daily budget of 50.
    let base = start_portal(dir.path(), 2 * sign_ins, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".into()];
        s.otp_max_attempts = 10;
    })
    .await?;

    let (quiet_pending, loud_pending) =
        (pending_sign_ins(&base, 0..sign_ins).await?, pending_sign_ins(&base, sign_ins..2 * sign_ins).await?);
    let quiet_login = probe_login(&base).await?;
    let quiet_code = probe_code(&base, &quiet_pending).await?;
    let flooding = Arc::new(AtomicBool::new(true));
    let (sent, refused) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let mut flood = Vec::new();
    for n in 0..FLOODERS {
        let (base, flooding, sent, refused) = (base.clone(), flooding.clone(), sent.clone(), refused.clone());
        flood.push(tokio::spawn(
            async move { flood_password_step(n, &base, &flooding, &sent, &refused).await },
        ));
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let loud_login = probe_login(&base).await?;
    let loud_code = probe_code(&base, &loud_pending).await?;
    flooding.store(false, Ordering::SeqCst);
    for f in flood {
        f.await??;
    }
    println!(
        "password flood: {FLOODERS} connections, {} attempts, {} refused with 503",
        sent.load(Ordering::SeqCst),
        refused.load(Ordering::SeqCst)
    );
    report("GET /login, alone", &quiet_login);
    report("GET /login, under the flood", &loud_login);
    report("POST /login/code, alone", &quiet_code);
    report("POST /login/code, under the flood", &loud_code);
    let p99 = percentile(&loud_login, 0.99);
    let verdict = if p99 <= Duration::from_millis(10) { "ok" } else { "ABOVE" };
    println!("p99 of GET /login under the flood: {p99:.2?} (goal ≤ 10 ms) {verdict}");
    Ok(())
}

async fn flood_password_step(
    n: usize,
    base: &str,
    flooding: &AtomicBool,
    sent: &AtomicU64,
    refused: &AtomicU64,
) -> anyhow::Result<()> {
    let client = client()?;
    let csrf = csrf_of(&client.get(format!("{base}/login")).send().await?.text().await?);
    let mut i = 0u32;
    while flooding.load(Ordering::SeqCst) {
        i += 1;
        let form = [
            ("email", format!("victim{n}-{i}@example.com")),
            ("password", "guess-guess-guess".into()),
            ("csrf", csrf.clone()),
        ];
        let reply = client
            .post(format!("{base}/login"))
            .header("X-Forwarded-For", format!("10.{}.{}.{}", n, i / 250 % 250, i % 250))
            .form(&form)
            .send()
            .await?;
        sent.fetch_add(1, Ordering::SeqCst);
        if reply.status() == 503 {
            refused.fetch_add(1, Ordering::SeqCst);
        }
    }
    Ok(())
}

async fn probe_login(base: &str) -> anyhow::Result<Vec<Duration>> {
    let client = client()?;
    let mut times = Vec::with_capacity(PROBES);
    for _ in 0..PROBES {
        let started = Instant::now();
        let reply = client.get(format!("{base}/login")).send().await?;
        anyhow::ensure!(reply.status() == 200, "GET /login answered {}", reply.status());
        reply.bytes().await?;
        times.push(started.elapsed());
    }
    Ok(times)
}

/// Sign-ins waiting at the code step, started before any flood (during
/// one, the password step itself is mostly refused with 503, as intended).
async fn pending_sign_ins(
    base: &str,
    accounts: std::ops::Range<usize>,
) -> anyhow::Result<Vec<(reqwest::Client, String)>> {
    let mut pending = Vec::with_capacity(accounts.len());
    for n in accounts {
        let client = client()?;
        let csrf = csrf_of(&client.get(format!("{base}/login")).send().await?.text().await?);
        let email = account(n);
        let form = [("email", email.as_str()), ("password", PASSWORD), ("csrf", &csrf)];
        let status = client.post(format!("{base}/login")).form(&form).send().await?.status();
        anyhow::ensure!(status == 303, "the password step answered {status}");
        let csrf = csrf_of(&client.get(format!("{base}/login/code")).send().await?.text().await?);
        pending.push((client, csrf));
    }
    Ok(pending)
}

/// Wrong codes on pending sign-ins: the whole code step (budget, attempt,
/// comparison) without ending the sign-in; 9 per sign-in.
async fn probe_code(base: &str, pending: &[(reqwest::Client, String)]) -> anyhow::Result<Vec<Duration>> {
    let mut times = Vec::with_capacity(pending.len() * 9);
    for (client, csrf) in pending {
        for _ in 0..9 {
            let started = Instant::now();
            let reply = client
                .post(format!("{base}/login/code"))
                .form(&[("code", "000000"), ("csrf", csrf)])
                .send()
                .await?;
            anyhow::ensure!(reply.status() == 401, "the code step answered {}", reply.status());
            reply.bytes().await?;
            times.push(started.elapsed());
        }
    }
    Ok(times)
}
