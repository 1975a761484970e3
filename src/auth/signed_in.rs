//! The signed-in user: the one guard in front of protected pages, and the
//! one place where a sign-in is completed.

use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};

use super::known_browser;
use super::session::SignInSession;
use crate::db::users::{self, User};
use crate::error::{AppError, Problem};
use crate::http::sessions::{sessions_missing, sessions_on};
use crate::routes::see_other;
use crate::startup::AppState;

/// A fully signed-in (both factors), enabled user: the extractor that
/// guards the portal's account page and, in an app that mounts the portal,
/// the app's own handlers. Handlers that take one never check anything
/// again. Without one the browser is sent `303` to the portal's sign-in page,
/// with `return_to` set to the page it asked for when that was a `GET`.
#[derive(Clone, Debug)]
pub struct SignedInUser {
    id: i64,
    email: String,
    name: Option<String>,
}

impl SignedInUser {
    /// The account's id, stable for the life of the account.
    pub fn id(&self) -> i64 {
        self.id
    }

    /// The account's email address, lower-cased.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The account's display name, if the operator gave one.
    pub fn name(&self) -> Option<&str> {
        self.name.as_deref()
    }
}

/// The account of this request's fully signed-in session, if it is still
/// enabled; `None` for no session, a half-done sign-in, or a disabled account.
pub async fn current_user(req: &HttpRequest, state: &AppState) -> Result<Option<User>, sqlx::Error> {
    let Some(user_id) = SignInSession::from_request(req).user_id() else { return Ok(None) };
    Ok(users::find_by_id(&state.db, user_id).await?.filter(|user| !user.disabled))
}

impl FromRequest for SignedInUser {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let Some(state) = req.app_data::<web::Data<AppState>>() else {
                let message =
                    "the portal is not registered: call `App::configure(|cfg| portal.configure(cfg))`";
                tracing::error!("{message}");
                return Err(AppError::Internal(anyhow::anyhow!(message)).into());
            };
            if !sessions_on(&req) {
                return Err(sessions_missing().into());
            }
            // Logged here: in a host app's handler no error page of ours
            // would, and an `Option<SignedInUser>` would turn it into `None`.
            let user = current_user(&req, state).await.inspect_err(
                |e| tracing::error!(error = %e, path = req.path(), "looking up the signed-in user failed"),
            );
            match user.map_err(AppError::from)? {
                Some(user) => Ok(SignedInUser { id: user.id, email: user.email, name: user.name }),
                None => {
                    Err(InternalError::from_response("sign-in required", sign_in_first(&req, state)).into())
                }
            }
        })
    }
}

/// `303` to the sign-in page, coming back here afterwards if this was a
/// `GET` (a form post cannot be replayed) of another page than the account
/// page, which is where a sign-in lands anyway.
fn sign_in_first(req: &HttpRequest, state: &AppState) -> HttpResponse {
    let here = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let comes_back =
        matches!(*req.method(), Method::GET | Method::HEAD) && !state.urls.is_account(req.path());
    let return_to = comes_back.then(|| state.return_policy.check(here)).flatten();
    see_other(&state.urls.login_returning_to(return_to.as_deref()))
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
    return_to.and_then(|r| state.return_policy.check(r)).unwrap_or_else(|| state.urls.account.clone())
}
