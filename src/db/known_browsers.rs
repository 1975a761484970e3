//! The `known_browsers` table: which browsers (by the hash of their cookie
//! token) have completed a sign-in to which account.

use super::outbox::{NewMail, mail_insert};
use super::{Db, Pool, changed_a_row, with_pool};

/// A browser not seen for this long is forgotten, and a sign-in from it is new again.
pub const FORGOTTEN_AFTER_SECS: i64 = 400 * 86_400;

/// Whether the account knows the browser (and has not forgotten it by `now`).
pub async fn is_known(db: &Db, user_id: i64, token_hash: &[u8], now: i64) -> Result<bool, sqlx::Error> {
    let sql = "SELECT COUNT(*) FROM known_browsers WHERE user_id = $1 AND token_hash = $2 AND last_seen > $3";
    let found: i64 = with_pool!(db, pool => sqlx::query_scalar(sql)
        .bind(user_id)
        .bind(token_hash)
        .bind(now - FORGOTTEN_AFTER_SECS)
        .fetch_one(pool)
        .await)?;
    Ok(found > 0)
}

/// Marks the browser seen now; true when the account already knew it.
pub async fn touch(db: &Db, user_id: i64, token_hash: &[u8], now: i64) -> Result<bool, sqlx::Error> {
    let sql = "UPDATE known_browsers SET last_seen = $3 WHERE user_id = $1 AND token_hash = $2";
    with_pool!(db, pool => sqlx::query(sql)
        .bind(user_id)
        .bind(token_hash)
        .bind(now)
        .execute(pool)
        .await
        .map(|done| done.rows_affected() == 1))
}

/// Remembers a new browser for the account and queues the notice that
/// tells its owner, in one round trip: one statement on Postgres; on SQLite
/// two in one batch, the notice first, so that a process stopped between
/// them can only tell the owner of a browser it then forgets, never
/// remember one unannounced.
pub async fn remember(
    db: &Db,
    user_id: i64,
    token_hash: &[u8],
    now: i64,
    notice: Option<&NewMail>,
) -> Result<(), sqlx::Error> {
    const REMEMBER: &str = "INSERT INTO known_browsers (user_id, token_hash, first_seen, last_seen) \
                            VALUES ($1, $2, $3, $3) \
                            ON CONFLICT (user_id, token_hash) DO UPDATE SET last_seen = excluded.last_seen";
    let Some(notice) = notice else {
        return with_pool!(db, pool => sqlx::query(REMEMBER)
            .bind(user_id)
            .bind(token_hash)
            .bind(now)
            .execute(pool)
            .await
            .map(drop));
    };
    let queue = mail_insert!("$4", "NULL", "$5", "$6", "$3");
    let sql = match db.pool() {
        Pool::Postgres(_) => format!("WITH remembered AS ({REMEMBER} RETURNING 1) {queue} FROM remembered"),
        Pool::Sqlite(_) => format!("{queue}; {REMEMBER}"),
    };
    let (kind, recipient, body) = (notice.kind.as_str(), &notice.recipient, &notice.body);
    changed_a_row!(db, sql, user_id, token_hash, now, kind, recipient, body).map(drop)
}
