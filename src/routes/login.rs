//! Step 1: email and password. Unknown, disabled and wrong-password attempts
//! get the same page, status and timing.

use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::see_other;
use crate::audit::{Event, Requester};
use crate::auth::challenge::Purpose;
use crate::auth::csrf::CsrfForm;
use crate::auth::email::EmailAddress;
use crate::auth::password::{Password, Verified};
use crate::auth::session::{Pending, SignInSession};
use crate::auth::signed_in::landing;
use crate::auth::throttle;
use crate::db::users::{self, User};
use crate::error::{AppError, PageResult, Problem};
use crate::mail::delivery::code_mail;
use crate::pages::{PageContext, page_template, render};
use crate::startup::AppState;
use crate::urls::Urls;

const NOTICE_COOKIE: &str = "gatehouse_notice";
const WRONG_CREDENTIALS: &str = "That email and password do not match an account. Check them and try again.";

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: PageContext,
    email: String,
    return_to: Option<String>,
    error: Option<&'static str>,
}
page_template!(LoginPage);

#[derive(Deserialize)]
pub struct LoginQuery {
    return_to: Option<String>,
}

#[derive(Deserialize)]
pub struct LoginForm {
    email: String,
    password: String,
    return_to: Option<String>,
}

/// A one-minute cookie that makes the next `GET /login` say the sign-in expired.
pub fn expired_notice_cookie(urls: &Urls) -> Cookie<'static> {
    Cookie::build(NOTICE_COOKIE, "expired")
        .path(urls.login.clone())
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(Duration::minutes(1))
        .finish()
}

pub async fn form(req: HttpRequest, state: web::Data<AppState>, query: web::Query<LoginQuery>) -> PageResult {
    let return_to = query.into_inner().return_to.and_then(|r| state.return_policy.check(&r));
    if SignInSession::from_request(&req).user_id().is_some() {
        return Ok(see_other(&landing(&state, return_to.as_deref())));
    }
    let mut page = PageContext::new(&req, &state);
    let had_notice = req.cookie(NOTICE_COOKIE).is_some();
    if had_notice {
        page.notice = Some("Your sign-in expired or was ended. Please sign in again.");
    }
    let mut response =
        render(StatusCode::OK, &LoginPage { page, email: String::new(), return_to, error: None })?;
    if had_notice {
        let mut gone = expired_notice_cookie(&state.urls);
        gone.make_removal();
        response.add_cookie(&gone).map_err(anyhow::Error::from)?;
    }
    Ok(response)
}

pub async fn submit(req: HttpRequest, state: web::Data<AppState>, form: CsrfForm<LoginForm>) -> PageResult {
    let LoginForm { email, password, return_to } = form.0;
    let return_to = return_to.and_then(|r| state.return_policy.check(&r));
    let refuse = |status, message| {
        let page = PageContext::new(&req, &state);
        let email = email.chars().take(254).collect();
        render(status, &LoginPage { page, email, return_to: return_to.clone(), error: Some(message) })
    };
    let Ok(password) = Password::for_sign_in(password) else {
        return refuse(StatusCode::BAD_REQUEST, "Passwords are at most 128 characters long.");
    };
    let requester = Requester::of(&req, &state);
    let Some(user) = check_password(&state, &requester, &email, &password).await? else {
        return refuse(StatusCode::UNAUTHORIZED, WRONG_CREDENTIALS);
    };
    throttle::admit_code_send(&state, &requester, &user).await?;
    let to = EmailAddress::parse(&user.email).map_err(anyhow::Error::from)?;
    let requested = requester.requested();
    let mail = code_mail(&state, &to, &requested);
    let challenge_id =
        state.challenges.issue(&state.db, user.id, Purpose::Login, return_to.as_deref(), mail).await?;
    state.outbox.wake();
    SignInSession::from_request(&req).begin_pending(Pending { user_id: user.id, challenge_id })?;
    requester.record(&state, Some(user.id), Some(&user.email), Event::CodeSent, "ok").await;
    Ok(see_other(&state.urls.code))
}

/// The password step proper: throttles, then one argon2 verification
/// (against a dummy hash when there is no account), then the bookkeeping of
/// the outcome. `None` for every kind of failure alike.
async fn check_password(
    state: &AppState,
    requester: &Requester,
    email: &str,
    password: &Password,
) -> Result<Option<User>, AppError> {
    // A place on the hashing pool first: when it is full, refuse (503) before any other work.
    let permit = state.hasher.admit().await?;
    let address = EmailAddress::parse(email).ok();
    let typed = address.as_ref().map(EmailAddress::as_str);
    let admitted = match throttle::admit_password_attempt(state, requester, email).await? {
        Ok(admitted) => admitted,
        Err(retry_after_secs) => {
            requester.record(state, None, typed, Event::Password, "throttled").await;
            return Err(Problem::TooManyAttempts { retry_after_secs }.into());
        }
    };
    let user = match &address {
        Some(address) => users::find_by_email(&state.db, address).await?,
        None => None,
    };
    let verified =
        match state.hasher.verify(permit, password, user.as_ref().map(|u| u.password_hash.as_str())).await {
            Ok(verified) => verified,
            Err(e) => {
                // Not checked: it was no failure.
                throttle::password_unchecked(state, requester, email).await?;
                return Err(e.into());
            }
        };
    let user_id = user.as_ref().map(|u| u.id);
    let (user, result) = match (user, verified) {
        (Some(user), Verified::Yes | Verified::YesRehashed(_)) if user.disabled => (None, "disabled"),
        (Some(user), Verified::YesRehashed(new_hash)) => {
            users::update_hash_by_id(&state.db, user.id, &new_hash).await?;
            (Some(user), "ok")
        }
        (Some(user), Verified::Yes) => (Some(user), "ok"),
        (_, _) => (None, "failed"),
    };
    requester.record(state, user_id, typed, Event::Password, result).await;
    match &user {
        Some(_) => throttle::password_succeeded(state, requester, email).await?,
        None => throttle::password_failed(state, requester, email, admitted).await,
    }
    Ok(user)
}
