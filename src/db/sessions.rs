//! The `sessions` table. A row's key is the SHA-256 of the random key the
//! cookie carries, so a dump of the table gives no usable session. Idle and
//! absolute timeouts are enforced here, on the server: `expires_at` is never
//! later than `created_at + absolute`. Rows are read through the cache
//! (`db::cache`), so a signed-in request usually costs no query at all.

use std::sync::Arc;

use sha2::{Digest, Sha256};
use sqlx::AssertSqlSafe;

use super::cache::{CachedSession, session_changed};
use super::{Db, Pool, first_row, with_pool};

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

impl SessionRow<'_> {
    fn cached(&self) -> CachedSession {
        CachedSession {
            state: Arc::from(self.state),
            user_id: self.user_id,
            created_at: self.created_at,
            expires_at: self.expires_at,
        }
    }
}

/// Only a session of an account that is still enabled under the same
/// credentials is written: a sign-in that raced a new password, a disabled
/// or removed account cannot write its session back.
macro_rules! account_still_valid {
    () => {
        "($3 IS NULL OR EXISTS (SELECT 1 FROM users WHERE id = $3 AND auth_epoch = $6 AND NOT disabled))"
    };
}

/// Stores the session of `$1` to `$6` (its key hash, state, account,
/// birth, expiry and epoch) unless its account was revoked meanwhile; `$from`
/// goes before the condition.
macro_rules! insert_session {
    ($from:literal) => {
        concat!(
            "INSERT INTO sessions (key_hash, state, user_id, created_at, expires_at) SELECT $1, $2, $3, $4, $5 ",
            $from,
            " WHERE ",
            account_still_valid!()
        )
    };
}

/// Stores a new session; false when its account was revoked meanwhile.
pub async fn insert(db: &Db, row: &SessionRow<'_>) -> Result<bool, sqlx::Error> {
    let sql = insert_session!("");
    let since = db.cache().generation();
    let inserted = with_pool!(db, pool => sqlx::query(sql)
        .bind(row.key_hash)
        .bind(row.state)
        .bind(row.user_id)
        .bind(row.created_at)
        .bind(row.expires_at)
        .bind(row.epoch)
        .execute(pool).await.map(|r| r.rows_affected() == 1))?;
    if inserted {
        db.cache().keep_session(row.key_hash, row.cached(), since);
    }
    Ok(inserted)
}

/// The entries of a live session, as JSON.
pub async fn load(db: &Db, key_hash: &[u8], now: i64) -> Result<Option<Arc<str>>, sqlx::Error> {
    if let Some(session) = db.cache().session(key_hash).filter(|s| s.expires_at > now) {
        return Ok(Some(session.state));
    }
    let since = db.cache().generation();
    let sql =
        "SELECT state, user_id, created_at, expires_at FROM sessions WHERE key_hash = $1 AND expires_at > $2";
    let row: Option<(String, Option<i64>, i64, i64)> =
        with_pool!(db, pool => sqlx::query_as(sql).bind(key_hash).bind(now).fetch_optional(pool).await)?;
    Ok(row.map(|(state, user_id, created_at, expires_at)| {
        let session = CachedSession { state: Arc::from(state), user_id, created_at, expires_at };
        db.cache().keep_session(key_hash, session.clone(), since);
        session.state
    }))
}

/// Moves a session to a new key, with new entries, in one round trip: the
/// row of `old_key_hash` goes (and every instance forgets it), and `row`
/// is stored. Unless `renewed` (a privilege change, which starts the
/// session afresh), only a live row is moved: one that expired, or that a
/// logout or a revocation deleted while the request ran, is never written
/// back. False when nothing was stored: that, or its account was revoked.
pub async fn rename(
    db: &Db,
    old_key_hash: &[u8],
    row: &SessionRow<'_>,
    renewed: bool,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let sql = match db.pool() {
        Pool::Sqlite(_) => concat!(
            "DELETE FROM sessions WHERE key_hash = $7 AND ($9 OR expires_at > $10); ",
            insert_session!(""),
            " AND ($9 OR changes() = 1) RETURNING 1"
        ),
        // Reading `gone` to its end announces every row it deleted.
        Pool::Postgres(_) => concat!(
            "WITH gone AS (DELETE FROM sessions WHERE key_hash = $7 AND ($9 OR expires_at > $10) ",
            "RETURNING pg_notify('gatehouse_changes', $8)) ",
            insert_session!("FROM (SELECT count(*) AS moved FROM gone) AS announced"),
            " AND ($9 OR moved = 1) RETURNING 1"
        ),
    };
    // Nobody is served the old entries while the row goes.
    db.cache().forget_session(old_key_hash);
    with_pool!(db, pool => {
        // Read to the end: on SQLite the batch's last statement then runs to completion.
        let stored = !sqlx::query(sql)
            .bind(row.key_hash)
            .bind(row.state)
            .bind(row.user_id)
            .bind(row.created_at)
            .bind(row.expires_at)
            .bind(row.epoch)
            .bind(old_key_hash)
            .bind(session_changed(old_key_hash))
            .bind(renewed)
            .bind(now)
            .fetch_all(pool)
            .await?
            .is_empty();
        written(db, old_key_hash, None);
        written(db, row.key_hash, stored.then(|| row.cached()));
        Ok::<_, sqlx::Error>(stored)
    })
}

