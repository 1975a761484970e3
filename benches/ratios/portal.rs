//! The portal as the benchmark runs it: the release binary's `gatehouse
//! serve`, in a process of its own, on a database prepared with the
//! accounts, mailing to an SMTP sink in this process; and the bare page,
//! this benchmark run again as a server.

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use gatehouse::db::Db;
use sqlx::{AssertSqlSafe, Connection as _, PgConnection};

use crate::sign_in::add_accounts;

/// A database to run on: a temporary SQLite file, or a new Postgres database.
pub struct Backend {
    pub name: &'static str,
    pub url: String,
    _dir: Option<tempfile::TempDir>,
    postgres: Option<(String, String)>,
}

impl Drop for Backend {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.postgres.take() {
            let _ = std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
                runtime.block_on(async {
                    let mut conn = PgConnection::connect(&admin).await?;
                    sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)")))
                        .execute(&mut conn)
                        .await?;
                    anyhow::Ok(())
                })
            })
            .join();
        }
    }
}

/// SQLite always; Postgres when it answers (`GATEHOUSE_BENCH_ONLY=sqlite`
/// or `=postgres` runs one).
pub async fn backends() -> Vec<Backend> {
    let only = std::env::var("GATEHOUSE_BENCH_ONLY").unwrap_or_default();
    let dir = tempfile::tempdir().expect("a temporary directory");
    let sqlite = Backend {
        name: "SQLite",
        url: format!("sqlite://{}/bench.db", dir.path().display()),
        _dir: Some(dir),
        postgres: None,
    };
    if only == "sqlite" {
        return vec![sqlite];
    }
    let admin = std::env::var("GATEHOUSE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("gatehouse_bench_{}", std::process::id());
    let created = async {
        let mut conn = PgConnection::connect(&admin).await?;
        sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\""))).execute(&mut conn).await?;
        anyhow::Ok(())
    };
    match created.await {
        Ok(()) => {
            let url = format!("{}/{name}", admin.rsplit_once('/').map_or(admin.as_str(), |(base, _)| base));
            let postgres = Backend { name: "Postgres", url, _dir: None, postgres: Some((admin, name)) };
            if only == "postgres" { vec![postgres] } else { vec![sqlite, postgres] }
        }
        Err(e) => {
            println!("Postgres skipped ({e})");
            vec![sqlite]
        }
    }
}

/// Migrates the database and adds `count` accounts (`sign_in::account`).
pub async fn prepare(url: &str, count: usize) -> anyhow::Result<()> {
    let db = Db::connect(url).await?;
    db.migrate().await?;
    add_accounts(&db, count).await
}

/// A server process, killed on drop.
pub struct Served {
    pub address: SocketAddr,
    child: Child,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// `gatehouse serve` on `database_url`, mailing to the SMTP sink on `sink_port`,
/// with every sending and sign-in limit out of the way.
pub async fn start_portal(
    database_url: &str,
    sink_port: u16,
    dir: &std::path::Path,
) -> anyhow::Result<Served> {
    let port = free_port()?;
    let env = [
        ("GATEHOUSE_DATABASE_URL", database_url.to_owned()),
        ("GATEHOUSE_BIND", format!("127.0.0.1:{port}")),
        ("GATEHOUSE_PUBLIC_URL", format!("http://127.0.0.1:{port}")),
        ("GATEHOUSE_SECRET_KEY", "benchmark secret key, at least thirty-two characters".into()),
        ("GATEHOUSE_SMTP_URL", format!("smtp://127.0.0.1:{sink_port}")),
        ("GATEHOUSE_MAIL_DIR", dir.join("mail").display().to_string()),
        ("GATEHOUSE_NOTIFY_NEW_SIGN_IN", "false".into()),
        ("GATEHOUSE_SIGN_INS_PER_IP_PER_HOUR", "10000000".into()),
        ("GATEHOUSE_CODE_SENDS_PER_IP_PER_HOUR", "100000".into()),
        ("GATEHOUSE_CODE_SENDS_PER_HOUR", "10000000".into()),
        // `GATEHOUSE_BENCH_LOG=sqlx::query=debug`, say, shows every statement and its time.
        ("GATEHOUSE_LOG", std::env::var("GATEHOUSE_BENCH_LOG").unwrap_or_else(|_| "warn".into())),
    ];
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    command.arg("serve").current_dir(dir).stdout(Stdio::null()).stderr(Stdio::inherit());
    for (key, value) in env {
        command.env(key, value);
    }
    let served = Served { address: SocketAddr::from(([127, 0, 0, 1], port)), child: command.spawn()? };
    wait_until_up(served.address, "/healthz").await?;
    Ok(served)
}

/// This benchmark, run again as the bare page of `bytes` bytes.
pub async fn start_bare_page(bytes: usize) -> anyhow::Result<Served> {
    let port = free_port()?;
    let child = Command::new(std::env::current_exe()?)
        .args(["--bare-page", &port.to_string(), &bytes.to_string()])
        .stdout(Stdio::null())
        .spawn()?;
    let served = Served { address: SocketAddr::from(([127, 0, 0, 1], port)), child };
    wait_until_up(served.address, "/").await?;
    Ok(served)
}

async fn wait_until_up(address: SocketAddr, path: &str) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        if reqwest::get(format!("http://{address}{path}")).await.is_ok_and(|r| r.status().is_success()) {
            return Ok(());
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(30), "{address} did not come up");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

impl Served {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Resident memory now and at its peak since the last `reset_peak`, in KiB.
    pub fn memory_kib(&self) -> anyhow::Result<(u64, u64)> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))?;
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
                .unwrap_or(0)
        };
        Ok((field("VmRSS:"), field("VmHWM:")))
    }

    /// Starts measuring the peak afresh (Linux `clear_refs`).
    pub fn reset_peak(&self) -> anyhow::Result<()> {
        std::fs::write(format!("/proc/{}/clear_refs", self.child.id()), "5")?;
        Ok(())
    }
}
