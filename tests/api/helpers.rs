//! `spawn_app`: the real application on 127.0.0.1:0 with a fresh database,
//! its own SMTP sink and one user added through the real CLI.

use std::net::TcpListener;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use gatehouse::config::Settings;
use gatehouse::web::server::Application;
use tokio::sync::Mutex;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::backend::{Backend, TestDatabase, unique_hex};
use crate::browser::{Browser, assert_redirects_to};
use crate::mail::Mail;
use crate::smtp_sink::SmtpSink;

pub const SUPPORT_URL: &str = "https://support.example.org/help";
const MAIL_TIMEOUT: Duration = Duration::from_secs(10);

pub struct TestUser {
    pub email: String,
    pub password: String,
}

type Configure = Arc<dyn Fn(&mut Settings) + Send + Sync>;

/// How a test's server starts from its settings and listener: the standalone
/// `Application` (`standalone`), or an app that mounts the portal.
pub type Serve = Arc<dyn Fn(Settings, TcpListener) -> BoxFuture<ServerHandle> + Send + Sync>;
pub type BoxFuture<T> = std::pin::Pin<Box<dyn Future<Output = T> + Send>>;

/// `gatehouse serve`: the portal at the root.
pub fn standalone() -> Serve {
    Arc::new(|settings, listener| {
        Box::pin(async move {
            let port = listener.local_addr().expect("listener address").port();
            let application =
                Application::build_with_listener(settings, listener).await.expect("build the application");
            assert_eq!(application.port(), port, "the app serves the listener it was given");
            let server = application.handle();
            tokio::spawn(application.run_until_stopped());
            server
        })
    })
}

pub struct TestApp {
    pub address: String,
    pub port: u16,
    /// The browser most tests drive; `new_browser()` gives more.
    pub browser: Browser,
    pub user: TestUser,
    pub cli: Cli,
    server: ServerHandle,
    inbox: Mutex<UnboundedReceiver<Vec<u8>>>,
    sink_port: u16,
    configure: Configure,
    serve: Serve,
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

/// Like `spawn_app`, with settings changed by `configure` (short TTLs, …).
pub async fn spawn_app_with(
    backend: Backend,
    configure: impl Fn(&mut Settings) + Send + Sync + 'static,
) -> TestApp {
    spawn_app_serving(backend, standalone(), configure).await
}

/// Like `spawn_app_with`, the server started by `serve`.
pub async fn spawn_app_serving(
    backend: Backend,
    serve: Serve,
    configure: impl Fn(&mut Settings) + Send + Sync + 'static,
) -> TestApp {
    let cli = Cli::new(backend).await;
    let sink = SmtpSink::start().await;
    let configure: Configure = Arc::new(configure);
    let (server, port, address) = start_server(&cli, sink.port, &configure, &serve).await;
    let user =
        TestUser { email: "alice@example.com".into(), password: "correct horse battery staple".into() };
    cli.add_user(&user.email, &user.password).await;
    TestApp {
        browser: Browser::new(&address),
        address,
        port,
        user,
        cli,
        server,
        inbox: Mutex::new(sink.inbox),
        sink_port: sink.port,
        configure,
        serve,
    }
}

async fn start_server(
    cli: &Cli,
    sink_port: u16,
    configure: &Configure,
    serve: &Serve,
) -> (ServerHandle, u16, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a port for the app");
    let port = listener.local_addr().expect("listener address").port();
    let address = format!("http://127.0.0.1:{port}");

    let mut settings = base_settings(cli, sink_port, &address);
    configure(&mut settings);

    let server = serve(settings, listener).await;
    (server, port, address)
}

fn base_settings(cli: &Cli, sink_port: u16, address: &str) -> Settings {
    let workdir = cli.database.workdir();
    Settings {
        database_url: cli.database.url.clone(),
        bind: address.trim_start_matches("http://").to_owned(),
        public_url: address.to_owned(),
        secret_key: Some(cli.secret_key.clone()),
        secret_key_file: workdir.join("gatehouse.key"),
        smtp_url: Some(format!("smtp://127.0.0.1:{sink_port}")),
        mail_dir: workdir.join("mail"),
        support_url: Some(SUPPORT_URL.into()),
        // Off unless a test is about it: it would put a notice between the
        // code mails that tests read in order.
        notify_new_sign_in: false,
        ..Settings::default()
    }
}

impl TestApp {
    /// The port of this app's own SMTP sink, where `next_mail` reads.
    pub fn sink_port(&self) -> u16 {
        self.sink_port
    }

    pub fn new_browser(&self) -> Browser {
        Browser::new(&self.address)
    }

    /// The next mail the app sent; panics if none arrives within 10 s.
    pub async fn next_mail(&self) -> Mail {
        let mut inbox = self.inbox.lock().await;
        match tokio::time::timeout(MAIL_TIMEOUT, inbox.recv()).await {
            Ok(Some(raw)) => Mail::parse(&raw),
            Ok(None) => panic!("the SMTP sink stopped before a mail arrived"),
            Err(_) => panic!("no mail reached the SMTP sink within {MAIL_TIMEOUT:?}"),
        }
    }

    /// Password step for `self.user` in `browser`; returns the mailed code.
    pub async fn start_sign_in(&self, browser: &Browser) -> Mail {
        let reply = browser.enter_password(&self.user.email, &self.user.password).await;
        assert_redirects_to(&reply, "/login/code");
        self.next_mail().await
    }

    /// Both steps for `self.user` in `browser`.
    pub async fn sign_in(&self, browser: &Browser) {
        let mail = self.start_sign_in(browser).await;
        let reply = browser.enter_code(&mail.code()).await;
        assert_redirects_to(&reply, "/");
    }

