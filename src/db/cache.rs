//! What the hot paths read on every request — sessions by key, accounts by
//! id — kept in memory, and dropped the moment the database may hold
//! something newer, written by this instance, another instance or the CLI:
//!
//! - SQLite: the WAL index header (`wal_index`) changes with every commit
//!   of any connection, in any process. It is read (one `pread`) before
//!   every use of the cache; when a commit other than this instance's own
//!   came, everything cached is dropped. Nothing is ever served that such a
//!   commit could have changed.
//! - Postgres: every write to a cached row notifies (`NOTIFY
//!   gatehouse_changes`, sent at commit) and every instance listens; the
//!   cache is off whenever the listening connection is not up, and
//!   whenever it may be more than `notices::MAX_LAG` behind.
//!
//! Writes of this instance update or drop their entries themselves, once
//! they landed (sessions: before the connection is given back, so that
//! the cache takes them in the database's order). A read that raced an
//! invalidation or such a write is not cached (`Generation`).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::notices::CatchUp;
use super::users::User;
use super::wal_index::{Header, WalIndex};

/// Entries kept at most; past it, the cache starts afresh.
const MAX_ENTRIES: usize = 100_000;

/// A session as its row holds it (its state holds the CSRF token: no `Debug`).
#[derive(Clone)]
pub struct CachedSession {
    pub state: Arc<str>,
    pub user_id: Option<i64>,
    pub created_at: i64,
    pub expires_at: i64,
}

/// How the cache learns of writes it did not make.
enum Watch {
    /// Nothing is cached (the CLI, the tests' inspection, an in-memory database).
    Off,
    /// SQLite in WAL mode: its WAL index and the header last seen.
    WalIndex { index: Arc<WalIndex>, seen: Mutex<Header> },
    /// Postgres: on while the listener is connected and caught up.
    Notified { live: AtomicBool, catch_up: Arc<CatchUp> },
}

/// The invalidation count when a read began: a read is cached only if no
/// invalidation came between its start and its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Generation(u64);

pub struct Cache {
    watch: Watch,
    generation: AtomicU64,
    sessions: Mutex<HashMap<Vec<u8>, CachedSession>>,
    users: Mutex<HashMap<i64, Arc<User>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Cache {
    fn with(watch: Watch) -> Self {
        Self { watch, generation: AtomicU64::new(0), sessions: Mutex::default(), users: Mutex::default() }
    }

    pub fn off() -> Self {
        Self::with(Watch::Off)
    }

    /// A cache that watches the WAL index of a SQLite database.
    pub fn watching_sqlite(index: Arc<WalIndex>) -> Self {
        let seen = Mutex::new(index.header().unwrap_or([0; 48]));
        Self::with(Watch::WalIndex { index, seen })
    }

    /// A cache fed by Postgres notifications; off until `listening(true)`.
    pub fn notified(catch_up: Arc<CatchUp>) -> Self {
        Self::with(Watch::Notified { live: AtomicBool::new(false), catch_up })
    }

    /// The Postgres listener connected (`true`: from now on no notification
    /// is missed) or lost its connection (`false`: some may be).
    pub fn listening(&self, up: bool) {
        if let Watch::Notified { live, .. } = &self.watch {
            live.store(up, Ordering::SeqCst);
        }
        self.forget_everything();
    }

    /// Whether the cache may be used now; drops everything if a write may
    /// have come that it has not heard of.
    fn fresh(&self) -> bool {
        match &self.watch {
            Watch::Off => false,
            Watch::Notified { live, catch_up } => live.load(Ordering::SeqCst) && catch_up.within_lag(),
            Watch::WalIndex { index, seen } => {
                let mut seen = lock(seen);
                match index.header() {
                    Some(now) if now == *seen => true,
                    Some(now) => {
                        if !index.only_ours_between(&seen, &now) {
                            self.forget_everything();
                        }
                        *seen = now;
                        true
                    }
                    None => {
                        self.forget_everything();
                        false
                    }
                }
            }
        }
    }

    /// Where invalidation stands, taken before a read that may be cached.
    pub fn generation(&self) -> Generation {
        Generation(self.generation.load(Ordering::SeqCst))
    }

    pub fn forget_everything(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        lock(&self.sessions).clear();
        lock(&self.users).clear();
    }

    pub fn session(&self, key_hash: &[u8]) -> Option<CachedSession> {
        if !self.fresh() {
            return None;
        }
        lock(&self.sessions).get(key_hash).cloned()
    }

    /// Keeps `session`, read (or written) since `since`.
    pub fn keep_session(&self, key_hash: &[u8], session: CachedSession, since: Generation) {
        self.keep(&self.sessions, key_hash.to_vec(), session, since);
    }

    /// Keeps `value` in `entries`, unless the cache is off or an
    /// invalidation came since `since` (the value may be older than it).
    fn keep<K: Eq + std::hash::Hash, V>(
        &self,
        entries: &Mutex<HashMap<K, V>>,
        key: K,
        value: V,
        since: Generation,
    ) {
        if matches!(self.watch, Watch::Off) {
            return;
        }
        let mut entries = lock(entries);
        if self.generation() != since {
            return;
        }
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(key, value);
    }

    pub fn forget_session(&self, key_hash: &[u8]) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        lock(&self.sessions).remove(key_hash);
    }

    pub fn user(&self, id: i64) -> Option<Arc<User>> {
        if !self.fresh() {
            return None;
        }
        lock(&self.users).get(&id).cloned()
    }

    pub fn keep_user(&self, user: User, since: Generation) {
        self.keep(&self.users, user.id, Arc::new(user), since);
    }

    /// The account changed: it and every session of it are dropped.
    pub fn forget_user(&self, id: i64) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        lock(&self.users).remove(&id);
        lock(&self.sessions).retain(|_, session| session.user_id != Some(id));
    }

    /// A notification from Postgres: `session:<hex key hash>` or `user:<id>`.
    pub fn notified_of(&self, payload: &str) {
        match payload.split_once(':') {
            Some(("session", hex)) => match hex::decode(hex) {
                Ok(key_hash) => self.forget_session(&key_hash),
                Err(_) => self.forget_everything(),
            },
            Some(("user", id)) => match id.parse() {
                Ok(id) => self.forget_user(id),
                Err(_) => self.forget_everything(),
            },
            _ => self.forget_everything(),
        }
    }
}

/// What a notification says, for `notified_of`.
pub fn session_changed(key_hash: &[u8]) -> String {
    format!("session:{}", hex::encode(key_hash))
}

pub fn user_changed(id: i64) -> String {
    format!("user:{id}")
}
