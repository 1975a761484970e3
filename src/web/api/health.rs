//! Liveness and readiness for load balancers and orchestrators.

use actix_web::{HttpResponse, web};

use crate::web::state::AppState;

pub async fn live() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    if state.core.db.is_ready().await {
        HttpResponse::Ok().content_type("text/plain").body("ready")
    } else {
        HttpResponse::ServiceUnavailable().content_type("text/plain").body("database unreachable")
    }
}
