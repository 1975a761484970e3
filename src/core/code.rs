//! Step 2 of signing in, in the browser that typed the password: the code
//! from the mail, or waiting for an approval from another device. A right
//! code finishes the sign-in; every guess is counted against the code and
//! the account's 24 h budget, and the guess that spends the budget warns the
//! account's owner.

use super::Core;
use super::challenge::{Accepted, Refusal, Verdict};
use super::finish::{SignedIn, finish_sign_in};
use crate::db::{challenges, flows, users};
use crate::domain::audit::{AuditResult, Event};
use crate::domain::code::OneTimeCode;
use crate::domain::email::EmailAddress;
use crate::domain::mail::MailProgress;
use crate::domain::pending::Pending;
use crate::domain::requester::Requester;

pub enum CodeOutcome {
    SignedIn(SignedIn),
    Wrong {
        attempts_left: i32,
    },
    Refused(Refusal),
    /// The pending sign-in is gone (its flow is over or too old, it belongs
    /// to another purpose, or its account changed): start over.
    Gone,
}

/// Where the waiting browser's sign-in stands.
pub enum Standing {
    /// Still waiting for the code or an approval.
    Waiting(Waiting),
    /// Approved from another device: `take_approval` signs this browser in.
    Approved,
    /// Refused from the mail (a wrong number, or "This wasn't me").
    Refused,
    /// Over, too old or revoked: start over.
    Gone,
}

/// What the code page says about a pending flow.
pub struct Waiting {
    /// `j•••@example.com`: where the code went.
    pub masked_email: String,
    pub mail: MailProgress,
    /// When the mail server took the mail.
    pub sent_at: Option<i64>,
    /// Seconds until "send a new code" works.
    pub resend_in_secs: i64,
    /// The two digits an approval from another device asks for.
    pub match_number: i32,
}

/// How the waiting browser's flow stands, changing nothing.
pub async fn standing(core: &Core, pending: &Pending) -> anyhow::Result<Standing> {
    core.db.unit(read_standing(core, pending)).await
}

async fn read_standing(core: &Core, pending: &Pending) -> anyhow::Result<Standing> {
    let flow = flows::find(&core.db, pending.flow_id).await?;
    let ours = |f: &flows::Flow| f.user_id == pending.user_id && f.purpose == pending.purpose;
    let Some(flow) = flow.filter(ours) else { return Ok(Standing::Gone) };
    if flow.refused_at.is_some() {
        return Ok(Standing::Refused);
    }
    let over = flow.finished_at.is_some() || flow.expires_at <= core.clock.now();
    if over {
        return Ok(Standing::Gone);
    }
    if flow.approved_at.is_some() {
        return Ok(Standing::Approved);
    }
    let challenge = challenges::find(&core.db, pending.challenge_id).await?;
    let user = users::find_by_id(&core.db, pending.user_id).await?;
    let (Some(challenge), Some(user)) = (challenge, user) else { return Ok(Standing::Gone) };
    if challenge.flow_id != flow.id || user.auth_epoch != flow.epoch || user.disabled {
        return Ok(Standing::Gone);
    }
    let cooldown = core.challenges.rules().resend_cooldown_secs;
    Ok(Standing::Waiting(Waiting {
        masked_email: EmailAddress::parse(&user.email).map(|e| e.masked()).unwrap_or_default(),
        mail: challenge.mail_progress,
        sent_at: challenge.mail_sent_at,
        resend_in_secs: (challenge.created_at + cooldown - core.clock.now()).max(0),
        match_number: flow.match_number,
    }))
}

/// The flow was approved from another device: the waiting browser takes it
/// over, once, and is signed in. `None` when there is no approval to take.
pub async fn take_approval(
    core: &Core,
    pending: &Pending,
    requester: &Requester,
    browser: Option<&str>,
) -> anyhow::Result<Option<SignedIn>> {
    let Some(flow) = flows::finish_approved(&core.db, pending.flow_id, core.clock.now()).await? else {
        return Ok(None);
    };
    if flow.user_id != pending.user_id {
        return Ok(None);
    }
    let accepted =
        Accepted { user_id: flow.user_id, flow_id: flow.id, epoch: flow.epoch, return_to: flow.return_to };
    finish_sign_in(core, accepted, requester, browser).await
}

/// Checks `code` for the pending flow of this session; `browser` is the
/// browser's remembered-browser token, if it has one. One unit of work:
/// the check, the sign-in and their records run back to back.
pub async fn enter_code(
    core: &Core,
    pending: &Pending,
    code: &OneTimeCode,
    requester: &Requester,
    browser: Option<&str>,
) -> anyhow::Result<CodeOutcome> {
    core.db.unit(check_and_finish(core, pending, code, requester, browser)).await
}

async fn check_and_finish(
    core: &Core,
    pending: &Pending,
    code: &OneTimeCode,
    requester: &Requester,
    browser: Option<&str>,
) -> anyhow::Result<CodeOutcome> {
    let user_id = Some(pending.user_id);
    let event = Event::Code(pending.purpose);
    let accepted = core.audit.row(requester, user_id, None, event, AuditResult::Ok);
    let check = core.challenges.check_code(pending.challenge_id, pending.purpose, code, &accepted).await?;
    if !check.recorded {
        core.audit.record(requester, user_id, None, event, audit_result(&check.verdict)).await;
    }
    if check.budget_just_spent {
        core.audit.record(requester, user_id, None, Event::Lockout, AuditResult::CodeBudget).await;
        warn_of_spent_budget(core, pending.user_id).await;
    }
    Ok(match check.verdict {
        Verdict::Accepted(accepted) => match finish_sign_in(core, accepted, requester, browser).await? {
            Some(signed_in) => CodeOutcome::SignedIn(signed_in),
            None => CodeOutcome::Gone,
        },
        Verdict::Wrong { attempts_left } => CodeOutcome::Wrong { attempts_left },
        // The code is used because another device approved the sign-in: it is this browser's now.
        Verdict::Refused(Refusal::Used) => match take_approval(core, pending, requester, browser).await? {
            Some(signed_in) => CodeOutcome::SignedIn(signed_in),
            None => CodeOutcome::Refused(Refusal::Used),
        },
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
        Verdict::Refused(Refusal::RefusedFromMail) => AuditResult::Denied,
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
