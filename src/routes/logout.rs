//! Logout: the session is deleted on the server at once.

use actix_web::{HttpRequest, HttpResponse, web};

use super::{CsrfOnly, see_other};
use crate::audit::{Event, Requester};
use crate::auth::csrf::CsrfForm;
use crate::auth::session::SignInSession;
use crate::startup::AppState;

pub async fn submit(
    req: HttpRequest,
    state: web::Data<AppState>,
    session: SignInSession,
    _form: CsrfForm<CsrfOnly>,
) -> HttpResponse {
    let user_id = session.user_id().or(session.pending().map(|p| p.user_id));
    Requester::of(&req, &state).record(&state, user_id, None, Event::Logout, "ok").await;
    session.end();
    see_other(&state.urls.login)
}
