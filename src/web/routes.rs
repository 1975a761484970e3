//! The portal's routes: every page and endpoint under its URL.

use actix_web::http::header::LOCATION;
use actix_web::{HttpResponse, web};

use super::api::{forward_auth, health, static_files};
use super::pages::{account, code, link, login, logout};
use super::problem::{AppError, Problem};
use super::urls::{STATIC_FILES, route};

/// Registers every route of the portal, relative to where it is mounted.
pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route(route::ACCOUNT, web::get().to(account::show))
        .route(route::LOGIN, web::get().to(login::form))
        .route(route::LOGIN, web::post().to(login::submit))
        .route(route::CODE, web::get().to(code::form))
        .route(route::CODE, web::post().to(code::submit))
        .route(route::RESEND, web::post().to(code::resend))
        .route(route::CODE_STATUS, web::get().to(code::status))
        .route(route::LINK, web::get().to(link::open))
        .route(route::LINK, web::post().to(link::submit))
        .route(route::LOGOUT, web::post().to(logout::submit))
        .route(route::VERIFY, web::get().to(forward_auth::verify))
        .route(route::HEALTHZ, web::get().to(health::live))
        .route(route::READYZ, web::get().to(health::ready))
        // Before the embedded files, which cannot hold a per-deployment stylesheet.
        .route(route::SITE_STYLESHEET, web::get().to(static_files::site_css))
        .route(STATIC_FILES, web::get().to(static_files::serve));
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
