//! Storage: one `Db` type over SQLite and Postgres, chosen at run time from
//! `database_url`. Each query's SQL is written once (`$1` placeholders work on
//! both) and run through `with_pool!`, which expands it for either pool. The
//! server reads sessions and accounts through a cache (`cache`).

pub mod audit;
pub mod cache;
pub mod challenges;
pub mod flows;
pub mod known_browsers;
pub mod limits;
mod notices;
pub mod outbox;
pub mod password_failures;
pub mod sessions;
pub mod unit;
pub mod users;
mod wal_index;

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use sqlx::Connection as _;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqliteSynchronous,
};

use cache::Cache;
use notices::CatchUp;
use wal_index::WalIndex;

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

/// The database, and the cache in front of its hot rows.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    cache: Arc<Cache>,
    /// The task that feeds the cache (Postgres), stopped with the last clone.
    _listener: Option<Arc<Listener>>,
}

struct Listener(tokio::task::JoinHandle<()>);

impl Drop for Listener {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[derive(Clone, Debug)]
pub enum Pool {
    Sqlite(SqliteConn),
    Postgres(PgPool),
}

/// The one SQLite connection, taken in turn (first come, first served).
/// Not a pool of one: sqlx's pool pings a connection every time it is
/// handed back, from a task of its own, which doubled the cost of every
/// statement and queued the next one behind the request workers.
#[derive(Clone, Debug)]
pub struct SqliteConn {
    conn: Arc<tokio::sync::Mutex<SqliteConnection>>,
    options: Arc<SqliteConnectOptions>,
}

impl SqliteConn {
    /// The connection, once every request that asked before is done with it.
    pub async fn lock(&self) -> tokio::sync::MutexGuard<'_, SqliteConnection> {
        self.conn.lock().await
    }

    fn lock_owned(&self) -> impl Future<Output = tokio::sync::OwnedMutexGuard<SqliteConnection>> {
        self.conn.clone().lock_owned()
    }
}

/// Runs `$body` with `$pool` bound to a connection of whichever database
/// `$db` holds: the unit's, if the task is in one (`Db::unit`), else one
/// taken for the body. A body uses `$pool` once, or opens a transaction on
/// it.
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db.pool() {
            $crate::db::Pool::Sqlite(sqlite) => {
                #[allow(unused_imports)]
                use sqlx::Connection as _;
                let mut lent = $crate::db::unit::sqlite(sqlite).await;
                let $pool = &mut *lent;
                $body
            }
            $crate::db::Pool::Postgres(pg) => {
                #[allow(unused_imports)]
                use sqlx::Connection as _;
                let mut lent = $crate::db::unit::postgres(pg).await?;
                let $pool = &mut *lent;
                $body
            }
        }
    };
}
pub(crate) use with_pool;

/// Runs `$sql` (a `String` built from fixed pieces) with `$bind`s on
/// whichever database `$db` holds; evaluates to whether it changed a row
/// (for a statement that ends in a `SELECT`, on Postgres: returned one).
macro_rules! changed_a_row {
    ($db:expr, $sql:expr $(, $bind:expr)* $(,)?) => {
        $crate::db::with_pool!($db, pool => sqlx::query(sqlx::AssertSqlSafe($sql))
            $(.bind($bind))*
            .execute(pool)
            .await
            .map(|done| done.rows_affected() > 0))
    };
}
pub(crate) use changed_a_row;

