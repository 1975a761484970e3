//! The audit trail of SECURITY.md item 28: every sign-in event with its
//! time, account, result, client IP and user agent. Never a secret: the
//! rows name what happened, not what was typed.

use std::net::IpAddr;

use actix_web::HttpRequest;

use crate::db::audit::{self, AuditRow};
use crate::db::now;
use crate::http::client_ip::client_ip;
use crate::mail::requested::Requested;
use crate::startup::AppState;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Password,
    CodeSent,
    Code,
    Link,
    Lockout,
    Logout,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Password => "password",
            Event::CodeSent => "code_sent",
            Event::Code => "code",
            Event::Link => "link",
            Event::Lockout => "lockout",
            Event::Logout => "logout",
        }
    }
}

/// Who is asking: the client IP and user agent of the request.
pub struct Requester {
    pub ip: Option<IpAddr>,
    user_agent: Option<String>,
}

impl Requester {
    pub fn of(req: &HttpRequest, state: &AppState) -> Self {
        let user_agent = req
            .headers()
            .get(actix_web::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| ua.chars().filter(|c| !c.is_control()).take(256).collect());
        Self { ip: client_ip(req, &state.trusted_proxies), user_agent }
    }

    /// Who asked for a mail, as the mail tells its reader.
    pub fn requested(&self) -> Requested {
        Requested::new(self.user_agent.as_deref(), self.ip, time::OffsetDateTime::now_utc())
    }

    /// Records an event; a failure to record is logged, never shown to the user.
    pub async fn record(
        &self,
        state: &AppState,
        user_id: Option<i64>,
        email: Option<&str>,
        event: Event,
        result: &str,
    ) {
        let row = AuditRow {
            at: now(),
            user_id,
            email: email.map(str::to_owned),
            event: event.as_str().to_owned(),
            result: result.to_owned(),
            client_ip: self.ip.map(|ip| ip.to_string()),
            user_agent: self.user_agent.clone(),
        };
        if let Err(e) = audit::insert(&state.db, &row).await {
            tracing::error!(error = %e, event = event.as_str(), "writing the audit log failed");
        }
    }
}
