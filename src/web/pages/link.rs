//! `GET /login/link` and `POST /login/link`: the emailed link
//! (`core::link`). `GET` consumes nothing (mail scanners prefetch links)
//! and shows a Continue button; its `POST` uses the link.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::{PageContext, page_template, render};
use crate::core::link::{LinkOutcome, LinkState, open_link, use_link};
use crate::domain::code::looks_like_token;
use crate::web::cookies::BROWSER;
use crate::web::csrf::CsrfForm;
use crate::web::problem::{PageResult, Problem};
use crate::web::requester::requester;
use crate::web::session::SignInSession;
use crate::web::signed_in::signed_in;
use crate::web::state::AppState;

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
    match open_link(&state.core, &token).await? {
        LinkState::Live => render(StatusCode::OK, &LinkPage { page: PageContext::new(&req, &state), token }),
        LinkState::Refused(refusal) => Err(refusal.into()),
        LinkState::Unknown => Err(Problem::LinkUnknown.into()),
    }
}

pub async fn submit(req: HttpRequest, state: web::Data<AppState>, form: CsrfForm<LinkForm>) -> PageResult {
    let token = form.0.token;
    if !looks_like_token(&token) {
        return Err(Problem::LinkUnknown.into());
    }
    let requester = requester(&req, &state.trusted_proxies);
    let browser = req.cookie(BROWSER.name(state.https));
    let session = SignInSession::from_request(&req);
    match use_link(&state.core, &token, &requester, browser.as_ref().map(|c| c.value())).await? {
        LinkOutcome::SignedIn(done) => signed_in(&state, &session, done),
        LinkOutcome::Refused(refusal) => Err(refusal.into()),
        LinkOutcome::Unknown => Err(Problem::LinkUnknown.into()),
        LinkOutcome::Gone => {
            session.end();
            Err(Problem::SignInExpired.into())
        }
    }
}
