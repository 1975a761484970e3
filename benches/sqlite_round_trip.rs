//! Benchmark, not a test: what one statement costs on sqlx's SQLite
//! connection, which runs on a thread of its own, against a trivial
//! `SELECT 1` on the same connection in the same run. The hand-over to
//! that thread and back, not SQLite's work, is most of it, so a step's
//! cost on SQLite is about its number of round trips.
//!
//! Then, with 16 tasks on a runtime of a thread per core taking the one
//! connection in turn (as `db::unit` does), a step of six statements run
//! one by one against the same six in one batch: how many steps a second
//! one hand-off per step would allow.
//!
//! Run: `cargo bench --bench sqlite_round_trip`.

use std::sync::Arc;
use std::time::Instant;

use sqlx::sqlite::{SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Connection as _};
use tokio::sync::Mutex;

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

    let shared = Arc::new(Mutex::new(conn));
    let one_by_one = steps_per_sec(&shared, Step::OneByOne).await?;
    let batched = steps_per_sec(&shared, Step::Batched).await?;
    println!("{:<52} {:>8.0} /s", "6-statement step, one by one (baseline)", one_by_one);
    let what = "6-statement step, in one batch";
    println!("{what:<52} {batched:>8.0} /s  {:.2} × baseline", batched / one_by_one);
    Ok(())
}

/// A step's statements, on rows of `t`: two reads by key, then four
/// writes, each committed alone, like a right-code check.
const STEP: [&str; 6] = [
    "SELECT n FROM t WHERE id = $1",
    "SELECT n FROM t WHERE id = $1 + 1",
    "UPDATE t SET n = n + 1 WHERE id = $1",
    "INSERT INTO t (n, b) VALUES ($1, $2)",
    "UPDATE t SET b = $2 WHERE id = $1 + 2",
    "UPDATE t SET n = n + 1 WHERE id = $1 + 3",
];

#[derive(Clone, Copy)]
enum Step {
    OneByOne,
    Batched,
}

const TASKS: u32 = 16;

/// Steps a second with `TASKS` tasks each running `ROUNDS / TASKS` steps,
/// each step holding the connection from its first statement to its last.
async fn steps_per_sec(conn: &Arc<Mutex<SqliteConnection>>, how: Step) -> anyhow::Result<f64> {
    let batch = STEP.join("; ");
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for task in 0..TASKS {
        let (conn, batch) = (conn.clone(), batch.clone());
        tasks.spawn(async move {
            for round in 0..ROUNDS / TASKS {
                let id = i64::from(task * (ROUNDS / TASKS) + round + 1);
                let mut conn = conn.lock().await;
                match how {
                    Step::OneByOne => {
                        for statement in STEP {
                            sqlx::query(statement)
                                .bind(id)
                                .bind([0u8; 32].as_slice())
                                .execute(&mut *conn)
                                .await?;
                        }
                    }
                    Step::Batched => {
                        let query = sqlx::query(AssertSqlSafe(batch.as_str()));
                        query.bind(id).bind([0u8; 32].as_slice()).execute(&mut *conn).await?;
                    }
                }
            }
            anyhow::Ok(())
        });
    }
    for finished in tasks.join_all().await {
        finished?;
    }
    Ok(f64::from(ROUNDS / TASKS * TASKS) / started.elapsed().as_secs_f64())
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
