//! The signed-in user: the one guard in front of protected pages, and the
//! one place where a completed sign-in becomes a signed-in session.

use std::pin::Pin;

use actix_web::dev::Payload;
use actix_web::error::InternalError;
use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, HttpResponse, web};

use super::cookies::remembered_browser;
use super::problem::{AppError, PageResult};
use super::routes::see_other;
use super::session::SignInSession;
use super::sessions::{sessions_missing, sessions_on};
use super::state::AppState;
use crate::core::accounts::enabled_account;
use crate::core::finish::SignedIn;
use crate::db::users::User;

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
pub async fn current_user(req: &HttpRequest, state: &AppState) -> anyhow::Result<Option<User>> {
    let Some(user_id) = SignInSession::from_request(req).user_id() else { return Ok(None) };
    enabled_account(&state.core.db, user_id).await
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

/// A sign-in was completed in this browser: a new session id, signed in,
/// the remembered-browser cookie, and `303` to where the browser was going.
pub fn signed_in(state: &AppState, session: &SignInSession, signed_in: SignedIn) -> PageResult {
    session.complete(signed_in.user.id, signed_in.epoch, state.core.clock.now())?;
    let mut response = see_other(&state.landing(signed_in.return_to.as_deref()));
    if let Some(token) = signed_in.browser_token {
        response.add_cookie(&remembered_browser(state.https, token)).map_err(anyhow::Error::from)?;
    }
    Ok(response)
}
