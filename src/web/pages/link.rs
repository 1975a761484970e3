//! `GET /login/link` and `POST /login/link`: the emailed link
//! (`core::link`). `GET` consumes nothing (mail scanners prefetch links).
//! In the browser that typed the password it offers Continue, which signs
//! in; in any other browser it is the approval page: the number the waiting
//! page shows approves that sign-in, a wrong number or "This wasn't me"
//! refuses it, and this browser is never signed in.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web};
use askama::Template;
use serde::Deserialize;

use super::{PageContext, page_template, render};
use crate::core::link::{
    Answer, Approval, ApprovalOutcome, LinkOutcome, LinkView, answer_approval, continue_here, open_link,
};
use crate::domain::code::looks_like_token;
use crate::domain::requester::{Requested, Requester};
use crate::web::cookies::remembered_browser_token;
use crate::web::csrf::CsrfForm;
use crate::web::problem::{PageResult, Problem};
use crate::web::session::SignInSession;
use crate::web::signed_in::signed_in;
use crate::web::state::AppState;

/// The browser that typed the password: continue here.
#[derive(Template)]
#[template(path = "link.html")]
struct ContinuePage {
    page: PageContext,
    token: String,
}
page_template!(ContinuePage);

/// Any other browser: approve the waiting sign-in, or refuse it.
#[derive(Template)]
#[template(path = "approve.html")]
struct ApprovePage {
    page: PageContext,
    token: String,
    requested: Requested,
    error: Option<&'static str>,
}
page_template!(ApprovePage);

/// What became of an approval.
#[derive(Template)]
#[template(path = "approved.html")]
struct AnsweredPage {
    page: PageContext,
    answered: Answered,
}
page_template!(AnsweredPage);

enum Answered {
    /// The waiting browser, as the password step named it, may go on.
    Approved { browser: String },
    /// Refused by "This wasn't me" (`denied`) or by a wrong number.
    Refused { denied: bool },
}

#[derive(Deserialize)]
pub struct LinkQuery {
    token: Option<String>,
}

#[derive(Deserialize)]
pub struct LinkForm {
    token: String,
    /// The number on the waiting page, typed on the approval page.
    number: Option<String>,
    /// "This wasn't me".
    deny: Option<String>,
}

const ASK_NUMBER: &str = "Type the two-digit number that the sign-in page shows on your other device.";

pub async fn open(req: HttpRequest, state: web::Data<AppState>, query: web::Query<LinkQuery>) -> PageResult {
    let token = query.into_inner().token.filter(|t| looks_like_token(t)).ok_or(Problem::LinkUnknown)?;
    let pending = SignInSession::from_request(&req).pending();
    match open_link(&state.core, &token, pending.as_ref()).await? {
        LinkView::ContinueHere => {
            render(StatusCode::OK, &ContinuePage { page: PageContext::new(&req, &state), token })
        }
        LinkView::Approve(approval) => approve_page(&req, &state, token, approval, StatusCode::OK, None),
        LinkView::Refused(refusal) => Err(refusal.into()),
        LinkView::Unknown => Err(Problem::LinkUnknown.into()),
    }
}

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    requester: Requester,
    form: CsrfForm<LinkForm>,
) -> PageResult {
    let LinkForm { token, number, deny } = form.0;
    if !looks_like_token(&token) {
        return Err(Problem::LinkUnknown.into());
    }
    let answer = match (deny.is_some(), number) {
        (true, _) => Answer::Deny,
        (false, Some(number)) => match two_digits(&number) {
            Some(number) => Answer::Number(number),
            // Empty or malformed: nothing is decided, the page asks again.
            None => return ask_again(&req, &state, token).await,
        },
        (false, None) => return continue_in_this_browser(&req, &state, &requester, token).await,
    };
    let answered = match answer_approval(&state.core, &token, answer, &requester).await? {
        ApprovalOutcome::Approved(requested) => Answered::Approved { browser: requested.browser },
        ApprovalOutcome::Refused { denied } => Answered::Refused { denied },
        ApprovalOutcome::Dead(refusal) => return Err(refusal.into()),
        ApprovalOutcome::Unknown => return Err(Problem::LinkUnknown.into()),
    };
    // This browser gets no session either way: it proved only the mailbox.
    render(StatusCode::OK, &AnsweredPage { page: PageContext::new(&req, &state), answered })
}

/// Continue pressed: signs in the browser that typed the password; any
/// other browser is shown the approval page instead.
async fn continue_in_this_browser(
    req: &HttpRequest,
    state: &AppState,
    requester: &Requester,
    token: String,
) -> PageResult {
    let session = SignInSession::from_request(req);
    let browser = remembered_browser_token(req, state);
    let pending = session.pending();
    match continue_here(&state.core, &token, pending.as_ref(), requester, browser.as_deref()).await? {
        LinkOutcome::SignedIn(done) => signed_in(state, &session, done),
        LinkOutcome::NotHere(approval) => {
            approve_page(req, state, token, approval, StatusCode::BAD_REQUEST, Some(ASK_NUMBER))
        }
        LinkOutcome::Refused(refusal) => Err(refusal.into()),
        LinkOutcome::Unknown => Err(Problem::LinkUnknown.into()),
        LinkOutcome::Gone => {
            session.end();
            Err(Problem::SignInExpired.into())
        }
    }
}

/// The approval page again, asking for the number.
async fn ask_again(req: &HttpRequest, state: &AppState, token: String) -> PageResult {
    // Consuming nothing: what the link is now, as when it was opened.
    match open_link(&state.core, &token, None).await? {
        LinkView::Approve(approval) => {
            approve_page(req, state, token, approval, StatusCode::BAD_REQUEST, Some(ASK_NUMBER))
        }
        LinkView::ContinueHere | LinkView::Unknown => Err(Problem::LinkUnknown.into()),
        LinkView::Refused(refusal) => Err(refusal.into()),
    }
}

/// `42` as typed (spaces around it allowed); anything else is no answer.
fn two_digits(raw: &str) -> Option<i32> {
    let raw = raw.trim();
    (raw.len() == 2 && raw.bytes().all(|b| b.is_ascii_digit())).then(|| raw.parse().ok()).flatten()
}

fn approve_page(
    req: &HttpRequest,
    state: &AppState,
    token: String,
    approval: Approval,
    status: StatusCode,
    error: Option<&'static str>,
) -> PageResult {
    let page = PageContext::new(req, state);
    render(status, &ApprovePage { page, token, requested: approval.requested, error })
}

#[cfg(test)]
mod tests {
    use super::two_digits;

    #[test]
    fn only_two_digits_are_an_answer() {
        assert_eq!(two_digits("42"), Some(42));
        assert_eq!(two_digits(" 07 "), Some(7));
        for no in ["", "4", "420", "4 2", "ab", "-1", "４２"] {
            assert_eq!(two_digits(no), None, "{no:?}");
        }
    }
}
