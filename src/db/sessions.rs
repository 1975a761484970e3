//! The `sessions` table. A row's key is the SHA-256 of the random key the
//! cookie carries, so a dump of the table gives no usable session. Idle and
//! absolute timeouts are enforced here, on the server: `expires_at` is never
//! later than `created_at + absolute`.

use sha2::{Digest, Sha256};

use super::{Db, with_pool};

/// The hash under which a session key is stored.
pub fn key_hash(key: &str) -> Vec<u8> {
    Sha256::digest(key.as_bytes()).to_vec()
}

/// A session to store: its entries as JSON, and what the table pulls out of them.
pub struct SessionRow<'a> {
    pub key_hash: &'a [u8],
    pub state: &'a str,
    /// The account the session belongs to, signed in or half-way.
    pub user_id: Option<i64>,
    /// The account's `auth_epoch` when the session got it.
    pub epoch: i64,
    pub created_at: i64,
    pub expires_at: i64,
}

/// Only a session of an account that is still enabled under the same
/// credentials is written: a sign-in that raced a new password, a disabled
/// or removed account cannot write its session back.
macro_rules! account_still_valid {
    () => {
        "($3 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = $3 AND auth_epoch = $6 AND NOT disabled))"
    };
}

/// Stores a new session; false when its account was revoked meanwhile.
pub async fn insert(db: &Db, row: &SessionRow<'_>) -> Result<bool, sqlx::Error> {
    let sql = concat!(
        "INSERT INTO sessions (key_hash, state, user_id, created_at, expires_at) ",
        "SELECT $1, $2, $3, $4, $5 WHERE ",
        account_still_valid!()
    );
    with_pool!(db, pool => sqlx::query(sql)
        .bind(row.key_hash)
        .bind(row.state)
        .bind(row.user_id)
        .bind(row.created_at)
        .bind(row.expires_at)
        .bind(row.epoch)
        .execute(pool).await.map(|r| r.rows_affected() == 1))
}

/// The entries of a live session, as JSON.
pub async fn load(db: &Db, key_hash: &[u8], now: i64) -> Result<Option<String>, sqlx::Error> {
    let sql = "SELECT state FROM sessions WHERE key_hash = $1 AND expires_at > $2";
    with_pool!(db, pool => sqlx::query_scalar(sql).bind(key_hash).bind(now).fetch_optional(pool).await)
}

/// Replaces the entries of a live session; false when the row is gone
/// (expired, or deleted by a logout or a revocation meanwhile) or its
/// account was revoked. A gone row is never written back.
pub async fn update(db: &Db, row: &SessionRow<'_>, now: i64) -> Result<bool, sqlx::Error> {
    let sql = concat!(
        "UPDATE sessions SET state = $2, user_id = $3, expires_at = $4 ",
        "WHERE key_hash = $1 AND expires_at > $5 AND ",
        account_still_valid!()
    );
    with_pool!(db, pool => sqlx::query(sql)
        .bind(row.key_hash)
        .bind(row.state)
        .bind(row.user_id)
        .bind(row.expires_at)
        .bind(now)
        .bind(row.epoch)
        .execute(pool).await.map(|r| r.rows_affected() == 1))
}

/// Slides the idle window to `now + idle_secs`, capped by the absolute
/// lifetime; skipped when it would move less than `slack_secs`, so a busy
/// session costs one write a minute, not one a request.
pub async fn touch(
    db: &Db,
    key_hash: &[u8],
    now: i64,
    idle_secs: i64,
    absolute_secs: i64,
    slack_secs: i64,
) -> Result<(), sqlx::Error> {
    let sql = "UPDATE sessions \
               SET expires_at = CASE WHEN created_at + $2 < $3 THEN created_at + $2 ELSE $3 END \
               WHERE key_hash = $1 AND expires_at > $4 AND expires_at < $3 - $5 \
               AND expires_at < created_at + $2";
    with_pool!(db, pool => sqlx::query(sql)
        .bind(key_hash)
        .bind(absolute_secs)
        .bind(now + idle_secs)
        .bind(now)
        .bind(slack_secs)
        .execute(pool)
        .await
        .map(drop))
}

pub async fn delete(db: &Db, key_hash: &[u8]) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => sqlx::query("DELETE FROM sessions WHERE key_hash = $1")
        .bind(key_hash)
        .execute(pool).await.map(drop))
}
