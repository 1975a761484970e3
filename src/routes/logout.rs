//! Logout: the session is deleted on the server at once.

use actix_web::HttpResponse;

use super::{CsrfOnly, see_other};
use crate::auth::csrf::CsrfForm;
use crate::auth::session::SignInSession;
use crate::urls;

pub async fn submit(session: SignInSession, _form: CsrfForm<CsrfOnly>) -> HttpResponse {
    session.end();
    see_other(urls::LOGIN)
}
