//! The audit trail of SECURITY.md item 28: every sign-in event with its
//! time, account, result, client IP and user agent. Never a secret: the
//! rows name what happened, not what was typed.

use crate::db::Db;
use crate::db::audit::{self, NewAuditRow};
use crate::domain::audit::{AuditResult, Event};
use crate::domain::clock::Clock;
use crate::domain::requester::Requester;

#[derive(Clone)]
pub struct Audit {
    db: Db,
    clock: Clock,
}

impl Audit {
    pub fn new(db: Db, clock: Clock) -> Self {
        Self { db, clock }
    }

    /// Records an event; a failure to record is logged, never shown to the user.
    pub async fn record(
        &self,
        requester: &Requester,
        user_id: Option<i64>,
        email: Option<&str>,
        event: Event,
        result: AuditResult,
    ) {
        let row = self.row(requester, user_id, email, event, result);
        if let Err(e) = audit::insert(&self.db, &row).await {
            tracing::error!(error = %e, event = event.as_str(), "writing the audit log failed");
        }
    }

    /// The row that records an event now, for a write that records it itself.
    pub fn row<'a>(
        &self,
        requester: &'a Requester,
        user_id: Option<i64>,
        email: Option<&'a str>,
        event: Event,
        result: AuditResult,
    ) -> NewAuditRow<'a> {
        NewAuditRow {
            at: self.clock.now(),
            user_id,
            email,
            event,
            result,
            client_ip: requester.ip.map(|ip| ip.to_string()),
            user_agent: requester.user_agent.as_deref(),
        }
    }
}
