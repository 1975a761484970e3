//! The session middleware: sessions in our own database, the cookie holding
//! only the encrypted key. It also marks every request it wraps, so that the
//! portal's pages and `SignedInUser` can refuse to run without it: an app
//! that mounted the portal but forgot to wrap itself in the middleware would
//! otherwise have sessions that are never saved, and send real code mails
//! for sign-ins that can never finish.

use actix_session::SessionMiddleware;
use actix_session::config::{BrowserSession, CookieContentSecurity, TtlExtensionPolicy};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::cookie::SameSite;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse, Transform, forward_ready};
use actix_web::middleware::Next;
use actix_web::{HttpMessage as _, HttpRequest};

use super::problem::AppError;
use super::session_store::DbSessionStore;
use super::state::AppState;

/// What `Portal::session_middleware` gives: actix-session's middleware over
/// our store, plus the mark.
#[derive(Clone)]
pub struct Sessions(SessionMiddleware<DbSessionStore>);

/// Put on each request that went through `Sessions`.
#[derive(Clone, Copy)]
struct SessionsOn;

/// False when the app forgot `.wrap(portal.session_middleware())`.
pub fn sessions_on(req: &HttpRequest) -> bool {
    req.extensions().get::<SessionsOn>().is_some()
}

/// The error for a request that arrived without the session middleware,
/// logged here because a host app's handlers have no error pages of ours.
pub fn sessions_missing() -> AppError {
    let message = "the portal's session middleware is missing: wrap the App in `portal.session_middleware()`";
    tracing::error!("{message}");
    AppError::Internal(anyhow::anyhow!(message))
}

/// Around the portal's pages: a 500 page, and a log line, instead of a
/// sign-in that sends mail and then forgets itself. (A response, not an
/// `Err`, so that the error pages around it render it.)
pub async fn require_sessions(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if !sessions_on(req.request()) {
        return Ok(req.error_response(sessions_missing()).map_into_right_body());
    }
    next.call(req).await.map(ServiceResponse::map_into_left_body)
}

impl Sessions {
    pub fn new(state: &AppState) -> Self {
        let store = DbSessionStore::new(state.core.db.clone(), state.core.clock.clone(), state.sessions);
        let middleware = SessionMiddleware::builder(store, state.cookie_key.clone())
            .cookie_name(session_cookie_name(state.https, state.cookie_domain.is_some()).to_owned())
            .cookie_domain(state.cookie_domain.clone())
            .cookie_secure(state.https)
            .cookie_http_only(true)
            .cookie_same_site(SameSite::Lax)
            .cookie_path("/".to_owned())
            .cookie_content_security(CookieContentSecurity::Private)
            .session_lifecycle(
                BrowserSession::default()
                    .state_ttl(actix_web::cookie::time::Duration::seconds(state.sessions.idle_secs))
                    .state_ttl_extension_policy(TtlExtensionPolicy::OnEveryRequest),
            )
            .build();
        Self(middleware)
    }
}

/// The session cookie's name. `__Host-` needs `Secure` (so https) and no
/// `Domain`; with `cookie_domain` (single sign-on across subdomains) it is
/// `__Secure-`, which allows one. Plain-http loopback development drops the
/// prefix, and only then.
pub fn session_cookie_name(https: bool, with_domain: bool) -> &'static str {
    match (https, with_domain) {
        (true, false) => "__Host-gatehouse_session",
        (true, true) => "__Secure-gatehouse_session",
        (false, _) => "gatehouse_session",
    }
}

type Inner<S> = <SessionMiddleware<DbSessionStore> as Transform<Marked<S>, ServiceRequest>>::Transform;

impl<S, B> Transform<S, ServiceRequest> for Sessions
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    S::Future: 'static,
    B: MessageBody + 'static,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Transform = Inner<S>;
    type InitError = ();
    type Future = <SessionMiddleware<DbSessionStore> as Transform<Marked<S>, ServiceRequest>>::Future;

    fn new_transform(&self, service: S) -> Self::Future {
        self.0.new_transform(Marked { service })
    }
}

/// The service inside actix-session's middleware: marks, then passes on.
pub struct Marked<S> {
    service: S,
}

impl<S, B> Service<ServiceRequest> for Marked<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
{
    type Response = ServiceResponse<B>;
    type Error = actix_web::Error;
    type Future = S::Future;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        req.extensions_mut().insert(SessionsOn);
        self.service.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::session_cookie_name;

    #[test]
    fn the_session_cookie_is_host_prefixed_over_https_and_secure_prefixed_with_a_domain() {
        assert_eq!(session_cookie_name(true, false), "__Host-gatehouse_session");
        assert_eq!(session_cookie_name(true, true), "__Secure-gatehouse_session");
        assert_eq!(session_cookie_name(false, false), "gatehouse_session");
    }
}
