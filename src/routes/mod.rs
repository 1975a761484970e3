//! The portal's routes, one file per step of the flow.

pub mod account;
pub mod code;
pub mod forward_auth;
pub mod health;
pub mod link;
pub mod login;
pub mod logout;
pub mod static_files;

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};

use crate::error::{AppError, Problem};
use crate::urls;

/// Registers every route of the portal, relative to where it is mounted.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(urls::ACCOUNT, web::get().to(account::show))
        .route(urls::LOGIN, web::get().to(login::form))
        .route(urls::LOGIN, web::post().to(login::submit))
        .route(urls::CODE, web::get().to(code::form))
        .route(urls::CODE, web::post().to(code::submit))
        .route(urls::RESEND, web::post().to(code::resend))
        .route(urls::LINK, web::get().to(link::continue_page))
        .route(urls::LINK, web::post().to(link::submit))
        .route(urls::LOGOUT, web::post().to(logout::submit))
        .route(urls::VERIFY, web::get().to(forward_auth::verify))
        .route(urls::HEALTHZ, web::get().to(health::live))
        .route(urls::READYZ, web::get().to(health::ready))
        // Before the embedded files, which cannot hold a per-deployment stylesheet.
        .route(urls::SITE_STYLESHEET, web::get().to(static_files::site_css))
        .route(urls::STATIC_FILES, web::get().to(static_files::serve));
}

/// Anything else under the portal: the 404 page.
pub async fn not_found() -> Result<HttpResponse, AppError> {
    Err(Problem::NotFound.into())
}

/// `303 See Other` to `location`: the answer to every successful POST.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther().insert_header((LOCATION, location)).finish()
}

/// A form with nothing but its CSRF token (logout, resend).
#[derive(serde::Deserialize)]
pub struct CsrfOnly {}
