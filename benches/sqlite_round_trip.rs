//! Benchmark, not a test: what one statement costs on sqlx's SQLite
//! connection, which runs on a thread of its own, against a trivial
//! `SELECT 1` on the same connection in the same run. The hand-over to
//! that thread and back, not SQLite's work, is most of it, so a step's
//! cost on SQLite is about its number of round trips.
//!
//! Run: `cargo bench --bench sqlite_round_trip`.

use std::time::Instant;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Connection as _};

const ROUNDS: u32 = 5_000;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // As `Db::connect` opens it.
    let options = SqliteConnectOptions::new()
        .filename(dir.path().join("round_trip.db"))
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let mut conn = SqliteConnection::connect_with(&options).await?;
    sqlx::query("CREATE TABLE t (id INTEGER PRIMARY KEY, n INTEGER NOT NULL, b BLOB)")
        .execute(&mut conn)
        .await?;

    let insert = "INSERT INTO t (n, b) VALUES ($1, $2)";
    let update = "UPDATE t SET n = n + 1 WHERE id = $1";
    let baseline = per_round(&mut conn, |conn, _| Box::pin(sqlx::query("SELECT 1").execute(conn))).await?;
    println!("{:<52} {:>8.1} µs", "SELECT 1 (baseline)", baseline);
    let rows = [
        (
            "one-row SELECT by key",
            per_round(&mut conn, |conn, i| {
                Box::pin(sqlx::query("SELECT n FROM t WHERE id = $1").bind(i).execute(conn))
            })
            .await?,
        ),
        (
            "INSERT, committed alone",
            per_round(&mut conn, |conn, i| {
                Box::pin(sqlx::query(insert).bind(i).bind([0u8; 32].as_slice()).execute(conn))
            })
            .await?,
        ),
        (
            "INSERT and UPDATE in one batch (one round trip)",
            per_round(&mut conn, |conn, i| {
                let both = format!("{insert}; {update}");
                Box::pin(sqlx::query(AssertSqlSafe(both)).bind(i).bind([0u8; 32].as_slice()).execute(conn))
            })
            .await?,
        ),
    ];
    for (what, micros) in rows {
        println!("{what:<52} {micros:>8.1} µs  {:.2} × baseline", micros / baseline);
    }
    let started = Instant::now();
    for i in 0..ROUNDS {
        let mut tx = conn.begin().await?;
        sqlx::query(insert).bind(i64::from(i)).bind([0u8; 32].as_slice()).execute(&mut *tx).await?;
        sqlx::query(update).bind(i64::from(i)).execute(&mut *tx).await?;
        tx.commit().await?;
    }
    let micros = started.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS);
    let what = "INSERT and UPDATE in a transaction (four)";
    println!("{what:<52} {micros:>8.1} µs  {:.2} × baseline", micros / baseline);
    Ok(())
}

type Run<'c> =
    std::pin::Pin<Box<dyn Future<Output = Result<sqlx::sqlite::SqliteQueryResult, sqlx::Error>> + 'c>>;

/// Microseconds per round of `statement`, run `ROUNDS` times on `conn`.
async fn per_round(
    conn: &mut SqliteConnection,
    statement: impl for<'c> Fn(&'c mut SqliteConnection, i64) -> Run<'c>,
) -> anyhow::Result<f64> {
    let started = Instant::now();
    for i in 0..ROUNDS {
        statement(conn, i64::from(i)).await?;
    }
    Ok(started.elapsed().as_secs_f64() * 1e6 / f64::from(ROUNDS))
}
