//! actix-session's `SessionStore` on our own database (`db::sessions`). The
//! cookie carries a random key; the table holds only its SHA-256. Idle and
//! absolute timeouts are enforced on the server.

use std::collections::HashMap;

use actix_session::storage::{
    LoadError, SaveError, SessionKey, SessionStore, UpdateError, generate_session_key,
};
use actix_web::cookie::time::Duration;

use super::session::{BORN_KEY, EPOCH_KEY, PENDING_KEY, RENEWED_KEY, USER_KEY};
use crate::config::SessionRules;
use crate::db::Db;
use crate::db::sessions::{self, SessionRow, key_hash};
use crate::domain::clock::Clock;
use crate::domain::pending::Pending;

#[derive(Clone)]
pub struct DbSessionStore {
    db: Db,
    clock: Clock,
    rules: SessionRules,
}

type State = HashMap<String, String>;

impl DbSessionStore {
    pub fn new(db: Db, clock: Clock, rules: SessionRules) -> Self {
        Self { db, clock, rules }
    }

    fn expiry(&self, born: i64, now: i64) -> i64 {
        (now + self.rules.idle_secs).min(born + self.rules.absolute_secs)
    }

    /// Stores a new session under a new key. When its account was revoked
    /// meanwhile nothing is stored, and the key names no session.
    async fn insert(&self, state: &State) -> anyhow::Result<SessionKey> {
        let key = generate_session_key();
        let (now, json, hash) = (self.clock.now(), serde_json::to_string(state)?, key_hash(key.as_ref()));
        let row = self.row(state, &hash, &json, now);
        if !sessions::insert(&self.db, &row).await? {
            tracing::info!(user_id = row.user_id, "a session of a revoked account was not stored");
        }
        Ok(key)
    }

    /// The row of `state`: the account it belongs to (signed in, or half-way
    /// through a sign-in) and its epoch, and its timeouts.
    fn row<'a>(&self, state: &State, key_hash: &'a [u8], json: &'a str, now: i64) -> SessionRow<'a> {
        let born = entry::<i64>(state, BORN_KEY).unwrap_or(now);
        let pending = entry::<Pending>(state, PENDING_KEY).map(|p| p.user_id);
        SessionRow {
            key_hash,
            state: json,
            user_id: entry::<i64>(state, USER_KEY).or(pending),
            // Sessions stored before epochs existed were of epoch 0.
            epoch: entry::<i64>(state, EPOCH_KEY).unwrap_or(0),
            created_at: born,
            expires_at: self.expiry(born, now),
        }
    }
}

impl SessionStore for DbSessionStore {
    async fn load(&self, key: &SessionKey) -> Result<Option<State>, LoadError> {
        let row = sessions::load(&self.db, &key_hash(key.as_ref()), self.clock.now())
            .await
            .map_err(|e| LoadError::Other(e.into()))?;
        row.map(|json| serde_json::from_str(&json))
            .transpose()
            .map_err(|e| LoadError::Deserialization(e.into()))
    }

    async fn save(&self, mut state: State, _ttl: &Duration) -> Result<SessionKey, SaveError> {
        state.remove(RENEWED_KEY);
        self.insert(&state).await.map_err(SaveError::Other)
    }

    /// A changed session gets a new key (`sessions::rename`): no cookie
    /// value from before a change, such as a sign-in, names it afterwards.
    async fn update(
        &self,
        key: SessionKey,
        mut state: State,
        _ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        let renewed = state.remove(RENEWED_KEY).is_some();
        let new_key = generate_session_key();
        let now = self.clock.now();
        let json = serde_json::to_string(&state).map_err(|e| UpdateError::Serialization(e.into()))?;
        let hash = key_hash(new_key.as_ref());
        let row = self.row(&state, &hash, &json, now);
        let stored = sessions::rename(&self.db, &key_hash(key.as_ref()), &row, renewed, now)
            .await
            .map_err(|e| UpdateError::Other(e.into()))?;
        if !stored {
            // Writing it would undo a logout or a revocation: the browser
            // gets a key that names no session, so it is signed out.
            tracing::info!(user_id = row.user_id, "a session that ended meanwhile was not stored");
        }
        Ok(new_key)
    }

    async fn update_ttl(&self, key: &SessionKey, _ttl: &Duration) -> anyhow::Result<()> {
        let rules = self.rules;
        // Skip the write when it would move less than a tenth of the window
        // (at most a minute): a busy session costs one write a minute.
        let slack = (rules.idle_secs / 10).min(60);
        let hash = key_hash(key.as_ref());
        sessions::touch(&self.db, &hash, self.clock.now(), rules.idle_secs, rules.absolute_secs, slack)
            .await?;
        Ok(())
    }

    async fn delete(&self, key: &SessionKey) -> anyhow::Result<()> {
        sessions::delete(&self.db, &key_hash(key.as_ref())).await?;
        Ok(())
    }
}

/// A JSON-encoded entry of the session state.
fn entry<T: serde::de::DeserializeOwned>(state: &State, name: &str) -> Option<T> {
    state.get(name).and_then(|v| serde_json::from_str(v).ok())
}
