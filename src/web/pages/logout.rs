//! `POST /logout`: the session is deleted on the server at once (`core::sign_out`).

use actix_web::{HttpResponse, web};

use crate::core::sign_out::sign_out;
use crate::domain::requester::Requester;
use crate::web::csrf::CsrfForm;
use crate::web::routes::{CsrfOnly, see_other};
use crate::web::session::SignInSession;
use crate::web::state::AppState;

pub async fn submit(
    state: web::Data<AppState>,
    session: SignInSession,
    requester: Requester,
    _form: CsrfForm<CsrfOnly>,
) -> HttpResponse {
    let user_id = session.user_id().or(session.pending().map(|p| p.user_id));
    sign_out(&state.core, &requester, user_id).await;
    session.end();
    see_other(&state.urls.login)
}
