//! Turns every error response into its page: `AppError`s from handlers,
//! extractor failures (bad forms, oversize bodies), 404s. Internal errors
//! are logged with a reference id that the 500 page shows.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};

use super::cookies::expired_notice;
use super::pages::error::ErrorPage;
use super::pages::{PageContext, render};
use super::problem::{AppError, Problem};
use super::routes::see_other;
use super::session::SignInSession;
use super::state::AppState;
use crate::domain::code::random_token;

pub async fn render_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = next.call(req).await?.map_into_boxed_body();
    if let Some(AppError::Problem(Problem::SignInExpired)) = res.response().error().and_then(|e| e.as_error())
    {
        return Ok(sign_in_again(res));
    }
    let status = res.status();
    let is_error = status.is_client_error() || status.is_server_error();
    // Pages a handler rendered itself (a 401 form, say) have a content type;
    // bare error responses (a 404 from routing, an extractor failure) do not.
    let bare = res.response().error().is_some()
        || !res.headers().contains_key(actix_web::http::header::CONTENT_TYPE);
    if !is_error || !bare {
        return Ok(res);
    }
    let problem = match res.response().error().and_then(|e| e.as_error::<AppError>()) {
        Some(AppError::Problem(problem)) => Some(*problem),
        Some(AppError::Internal(_)) => None,
        None => match status {
            StatusCode::NOT_FOUND | StatusCode::METHOD_NOT_ALLOWED => Some(Problem::NotFound),
            StatusCode::PAYLOAD_TOO_LARGE => Some(Problem::TooLarge),
            s if s.is_client_error() => Some(Problem::BadRequest),
            _ => None,
        },
    };
    let (req, original) = res.into_parts();
    let page = PageContext::from_request(&req);
    let rendered = match (problem, page) {
        (Some(problem), Ok(page)) => {
            let pending = SignInSession::from_request(&req).pending().is_some();
            render(problem.status(), &ErrorPage::for_problem(page, problem, pending))
        }
        (None, Ok(page)) => {
            let reference = random_token()[..10].to_owned();
            let cause = original.error().map(|e| format!("{e:#}")).unwrap_or_else(|| status.to_string());
            tracing::error!(reference, path = req.path(), error = cause, "request failed");
            render(StatusCode::INTERNAL_SERVER_ERROR, &ErrorPage::internal(page, reference))
        }
        (_, Err(e)) => Err(e),
    };
    let mut response = rendered.unwrap_or_else(|e| {
        tracing::error!(error = %e, "rendering an error page failed");
        HttpResponse::InternalServerError().content_type("text/plain").body("Internal error")
    });
    // Keep what the handler meant to say besides the body: Location, Retry-After, cookies.
    for (name, value) in original.headers() {
        if name != actix_web::http::header::CONTENT_TYPE && name != actix_web::http::header::CONTENT_LENGTH {
            response.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(ServiceResponse::new(req, response))
}

/// No sign-in in progress: `303` to the sign-in page, which then says the
/// sign-in expired (a one-minute cookie tells it so).
fn sign_in_again(res: ServiceResponse<BoxBody>) -> ServiceResponse<BoxBody> {
    let (req, _) = res.into_parts();
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return ServiceResponse::new(req, HttpResponse::InternalServerError().finish());
    };
    let mut response = see_other(&state.urls.login);
    if let Err(e) = response.add_cookie(&expired_notice(&state.urls)) {
        tracing::warn!(error = %e, "setting the sign-in expired notice failed");
    }
    ServiceResponse::new(req, response)
}

/// Request bodies are forms of a few fields: anything over 16 KiB is refused (413).
pub fn body_limit() -> web::PayloadConfig {
    web::PayloadConfig::new(16 * 1024)
}
