//! CSRF protection for every POST. Before a session exists (the login form,
//! the link's Continue page) the token is a keyed hash of a random cookie, so
//! an anonymous page view creates no server-side state; once a session exists
//! the token is a random value kept in it. The `Origin` header, when present,
//! must be `public_url`.

use std::pin::Pin;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine as _;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq as _;

use super::code::random_token;
use super::keys::keyed_hash;
use super::session::SignInSession;
use crate::error::{AppError, Problem};
use crate::startup::AppState;

/// Name of the pre-session CSRF cookie (prefixed `__Host-` over https).
pub fn cookie_name(https: bool) -> &'static str {
    if https {
        "__Host-gatehouse_csrf"
    } else {
        "gatehouse_csrf"
    }
}

/// The token to put in this request's forms, and the cookie to set when the
/// browser has none yet.
pub fn token_for(req: &HttpRequest, state: &AppState) -> (String, Option<Cookie<'static>>) {
    if let Some(token) = SignInSession::from_request(req).csrf_token() {
        return (token, None);
    }
    let https = state.settings.is_https();
    match req.cookie(cookie_name(https)) {
        Some(cookie) => (anonymous_token(&state.keys.csrf, cookie.value()), None),
        None => {
            let nonce = random_token();
            let token = anonymous_token(&state.keys.csrf, &nonce);
            let cookie = Cookie::build(cookie_name(https), nonce)
                .path("/")
                .secure(https)
                .http_only(true)
                .same_site(SameSite::Lax)
                .finish();
            (token, Some(cookie))
        }
    }
}

fn anonymous_token(key: &[u8; 32], nonce: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(keyed_hash(key, nonce.as_bytes()))
}

/// Checks a submitted token and the `Origin` header.
pub fn verify(req: &HttpRequest, state: &AppState, submitted: &str) -> Result<(), AppError> {
    // Under `Referrer-Policy: no-referrer` browsers send `Origin: null` with
    // every form POST, so "null" says nothing; `Sec-Fetch-Site` then does.
    if let Some(origin) = req.headers().get(actix_web::http::header::ORIGIN)
        && origin.as_bytes() != b"null"
        && origin.as_bytes() != state.public_origin.origin().ascii_serialization().as_bytes()
    {
        return Err(Problem::BadCsrf.into());
    }
    if let Some(site) = req.headers().get("sec-fetch-site")
        && !matches!(site.as_bytes(), b"same-origin" | b"none")
    {
        return Err(Problem::BadCsrf.into());
    }
    let expected = match SignInSession::from_request(req).csrf_token() {
        Some(token) => token,
        None => match req.cookie(cookie_name(state.settings.is_https())) {
            Some(cookie) => anonymous_token(&state.keys.csrf, cookie.value()),
            None => return Err(Problem::BadCsrf.into()),
        },
    };
    if submitted.is_empty() || !bool::from(submitted.as_bytes().ct_eq(expected.as_bytes())) {
        return Err(Problem::BadCsrf.into());
    }
    Ok(())
}

/// A form whose CSRF token must check out before the handler sees it.
pub trait CsrfProtected {
    fn csrf(&self) -> &str;
}

/// Extracts a url-encoded form `T` (size-limited, strictly parsed) and checks its CSRF token.
pub struct CsrfForm<T>(pub T);

impl<T: DeserializeOwned + CsrfProtected + 'static> FromRequest for CsrfForm<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let form = web::Form::<T>::from_request(&req, payload);
        Box::pin(async move {
            let form = form.await?.into_inner();
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("application state missing")))?;
            verify(&req, state, form.csrf())?;
            Ok(CsrfForm(form))
        })
    }
}
