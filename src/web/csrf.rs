//! CSRF protection for every POST. Before a session exists (the login form,
//! the link's Continue page) the token is a keyed hash of a random cookie, so
//! an anonymous page view creates no server-side state; once a session exists
//! the token is a random value kept in it. The `Origin` header, when present,
//! must be `public_url`.

use std::pin::Pin;

use actix_web::cookie::Cookie;
use actix_web::dev::Payload;
use actix_web::{FromRequest, HttpRequest, web};
use base64::Engine as _;
use serde::de::DeserializeOwned;
use subtle::ConstantTimeEq as _;

use super::cookies::CSRF;
use super::problem::{AppError, Problem};
use super::session::SignInSession;
use super::sessions::session_cookie_name;
use super::state::AppState;
use crate::domain::code::random_token;
use crate::domain::keys::keyed_hash;

/// The token to put in this request's forms, and the cookie to set when the
/// browser has none yet.
pub fn token_for(req: &HttpRequest, state: &AppState) -> (String, Option<Cookie<'static>>) {
    if let Some(token) = SignInSession::from_request(req).csrf_token() {
        return (token, None);
    }
    let https = state.https;
    match req.cookie(CSRF.name(https)) {
        Some(cookie) => (anonymous_token(&state.csrf_key, cookie.value()), None),
        None => {
            let nonce = random_token();
            let token = anonymous_token(&state.csrf_key, &nonce);
            let cookie = CSRF.build(https, nonce).finish();
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
    let session_token = SignInSession::from_request(req).csrf_token();
    let expected = match &session_token {
        Some(token) => Some(token.clone()),
        None => {
            req.cookie(CSRF.name(state.https)).map(|cookie| anonymous_token(&state.csrf_key, cookie.value()))
        }
    };
    let matches = expected
        .is_some_and(|e| !submitted.is_empty() && bool::from(submitted.as_bytes().ct_eq(e.as_bytes())));
    if matches {
        return Ok(());
    }
    // A form from a session that has since ended (timed out, signed out
    // elsewhere, replaced by a concurrent sign-in): say the sign-in expired.
    let session_cookie = session_cookie_name(state.https, state.cookie_domain.is_some());
    let stale_session = session_token.is_none() && req.cookie(session_cookie).is_some();
    Err(if stale_session { Problem::SignInExpired } else { Problem::BadCsrf }.into())
}

/// A url-encoded form `T`, read strictly, whose `csrf` field must check out
/// before the handler sees it. Strict means: at most 16 KiB (else 413), the
/// right content type, every field valid UTF-8 without NUL bytes and at most
/// 4 KiB, no field given twice (else a 400 page).
pub struct CsrfForm<T>(pub T);

const MAX_FIELD_BYTES: usize = 4096;

impl<T: DeserializeOwned + 'static> FromRequest for CsrfForm<T> {
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            let body = body.await?;
            let state = req
                .app_data::<web::Data<AppState>>()
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("application state missing")))?;
            let is_form = req
                .headers()
                .get(actix_web::http::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
            if !is_form {
                return Err(AppError::from(Problem::BadRequest).into());
            }
            let fields = strict_fields(&body)?;
            let csrf = fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()).unwrap_or("");
            verify(&req, state, csrf)?;
            let form =
                serde_urlencoded::from_bytes(&body).map_err(|_| AppError::from(Problem::BadRequest))?;
            Ok(CsrfForm(form))
        })
    }
}

/// Decodes every field strictly; any doubt is a 400.
fn strict_fields(body: &[u8]) -> Result<Vec<(String, String)>, AppError> {
    let bad = || AppError::from(Problem::BadRequest);
    let mut fields: Vec<(String, String)> = Vec::new();
    for pair in body.split(|&b| b == b'&').filter(|p| !p.is_empty()) {
        let mut parts = pair.splitn(2, |&b| b == b'=');
        let (key, value) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
        let (key, value) = (decode_strict(key).ok_or_else(bad)?, decode_strict(value).ok_or_else(bad)?);
        if fields.iter().any(|(k, _)| *k == key) {
            return Err(bad());
        }
        fields.push((key, value));
    }
    Ok(fields)
}

fn decode_strict(raw: &[u8]) -> Option<String> {
    let spaced: Vec<u8> = raw.iter().map(|&b| if b == b'+' { b' ' } else { b }).collect();
    let decoded = percent_encoding::percent_decode(&spaced).decode_utf8().ok()?;
    (decoded.len() <= MAX_FIELD_BYTES && !decoded.contains('\0')).then(|| decoded.into_owned())
}

#[cfg(test)]
mod tests {
    use super::strict_fields;

    #[test]
    fn well_formed_fields_are_decoded() {
        let fields = strict_fields(b"email=a%40b.example&password=p+w&csrf=x").unwrap();
        assert_eq!(fields[0], ("email".into(), "a@b.example".into()));
        assert_eq!(fields[1], ("password".into(), "p w".into()));
    }

    #[test]
    fn hostile_forms_are_refused() {
        for body in [&b"email=al%FFice"[..], b"email=a%00b", b"csrf=a&csrf=b", b"email=\xff"] {
            assert!(strict_fields(body).is_err(), "{:?}", String::from_utf8_lossy(body));
        }
        let long = format!("code={}", "1".repeat(5000));
        assert!(strict_fields(long.as_bytes()).is_err());
    }
}
