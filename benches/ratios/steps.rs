//! The measures on one database: pages against the bare page, password
//! steps against the argon2 ceiling (and the memory they take), right-code
//! checks against their goal.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use reqwest::header::{COOKIE, SET_COOKIE};
use tokio::sync::Mutex;

use crate::bare::argon2_ceiling;
use crate::load::hammer;
use crate::portal::{Backend, prepare, start_bare_page, start_portal};
use crate::server_cpu::{ServerCpu, Usage};
use crate::sign_in::{PASSWORD, account, csrf_of};
use crate::smtp_sink::SmtpSink;
use crate::{ACCOUNTS, CONNECTIONS, LOAD_FOR, Row};

/// How long each measure of the argon2 ceiling runs.
const CEILING_FOR: Duration = Duration::from_secs(3);

/// A sign-in waiting for its code: the session cookie and the code page's CSRF token.
struct Waiting {
    cookie: String,
    csrf: String,
}

pub async fn measure(backend: &Backend, cores: usize) -> anyhow::Result<Vec<Row>> {
    println!("\n{}: preparing {ACCOUNTS} accounts", backend.name);
    prepare(&backend.url, ACCOUNTS + 1).await?;
    let dir = tempfile::tempdir()?;
    let sink = Arc::new(Mutex::new(SmtpSink::start().await));
    let port = sink.lock().await.port;
    let portal = start_portal(&backend.url, port, dir.path()).await?;
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build()?;
    let base = format!("http://{}", portal.address);

    let login_page = client.get(format!("{base}/login")).send().await?.bytes().await?;
    let bare = start_bare_page(login_page.len()).await?;
    let bare_rate = hammer(bare.address, "/", &[], 200, CONNECTIONS, LOAD_FOR).await?.per_second();
    drop(bare);
    let login = hammer(portal.address, "/login", &[], 200, CONNECTIONS, LOAD_FOR).await?;
    let signed_in = sign_in_fully(&client, &base, &sink, ACCOUNTS).await?;
    let server = ServerCpu::of(&backend.url).await;
    let usage = Usage::start(portal.pid(), server.as_ref());
    let verify =
        hammer(portal.address, "/auth/verify", &[("cookie", signed_in)], 200, CONNECTIONS, LOAD_FOR).await?;
    println!("{}", usage.report("GET /auth/verify", verify.answered as usize));
    ensure_expected(&[&login, &verify])?;

    let (idle_kib, _) = portal.memory_kib()?;
    portal.reset_peak()?;
    // The machine's speed drifts (a shared host): the ceiling is measured
    // just before and just after the password steps, and averaged.
    let before = argon2_ceiling(cores, CEILING_FOR);
    let usage = Usage::start(portal.pid(), server.as_ref());
    let started = Instant::now();
    let mut waiting = password_steps(&client, &base).await?;
    let password_rate = ACCOUNTS as f64 / started.elapsed().as_secs_f64();
    println!("{}", usage.report("password steps", ACCOUNTS));
    let (_, peak_kib) = portal.memory_kib()?;
    let ceiling = (before + argon2_ceiling(cores, CEILING_FOR)) / 2.0;
    println!("argon2id ceiling ({cores} threads): {before:.1} hashes/s before, {ceiling:.1} on average");
    let codes = codes_by_account(&sink, ACCOUNTS).await?;
    code_pages(&client, &base, &mut waiting).await?;
    let usage = Usage::start(portal.pid(), server.as_ref());
    let check_rate = code_checks(&client, &base, waiting, codes).await?;
    println!("{}", usage.report("right-code checks", ACCOUNTS));

    let bare = format!("{bare_rate:.0}/s");
    let budget_kib = idle_kib + (19 * cores as u64 + 20) * 1024;
    let code_goal = if backend.name == "SQLite" { 2_000.0 } else { 1_000.0 };
    let name = backend.name;
    Ok(vec![
        row(format!("GET /login ({name})"), login.per_second(), bare.clone(), bare_rate, 0.5),
        row(format!("GET /auth/verify ({name})"), verify.per_second(), bare, bare_rate, 0.3),
        row(format!("password steps ({name})"), password_rate, format!("{ceiling:.1}/s"), ceiling, 0.9),
        row(format!("right-code checks ({name})"), check_rate, format!("{code_goal:.0}/s"), code_goal, 1.0),
        Row {
            what: format!("peak RSS, password load ({name})"),
            measured: format!("{} MiB", peak_kib / 1024),
            baseline: format!("{} MiB idle", idle_kib / 1024),
            ratio: budget_kib as f64 / peak_kib.max(1) as f64,
            goal: 1.0,
        },
    ])
}

fn row(what: String, rate: f64, baseline: String, baseline_rate: f64, goal: f64) -> Row {
    Row { what, measured: format!("{rate:.0}/s"), baseline, ratio: rate / baseline_rate, goal }
}

fn ensure_expected(runs: &[&crate::load::Throughput]) -> anyhow::Result<()> {
    for run in runs {
        anyhow::ensure!(
            run.unexpected == 0,
            "{} answers of {} had another status",
            run.unexpected,
            run.answered
        );
    }
    Ok(())
}

/// The `name=value` pairs a response sets, as a `Cookie` header; later ones win.
fn cookies(jar: &mut HashMap<String, String>, response: &reqwest::Response) -> String {
    for set in response.headers().get_all(SET_COOKIE).iter().filter_map(|v| v.to_str().ok()) {
        if let Some((name, value)) = set.split(';').next().and_then(|pair| pair.split_once('=')) {
            jar.insert(name.to_owned(), value.to_owned());
        }
    }
    jar.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
}

