//! The link in the code mail. Opening it consumes nothing (mail scanners
//! prefetch links); using it is the same one-time secret as the code, so
//! whichever is used first consumes both.

use super::Core;
use super::challenge::{Refusal, Verdict};
use super::code::audit_result;
use super::finish::{SignedIn, finish_sign_in};
use crate::domain::audit::Event;
use crate::domain::purpose::Purpose;
use crate::domain::requester::Requester;

/// What an opened link points at.
pub enum LinkState {
    /// A live sign-in: the page may offer to continue.
    Live,
    Refused(Refusal),
    /// No sign-in link has this token.
    Unknown,
}

pub enum LinkOutcome {
    SignedIn(SignedIn),
    Refused(Refusal),
    Unknown,
    /// The account was disabled or removed meanwhile.
    Gone,
}

/// What the link with `token` points at, consuming nothing.
pub async fn open_link(core: &Core, token: &str) -> anyhow::Result<LinkState> {
    Ok(match core.challenges.peek_link(token, Purpose::Login).await? {
        Verdict::Accepted { .. } => LinkState::Live,
        Verdict::Refused(refusal) => LinkState::Refused(refusal),
        Verdict::Wrong { .. } | Verdict::Unknown => LinkState::Unknown,
    })
}

/// Uses the link with `token`: the sign-in it belongs to is finished in the
/// browser that presented `browser` (its remembered-browser token, if any).
pub async fn use_link(
    core: &Core,
    token: &str,
    requester: &Requester,
    browser: Option<&str>,
) -> anyhow::Result<LinkOutcome> {
    let verdict = core.challenges.use_link(token, Purpose::Login).await?;
    let user_id = match &verdict {
        Verdict::Accepted { user_id, .. } => Some(*user_id),
        _ => None,
    };
    core.audit.record(requester, user_id, None, Event::Link(Purpose::Login), audit_result(&verdict)).await;
    Ok(match verdict {
        Verdict::Accepted { user_id, return_to } => {
            match finish_sign_in(core, user_id, return_to, requester, browser).await? {
                Some(signed_in) => LinkOutcome::SignedIn(signed_in),
                None => LinkOutcome::Gone,
            }
        }
        Verdict::Refused(refusal) => LinkOutcome::Refused(refusal),
        Verdict::Wrong { .. } | Verdict::Unknown => LinkOutcome::Unknown,
    })
}