/// Slides the idle window to `now + idle_secs`, capped by the absolute
/// lifetime; skipped when it would move less than `slack_secs`, so a busy
/// session costs one write a minute, not one a request (and, when the
/// cache knows the session, no query at all).
pub async fn touch(
    db: &Db,
    key_hash: &[u8],
    now: i64,
    idle_secs: i64,
    absolute_secs: i64,
    slack_secs: i64,
) -> Result<(), sqlx::Error> {
    let cached = db.cache().session(key_hash);
    if let Some(session) = &cached {
        // The UPDATE below would change nothing.
        let moves_little = session.expires_at >= now + idle_secs - slack_secs;
        let capped = session.expires_at >= session.created_at + absolute_secs;
        if moves_little || capped || session.expires_at <= now {
            return Ok(());
        }
    }
    let since = db.cache().generation();
    let sql = "UPDATE sessions \
               SET expires_at = CASE WHEN created_at + $2 < $3 THEN created_at + $2 ELSE $3 END \
               WHERE key_hash = $1 AND expires_at > $4 AND expires_at < $3 - $5 \
               AND expires_at < created_at + $2 RETURNING expires_at";
    let moved: Option<i64> = with_pool!(db, pool => sqlx::query_scalar(sql)
        .bind(key_hash)
        .bind(absolute_secs)
        .bind(now + idle_secs)
        .bind(now)
        .bind(slack_secs)
        .fetch_all(pool)
        .await
        .map(first_row))?;
    if let (Some(expires_at), Some(session)) = (moved, cached) {
        db.cache().keep_session(key_hash, CachedSession { expires_at, ..session }, since);
    }
    Ok(())
}

/// Deletes a session (a logout), and returns once every instance knows.
pub async fn delete(db: &Db, key_hash: &[u8]) -> Result<(), sqlx::Error> {
    db.cache().forget_session(key_hash);
    let sql = announced(db.pool(), "DELETE FROM sessions WHERE key_hash = $1", "$2");
    with_pool!(db, pool => {
        let deleted = sqlx::query(AssertSqlSafe(sql)).bind(key_hash).bind(session_changed(key_hash)).execute(pool).await;
        written(db, key_hash, None);
        deleted.map(drop)
    })?;
    db.until_heard_everywhere().await;
    Ok(())
}

/// After a write of session `key_hash` (`now`: what the row holds now, if
/// known), before the connection is given back: on SQLite, the instance's
/// own commits leave the cache as it is, so a read that began before the
/// write must not be kept after it (its generation is now old), and the
/// cache takes in writes in the order the database did.
fn written(db: &Db, key_hash: &[u8], now: Option<CachedSession>) {
    db.cache().forget_session(key_hash);
    if let Some(session) = now {
        db.cache().keep_session(key_hash, session, db.cache().generation());
    }
}

/// `write` (an UPDATE or DELETE of sessions) that, on Postgres, announces
/// the notice in parameter `notice` to every instance if it changed a row,
/// in the same statement; it changes as many rows as `write` does.
fn announced(pool: &Pool, write: &str, notice: &str) -> String {
    match pool {
        Pool::Sqlite(_) => write.to_owned(),
        Pool::Postgres(_) => format!(
            "WITH written AS ({write} RETURNING key_hash) SELECT pg_notify('gatehouse_changes', {notice}) FROM written"
        ),
    }
}
