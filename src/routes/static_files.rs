//! Self-hosted static files (the stylesheet), embedded in the binary.

use actix_web::http::header::{CACHE_CONTROL, CONTENT_TYPE};
use actix_web::{HttpResponse, web};

use crate::error::{AppError, Problem};

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
