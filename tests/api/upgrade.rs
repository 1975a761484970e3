//! Upgrading a database that is in use: what the limits had counted before
//! an upgrade still counts after it, so an upgrade never hands an attacker
//! a fresh budget of wrong codes or code mails.

use std::path::{Path, PathBuf};

use gatehouse::db::Db;
use gatehouse::db::limits::{self, Limit};
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AssertSqlSafe, PgPool, SqlitePool};

use crate::backend::{Backend, TestDatabase, on_both_backends};

on_both_backends! {
    counts_of_the_limits_survive_the_move_to_slots,
}

const NOW: i64 = 1_800_000_000;

async fn counts_of_the_limits_survive_the_move_to_slots(backend: Backend) {
    let database = TestDatabase::create(backend).await;
    let old = migrations_before(backend, "0009", database.workdir());
    // Four wrong codes today, two code mails in the last 15 minutes, one
    // sign-in an hour and a half ago (out of its hour).
    let events = [
        ("code-failure:user:7", NOW - 80_000),
        ("code-failure:user:7", NOW - 3_000),
        ("code-failure:user:7", NOW - 100),
        ("code-failure:user:7", NOW - 10),
        ("code-send:user:7:15m", NOW - 600),
        ("code-send:user:7:15m", NOW - 5),
        ("sign-in:ip:203.0.113.7", NOW - 5_400),
    ];
    let insert = events
        .iter()
        .map(|(bucket, at)| format!("INSERT INTO limit_events (bucket, at) VALUES ('{bucket}', {at})"))
        .collect::<Vec<_>>();
    at_version(backend, &database.url, &old, &insert).await;

    let db = Db::connect(&database.url).await.unwrap();
    db.migrate().await.expect("the upgrade applies");

    let counted = |bucket: &str, window_secs: i64| Limit { bucket: bucket.into(), max: 50, window_secs };
    let count = async |limit: Limit| limits::count(&db, &limit, NOW).await.unwrap();
    assert_eq!(count(counted("code-failure:user:7", 86_400)).await, 4, "the day's wrong codes");
    assert_eq!(count(counted("code-send:user:7:15m", 900)).await, 2, "the quarter hour's code mails");
    assert_eq!(count(counted("sign-in:ip:203.0.113.7", 3_600)).await, 0, "what left its hour stays out");
}

/// A copy of the backend's migrations older than `version`.
fn migrations_before(backend: Backend, version: &str, dir: &Path) -> PathBuf {
    let folder = match backend {
        Backend::Sqlite => "sqlite",
        Backend::Postgres => "postgres",
    };
    let all = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(folder);
    let old = dir.join("old-migrations");
    std::fs::create_dir_all(&old).unwrap();
    for entry in std::fs::read_dir(all).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.as_str() < version {
            std::fs::copy(&path, old.join(name)).unwrap();
        }
    }
    old
}

/// Migrates the database at `url` with the migrations in `folder` only,
/// then runs `statements` on it.
async fn at_version(backend: Backend, url: &str, folder: &Path, statements: &[String]) {
    let migrator = Migrator::new(folder).await.unwrap();
    macro_rules! run_on {
        ($pool:expr) => {{
            let pool = $pool;
            migrator.run(&pool).await.unwrap();
            for sql in statements {
                sqlx::query(AssertSqlSafe(sql.as_str())).execute(&pool).await.unwrap();
            }
            pool.close().await;
        }};
    }
    match backend {
        Backend::Sqlite => {
            let options: SqliteConnectOptions = url.parse().unwrap();
            run_on!(SqlitePool::connect_with(options.create_if_missing(true)).await.unwrap())
        }
        Backend::Postgres => run_on!(PgPool::connect(url).await.unwrap()),
    }
}
