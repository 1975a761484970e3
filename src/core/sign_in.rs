//! Step 1 of signing in: email and password. Unknown, disabled and
//! wrong-password attempts are alike in outcome and in cost (one argon2
//! verification each); a right password starts a flow and mails its code.

use super::Core;
use super::hashing::Verified;
use crate::db::users::{self, User};
use crate::domain::audit::{AuditResult, Event};
use crate::domain::email::EmailAddress;
use crate::domain::password::Password;
use crate::domain::pending::Pending;
use crate::domain::purpose::Purpose;
use crate::domain::requester::Requester;

/// A password step as submitted.
pub struct PasswordStep<'a> {
    /// The address as typed: throttled as typed, even when it is no address at all.
    pub email: &'a str,
    pub password: &'a Password,
    /// Already checked against the return policy.
    pub return_to: Option<&'a str>,
    pub requester: &'a Requester,
}

pub enum PasswordOutcome {
    /// The password was right and a code is on its way: the session holds
    /// this pending sign-in from now on.
    CodeSent(Pending),
    /// A wrong address or password, or a disabled account: all alike.
    Refused,
    /// Too many attempts from this IP or for this address.
    Throttled { retry_after_secs: i64 },
    /// Too many codes sent to this account, from this IP, or overall.
    TooManyCodesSent { retry_after_secs: i64 },
    /// Password hashing is at capacity: try again in a moment.
    Busy,
}

/// The password step, then the code mail for a right password.
pub async fn enter_password(core: &Core, step: PasswordStep<'_>) -> anyhow::Result<PasswordOutcome> {
    let user = match check_password(core, &step).await? {
        Ok(Some(user)) => user,
        Ok(None) => return Ok(PasswordOutcome::Refused),
        Err(refused) => return Ok(refused),
    };
    let requester = step.requester;
    if let Err(retry_after_secs) =
        core.throttle.admit_code_send(&core.audit, requester, &user, Purpose::Login).await?
    {
        return Ok(PasswordOutcome::TooManyCodesSent { retry_after_secs });
    }
    let to = EmailAddress::parse(&user.email)?;
    let requested = requester.requested(time::OffsetDateTime::now_utc());
    let mail = core.letters.code_mail(&to, Purpose::Login, &requested);
    let challenge_id = core.challenges.issue(user.id, Purpose::Login, step.return_to, mail).await?;
    core.outbox.wake();
    core.audit
        .record(requester, Some(user.id), Some(&user.email), Event::CodeSent(Purpose::Login), AuditResult::Ok)
        .await;
    Ok(PasswordOutcome::CodeSent(Pending { user_id: user.id, challenge_id, purpose: Purpose::Login }))
}

/// The password check proper: throttles, then one argon2 verification
/// (against a dummy hash when there is no account), then the bookkeeping of
/// the outcome. `Ok(None)` for every kind of failure alike; `Err` for an
/// attempt that was not checked (throttled, or the hasher is busy).
async fn check_password(
    core: &Core,
    step: &PasswordStep<'_>,
) -> anyhow::Result<Result<Option<User>, PasswordOutcome>> {
    let (requester, email) = (step.requester, step.email);
    // A place on the hashing pool first: when it is full, refuse before any other work.
    let Ok(permit) = core.hasher.admit().await else { return Ok(Err(PasswordOutcome::Busy)) };
    let address = EmailAddress::parse(email).ok();
    let typed = address.as_ref().map(EmailAddress::as_str);
    let admitted = match core.throttle.admit_password_attempt(requester, email).await? {
        Ok(admitted) => admitted,
        Err(retry_after_secs) => {
            core.audit.record(requester, None, typed, Event::Password, AuditResult::Throttled).await;
            return Ok(Err(PasswordOutcome::Throttled { retry_after_secs }));
        }
    };
    let user = match &address {
        Some(address) => users::find_by_email(&core.db, address).await?,
        None => None,
    };
    let stored = user.as_ref().map(|u| u.password_hash.as_str());
    let verified = match core.hasher.verify(permit, step.password, stored).await {
        Ok(verified) => verified,
        Err(e) => {
            // Not checked: it was no failure.
            core.throttle.password_unchecked(requester, email).await?;
            return Err(e);
        }
    };
    let user_id = user.as_ref().map(|u| u.id);
    let (user, result) = match (user, verified) {
        (Some(user), Verified::Yes | Verified::YesRehashed(_)) if user.disabled => {
            (None, AuditResult::Disabled)
        }
        (Some(user), Verified::YesRehashed(new_hash)) => {
            users::update_hash_by_id(&core.db, user.id, &new_hash, core.clock.now()).await?;
            (Some(user), AuditResult::Ok)
        }
        (Some(user), Verified::Yes) => (Some(user), AuditResult::Ok),
        (_, _) => (None, AuditResult::Failed),
    };
    core.audit.record(requester, user_id, typed, Event::Password, result).await;
    match &user {
        Some(_) => core.throttle.password_succeeded(requester, email).await?,
        None => core.throttle.password_failed(&core.audit, requester, email, admitted).await,
    }
    Ok(Ok(user))
}
