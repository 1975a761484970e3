//! `GET /login` and `POST /login`: email and password (`core::sign_in`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::{PageContext, page_template, render};
use crate::core::sign_in::{PasswordOutcome, PasswordStep, enter_password};
use crate::domain::password::Password;
use crate::domain::requester::Requester;
use crate::web::cookies::{NOTICE, expired_notice, remembered_browser_token};
use crate::web::csrf::CsrfForm;
use crate::web::problem::{PageResult, Problem};
use crate::web::routes::see_other;
use crate::web::session::SignInSession;
use crate::web::state::AppState;

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

pub async fn form(req: HttpRequest, state: web::Data<AppState>, query: web::Query<LoginQuery>) -> PageResult {
    let return_to = query.into_inner().return_to.and_then(|r| state.return_policy.check(&r));
    if SignInSession::from_request(&req).user_id().is_some() {
        return Ok(see_other(&state.landing(return_to.as_deref())));
    }
    let mut page = PageContext::new(&req, &state);
    let had_notice = req.cookie(NOTICE).is_some();
    if had_notice {
        page.notice = Some("Your sign-in expired or was ended. Please sign in again.");
    }
    let mut response =
        render(StatusCode::OK, &LoginPage { page, email: String::new(), return_to, error: None })?;
    if had_notice {
        let mut gone = expired_notice(&state.urls);
        gone.make_removal();
        response.add_cookie(&gone).map_err(anyhow::Error::from)?;
    }
    Ok(response)
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    requester: Requester,
    form: CsrfForm<LoginForm>,
) -> PageResult {
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
    let browser = remembered_browser_token(&req, &state);
    let step = PasswordStep {
        email: &email,
        password: &password,
        return_to: return_to.as_deref(),
        requester: &requester,
        browser: browser.as_deref(),
    };
    match enter_password(&state.core, step).await? {
        PasswordOutcome::CodeSent(pending) => {
            SignInSession::from_request(&req).begin_pending(pending, state.core.clock.now())?;
            Ok(see_other(&state.urls.code))
        }
        PasswordOutcome::Refused => refuse(StatusCode::UNAUTHORIZED, WRONG_CREDENTIALS),
        PasswordOutcome::Throttled { retry_after_secs } => {
            Err(Problem::TooManyAttempts { retry_after_secs }.into())
        }
        PasswordOutcome::TooManyCodesSent { retry_after_secs } => {
            Err(Problem::TooManyCodesSent { retry_after_secs }.into())
        }
        PasswordOutcome::Busy => Err(Problem::Busy.into()),
    }
}
