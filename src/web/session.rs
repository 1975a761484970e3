//! The typed session: named entries over actix-session, and the privilege
//! changes that give the session a new id (password step, code step, link).

use actix_session::{Session, SessionExt as _};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest};
use serde::Serialize;

use crate::domain::code::random_token;
use crate::domain::pending::Pending;

/// When the session began (the last privilege change); the store caps its
/// life from here.
pub const BORN_KEY: &str = "gatehouse.born";
/// The fully signed-in account; the store keeps it in a column too.
pub const USER_KEY: &str = "gatehouse.user_id";
/// The pending flow, between the password step and the code step.
pub const PENDING_KEY: &str = "gatehouse.pending";
/// The account's `auth_epoch` the session was granted under: a session is
/// only written while it is still the account's.
pub const EPOCH_KEY: &str = "gatehouse.epoch";
const CSRF_KEY: &str = "gatehouse.csrf";
/// Set by a privilege change, and taken out by the store before it writes:
/// the session starts afresh under a new key, whatever became of the old
/// row meanwhile (a double-clicked "Sign in", an expired cookie).
pub const RENEWED_KEY: &str = "gatehouse.renewed";

pub struct SignInSession(Session);

impl FromRequest for SignInSession {
    type Error = actix_web::Error;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        std::future::ready(Ok(Self(req.get_session())))
    }
}

impl SignInSession {
    pub fn from_request(req: &HttpRequest) -> Self {
        Self(req.get_session())
    }

    /// The fully signed-in user (both factors), if any.
    pub fn user_id(&self) -> Option<i64> {
        self.get(USER_KEY)
    }

    pub fn pending(&self) -> Option<Pending> {
        self.get(PENDING_KEY)
    }

    /// The session-bound CSRF token, once a session exists.
    pub fn csrf_token(&self) -> Option<String> {
        self.get(CSRF_KEY)
    }

    /// Password accepted (or a new code sent): a new session id, holding
    /// only the pending flow. `now` starts the session's life.
    pub fn begin_pending(&self, pending: Pending, now: i64) -> anyhow::Result<()> {
        self.fresh(now)?;
        self.set(EPOCH_KEY, pending.epoch)?;
        self.set(PENDING_KEY, pending)
    }

    /// Second factor accepted: a new session id, now signed in to `user_id`
    /// under its credentials of `epoch`.
    pub fn complete(&self, user_id: i64, epoch: i64, now: i64) -> anyhow::Result<()> {
        self.fresh(now)?;
        self.set(EPOCH_KEY, epoch)?;
        self.set(USER_KEY, user_id)
    }

    /// Logout: the server-side session is deleted and the cookie removed.
    pub fn end(&self) {
        self.0.purge();
    }

    /// Drops everything; the store gives the changed session a new id
    /// (`DbSessionStore::update`), so no earlier cookie value carries over.
    /// Not `Session::renew`: actix-session would delete the old row and
    /// insert the new one in two round trips, where the store's rename is one.
    fn fresh(&self, now: i64) -> anyhow::Result<()> {
        self.0.clear();
        self.set(RENEWED_KEY, true)?;
        self.set(BORN_KEY, now)?;
        self.set(CSRF_KEY, random_token())
    }

    fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> Option<T> {
        self.0.get(key).ok().flatten()
    }

    fn set<T: Serialize>(&self, key: &str, value: T) -> anyhow::Result<()> {
        self.0.insert(key, value).map_err(|e| anyhow::anyhow!("writing the session: {e}"))
    }
}
