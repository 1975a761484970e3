//! The emailed link. `GET` consumes nothing (mail scanners prefetch links)
//! and shows a Continue button; its `POST` signs in the browser that pressed
//! it, which may be another browser than the one that typed the password.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use crate::audit::{Event, Requester};
use crate::auth::challenge::Verdict;
use crate::auth::code::looks_like_token;
use crate::auth::csrf::CsrfForm;
use crate::auth::session::SignInSession;
use crate::auth::signed_in::finish_sign_in;
use crate::error::{PageResult, Problem};
use crate::pages::{PageContext, page_template, render};
use crate::startup::AppState;

#[derive(Template)]
#[template(path = "link.html")]
struct LinkPage {
    page: PageContext,
    token: String,
}
page_template!(LinkPage);

#[derive(Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
pub struct LinkForm {
    token: String,
}

pub async fn continue_page(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<LinkQuery>,
) -> PageResult {
    let token = query.into_inner().token.filter(|t| looks_like_token(t)).ok_or(Problem::LinkUnknown)?;
    match state.challenges.peek_link(&state.db, &token).await? {
        Verdict::Accepted { .. } => {
            render(StatusCode::OK, &LinkPage { page: PageContext::new(&req, &state), token })
        }
        verdict => Err(refusal(verdict).into()),
    }
}

pub async fn submit(req: HttpRequest, state: web::Data<AppState>, form: CsrfForm<LinkForm>) -> PageResult {
    let token = form.0.token;
    if !looks_like_token(&token) {
        return Err(Problem::LinkUnknown.into());
    }
    let verdict = state.challenges.use_link(&state.db, &token).await?;
    let user_id = match &verdict {
        Verdict::Accepted { user_id, .. } => Some(*user_id),
        _ => None,
    };
    Requester::of(&req, &state).record(&state, user_id, None, Event::Link, verdict.as_str()).await;
    match verdict {
        Verdict::Accepted { user_id, return_to } => {
            let session = SignInSession::from_request(&req);
            finish_sign_in(&req, &state, &session, user_id, return_to.as_deref()).await
        }
        verdict => Err(refusal(verdict).into()),
    }
}

fn refusal(verdict: Verdict) -> Problem {
    match verdict {
        Verdict::Used => Problem::CodeUsed,
        Verdict::Expired => Problem::CodeExpired,
        Verdict::Replaced => Problem::CodeReplaced,
        Verdict::TooManyAttempts => Problem::TooManyWrongCodes,
        Verdict::Locked { retry_after_secs } => Problem::CodeEntryLocked { retry_after_secs },
        Verdict::Accepted { .. } | Verdict::Wrong { .. } | Verdict::Unknown => Problem::LinkUnknown,
    }
}