/// The password step for account `n`; returns its waiting sign-in.
async fn password_step(client: &reqwest::Client, base: &str, n: usize) -> anyhow::Result<Waiting> {
    let mut jar = HashMap::new();
    let page = client.get(format!("{base}/login")).send().await?;
    let cookie = cookies(&mut jar, &page);
    let csrf = csrf_of(&page.text().await?);
    let form = [("email", account(n)), ("password", PASSWORD.into()), ("csrf", csrf)];
    let reply = client.post(format!("{base}/login")).header(COOKIE, cookie).form(&form).send().await?;
    anyhow::ensure!(reply.status() == 303, "the password step answered {}", reply.status());
    Ok(Waiting { cookie: cookies(&mut jar, &reply), csrf: String::new() })
}

/// Password steps for every account, `CONNECTIONS` at a time.
async fn password_steps(client: &reqwest::Client, base: &str) -> anyhow::Result<Vec<Waiting>> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut flows = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, base, next) = (client.clone(), base.to_owned(), next.clone());
        flows.push(tokio::spawn(async move {
            let mut done = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= ACCOUNTS {
                    return anyhow::Ok(done);
                }
                done.push((n, password_step(&client, &base, n).await?));
            }
        }));
    }
    let mut waiting: Vec<(usize, Waiting)> = Vec::new();
    for flow in flows {
        waiting.extend(flow.await??);
    }
    waiting.sort_by_key(|(n, _)| *n);
    Ok(waiting.into_iter().map(|(_, w)| w).collect())
}

/// The code mailed to each account, by account number.
async fn codes_by_account(sink: &Mutex<SmtpSink>, count: usize) -> anyhow::Result<HashMap<usize, String>> {
    let mut codes = HashMap::new();
    let mut sink = sink.lock().await;
    while codes.len() < count {
        let raw = tokio::time::timeout(Duration::from_secs(120), sink.inbox.recv())
            .await?
            .ok_or_else(|| anyhow::anyhow!("the SMTP sink stopped"))?;
        let (to, code) = code_of(&raw)?;
        if let Some(n) =
            to.strip_prefix("bench").and_then(|r| r.split('@').next()).and_then(|n| n.parse().ok())
        {
            codes.insert(n, code);
        }
    }
    Ok(codes)
}

/// The recipient and the code of a code mail ("483 920 is your … sign-in code").
fn code_of(raw: &[u8]) -> anyhow::Result<(String, String)> {
    let mail = mail_parser::MessageParser::default().parse(raw).ok_or_else(|| anyhow::anyhow!("a mail"))?;
    let to = mail.to().and_then(|to| to.iter().find_map(|a| a.address())).unwrap_or_default().to_owned();
    let subject = mail.subject().unwrap_or_default();
    let code: String =
        subject.split(" is your").next().unwrap_or_default().chars().filter(char::is_ascii_digit).collect();
    Ok((to, code))
}

/// A full sign-in of account `n`; returns the signed-in session as a `Cookie` header.
async fn sign_in_fully(
    client: &reqwest::Client,
    base: &str,
    sink: &Mutex<SmtpSink>,
    n: usize,
) -> anyhow::Result<String> {
    let waiting = password_step(client, base, n).await?;
    let code = codes_by_account(sink, 1).await?.into_values().next().unwrap_or_default();
    let page = client.get(format!("{base}/login/code")).header(COOKIE, &waiting.cookie).send().await?;
    let csrf = csrf_of(&page.text().await?);
    let form = [("code", code), ("csrf", csrf)];
    let reply =
        client.post(format!("{base}/login/code")).header(COOKIE, &waiting.cookie).form(&form).send().await?;
    anyhow::ensure!(reply.status() == 303, "the code step answered {}", reply.status());
    let mut jar: HashMap<String, String> = waiting
        .cookie
        .split("; ")
        .filter_map(|p| p.split_once('='))
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    Ok(cookies(&mut jar, &reply))
}

/// The code page of every waiting sign-in, for its CSRF token.
async fn code_pages(client: &reqwest::Client, base: &str, waiting: &mut [Waiting]) -> anyhow::Result<()> {
    for w in waiting {
        let page = client.get(format!("{base}/login/code")).header(COOKIE, &w.cookie).send().await?;
        w.csrf = csrf_of(&page.text().await?);
    }
    Ok(())
}

/// Every waiting sign-in's right code, `CONNECTIONS` at a time; checks per second.
async fn code_checks(
    client: &reqwest::Client,
    base: &str,
    waiting: Vec<Waiting>,
    codes: HashMap<usize, String>,
) -> anyhow::Result<f64> {
    let work = Arc::new(Mutex::new(waiting.into_iter().enumerate().collect::<Vec<_>>()));
    let codes = Arc::new(codes);
    let started = Instant::now();
    let mut flows = Vec::new();
    for _ in 0..CONNECTIONS {
        let (client, base, work, codes) = (client.clone(), base.to_owned(), work.clone(), codes.clone());
        flows.push(tokio::spawn(async move {
            loop {
                // Its own statement: a guard in `while let` would be held through the request.
                let Some((n, w)) = work.lock().await.pop() else { break };
                let form = [("code", codes.get(&n).cloned().unwrap_or_default()), ("csrf", w.csrf)];
                let reply = client
                    .post(format!("{base}/login/code"))
                    .header(COOKIE, w.cookie)
                    .form(&form)
                    .send()
                    .await?;
                anyhow::ensure!(reply.status() == 303, "a right code was answered {}", reply.status());
            }
            anyhow::Ok(())
        }));
    }
    for flow in flows {
        flow.await??;
    }
    Ok(ACCOUNTS as f64 / started.elapsed().as_secs_f64())
}
