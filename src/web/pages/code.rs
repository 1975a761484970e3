//! `GET /login/code`, `POST /login/code` and `POST /login/code/resend`: the
//! emailed code (`core::code`) and "send a new code" (`core::resend`).

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::{PageContext, page_template, render};
use crate::core::challenge::Refusal;
use crate::core::code::{CodeOutcome, enter_code, waiting};
use crate::core::resend::{ResendOutcome, resend_code};
use crate::domain::code::OneTimeCode;
use crate::domain::mail::MailProgress;
use crate::domain::pending::Pending;
use crate::web::cookies::BROWSER;
use crate::web::csrf::CsrfForm;
use crate::web::problem::{PageResult, Problem};
use crate::web::requester::requester;
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
    error: Option<String>,
}
page_template!(CodePage);

#[derive(Deserialize)]
pub struct CodeForm {
    code: String,
}

pub async fn form(req: HttpRequest, state: web::Data<AppState>) -> PageResult {
    let session = SignInSession::from_request(&req);
    if session.user_id().is_some() {
        return Ok(see_other(&state.urls.account));
    }
    let pending = session.pending().ok_or(Problem::SignInExpired)?;
    code_page(&req, &state, &pending, StatusCode::OK, None).await
}

pub async fn submit(req: HttpRequest, state: web::Data<AppState>, form: CsrfForm<CodeForm>) -> PageResult {
    let session = SignInSession::from_request(&req);
    if session.user_id().is_some() {
        return Ok(see_other(&state.landing(None)));
    }
    let pending = session.pending().ok_or(Problem::SignInExpired)?;
    let length = state.core.challenges.rules().length;
    let Some(code) = OneTimeCode::parse(&form.0.code, length) else {
        // Not the shape of a code: nothing is compared, so nothing is counted.
        let message = format!("Enter the {length}-digit code from the email.");
        return code_page(&req, &state, &pending, StatusCode::UNAUTHORIZED, Some(message)).await;
    };
    let requester = requester(&req, &state.trusted_proxies);
    let browser = req.cookie(BROWSER.name(state.https));
    let browser = browser.as_ref().map(|c| c.value());
    match enter_code(&state.core, &pending, &code, &requester, browser).await? {
        CodeOutcome::SignedIn(done) => signed_in(&state, &session, done),
        CodeOutcome::Wrong { attempts_left } => {
            let plural = if attempts_left == 1 { "attempt" } else { "attempts" };
            let message = format!("That code is not right. {attempts_left} {plural} left.");
            code_page(&req, &state, &pending, StatusCode::UNAUTHORIZED, Some(message)).await
        }
        CodeOutcome::Refused(Refusal::Replaced) => {
            let message = "That code was replaced by a newer code. Use the code from the most recent email.";
            code_page(&req, &state, &pending, StatusCode::GONE, Some(message.into())).await
        }
        CodeOutcome::Refused(refusal) => Err(refusal.into()),
        CodeOutcome::Gone => {
            session.end();
            Err(Problem::SignInExpired.into())
        }
    }
}

pub async fn resend(req: HttpRequest, state: web::Data<AppState>, _form: CsrfForm<CsrfOnly>) -> PageResult {
    let session = SignInSession::from_request(&req);
    let pending = session.pending().ok_or(Problem::SignInExpired)?;
    let requester = requester(&req, &state.trusted_proxies);
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

async fn code_page(
    req: &HttpRequest,
    state: &AppState,
    pending: &Pending,
    status: StatusCode,
    error: Option<String>,
) -> PageResult {
    let waiting = waiting(&state.core, pending).await?.ok_or(Problem::SignInExpired)?;
    let sent_at = waiting.sent_at.and_then(|t| time::OffsetDateTime::from_unix_timestamp(t).ok()).map(|t| {
        let format = time::macros::format_description!("[hour]:[minute]");
        t.format(&format).unwrap_or_default()
    });
    let rules = state.core.challenges.rules();
    let page = CodePage {
        page: PageContext::new(req, state),
        masked_email: waiting.masked_email,
        code_length: rules.length,
        ttl_minutes: (rules.ttl_secs + 59) / 60,
        sent_at,
        mail: waiting.mail,
        resend_in_secs: waiting.resend_in_secs,
        error,
    };
    render(status, &page)
}
