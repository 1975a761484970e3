//! Forward-auth: whether a request a proxy holds may reach the app behind
//! it. Only a fully signed-in session of an enabled account is admitted,
//! and only to a host whose access rule lists the account.

use super::Core;
use super::accounts::enabled_account;
use crate::db::users::User;

/// The site a proxy protects, as it told us (from a trusted proxy only).
pub struct ProtectedSite<'a> {
    pub scheme: &'a str,
    /// `None`: no host was forwarded, so rules cannot be checked.
    pub host: Option<&'a str>,
}

pub enum Decision {
    Allow(User),
    /// No session, a half-done sign-in, or a disabled account.
    SignInFirst,
    /// Signed in, but the site's access rule does not list the account.
    NoAccess(User),
}

/// `user_id` is the fully signed-in account of the request's session, if any.
pub async fn decide(core: &Core, user_id: Option<i64>, site: &ProtectedSite<'_>) -> anyhow::Result<Decision> {
    let Some(user_id) = user_id else { return Ok(Decision::SignInFirst) };
    let Some(user) = enabled_account(&core.db, user_id).await? else { return Ok(Decision::SignInFirst) };
    if core.access.allows(site.scheme, site.host, &user.email) {
        Ok(Decision::Allow(user))
    } else {
        Ok(Decision::NoAccess(user))
    }
}
