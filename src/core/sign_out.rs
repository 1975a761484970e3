//! Signing out. The web layer deletes the session on the server at once
//! (SECURITY.md item 18); this records that it happened.

use super::Core;
use crate::domain::audit::{AuditResult, Event};
use crate::domain::requester::Requester;

/// `user_id`: whoever the session belonged to, signed in or half-way.
pub async fn sign_out(core: &Core, requester: &Requester, user_id: Option<i64>) {
    core.audit.record(requester, user_id, None, Event::Logout, AuditResult::Ok).await;
}