impl Db {
    /// Connects to `url`: `sqlite:…` (file created if missing, WAL, foreign
    /// keys, busy timeout) or `postgres://…`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| "invalid configuration: `database_url`".to_string())?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                // With WAL, NORMAL syncs at checkpoints, not at every commit:
                // a crashed process loses nothing; a power cut may lose the
                // last commits (see the README's "Performance").
                .synchronous(SqliteSynchronous::Normal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            // One connection: SQLite has one writer at a time, and waiting
            // for the connection is fair and quick, while writers contending
            // on the file lock sleep in SQLite's busy handler (tens of ms each).
            let conn =
                SqliteConnection::connect_with(&options).await.context("opening the SQLite database")?;
            let pool =
                SqliteConn { conn: Arc::new(tokio::sync::Mutex::new(conn)), options: Arc::new(options) };
            Ok(Self { pool: Pool::Sqlite(pool), cache: Arc::new(Cache::off()), _listener: None })
        } else {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                // sqlx already pings a connection as the pool takes it back;
                // a second ping as it is handed out doubled every statement's
                // round trips. One that died idle (a restarted server) fails
                // its next statement and is then replaced.
                .test_before_acquire(false)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .context("connecting to Postgres")?;
            Ok(Self { pool: Pool::Postgres(pool), cache: Arc::new(Cache::off()), _listener: None })
        }
    }

    /// Applies pending migrations from the folder of this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match &self.pool {
            // On a pool of its own, closed after: `Migrator::run` wants a pool.
            Pool::Sqlite(sqlite) => {
                let pool = SqlitePool::connect_with((*sqlite.options).clone()).await?;
                let migrated = SQLITE_MIGRATIONS.run(&pool).await;
                pool.close().await;
                migrated.context("applying database migrations")?;
                // On a new database the pool's connection was the only one
                // in the WAL, and closing it removed the WAL index (`-shm`)
                // that the cache watches: a read puts it back.
                let schema = sqlx::query("SELECT count(*) FROM sqlite_schema");
                schema.execute(&mut *sqlite.lock().await).await.context("reading the migrated database")?;
                Ok(())
            }
            Pool::Postgres(pool) => {
                POSTGRES_MIGRATIONS.run(pool).await.context("applying database migrations")
            }
        }
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Runs `work`, a few statements and quick computation, as one unit
    /// of work on one connection (see `unit`).
    pub async fn unit<T>(&self, work: impl Future<Output = T>) -> T {
        unit::run(work).await
    }

    pub fn cache(&self) -> &Cache {
        &self.cache
    }

    /// Puts the cache in front of sessions and accounts (the server does;
    /// the CLI does not). On SQLite this tells the cache of the commits of
    /// this instance's connection; on Postgres it starts the listener that
    /// tells the cache of every instance's writes, stopped with the last clone.
    pub async fn with_cache(mut self) -> Self {
        match &self.pool {
            Pool::Sqlite(pool) => match watch_wal_index(pool).await {
                Ok(index) => self.cache = Arc::new(Cache::watching_sqlite(index)),
                // An in-memory database, say: every read goes to SQLite.
                Err(e) => tracing::info!(error = %e, "sessions and accounts are read without a cache"),
            },
            Pool::Postgres(pool) => match CatchUp::new() {
                Some(catch_up) => {
                    let catch_up = Arc::new(catch_up);
                    self.cache = Arc::new(Cache::notified(catch_up.clone()));
                    let informed = notices::keep_informed(pool.clone(), self.cache.clone(), catch_up);
                    self._listener = Some(Arc::new(Listener(tokio::spawn(informed))));
                }
                None => tracing::warn!(
                    "no randomness for a channel of this instance; sessions and accounts are read without a cache"
                ),
            },
        }
        self
    }

    /// After a change that every instance must see at once (a logout, an
    /// account's change): returns once every instance's cache has heard of
    /// it, or stopped trusting itself (on Postgres, `notices::MAX_LAG`
    /// after the commit; SQLite's caches see every commit at once).
    pub async fn until_heard_everywhere(&self) {
        if let Pool::Postgres(_) = self.pool {
            tokio::time::sleep(notices::MAX_LAG).await;
        }
    }

    /// True when the database answers a trivial query.
    pub async fn is_ready(&self) -> bool {
        let answered: Result<_, sqlx::Error> =
            async { with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.map(drop)) }.await;
        answered.is_ok()
    }

    /// Deletes expired sessions, flows (with their challenges) and rows that can no longer matter.
    pub async fn delete_expired(&self, now: i64) -> anyhow::Result<()> {
        limits::delete_old_slots(self, now).await?;
        // Keep a day of ended flows so late submissions get a clear answer;
        // settled mail is kept a week for `gatehouse outbox` (its body is
        // already erased).
        let deletions = [
            ("DELETE FROM sessions WHERE expires_at <= $1", now),
            ("DELETE FROM flows WHERE expires_at <= $1", now - 86_400),
            (
                "DELETE FROM outbox WHERE status IN ('sent', 'failed', 'cancelled') AND created_at <= $1",
                now - 7 * 86_400,
            ),
            ("DELETE FROM known_browsers WHERE last_seen <= $1", now - known_browsers::FORGOTTEN_AFTER_SECS),
            (
                "DELETE FROM password_failures WHERE locked_until < $1",
                now - password_failures::RUN_FORGOTTEN_AFTER_SECS,
            ),
        ];
        for (sql, before) in deletions {
            with_pool!(self, pool => sqlx::query(sql).bind(before).execute(pool).await.map(drop))?;
        }
        Ok(())
    }
}

/// The WAL index of the SQLite database, told of the commits of its one connection.
async fn watch_wal_index(pool: &SqliteConn) -> anyhow::Result<Arc<WalIndex>> {
    let index = Arc::new(WalIndex::open(pool.options.get_filename())?);
    index.watch_commits_of(&mut *pool.lock().await).await?;
    Ok(index)
}

/// Announces a write to a cached row to every instance (Postgres; on SQLite
/// the WAL index tells them). Sent when the transaction of `$executor` commits.
macro_rules! announce {
    ($pool:expr, $executor:expr, $what:expr) => {
        if let $crate::db::Pool::Postgres(_) = $pool {
            sqlx::query("SELECT pg_notify('gatehouse_changes', $1)")
                .bind($what)
                .execute($executor)
                .await
                .map(drop)
        } else {
            Ok(())
        }
    };
}
pub(crate) use announce;

/// The first of a writing statement's rows, which were read to their end
/// (`fetch_all`). `fetch_one` and `fetch_optional` reset a statement after
/// its first row: SQLite still commits it, but runs its WAL hook only for a
/// statement stepped to its end, and the cache takes a commit without one
/// for another process's (`wal_index`), and empties itself.
pub(crate) fn first_row<T>(rows: Vec<T>) -> Option<T> {
    rows.into_iter().next()
}

/// `first_row` of a writing statement that always returns one.
pub(crate) fn the_row<T>(rows: Vec<T>) -> Result<T, sqlx::Error> {
    first_row(rows).ok_or(sqlx::Error::RowNotFound)
}

/// True when `err` is a unique-constraint violation, on either backend.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}
