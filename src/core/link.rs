//! The link in the code mail. Opening it consumes nothing (mail scanners
//! prefetch links). In the browser that typed the password it signs that
//! browser in, as the code would; anywhere else it can only approve that
//! browser's waiting sign-in, by the two-digit number the waiting page
//! shows, or refuse it. Holding the mail alone never signs anyone in
//! (SECURITY.md item 29). The link and the code are one secret: whichever
//! is used first consumes it.

use super::Core;
use super::challenge::{Behind, Refusal, Verdict};
use super::code::audit_result;
use super::finish::{SignedIn, finish_sign_in};
use crate::db::challenges::FlowEnd;
use crate::db::{flows, users};
use crate::domain::audit::{AuditResult, Event};
use crate::domain::email::EmailAddress;
use crate::domain::pending::Pending;
use crate::domain::purpose::Purpose;
use crate::domain::requester::{Requested, Requester};

/// What an opened link offers the browser that opened it.
pub enum LinkView {
    /// This browser typed the password for the link's sign-in: continue here.
    ContinueHere,
    /// Another browser: it may approve (or refuse) the waiting sign-in.
    Approve(Approval),
    Refused(Refusal),
    /// No sign-in link has this token.
    Unknown,
}

/// What an approval names: the sign-in waiting in another browser.
pub struct Approval {
    /// The browser, IP and time of the password step.
    pub requested: Requested,
}

pub enum LinkOutcome {
    SignedIn(SignedIn),
    /// This browser is not the one waiting for the sign-in: it may only approve.
    NotHere(Approval),
    Refused(Refusal),
    Unknown,
    /// The account was disabled, removed or given a new password meanwhile.
    Gone,
}

/// An answer on the approval page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// The two-digit number as typed.
    Number(i32),
    /// "This wasn't me".
    Deny,
}

pub enum ApprovalOutcome {
    /// The waiting browser, which `requested` names, may now finish.
    Approved(Requested),
    /// A wrong number or a denial: the sign-in is refused, its owner told.
    Refused {
        denied: bool,
    },
    /// The link can no longer be used.
    Dead(Refusal),
    Unknown,
}

/// What the link with `token` offers the browser waiting for `this_browser`
/// (its pending sign-in, if any), consuming nothing.
pub async fn open_link(core: &Core, token: &str, this_browser: Option<&Pending>) -> anyhow::Result<LinkView> {
    Ok(match core.challenges.behind_link(token, Purpose::Login).await? {
        Behind::Live(challenge) if this_browser.is_some_and(|p| p.flow_id == challenge.flow_id) => {
            LinkView::ContinueHere
        }
        Behind::Live(challenge) => match approval(core, challenge.flow_id).await? {
            Some(approval) => LinkView::Approve(approval),
            None => LinkView::Unknown,
        },
        Behind::Refused(refusal) => LinkView::Refused(refusal),
        Behind::Unknown => LinkView::Unknown,
    })
}

async fn approval(core: &Core, flow_id: i64) -> anyhow::Result<Option<Approval>> {
    let Some(flow) = flows::find(&core.db, flow_id).await? else { return Ok(None) };
    let at = time::OffsetDateTime::from_unix_timestamp(flow.started_at)?;
    Ok(Some(Approval { requested: Requested { browser: flow.browser, ip: flow.client_ip, at } }))
}

/// Uses the link with `token` in the browser waiting for `this_browser`:
/// it signs in if it is the browser that typed the password.
pub async fn continue_here(
    core: &Core,
    token: &str,
    this_browser: Option<&Pending>,
    requester: &Requester,
    browser: Option<&str>,
) -> anyhow::Result<LinkOutcome> {
    let challenge = match core.challenges.behind_link(token, Purpose::Login).await? {
        Behind::Live(challenge) => challenge,
        Behind::Refused(refusal) => return Ok(LinkOutcome::Refused(refusal)),
        Behind::Unknown => return Ok(LinkOutcome::Unknown),
    };
    if this_browser.is_none_or(|p| p.flow_id != challenge.flow_id) {
        return Ok(match approval(core, challenge.flow_id).await? {
            Some(approval) => LinkOutcome::NotHere(approval),
            None => LinkOutcome::Unknown,
        });
    }
    let verdict = core.challenges.use_link(token, &challenge, FlowEnd::Finish).await?;
    let event = Event::Link(Purpose::Login);
    core.audit.record(requester, Some(challenge.user_id), None, event, audit_result(&verdict)).await;
    Ok(match verdict {
        Verdict::Accepted(accepted) => match finish_sign_in(core, accepted, requester, browser).await? {
            Some(signed_in) => LinkOutcome::SignedIn(signed_in),
            None => LinkOutcome::Gone,
        },
        Verdict::Refused(refusal) => LinkOutcome::Refused(refusal),
        Verdict::Wrong { .. } | Verdict::Unknown => LinkOutcome::Unknown,
    })
}

/// Answers the approval page of the link with `token`, in a browser that is
/// not the waiting one. The right number approves the waiting sign-in (and
/// gives this browser nothing); a wrong number or a denial refuses it,
/// counts as a wrong guess in the account's budget and tells its owner.
pub async fn answer_approval(
    core: &Core,
    token: &str,
    answer: Answer,
    requester: &Requester,
) -> anyhow::Result<ApprovalOutcome> {
    let challenge = match core.challenges.behind_link(token, Purpose::Login).await? {
        Behind::Live(challenge) => challenge,
        Behind::Refused(refusal) => return Ok(ApprovalOutcome::Dead(refusal)),
        Behind::Unknown => return Ok(ApprovalOutcome::Unknown),
    };
    let Some(flow) = flows::find(&core.db, challenge.flow_id).await? else {
        return Ok(ApprovalOutcome::Unknown);
    };
    let right = answer == Answer::Number(flow.match_number);
    let end = if right { FlowEnd::Approve } else { FlowEnd::Refuse };
    let verdict = core.challenges.use_link(token, &challenge, end).await?;
    if let Verdict::Refused(refusal) = verdict {
        return Ok(ApprovalOutcome::Dead(refusal));
    }
    let at = time::OffsetDateTime::from_unix_timestamp(flow.started_at)?;
    let requested = Requested { browser: flow.browser, ip: flow.client_ip, at };
    let result = match answer {
        _ if right => AuditResult::Ok,
        Answer::Deny => AuditResult::Denied,
        Answer::Number(_) => AuditResult::WrongNumber,
    };
    let event = Event::Approval(Purpose::Login);
    core.audit.record(requester, Some(flow.user_id), None, event, result).await;
    if right {
        return Ok(ApprovalOutcome::Approved(requested));
    }
    core.throttle.count_wrong_guess(flow.user_id).await?;
    tell_owner_of_refusal(core, flow.user_id, &requested).await;
    Ok(ApprovalOutcome::Refused { denied: answer == Answer::Deny })
}

/// A sign-in was refused from the mail: whoever started it had the password.
async fn tell_owner_of_refusal(core: &Core, user_id: i64, requested: &Requested) {
    tracing::warn!(user_id, "a sign-in was refused from the mail");
    let queued = async {
        let Some(user) = users::find_by_id(&core.db, user_id).await? else { return Ok(()) };
        let notice = core.letters.sign_in_refused_notice(EmailAddress::parse(&user.email)?, requested)?;
        core.outbox.enqueue(&notice).await
    };
    if let Err(e) = queued.await {
        tracing::error!(
            user_id,
            error = format!("{e:#}"),
            "queueing the refusal notice failed; it is not sent"
        );
    }
}
