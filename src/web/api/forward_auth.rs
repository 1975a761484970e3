//! `GET /auth/verify`: forward-auth for nginx `auth_request`, Traefik
//! `ForwardAuth` and Caddy `forward_auth` (`core::forward_auth` decides).
//! 200 with the identity headers for a fully signed-in session; 401
//! otherwise. To a trusted proxy the 401 carries the sign-in URL (with the
//! original URL as `return_to`) in `Location`, for nginx's `error_page 401`;
//! with `?redirect=1` a browser request is answered 302 to it instead
//! (Traefik, Caddy). A signed-in account that the host's access rule does
//! not list gets a 403 page. Any failure inside the check denies.

use actix_web::http::header::{ACCEPT, HeaderValue, LOCATION};
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;

use crate::core::forward_auth::{Decision, ProtectedSite, decide};
use crate::db::users::User;
use crate::domain::display_name::DisplayName;
use crate::domain::host::on_origin;
use crate::web::problem::{AppError, Problem};
use crate::web::requester::{forwarded, is_trusted_peer};
use crate::web::session::SignInSession;
use crate::web::state::AppState;

#[derive(Deserialize)]
pub struct VerifyQuery {
    redirect: Option<String>,
}

pub async fn verify(
    req: HttpRequest,
    state: web::Data<AppState>,
    query: web::Query<VerifyQuery>,
) -> HttpResponse {
    let user_id = SignInSession::from_request(&req).user_id();
    match decide(&state.core, user_id, &protected_site(&req, &state)).await {
        Ok(Decision::Allow(user)) => return identity(&user),
        Ok(Decision::NoAccess(user)) => {
            let host = forwarded(&req, "host");
            tracing::info!(user_id = user.id, host, "forward-auth: no access to this host");
            return HttpResponse::from_error(AppError::from(Problem::NoAccess));
        }
        Ok(Decision::SignInFirst) => {}
        Err(e) => tracing::error!(error = %e, "forward-auth check failed; denying"),
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

/// 200 with the identity headers, all three every time: `Remote-Name` is
/// the account's display name (UTF-8, as Authelia sends it), or its address
/// when it has none. A header left out would be up to each proxy's copy
/// rules: Caddy 2.6 then hands the app its own placeholder text.
fn identity(user: &User) -> HttpResponse {
    let email = user.email.as_str();
    let mut ok = HttpResponse::Ok();
    ok.insert_header(("Remote-User", email)).insert_header(("Remote-Email", email));
    match display_name(user) {
        Some(name) => ok.insert_header(("Remote-Name", name)),
        None => ok.insert_header(("Remote-Name", email)),
    };
    ok.finish()
}

/// The account's name as a header value; `None` without one, or for a name
/// that cannot be a header, which only a hand-edited database could hold.
fn display_name(user: &User) -> Option<HeaderValue> {
    let name = user.name.as_deref()?;
    let value = DisplayName::parse(name).ok().and_then(|_| HeaderValue::from_bytes(name.as_bytes()).ok());
    if value.is_none() {
        tracing::warn!(
            user_id = user.id,
            "forward-auth: the account's name cannot be sent; sending its address"
        );
    }
    value
}

/// `PUBLIC_URL/login?return_to=<original URL>`, the original URL rebuilt
/// from `X-Forwarded-Proto/Host/Uri` and dropped unless its host is allowed.
fn sign_in_url(req: &HttpRequest, state: &AppState) -> String {
    let original = match (forwarded(req, "proto"), forwarded(req, "host"), forwarded(req, "uri")) {
        (Some(proto), Some(host), Some(uri)) => Some(format!("{proto}://{host}{uri}")),
        _ => None,
    };
    let return_to = original.and_then(|o| state.return_policy.check(&o));
    let login = state.urls.login_returning_to(return_to.as_deref());
    on_origin(&state.public_origin, &login)
}

/// The scheme and host the proxy is protecting, believed from a trusted proxy only.
fn protected_site<'r>(req: &'r HttpRequest, state: &AppState) -> ProtectedSite<'r> {
    if !is_trusted_peer(req, &state.trusted_proxies) {
        return ProtectedSite { scheme: "https", host: None };
    }
    ProtectedSite { scheme: forwarded(req, "proto").unwrap_or("https"), host: forwarded(req, "host") }
}

fn accepts_html(req: &HttpRequest) -> bool {
    req.headers().get(ACCEPT).and_then(|v| v.to_str().ok()).is_some_and(|v| v.contains("text/html"))
}
