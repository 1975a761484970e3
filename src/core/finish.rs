//! Where every way of proving the mailbox ends: the code, the link in the
//! waiting browser, or an approval from another device was accepted. The
//! account must still be enabled, under the credentials of the password
//! step; the browser is remembered for the account, and a browser new to it
//! earns its owner a notice naming the browser, the IP and the time
//! (`notify_new_sign_in`).

use super::Core;
use super::challenge::Accepted;
use crate::db::known_browsers;
use crate::db::users::{self, User};
use crate::domain::code::{looks_like_token, random_token};
use crate::domain::email::EmailAddress;
use crate::domain::keys::keyed_hash;
use crate::domain::requester::Requester;

/// A completed sign-in: the session now belongs to `user`.
pub struct SignedIn {
    pub user: User,
    /// The account's `auth_epoch` the session is granted under.
    pub epoch: i64,
    pub return_to: Option<String>,
    /// The remembered-browser token the browser should keep, if recording it worked.
    pub browser_token: Option<String>,
}

/// A browser not seen for this long is forgotten, and a sign-in from it is new again.
pub const BROWSER_FORGOTTEN_AFTER_SECS: i64 = known_browsers::FORGOTTEN_AFTER_SECS;

/// Completes the sign-in `accepted` names in the browser that presented
/// `browser` (its remembered-browser token, if any). `None` when the
/// account is gone, disabled, or its credentials changed meanwhile.
pub async fn finish_sign_in(
    core: &Core,
    accepted: Accepted,
    requester: &Requester,
    browser: Option<&str>,
) -> anyhow::Result<Option<SignedIn>> {
    let user = users::find_by_id(&core.db, accepted.user_id).await?;
    let Some(user) = user.filter(|u| !u.disabled && u.auth_epoch == accepted.epoch) else {
        return Ok(None);
    };
    tracing::info!(user_id = user.id, "sign-in completed");
    // The sign-in stands even if this bookkeeping fails.
    let browser_token = match note_browser(core, &user, requester, browser).await {
        Ok(token) => Some(token),
        Err(e) => {
            tracing::error!(
                user_id = user.id,
                error = format!("{e:#}"),
                "noting the browser of a sign-in failed"
            );
            None
        }
    };
    Ok(Some(SignedIn { epoch: user.auth_epoch, user, return_to: accepted.return_to, browser_token }))
}

/// Records the browser of a completed sign-in of `user`, queues the notice
/// if the account did not know it, and returns the token that (re)marks it.
async fn note_browser(
    core: &Core,
    user: &User,
    requester: &Requester,
    presented: Option<&str>,
) -> anyhow::Result<String> {
    let presented = presented.filter(|t| looks_like_token(t));
    let now = core.clock.now();
    let known = match presented {
        Some(token) => known_browsers::touch(&core.db, user.id, &browser_digest(core, token), now).await?,
        None => false,
    };
    let token = presented.map_or_else(random_token, str::to_owned);
    if !known {
        let notice = if core.notify_new_sign_in {
            let requested = requester.requested(time::OffsetDateTime::now_utc());
            Some(core.letters.new_sign_in_notice(EmailAddress::parse(&user.email)?, &requested)?)
        } else {
            None
        };
        known_browsers::remember(&core.db, user.id, &browser_digest(core, &token), now, notice.as_ref())
            .await?;
        if notice.is_some() {
            core.outbox.wake();
        }
    }
    Ok(token)
}

/// The keyed hash under which a remembered browser's token is stored.
pub fn browser_digest(core: &Core, token: &str) -> Vec<u8> {
    keyed_hash(&core.browser_key, format!("browser:{token}").as_bytes()).to_vec()
}
