//! `gatehouse serve`, the real binary, as a child process whose output a
//! test reads: the log is the product there (no secret in it, the right
//! client address in each request line).

use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::StatusCode;

use crate::helpers::Cli;

/// `gatehouse serve` as a child process, its stdout and stderr collected.
/// Killed if the test ends before `stop`.
pub struct Server {
    pub address: String,
    /// `None` once stopped.
    child: Option<Child>,
    output: Arc<Mutex<Vec<u8>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Serves `cli`'s database at debug level, mailing to `smtp_port`, with
    /// the further settings `env` (`GATEHOUSE_…` variables).
    pub async fn start(cli: &Cli, smtp_port: u16, env: &[(&str, &str)]) -> Server {
        let port = crate::ports::for_a_later_server();
        let address = format!("http://127.0.0.1:{port}");
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GATEHOUSE_") || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        command
            .arg("serve")
            .current_dir(cli.database.workdir())
            .env("GATEHOUSE_DATABASE_URL", &cli.database.url)
            .env("GATEHOUSE_SECRET_KEY", &cli.secret_key)
            .env("GATEHOUSE_BIND", format!("127.0.0.1:{port}"))
            .env("GATEHOUSE_PUBLIC_URL", &address)
            .env("GATEHOUSE_SMTP_URL", format!("smtp://127.0.0.1:{smtp_port}"))
            .env("GATEHOUSE_LOG", "debug")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = command.spawn().expect("start `gatehouse serve`");
        let output = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().expect("stdout is piped"), output.clone()),
            collect(child.stderr.take().expect("stderr is piped"), output.clone()),
        ];
        let mut server = Server { address, child: Some(child), output, readers };
        server.wait_until_ready().await;
        server
    }

    /// Polls `/healthz` until it answers, for at most 30 s.
    async fn wait_until_ready(&mut self) {
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let health = client.get(format!("{}/healthz", self.address)).send().await;
            if health.is_ok_and(|r| r.status() == StatusCode::OK) {
                return;
            }
            if let Some(Ok(Some(status))) = self.child.as_mut().map(Child::try_wait) {
                panic!("`gatehouse serve` exited with {status}:\n{}", self.text());
            }
            assert!(
                Instant::now() < deadline,
                "`gatehouse serve` did not answer /healthz within 30 s:\n{}",
                self.text()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Asks the server to shut down (SIGTERM), waits for it, returns all it
    /// printed, without colour codes (so none can split what a test looks for).
    pub async fn stop(mut self) -> String {
        let mut child = self.child.take().expect("the server runs");
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let waited = tokio::task::spawn_blocking(move || {
            let deadline = Instant::now() + Duration::from_secs(15);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        });
        waited.await.expect("waiting for the server did not panic");
        for reader in std::mem::take(&mut self.readers) {
            let _ = reader.join();
        }
        without_colours(&self.text())
    }

    fn text(&self) -> String {
        String::from_utf8_lossy(&self.output.lock().expect("output lock")).into_owned()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn collect(
    mut stream: impl std::io::Read + Send + 'static,
    into: Arc<Mutex<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut buffer = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buffer) {
            if n == 0 {
                return;
            }
            into.lock().expect("output lock").extend_from_slice(&buffer[..n]);
        }
    })
}

/// The log with its ANSI colour codes taken out, so none can split a secret.
fn without_colours(output: &str) -> String {
    let escapes = regex::Regex::new("\x1b\\[[0-9;]*m").expect("regex");
    escapes.replace_all(output, "").into_owned()
}
