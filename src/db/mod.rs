//! Storage: one `Db` type over SQLite and Postgres, chosen at run time from
//! `database_url`. Each query's SQL is written once (`$1` placeholders work on
//! both) and run through `with_pool!`, which expands it for either pool.

pub mod audit;
pub mod challenges;
pub mod flows;
pub mod known_browsers;
pub mod limits;
pub mod outbox;
pub mod sessions;
pub mod users;

use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("migrations/postgres");

#[derive(Clone, Debug)]
pub enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

/// Runs `$body` with `$pool` bound to whichever pool `$db` holds.
macro_rules! with_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            $crate::db::Db::Sqlite($pool) => $body,
            $crate::db::Db::Postgres($pool) => $body,
        }
    };
}
pub(crate) use with_pool;

impl Db {
    /// Connects to `url`: `sqlite:…` (file created if missing, WAL, foreign
    /// keys, busy timeout) or `postgres://…`.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        if url.starts_with("sqlite:") {
            let options = SqliteConnectOptions::from_str(url)
                .with_context(|| "invalid configuration: `database_url`".to_string())?
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(10));
            // One connection: SQLite has one writer at a time, and waiting in
            // the pool's queue is fair and quick, while writers contending on
            // the file lock sleep in SQLite's busy handler (tens of ms each).
            let pool = SqlitePoolOptions::new()
                .max_connections(1)
                .connect_with(options)
                .await
                .context("opening the SQLite database")?;
            Ok(Self::Sqlite(pool))
        } else {
            let pool = PgPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(Duration::from_secs(10))
                .connect(url)
                .await
                .context("connecting to Postgres")?;
            Ok(Self::Postgres(pool))
        }
    }

    /// Applies pending migrations from the folder of this backend.
    pub async fn migrate(&self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(pool) => SQLITE_MIGRATIONS.run(pool).await,
            Self::Postgres(pool) => POSTGRES_MIGRATIONS.run(pool).await,
        }
        .context("applying database migrations")
    }

    /// True when the database answers a trivial query.
    pub async fn is_ready(&self) -> bool {
        with_pool!(self, pool => sqlx::query("SELECT 1").execute(pool).await.is_ok())
    }

    /// Deletes expired sessions, flows (with their challenges) and rows that can no longer matter.
    pub async fn delete_expired(&self, now: i64) -> anyhow::Result<()> {
        with_pool!(self, pool => {
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now).execute(pool).await?;
            // Keep a day of ended flows so late submissions get a clear answer.
            sqlx::query("DELETE FROM flows WHERE expires_at <= $1").bind(now - 86_400).execute(pool).await?;
            // Every limit window is at most a day.
            sqlx::query("DELETE FROM limit_events WHERE at <= $1").bind(now - 86_400).execute(pool).await?;
            sqlx::query("DELETE FROM limit_locks WHERE bucket NOT IN (SELECT bucket FROM limit_events)").execute(pool).await?;
            // Settled mail is kept a week for `gatehouse outbox`; its body is already erased.
            sqlx::query("DELETE FROM outbox WHERE status IN ('sent', 'failed', 'cancelled') AND created_at <= $1")
                .bind(now - 7 * 86_400)
                .execute(pool)
                .await?;
            sqlx::query("DELETE FROM known_browsers WHERE last_seen <= $1")
                .bind(now - known_browsers::FORGOTTEN_AFTER_SECS)
                .execute(pool)
                .await?;
            sqlx::query("DELETE FROM password_failures WHERE locked_until < $1")
                .bind(now - limits::RUN_FORGOTTEN_AFTER_SECS)
                .execute(pool)
                .await?;
        });
        Ok(())
    }
}

/// True when `err` is a unique-constraint violation, on either backend.
pub fn is_unique_violation(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(e) if e.is_unique_violation())
}
