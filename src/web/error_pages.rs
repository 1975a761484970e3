//! Turns every error response into its page: `AppError`s from handlers,
//! extractor failures (bad forms, oversize bodies), 404s. Internal errors
//! are logged with a reference id that the 500 page shows. Also the bounds
//! on a request's size: its body, and its headers.

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
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

/// Request headers over 16 KiB in all are refused (SECURITY.md item 34).
/// Browsers send 1 to 4 KiB; more is a flood, or cookies piled up by other
/// apps on a shared parent domain. (actix-web itself closes the connection
/// on a request head over 128 KiB or with over 96 headers, with a bare 431.)
pub const MAX_HEADER_BYTES: usize = 16 * 1024;

/// Refuses a request whose headers are over `MAX_HEADER_BYTES` (its 431
/// page comes from `render_errors`), before any handler sees it.
pub async fn refuse_oversized_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if header_bytes(req.headers()) <= MAX_HEADER_BYTES {
        return next.call(req).await.map(ServiceResponse::map_into_left_body);
    }
    let refused = req.error_response(AppError::from(Problem::HeadersTooLarge));
    Ok(refused.map_into_right_body())
}

/// The size of the headers as sent: `name: value` and a line break each.
fn header_bytes(headers: &HeaderMap) -> usize {
    headers.iter().map(|(name, value)| name.as_str().len() + value.len() + 4).sum()
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    #[test]
    fn header_bytes_count_every_value_of_every_header_as_sent() {
        let mut headers = HeaderMap::new();
        let cookie = HeaderName::from_static("cookie");
        headers.append(cookie.clone(), HeaderValue::from_static("a=1"));
        headers.append(cookie, HeaderValue::from_static("b=22"));
        headers.append(HeaderName::from_static("host"), HeaderValue::from_static("x"));
        assert_eq!(header_bytes(&headers), (6 + 3 + 4) + (6 + 4 + 4) + (4 + 1 + 4));
    }
}
