//! Browsers an account has signed in from. A completed sign-in leaves a
//! long-lived random token in the browser; the database keeps its keyed
//! hash per account. A sign-in from a browser without a known token is new,
//! and (with `notify_new_sign_in`) its owner gets a mail naming the browser,
//! the IP and the time.

use actix_web::HttpRequest;
use actix_web::cookie::Cookie;

use super::code::{looks_like_token, random_token};
use super::email::EmailAddress;
use super::keys::keyed_hash;
use crate::audit::Requester;
use crate::db::users::User;
use crate::db::{known_browsers, now};
use crate::http::cookies::BROWSER;
use crate::mail::delivery::new_sign_in_notice;
use crate::startup::AppState;

/// Records the browser of a completed sign-in of `user`, queues the notice
/// if the account did not know it, and returns the cookie that (re)marks it.
pub async fn note_sign_in(
    req: &HttpRequest,
    state: &AppState,
    user: &User,
) -> anyhow::Result<Cookie<'static>> {
    let https = state.settings.is_https();
    let presented =
        req.cookie(BROWSER.name(https)).map(|c| c.value().to_owned()).filter(|t| looks_like_token(t));
    let now = now();
    let known = match &presented {
        Some(token) => known_browsers::touch(&state.db, user.id, &digest(state, token), now).await?,
        None => false,
    };
    let token = presented.unwrap_or_else(random_token);
    if !known {
        let notice = if state.settings.notify_new_sign_in {
            let requested = Requester::of(req, state).requested();
            Some(new_sign_in_notice(state, EmailAddress::parse(&user.email)?, &requested)?)
        } else {
            None
        };
        known_browsers::remember(&state.db, user.id, &digest(state, &token), now, notice.as_ref()).await?;
        if notice.is_some() {
            state.outbox.wake();
        }
    }
    Ok(BROWSER
        .build(https, token)
        .max_age(actix_web::cookie::time::Duration::seconds(known_browsers::FORGOTTEN_AFTER_SECS))
        .finish())
}

fn digest(state: &AppState, token: &str) -> Vec<u8> {
    keyed_hash(&state.keys.codes, format!("browser:{token}").as_bytes()).to_vec()
}
