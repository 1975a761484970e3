//! actix-session's `SessionStore` on our own database. The cookie carries a
//! random key; the table holds only its SHA-256, so a dump of the table gives
//! no usable session. Idle and absolute timeouts are enforced here, on the
//! server: `expires_at` is never later than `created_at + absolute`.

use std::collections::HashMap;

use actix_session::storage::{
    LoadError, SaveError, SessionKey, SessionStore, UpdateError, generate_session_key,
};
use actix_web::cookie::time::Duration;
use sha2::{Digest, Sha256};

use super::{Db, now, with_pool};

/// Entry names the store reads from the session state.
pub const BORN_KEY: &str = "gatehouse.born";
pub const USER_KEY: &str = "gatehouse.user_id";

#[derive(Clone)]
pub struct DbSessionStore {
    db: Db,
    idle_secs: i64,
    absolute_secs: i64,
}

type State = HashMap<String, String>;

impl DbSessionStore {
    pub fn new(db: Db, idle_secs: u64, absolute_secs: u64) -> Self {
        Self { db, idle_secs: idle_secs as i64, absolute_secs: absolute_secs as i64 }
    }

    fn expiry(&self, born: i64, now: i64) -> i64 {
        (now + self.idle_secs).min(born + self.absolute_secs)
    }

    async fn insert(&self, state: &State) -> anyhow::Result<SessionKey> {
        let key = generate_session_key();
        let now = now();
        let born = entry::<i64>(state, BORN_KEY).unwrap_or(now);
        let sql = "INSERT INTO sessions (key_hash, state, user_id, created_at, expires_at) \
                   VALUES ($1, $2, $3, $4, $5)";
        with_pool!(&self.db, pool => sqlx::query(sql)
            .bind(hash(&key))
            .bind(serde_json::to_string(state)?)
            .bind(entry::<i64>(state, USER_KEY))
            .bind(born)
            .bind(self.expiry(born, now))
            .execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(key)
    }
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let sql = "SELECT state FROM sessions WHERE key_hash = $1 AND expires_at > $2";
        let row: Option<String> = with_pool!(&self.db, pool => sqlx::query_scalar(sql)
            .bind(hash(key))
            .bind(now())
            .fetch_optional(pool)
            .await)
        .map_err(|e| LoadError::Other(e.into()))?;
        row.map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(&self, state: State, _ttl: &Duration) -> Result<SessionKey, SaveError> {
        self.insert(&state).await.map_err(SaveError::Other)
    }

    async fn update(
        &self,
        key: SessionKey,
        state: State,
        _ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let now = now();
        let born = entry::<i64>(&state, BORN_KEY).unwrap_or(now);
        let json = serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let sql = "UPDATE sessions SET state = $2, user_id = $3, expires_at = $4 \
                   WHERE key_hash = $1 AND expires_at > $5";
        let done = with_pool!(&self.db, pool => sqlx::query(sql)
            .bind(hash(&key))
            .bind(json)
            .bind(entry::<i64>(&state, USER_KEY))
            .bind(self.expiry(born, now))
            .bind(now)
            .execute(pool).await.map(|r| r.rows_affected()))
        .map_err(|e| UpdateError::Other(e.into()))?;
        if done == 1 {
            return Ok(key);
        }
        // The row expired or was deleted mid-request: start a fresh one rather
        // than hand out a cookie for a session that does not exist.
        self.insert(&state).await.map_err(UpdateError::Other)
    }

    async fn update_ttl(&self, key: &SessionKey, _ttl: &Duration) -> anyhow::Result<()> {
        let now = now();
        // Slide the idle window, capped by the absolute lifetime; skip the
        // write when it would move less than a tenth of the window (at most a
        // minute), so a busy session costs one write a minute, not one a request.
        let slack = (self.idle_secs / 10).min(60);
        let sql = "UPDATE sessions \
                   SET expires_at = CASE WHEN created_at + $2 < $3 THEN created_at + $2 ELSE $3 END \
                   WHERE key_hash = $1 AND expires_at > $4 AND expires_at < $3 - $5 \
                   AND expires_at < created_at + $2";
        with_pool!(&self.db, pool => sqlx::query(sql)
            .bind(hash(key))
            .bind(self.absolute_secs)
            .bind(now + self.idle_secs)
            .bind(now)
            .bind(slack)
            .execute(pool)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        with_pool!(&self.db, pool => sqlx::query("DELETE FROM sessions WHERE key_hash = $1")
            .bind(hash(key))
            .execute(pool).await.map(|r| r.rows_affected()))?;
        Ok(())
    }
}

/// Ends every session of a user ("sign out everywhere", account removal).
pub async fn delete_for_user(db: &Db, user_id: i64) -> Result<(), sqlx::Error> {
    with_pool!(db, pool => sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user_id).execute(pool).await.map(|r| r.rows_affected()))?;
    Ok(())
}

fn hash(key: &SessionKey) -> Vec<u8> {
    Sha256::digest(key.as_ref().as_bytes()).to_vec()
}

/// A JSON-encoded entry of the session state.
fn entry<T: serde::de::DeserializeOwned>(state: &State, name: &str) -> Option<T> {
    state.get(name).and_then(|v| serde_json::from_str(v).ok())
}
