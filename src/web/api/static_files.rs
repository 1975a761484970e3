//! Self-hosted static files: the stylesheet embedded in the binary, and the
//! site stylesheet built from the branding settings at start-up.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use crate::web::problem::{AppError, Problem};
use crate::web::state::AppState;

#[derive(rust_embed::Embed)]
#[folder = "static/"]
struct Assets;

pub async fn serve(path: web::Path<String>) -> Result<HttpResponse, AppError> {
    let path = path.into_inner();
    let file = Assets::get(&path).ok_or(Problem::NotFound)?;
    Ok(HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, file.metadata.mimetype()))
        .insert_header((CACHE_CONTROL, "public, max-age=3600"))
        .body(file.data.into_owned()))
}

/// The accent colour and custom CSS. They change only with a restart, so a
/// short cache is enough for a new brand to show within minutes.
pub async fn site_css(state: web::Data<AppState>) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/css; charset=utf-8"))
        .insert_header((CACHE_CONTROL, "public, max-age=300"))
        .body(state.brand.stylesheet.clone())
}