    /// Stops the server and starts a new `Application` on the same database
    /// and secret key, on a new port. `self.browser` keeps its cookies.
    pub async fn restart(&mut self) {
        self.stop().await;
        self.start_again().await;
    }

    /// Stops the server (and its mail senders); `start_again` brings it back.
    pub async fn stop(&self) {
        self.server.stop(false).await;
    }

    /// Starts the stopped server again, with its settings further changed by `configure`.
    pub async fn start_again_with(&mut self, configure: impl Fn(&mut Settings) + Send + Sync + 'static) {
        let before = self.configure.clone();
        self.configure = Arc::new(move |settings| {
            before(settings);
            configure(settings);
        });
        self.start_again().await;
    }

    async fn start_again(&mut self) {
        let (server, port, address) =
            start_server(&self.cli, self.sink_port, &self.configure, &self.serve).await;
        self.server = server;
        self.port = port;
        self.browser.base = address.clone();
        self.address = address;
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        stop_before_the_database_goes(&self.server);
    }
}

/// Stops a server before its database goes away. block_in_place lets the
/// runtime keep driving the server task while this thread waits.
fn stop_before_the_database_goes(server: &ServerHandle) {
    let server = server.clone();
    if let Ok(runtime) = tokio::runtime::Handle::try_current()
        && runtime.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread
    {
        tokio::task::block_in_place(|| {
            runtime.block_on(async {
                let _ = tokio::time::timeout(Duration::from_secs(5), server.stop(false)).await;
            })
        });
    }
}

/// A second `Application` on the test's database, with the same secret key
/// and settings: what runs behind a load balancer. It mails to the same
/// SMTP sink, so `TestApp::next_mail` sees its mail too. Stopped on drop.
pub struct Instance {
    pub address: String,
    server: ServerHandle,
}

impl TestApp {
    pub async fn start_second_instance(&self) -> Instance {
        let (server, _port, address) =
            start_server(&self.cli, self.sink_port, &self.configure, &self.serve).await;
        Instance { address, server }
    }
}

/// An instance on `cli`'s database that mails to the sink on `sink_port`,
/// for tests that set up the database before any instance runs.
pub async fn start_instance(cli: &Cli, sink_port: u16) -> Instance {
    let (server, _port, address) =
        start_server(cli, sink_port, &(Arc::new(|_: &mut Settings| {}) as Configure), &standalone()).await;
    Instance { address, server }
}

impl Cli {
    /// The settings the app of this test database runs with (before `configure`).
    pub fn settings(&self, sink_port: u16) -> Settings {
        base_settings(self, sink_port, "http://127.0.0.1:0")
    }
}

impl Drop for Instance {
    fn drop(&mut self) {
        stop_before_the_database_goes(&self.server);
    }
}

/// The real `gatehouse` binary, run against the test's database.
pub struct Cli {
    pub database: TestDatabase,
    pub secret_key: String,
}

#[derive(Debug)]
pub struct CliOutput {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Cli {
    pub async fn new(backend: Backend) -> Cli {
        Cli {
            database: TestDatabase::create(backend).await,
            secret_key: format!("test-secret-key-{}", unique_hex()).chars().cycle().take(64).collect(),
        }
    }

    /// Runs `gatehouse ARGS`, writing `stdin` (if any) to its standard input.
    pub async fn run(&self, args: &[&str], stdin: Option<&str>) -> CliOutput {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        command
            .args(args)
            .current_dir(self.database.workdir())
            .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        // Only the settings this test chose, whatever the developer's shell has.
        for (key, _) in std::env::vars_os() {
            if key.to_string_lossy().starts_with("GATEHOUSE_") || key == "RUST_LOG" {
                command.env_remove(key);
            }
        }
        command
            .env("GATEHOUSE_DATABASE_URL", &self.database.url)
            .env("GATEHOUSE_SECRET_KEY", &self.secret_key);
        let stdin = stdin.map(str::to_owned);
        let description = format!("gatehouse {}", args.join(" "));
        let run = tokio::task::spawn_blocking(move || {
            use std::io::Write as _;
            let mut child = command.spawn().expect("start the gatehouse binary");
            if let Some(input) = stdin {
                let mut pipe = child.stdin.take().expect("stdin is piped");
                let _ = pipe.write_all(input.as_bytes());
            }
            child.wait_with_output().expect("wait for the gatehouse binary")
        });
        let output = tokio::time::timeout(Duration::from_secs(60), run)
            .await
            .unwrap_or_else(|_| panic!("`{description}` did not finish within 60 s"))
            .expect("the CLI runner did not panic");
        CliOutput {
            status: output.status,
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }

    /// `gatehouse ARGS` with `password` on one line of stdin; must succeed.
    pub async fn run_ok(&self, args: &[&str], password: Option<&str>) -> CliOutput {
        let stdin = password.map(|p| format!("{p}\n"));
        let output = self.run(args, stdin.as_deref()).await;
        assert!(
            output.status.success(),
            "`gatehouse {}` failed with {}:\nstdout: {}\nstderr: {}",
            args.join(" "),
            output.status,
            output.stdout,
            output.stderr
        );
        output
    }

    pub async fn add_user(&self, email: &str, password: &str) {
        self.run_ok(&["user", "add", email, "--password-stdin"], Some(password)).await;
    }
}

impl CliOutput {
    /// A refusal: non-zero exit and exactly one non-empty line on stderr.
    pub fn assert_refused(&self) {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.trim().is_empty()).collect();
        assert!(
            !self.status.success() && lines.len() == 1,
            "expected a non-zero exit and one line on stderr, got {} and stderr:\n{}",
            self.status,
            self.stderr
        );
    }
}
