//! The waiting browser's page: `GET /login/code` (the code form, the number
//! an approval from another device asks for, and "Approved on your other
//! device? Continue"), `POST /login/code` (`core::code`), `POST
//! /login/code/resend` (`core::resend`), and `GET /login/code/status`, which
//! the page's script asks every few seconds.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use serde::Deserialize;

use super::{PageContext, page_template, render};
use crate::core::challenge::Refusal;
use crate::core::code::{CodeOutcome, Standing, Waiting, enter_code, standing, take_approval};
use crate::core::resend::{ResendOutcome, resend_code};
use crate::domain::code::OneTimeCode;
use crate::domain::mail::MailProgress;
use crate::domain::pending::Pending;
use crate::domain::requester::Requester;
use crate::web::cookies::remembered_browser_token;
use crate::web::csrf::CsrfForm;
use crate::web::problem::{PageResult, Problem};
use crate::web::routes::{CsrfOnly, see_other};
use crate::web::session::SignInSession;
use crate::web::signed_in::signed_in;
use crate::web::state::AppState;

#[derive(Template)]
#[template(path = "code.html")]
struct CodePage {
    page: PageContext,
    masked_email: String,
    code_length: u32,
    ttl_minutes: i64,
    sent_at: Option<String>,
    mail: MailProgress,
    resend_in_secs: i64,
    match_number: i32,
    error: Option<String>,
}
page_template!(CodePage);

#[derive(Deserialize)]
pub struct CodeQuery {
    /// Set by "Approved on your other device? Continue".
    check: Option<String>,
}

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

const NOT_YET: &str =
    "The approval has not come yet. Approve the sign-in on your other device, then press Continue again.";

pub async fn form(
    req: HttpRequest,
    state: web::Data<AppState>,
    requester: Requester,
    query: web::Query<CodeQuery>,
) -> PageResult {
    let session = SignInSession::from_request(&req);
    if session.user_id().is_some() {
        return Ok(see_other(&state.urls.account));
    }
    let pending = session.pending().ok_or(Problem::SignInExpired)?;
    let waiting = match standing(&state.core, &pending).await? {
        Standing::Waiting(waiting) => waiting,
        Standing::Approved => {
            let browser = remembered_browser_token(&req, &state);
            return match take_approval(&state.core, &pending, &requester, browser.as_deref()).await? {
                Some(done) => signed_in(&state, &session, done),
                None => ended(&session, Problem::SignInExpired),
            };
        }
        Standing::Refused => return ended(&session, Problem::SignInRefused),
        Standing::Gone => return ended(&session, Problem::SignInExpired),
    };
    let mut page = PageContext::new(&req, &state);
    if query.check.is_some() {
        page.notice = Some(NOT_YET);
    }
    code_page(page, &state, waiting, StatusCode::OK, None)
}

/// The pending sign-in is over: the session ends with it.
fn ended(session: &SignInSession, problem: Problem) -> PageResult {
    session.end();
    Err(problem.into())
}

/// Where the waiting sign-in stands, for the page's script: `waiting`,
/// `approved`, `refused` or `gone`. It changes nothing; loading the code
/// page then finishes the sign-in.
pub async fn status(req: HttpRequest, state: web::Data<AppState>) -> Result<HttpResponse, actix_web::Error> {
    let pending = SignInSession::from_request(&req).pending();
    let word = match pending {
        None => "gone",
        Some(pending) => {
            match standing(&state.core, &pending).await.map_err(crate::web::problem::AppError::from)? {
                Standing::Waiting(_) => "waiting",
                Standing::Approved => "approved",
                Standing::Refused => "refused",
                Standing::Gone => "gone",
            }
        }
    };
    Ok(HttpResponse::Ok().json(serde_json::json!({ "state": word })))
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    requester: Requester,
    form: CsrfForm<CodeForm>,
) -> PageResult {
    let session = SignInSession::from_request(&req);
    if session.user_id().is_some() {
        return Ok(see_other(&state.landing(None)));
    }
    let pending = session.pending().ok_or(Problem::SignInExpired)?;
    let length = state.core.challenges.rules().length;
    let Some(code) = OneTimeCode::parse(&form.0.code, length) else {
        // Not the shape of a code: nothing is compared, so nothing is counted.
        let message = format!("Enter the {length}-digit code from the email.");
        return again(&req, &state, &pending, StatusCode::UNAUTHORIZED, message).await;
    };
    let browser = remembered_browser_token(&req, &state);
    match enter_code(&state.core, &pending, &code, &requester, browser.as_deref()).await? {
        CodeOutcome::SignedIn(done) => signed_in(&state, &session, done),
        CodeOutcome::Wrong { attempts_left } => {
            let plural = if attempts_left == 1 { "attempt" } else { "attempts" };
            let message = format!("That code is not right. {attempts_left} {plural} left.");
            again(&req, &state, &pending, StatusCode::UNAUTHORIZED, message).await
        }
        CodeOutcome::Refused(Refusal::Replaced) => {
            let message = "That code was replaced by a newer code. Use the code from the most recent email.";
            again(&req, &state, &pending, StatusCode::GONE, message.into()).await
        }
        CodeOutcome::Refused(Refusal::RefusedFromMail) => ended(&session, Problem::SignInRefused),
        CodeOutcome::Refused(refusal) => Err(refusal.into()),
        CodeOutcome::Gone => ended(&session, Problem::SignInExpired),
    }
}

/// The code form again, with what was wrong.
async fn again(
    req: &HttpRequest,
    state: &AppState,
    pending: &Pending,
    status: StatusCode,
    error: String,
) -> PageResult {
    let Standing::Waiting(waiting) = standing(&state.core, pending).await? else {
        return Err(Problem::SignInExpired.into());
    };
    code_page(PageContext::new(req, state), state, waiting, status, Some(error))
}

pub async fn resend(
    req: HttpRequest,
    state: web::Data<AppState>,
    requester: Requester,
    _form: CsrfForm<CsrfOnly>,
) -> PageResult {
    let session = SignInSession::from_request(&req);
    let pending = session.pending().ok_or(Problem::SignInExpired)?;
    match resend_code(&state.core, &pending, &requester).await? {
        ResendOutcome::Sent(pending) => {
            session.begin_pending(pending, state.core.clock.now())?;
            Ok(see_other(&state.urls.code))
        }
        ResendOutcome::Cooldown { retry_after_secs } => {
            Err(Problem::ResendTooSoon { retry_after_secs }.into())
        }
        ResendOutcome::TooManyCodesSent { retry_after_secs } => {
            Err(Problem::TooManyCodesSent { retry_after_secs }.into())
        }
        ResendOutcome::Gone => Err(Problem::SignInExpired.into()),
    }
}

fn code_page(
    page: PageContext,
    state: &AppState,
    waiting: Waiting,
    status: StatusCode,
    error: Option<String>,
) -> PageResult {
    let sent_at = waiting.sent_at.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok()).map(|t| {
        let format = time::macros::format_description!("[hour]:[minute]");
        t.format(&format).unwrap_or_default()
    });
    let rules = state.core.challenges.rules();
    let page = CodePage {
        page,
        masked_email: waiting.masked_email,
        code_length: rules.length,
        ttl_minutes: (rules.ttl_secs + 59) / 60,
        sent_at,
        mail: waiting.mail,
        resend_in_secs: waiting.resend_in_secs,
        match_number: waiting.match_number,
        error,
    };
    render(status, &page)
}
