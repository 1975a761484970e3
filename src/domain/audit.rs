//! What the audit trail records (SECURITY.md item 28): which event, of
//! which flow, and how it ended. Stored as the words `as_str` gives; never
//! a secret.

use super::purpose::Purpose;

/// A sign-in event. Those about a code or link name the flow's purpose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Event {
    Password,
    CodeSent(Purpose),
    Code(Purpose),
    Link(Purpose),
    /// The emailed link opened in another browser, answering the waiting sign-in's number.
    Approval(Purpose),
    Lockout,
    Logout,
}

impl Event {
    pub fn as_str(self) -> &'static str {
        match self {
            Event::Password => "password",
            Event::CodeSent(_) => "code_sent",
            Event::Code(_) => "code",
            Event::Link(_) => "link",
            Event::Approval(_) => "approval",
            Event::Lockout => "lockout",
            Event::Logout => "logout",
        }
    }

    /// The purpose of the flow the event belongs to, for the events of a flow.
    pub fn purpose(self) -> Option<Purpose> {
        match self {
            Event::CodeSent(purpose)
            | Event::Code(purpose)
            | Event::Link(purpose)
            | Event::Approval(purpose) => Some(purpose),
            Event::Password | Event::Lockout | Event::Logout => None,
        }
    }
}

/// How an event ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditResult {
    Ok,
    /// A wrong password, or an unknown account.
    Failed,
    /// The right password of a disabled account.
    Disabled,
    Throttled,
    /// A code send refused by its limits.
    Refused,
    /// A code replaced by a newer one (sent, or typed after the fact).
    Replaced,
    Wrong,
    Expired,
    Used,
    TooManyAttempts,
    /// The account's daily budget of wrong codes is spent.
    Locked,
    Unknown,
    /// A lockout: the address reached the stop after consecutive password failures.
    PasswordStop,
    /// A lockout: the account's daily budget of wrong codes was just spent.
    CodeBudget,
    /// An approval with a number other than the waiting page's: the sign-in is refused.
    WrongNumber,
    /// "This wasn't me": the sign-in is refused.
    Denied,
}

impl AuditResult {
    pub fn as_str(self) -> &'static str {
        match self {
            AuditResult::Ok => "ok",
            AuditResult::Failed => "failed",
            AuditResult::Disabled => "disabled",
            AuditResult::Throttled => "throttled",
            AuditResult::Refused => "refused",
            AuditResult::Replaced => "replaced",
            AuditResult::Wrong => "wrong",
            AuditResult::Expired => "expired",
            AuditResult::Used => "used",
            AuditResult::TooManyAttempts => "too_many_attempts",
            AuditResult::Locked => "locked",
            AuditResult::Unknown => "unknown",
            AuditResult::PasswordStop => "password",
            AuditResult::CodeBudget => "code_budget",
            AuditResult::WrongNumber => "wrong_number",
            AuditResult::Denied => "denied",
        }
    }
}
