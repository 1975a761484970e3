//! Step 2 of signing in: the code typed from the mail. A right code
//! finishes the sign-in; every guess is counted against the code and the
//! account's 24 h budget, and the guess that spends the budget warns the
//! account's owner.

use super::Core;
use super::challenge::{Refusal, Verdict};
use super::finish::{SignedIn, finish_sign_in};
use crate::db::{challenges, users};
use crate::domain::audit::{AuditResult, Event};
use crate::domain::code::OneTimeCode;
use crate::domain::email::EmailAddress;
use crate::domain::mail::MailProgress;
use crate::domain::pending::Pending;
use crate::domain::requester::Requester;

/// What the code page says about a pending flow.
pub struct Waiting {
    /// `j•••@example.com`: where the code went.
    pub masked_email: String,
    pub mail: MailProgress,
    /// When the mail server took the mail.
    pub sent_at: Option<i64>,
    /// Seconds until "send a new code" works.
    pub resend_in_secs: i64,
}

/// The state of the pending flow, or `None` when it is gone.
pub async fn waiting(core: &Core, pending: &Pending) -> anyhow::Result<Option<Waiting>> {
    let challenge = challenges::find(&core.db, pending.challenge_id).await?;
    let Some(challenge) = challenge.filter(|c| c.purpose == pending.purpose) else { return Ok(None) };
    let Some(user) = users::find_by_id(&core.db, pending.user_id).await? else { return Ok(None) };
    let cooldown = core.challenges.rules().resend_cooldown_secs;
    Ok(Some(Waiting {
        masked_email: EmailAddress::parse(&user.email).map(|e| e.masked()).unwrap_or_default(),
        mail: challenge.mail_progress,
        sent_at: challenge.mail_sent_at,
        resend_in_secs: (challenge.created_at + cooldown - core.clock.now()).max(0),
    }))
}

pub enum CodeOutcome {
    SignedIn(SignedIn),
    Wrong {
        attempts_left: i32,
    },
    Refused(Refusal),
    /// The pending sign-in is gone (its challenge no longer exists, is of
    /// another purpose, or its account was disabled): start over.
    Gone,
}

/// Checks `code` for the pending flow of this session; `browser` is the
/// browser's remembered-browser token, if it has one.
pub async fn enter_code(
    core: &Core,
    pending: &Pending,
    code: &OneTimeCode,
    requester: &Requester,
    browser: Option<&str>,
) -> anyhow::Result<CodeOutcome> {
    let check = core.challenges.check_code(pending.challenge_id, pending.purpose, code).await?;
    let user_id = Some(pending.user_id);
    core.audit
        .record(requester, user_id, None, Event::Code(pending.purpose), audit_result(&check.verdict))
        .await;
    if check.budget_just_spent {
        core.audit.record(requester, user_id, None, Event::Lockout, AuditResult::CodeBudget).await;
        warn_of_spent_budget(core, pending.user_id).await;
    }
    Ok(match check.verdict {
        Verdict::Accepted { user_id, return_to } => {
            match finish_sign_in(core, user_id, return_to, requester, browser).await? {
                Some(signed_in) => CodeOutcome::SignedIn(signed_in),
                None => CodeOutcome::Gone,
            }
        }
        Verdict::Wrong { attempts_left } => CodeOutcome::Wrong { attempts_left },
        Verdict::Refused(refusal) => CodeOutcome::Refused(refusal),
        Verdict::Unknown => CodeOutcome::Gone,
    })
}

/// How a verdict on a code or link is recorded.
pub fn audit_result(verdict: &Verdict) -> AuditResult {
    match verdict {
        Verdict::Accepted { .. } => AuditResult::Ok,
        Verdict::Wrong { .. } => AuditResult::Wrong,
        Verdict::Refused(Refusal::Replaced) => AuditResult::Replaced,
        Verdict::Refused(Refusal::Expired) => AuditResult::Expired,
        Verdict::Refused(Refusal::Used) => AuditResult::Used,
        Verdict::Refused(Refusal::TooManyAttempts) => AuditResult::TooManyAttempts,
        Verdict::Refused(Refusal::Locked { .. }) => AuditResult::Locked,
        Verdict::Unknown => AuditResult::Unknown,
    }
}

/// The account's last wrong code of the day was just spent: whoever typed
/// them knows the password, so its owner should hear about it.
async fn warn_of_spent_budget(core: &Core, user_id: i64) {
    tracing::warn!(user_id, "daily budget of wrong codes spent; code entry closed");
    let queued = async {
        let Some(user) = users::find_by_id(&core.db, user_id).await? else { return Ok(()) };
        core.outbox.enqueue(&core.letters.budget_spent_warning(EmailAddress::parse(&user.email)?)?).await
    };
    if let Err(e) = queued.await {
        tracing::error!(
            user_id,
            error = format!("{e:#}"),
            "queueing the warning mail failed; it is not sent"
        );
    }
}
