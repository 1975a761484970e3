//! The signed-in user: the one guard in front of protected pages, and the
//! one place where a sign-in is completed.

use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};

use super::known_browser;
use super::session::SignInSession;
use crate::db::users::{self, User};
use crate::error::{AppError, Problem};
use crate::routes::see_other;
use crate::startup::AppState;
use crate::urls;

/// A fully signed-in (both factors), enabled user. Handlers that take one
/// never check anything again; without one the browser goes to `/login`.
pub struct SignedInUser(pub User);

impl FromRequest for SignedInUser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("application state missing")))?;
            let user_id =
                SignInSession::from_request(&req).user_id().ok_or(AppError::from(Problem::SignInRequired))?;
            match users::find_by_id(&state.db, user_id).await.map_err(AppError::from)? {
                Some(user) if !user.disabled => Ok(SignedInUser(user)),
                _ => Err(AppError::from(Problem::SignInRequired).into()),
            }
        })
    }
}

/// The second factor was accepted for `user_id`: renew the session, mark it
/// signed in, tell the owner if this browser is new to the account, and send
/// the browser where it was going.
pub async fn finish_sign_in(
    req: &HttpRequest,
    state: &AppState,
    session: &SignInSession,
    user_id: i64,
    return_to: Option<&str>,
) -> Result<HttpResponse, AppError> {
    let Some(user) = users::find_by_id(&state.db, user_id).await?.filter(|u| !u.disabled) else {
        session.end();
        return Err(Problem::SignInExpired.into());
    };
    session.complete(user_id)?;
    tracing::info!(user_id, "sign-in completed");
    let mut response = see_other(&landing(state, return_to));
    // The sign-in stands even if this bookkeeping fails.
    match known_browser::note_sign_in(req, state, &user).await {
        Ok(cookie) => response.add_cookie(&cookie).map_err(anyhow::Error::from)?,
        Err(e) => {
            tracing::error!(user_id, error = format!("{e:#}"), "noting the browser of a sign-in failed")
        }
    }
    Ok(response)
}

/// Where to go after sign-in: a still-valid `return_to`, else the account page.
pub fn landing(state: &AppState, return_to: Option<&str>) -> String {
    return_to.and_then(|r| state.return_policy.check(r)).unwrap_or_else(|| urls::ACCOUNT.to_owned())
}
