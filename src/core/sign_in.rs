//! Step 1 of signing in: email and password. Unknown, disabled and
//! wrong-password attempts are alike in outcome and in cost (one argon2
//! verification each); a right password starts a flow and mails its code.

use super::Core;
use super::challenge::FlowStart;
use super::finish::browser_digest;
use super::hashing::HashPermit;
use super::hashing::Verified;
use super::throttle::{Attempt, Guesser};
use crate::db::known_browsers;
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
    /// The browser's remembered-browser token, if it has one.
    pub browser: Option<&'a str>,
}

pub enum PasswordOutcome {
    /// The password was right and a code is on its way: the session holds
    /// this pending sign-in from now on.
    CodeSent(Pending),
    /// A wrong address or password, or a disabled account: all alike.
    Refused,
    /// Too many attempts from this IP, for this address or from this browser.
    Throttled { retry_after_secs: i64 },
    /// Too many codes sent to this account, from this IP, or overall.
    TooManyCodesSent { retry_after_secs: i64 },
    /// Password hashing is at capacity: try again in a moment.
    Busy,
}

/// The password step, then the code mail for a right password.
pub async fn enter_password(core: &Core, step: PasswordStep<'_>) -> anyhow::Result<PasswordOutcome> {
    let admitted = match admit(core, &step).await? {
        Ok(admitted) => admitted,
        Err(refused) => return Ok(refused),
    };
    let stored = admitted.user.as_ref().map(|u| u.password_hash.as_str());
    let verified = match core.hasher.verify(admitted.permit, step.password, stored).await {
        Ok(verified) => verified,
        Err(e) => {
            // Not checked: it was no failure.
            core.throttle.password_unchecked(step.requester, &admitted.guesser).await?;
            return Err(e);
        }
    };
    // The bookkeeping of the outcome and the code mail: one unit of work.
    let (user, guesser, attempt) = (admitted.user, admitted.guesser, admitted.attempt);
    core.db
        .unit(async {
            match settle(core, &step, user, &guesser, attempt, verified).await? {
                Some(user) => send_code(core, &step, user).await,
                None => Ok(PasswordOutcome::Refused),
            }
        })
        .await
}

/// A right password: its code mail, unless the account had too many.
async fn send_code(core: &Core, step: &PasswordStep<'_>, user: User) -> anyhow::Result<PasswordOutcome> {
    let requester = step.requester;
    if let Err(retry_after_secs) =
        core.throttle.admit_code_send(&core.audit, requester, &user, Purpose::Login).await?
    {
        return Ok(PasswordOutcome::TooManyCodesSent { retry_after_secs });
    }
    let to = EmailAddress::parse(&user.email)?;
    let requested = requester.requested(time::OffsetDateTime::now_utc());
    let mail = core.letters.code_mail(&to, Purpose::Login, &requested);
    let start = FlowStart {
        user_id: user.id,
        epoch: user.auth_epoch,
        purpose: Purpose::Login,
        return_to: step.return_to,
        requested: &requested,
    };
    let pending = core.challenges.start(start, mail).await?;
    core.outbox.wake();
    let sent = Event::CodeSent(Purpose::Login);
    core.audit.record(requester, Some(user.id), Some(&user.email), sent, AuditResult::Ok).await;
    Ok(PasswordOutcome::CodeSent(pending))
}

/// An attempt that may be checked: its place on the hashing pool, the
/// account (if the address has one) and the attempt reserved in its runs of
/// failures.
struct Admitted<'a> {
    permit: HashPermit,
    user: Option<User>,
    guesser: Guesser<'a>,
    attempt: Attempt,
}

/// Everything before the hash, as one unit of work: `Err` for an attempt
/// that is not checked (throttled, or the hasher is busy).
async fn admit<'a>(
    core: &Core,
    step: &PasswordStep<'a>,
) -> anyhow::Result<Result<Admitted<'a>, PasswordOutcome>> {
    // A place on the hashing pool first: when it is full, refuse before any other work.
    let Ok(permit) = core.hasher.admit().await else { return Ok(Err(PasswordOutcome::Busy)) };
    let requester = step.requester;
    core.db
        .unit(async {
            let address = EmailAddress::parse(step.email).ok();
            let user = match &address {
                Some(address) => users::find_by_email(&core.db, address).await?,
                None => None,
            };
            let guesser = guesser(core, step, user.as_ref()).await?;
            match core.throttle.admit_password_attempt(requester, &guesser).await? {
                Ok(attempt) => Ok(Ok(Admitted { permit, user, guesser, attempt })),
                Err(retry_after_secs) => {
                    let typed = address.as_ref().map(EmailAddress::as_str);
                    core.audit.record(requester, None, typed, Event::Password, AuditResult::Throttled).await;
                    Ok(Err(PasswordOutcome::Throttled { retry_after_secs }))
                }
            }
        })
        .await
}

/// The bookkeeping of a checked password. Every kind of failure alike is
/// `None`.
async fn settle(
    core: &Core,
    step: &PasswordStep<'_>,
    user: Option<User>,
    guesser: &Guesser<'_>,
    attempt: Attempt,
    verified: Verified,
) -> anyhow::Result<Option<User>> {
    let requester = step.requester;
    let address = EmailAddress::parse(step.email).ok();
    let typed = address.as_ref().map(EmailAddress::as_str);
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
        Some(_) => core.throttle.password_succeeded(requester, guesser).await?,
        None => core.throttle.password_failed(&core.audit, requester, guesser, attempt).await,
    }
    Ok(user)
}

/// Whose run of failures this attempt counts in: the typed address's, or,
/// for a browser that has completed a sign-in to this account before, that
/// browser's own, so that a stranger's guesses at the address never lock
/// the owner's browsers out (SECURITY.md item 31).
async fn guesser<'a>(
    core: &Core,
    step: &PasswordStep<'a>,
    user: Option<&User>,
) -> anyhow::Result<Guesser<'a>> {
    let mut guesser = Guesser { typed: step.email, remembered: None };
    if let Some(token) = step.browser {
        let digest = browser_digest(core, token);
        // Looked up whether or not the account exists, so both cost the same.
        let account = user.map_or(0, |u| u.id);
        if known_browsers::is_known(&core.db, account, &digest, core.clock.now()).await? {
            guesser.remembered = Some((account, digest));
        }
    }
    Ok(guesser)
}
