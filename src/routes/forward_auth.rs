//! `GET /auth/verify`: forward-auth for nginx `auth_request`, Traefik
//! `ForwardAuth` and Caddy `forward_auth`. 200 with the identity headers for
//! a fully signed-in session; 401 otherwise. To a trusted proxy the 401
//! carries the sign-in URL (with the original URL as `return_to`) in
//! `Location`, for nginx's `error_page 401`; with `?redirect=1` a browser
//! request is answered 302 to it instead (Traefik, Caddy). A signed-in
//! account that the host's access rule does not list gets a 403 page. Any
//! failure inside the check denies.

use actix_web::http::header::{ACCEPT, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::auth::session::SignInSession;
use crate::db::users;
use crate::error::{AppError, Problem};
use crate::http::client_ip::is_trusted_peer;
use crate::startup::AppState;

#[derive(Deserialize)]
pub struct VerifyQuery {
    redirect: Option<String>,
}

pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<VerifyQuery>,
) -> HttpResponse {
    if let Some(user_id) = SignInSession::from_request(&req).user_id() {
        match users::find_by_id(&state.db, user_id).await {
            Ok(Some(user)) if !user.disabled => {
                let (scheme, host) = protected_site(&req, &state);
                if !state.access.allows(scheme, host, &user.email) {
                    tracing::info!(user_id, host, "forward-auth: no access to this host");
                    return HttpResponse::from_error(AppError::from(Problem::NoAccess));
                }
                return HttpResponse::Ok()
                    .insert_header(("Remote-User", user.email.as_str()))
                    .insert_header(("Remote-Email", user.email.as_str()))
                    .finish();
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, "forward-auth check failed; denying"),
        }
    }
    if !is_trusted_peer(&req, &state.trusted_proxies) {
        return HttpResponse::Unauthorized().content_type("text/plain").body("unauthorized");
    }
    let sign_in = sign_in_url(&req, &state);
    let wants_redirect = query.redirect.as_deref().is_some_and(|v| v == "1" || v == "true");
    if wants_redirect && accepts_html(&req) {
        return HttpResponse::Found().insert_header((LOCATION, sign_in)).finish();
    }
    HttpResponse::Unauthorized()
        .insert_header((LOCATION, sign_in))
        .content_type("text/plain")
        .body("unauthorized")
}

/// `PUBLIC_URL/login?return_to=<original URL>`, the original URL rebuilt
/// from `X-Forwarded-Proto/Host/Uri` and dropped unless its host is allowed.
fn sign_in_url(req: &HttpRequest, state: &AppState) -> String {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    let original = match (header("x-forwarded-proto"), header("x-forwarded-host"), header("x-forwarded-uri"))
    {
        (Some(proto), Some(host), Some(uri)) => Some(format!("{proto}://{host}{uri}")),
        _ => None,
    };
    let mut login = state.public_origin.join(&state.urls.login).expect("a path joins onto an origin");
    if let Some(target) = original.and_then(|o| state.return_policy.check(&o)) {
        login.query_pairs_mut().append_pair("return_to", &target);
    }
    login.to_string()
}

/// The scheme and host the proxy is protecting, believed from a trusted proxy only.
fn protected_site<'r>(req: &'r HttpRequest, state: &AppState) -> (&'r str, Option<&'r str>) {
    if !is_trusted_peer(req, &state.trusted_proxies) {
        return ("https", None);
    }
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    (header("x-forwarded-proto").unwrap_or("https"), header("x-forwarded-host"))
}

fn accepts_html(req: &HttpRequest) -> bool {
    req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}
