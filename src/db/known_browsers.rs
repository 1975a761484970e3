//! The `known_browsers` table: which browsers (by the hash of their cookie
//! token) have completed a sign-in to which account.

use super::outbox::{NewMail, insert_mail};
use super::{Db, with_pool};

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

/// Remembers a new browser for the account and, in the same transaction,
/// queues the notice that tells its owner.
pub async fn remember(
    db: &Db,
    user_id: i64,
    token_hash: &[u8],
    now: i64,
    notice: Option<&NewMail>,
) -> Result<(), sqlx::Error> {
    let sql = "INSERT INTO known_browsers (user_id, token_hash, first_seen, last_seen) VALUES ($1, $2, $3, $3) \
               ON CONFLICT (user_id, token_hash) DO UPDATE SET last_seen = excluded.last_seen";
    with_pool!(db, pool => {
        let mut tx = pool.begin().await?;
        sqlx::query(sql).bind(user_id).bind(token_hash).bind(now).execute(&mut *tx).await?;
        if let Some(notice) = notice {
            insert_mail!(&mut *tx, notice, None::<i64>, now).await?;
        }
        tx.commit().await
    })
}
