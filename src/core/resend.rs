//! "Send a new code": the pending flow's challenge is replaced by a new one
//! once the cooldown is over, within the account's and the IP's send limits
//! — and only while the account is still enabled under the credentials of
//! the password step, and the flow is live.

use super::Core;
use super::challenge::Resend;
use crate::db::users;
use crate::domain::audit::{AuditResult, Event};
use crate::domain::email::EmailAddress;
use crate::domain::pending::Pending;
use crate::domain::requester::Requester;

pub enum ResendOutcome {
    /// A new code is on its way; the session holds this pending flow now.
    Sent(Pending),
    /// Too soon after the last code.
    Cooldown {
        retry_after_secs: i64,
    },
    TooManyCodesSent {
        retry_after_secs: i64,
    },
    /// The flow is over (used, replaced elsewhere, or gone): start over.
    Gone,
}

pub async fn resend_code(
    core: &Core,
    pending: &Pending,
    requester: &Requester,
) -> anyhow::Result<ResendOutcome> {
    let user = users::find_by_id(&core.db, pending.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled && u.auth_epoch == pending.epoch) else {
        return Ok(ResendOutcome::Gone);
    };
    let slots = match core.throttle.admit_code_send(&core.audit, requester, &user, pending.purpose).await? {
        Ok(slots) => slots,
        Err(retry_after_secs) => return Ok(ResendOutcome::TooManyCodesSent { retry_after_secs }),
    };
    let to = EmailAddress::parse(&user.email)?;
    let requested = requester.requested(time::OffsetDateTime::now_utc());
    let mail = core.letters.code_mail(&to, pending.purpose, &requested);
    match core.challenges.resend(pending.challenge_id, pending.purpose, mail).await? {
        Resend::Sent(challenge_id) => {
            core.outbox.wake();
            core.audit
                .record(
                    requester,
                    Some(user.id),
                    Some(&user.email),
                    Event::CodeSent(pending.purpose),
                    AuditResult::Replaced,
                )
                .await;
            Ok(ResendOutcome::Sent(Pending { challenge_id, ..*pending }))
        }
        Resend::Cooldown(retry_after_secs) => {
            core.throttle.refund(slots).await?;
            Ok(ResendOutcome::Cooldown { retry_after_secs })
        }
        Resend::Gone => {
            core.throttle.refund(slots).await?;
            Ok(ResendOutcome::Gone)
        }
    }
}
