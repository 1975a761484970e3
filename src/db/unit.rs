//! Units of work: the statements of one step (checking a code and signing
//! in, say) run back to back on one connection, taken at the unit's first
//! statement and given back at its end. Outside a unit every statement takes
//! the connection and gives it back; each handover costs a wait in the
//! queue for SQLite's one connection, and a ping on Postgres (sqlx checks a
//! connection as the pool gets it back).
//!
//! Only database work and quick computation belong in a unit: on SQLite it
//! holds the one connection, so everyone else waits until it ends. Never a
//! password hash or a network call.
//!
//! Hand-written because sqlx passes a connection only explicitly, and the
//! steps of the core reach the database through many small functions of
//! `db` that each take `&Db`: the unit's connection rides along with the
//! task (a task-local) instead of through every signature.

use std::cell::RefCell;
use std::ops::{Deref, DerefMut};

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres, SqliteConnection};
use tokio::sync::OwnedMutexGuard;

use super::SqliteConn;

/// The connection a unit holds, once its first statement took it.
enum Held {
    Sqlite(OwnedMutexGuard<SqliteConnection>),
    Postgres(PoolConnection<Postgres>),
}

tokio::task_local! {
    static HELD: RefCell<Option<Held>>;
}

/// Runs `work` as one unit (or as part of the unit it is already in).
pub async fn run<T>(work: impl Future<Output = T>) -> T {
    if HELD.try_with(|_| ()).is_ok() {
        return work.await;
    }
    HELD.scope(RefCell::new(None), work).await
}

fn in_unit() -> bool {
    HELD.try_with(|_| ()).is_ok()
}

/// The unit's connection, taken out while a statement uses it.
fn take_held() -> Option<Held> {
    HELD.try_with(|held| held.borrow_mut().take()).ok().flatten()
}

fn give_back(conn: Held) {
    // Outside a unit (cannot happen: only a unit's connection is given back)
    // the connection is simply dropped, which returns it.
    let _ = HELD.try_with(|held| *held.borrow_mut() = Some(conn));
}

/// The SQLite connection for one statement or transaction: the unit's, or
/// taken in turn for just this.
pub struct SqliteLent {
    guard: Option<OwnedMutexGuard<SqliteConnection>>,
    in_unit: bool,
}

pub async fn sqlite(conn: &SqliteConn) -> SqliteLent {
    let in_unit = in_unit();
    let guard = match take_held() {
        Some(Held::Sqlite(guard)) => guard,
        _ => conn.lock_owned().await,
    };
    SqliteLent { guard: Some(guard), in_unit }
}

impl Deref for SqliteLent {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        self.guard.as_ref().expect("lent until dropped")
    }
}

impl DerefMut for SqliteLent {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        self.guard.as_mut().expect("lent until dropped")
    }
}

impl Drop for SqliteLent {
    fn drop(&mut self) {
        if let (true, Some(guard)) = (self.in_unit, self.guard.take()) {
            give_back(Held::Sqlite(guard));
        }
    }
}

/// A Postgres connection for one statement or transaction: the unit's, or
/// one from the pool for just this.
pub struct PgLent {
    conn: Option<PoolConnection<Postgres>>,
    in_unit: bool,
}

pub async fn postgres(pool: &PgPool) -> Result<PgLent, sqlx::Error> {
    let in_unit = in_unit();
    let conn = match take_held() {
        Some(Held::Postgres(conn)) => conn,
        _ => pool.acquire().await?,
    };
    Ok(PgLent { conn: Some(conn), in_unit })
}

impl Deref for PgLent {
    type Target = sqlx::PgConnection;

    fn deref(&self) -> &sqlx::PgConnection {
        self.conn.as_ref().expect("lent until dropped")
    }
}

impl DerefMut for PgLent {
    fn deref_mut(&mut self) -> &mut sqlx::PgConnection {
        self.conn.as_mut().expect("lent until dropped")
    }
}

impl Drop for PgLent {
    fn drop(&mut self) {
        if let (true, Some(conn)) = (self.in_unit, self.conn.take()) {
            give_back(Held::Postgres(conn));
        }
    }
}
