//! The two databases every test runs on, and the fresh, throw-away database
//! each test gets.
//!
//! SQLite lives in the test's temporary directory. Postgres gets a database of
//! its own on the server named by `GATEHOUSE_TEST_POSTGRES_URL`, dropped when
//! the test ends. When that server cannot be reached the Postgres tests are
//! skipped with one loud warning, except under `CI=true`, where they fail.

use std::io::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sqlx::{AssertSqlSafe, Connection as _, PgConnection};
use tempfile::TempDir;
use tokio::sync::OnceCell;

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh database and the working directory that goes with it (the CLI and
/// the app keep their key file and mail folder there).
pub struct TestDatabase {
    pub url: String,
    pub dir: TempDir,
    postgres_name: Option<String>,
}

impl TestDatabase {
    pub async fn create(backend: Backend) -> TestDatabase {
        let dir = tempfile::Builder::new()
            .prefix("gatehouse-test-")
            .tempdir()
            .expect("create a temporary directory");
        match backend {
            Backend::Sqlite => TestDatabase { url: sqlite_url(dir.path()), dir, postgres_name: None },
            Backend::Postgres => {
                let name = format!("gatehouse_test_{}", unique_hex());
                let mut admin = connect_admin()
                    .await
                    .unwrap_or_else(|e| panic!("connect to Postgres at {}: {e}", shown_postgres_url()));
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
                    .execute(&mut admin)
                    .await
                    .unwrap_or_else(|e| panic!("create test database {name}: {e}"));
                let _ = admin.close().await;
                TestDatabase { url: database_url_for(&name), dir, postgres_name: Some(name) }
            }
        }
    }

    pub fn workdir(&self) -> &Path {
        self.dir.path()
    }

    /// Two instances on this database, migrated, as two servers behind one
    /// balancer would be.
    pub async fn two_instances(&self) -> [gatehouse::db::Db; 2] {
        let first = gatehouse::db::Db::connect(&self.url).await.expect("connect the first instance");
        first.migrate().await.expect("migrate the test database");
        [first, gatehouse::db::Db::connect(&self.url).await.expect("connect the second instance")]
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some(name) = self.postgres_name.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which must not be blocked on
        // itself: the clean-up gets a thread and a runtime of its own.
        let cleanup = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("build clean-up runtime");
            runtime.block_on(async {
                if let Ok(mut admin) = connect_admin().await {
                    let sql = format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)");
                    let _ = sqlx::query(AssertSqlSafe(sql)).execute(&mut admin).await;
                    let _ = admin.close().await;
                }
            });
        });
        let _ = cleanup.join();
    }
}

/// Whether the Postgres twin of a test should be skipped. Checked once per
/// process; panics under `CI=true` so CI can never go green without Postgres.
pub async fn skip_postgres() -> bool {
    static AVAILABLE: OnceCell<bool> = OnceCell::const_new();
    let available = *AVAILABLE
        .get_or_init(|| async {
            match connect_admin().await {
                Ok(conn) => {
                    let _ = conn.close().await;
                    true
                }
                Err(error) => {
                    if std::env::var("CI").is_ok_and(|v| v == "true") {
                        panic!("CI=true but Postgres at {} is unreachable: {error}", shown_postgres_url());
                    }
                    warn_postgres_skipped(&error);
                    false
                }
            }
        })
        .await;
    !available
}

fn warn_postgres_skipped(error: &str) {
    // Written straight to the process's stderr: the test harness captures
    // eprintln!, and a skipped suite must not go unnoticed.
    let message = format!(
        "\n\
         ************************************************************************\n\
         WARNING: the Postgres half of the Gatehouse test suite was SKIPPED.\n\
         Could not reach {}: {error}\n\
         Start Postgres or set GATEHOUSE_TEST_POSTGRES_URL to a server where the\n\
         user may CREATE DATABASE. With CI=true these tests fail instead.\n\
         ************************************************************************\n\n",
        shown_postgres_url()
    );
    let _ = std::io::stderr().write_all(message.as_bytes());
}

fn postgres_url() -> String {
    std::env::var("GATEHOUSE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into())
}

/// The server URL with any password blanked, for messages.
fn shown_postgres_url() -> String {
    match url::Url::parse(&postgres_url()) {
        Ok(mut url) => {
            if url.password().is_some() {
                let _ = url.set_password(Some("***"));
            }
            url.to_string()
        }
        Err(_) => "GATEHOUSE_TEST_POSTGRES_URL (not a valid URL)".into(),
    }
}

async fn connect_admin() -> Result<PgConnection, String> {
    let url = postgres_url();
    match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect(&url)).await {
        Ok(Ok(conn)) => Ok(conn),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!("no answer within {CONNECT_TIMEOUT:?}")),
    }
}

fn database_url_for(name: &str) -> String {
    let mut url = url::Url::parse(&postgres_url()).expect("GATEHOUSE_TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{name}"));
    url.to_string()
}

fn sqlite_url(dir: &Path) -> String {
    format!("sqlite://{}/gatehouse.db", dir.display())
}

/// Unique within the process and across processes on one machine.
pub fn unique_hex() -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or_default();
    let count = COUNTER.fetch_add(1, Ordering::Relaxed);
    let random: u64 = rand::random();
    format!("{:x}{:x}{count:x}{random:x}", nanos as u64, std::process::id())
}

/// Turns `async fn name(backend: Backend)` test bodies into `#[tokio::test]`s
/// named `<module>::sqlite::name` and `<module>::postgres::name`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name($crate::backend::Backend::Sqlite).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    if $crate::backend::skip_postgres().await {
                        return;
                    }
                    super::$name($crate::backend::Backend::Postgres).await;
                }
            )*
        }
    };
}
pub(crate) use on_both_backends;
