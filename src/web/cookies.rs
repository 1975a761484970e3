//! The portal's own small cookies (the session's is built by `sessions`):
//! host-only, for every path, `HttpOnly`, `SameSite=Lax`, and over https
//! `Secure` with the `__Host-` prefix, which browsers only accept with
//! exactly those attributes; and the one-minute notice of an expired sign-in.

use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, CookieBuilder, SameSite};

use actix_web::HttpRequest;

use super::state::AppState;
use super::urls::Urls;
use crate::core::finish::BROWSER_FORGOTTEN_AFTER_SECS;

pub struct HostCookie {
    /// The name over plain-http loopback (development); over https it gets `__Host-`.
    name: &'static str,
    prefixed: &'static str,
}

/// The pre-session CSRF nonce.
pub const CSRF: HostCookie = HostCookie { name: "gatehouse_csrf", prefixed: "__Host-gatehouse_csrf" };
/// The browser token behind new-sign-in notices.
pub const BROWSER: HostCookie =
    HostCookie { name: "gatehouse_browser", prefixed: "__Host-gatehouse_browser" };

/// The name of the cookie that makes the next `GET /login` say the sign-in expired.
pub const NOTICE: &str = "gatehouse_notice";

/// A one-minute cookie that makes the next `GET /login` say the sign-in expired.
pub fn expired_notice(urls: &Urls) -> Cookie<'static> {
    Cookie::build(NOTICE, "expired")
        .path(urls.login.clone())
        .http_only(true)
        .same_site(SameSite::Lax)
        .max_age(Duration::minutes(1))
        .finish()
}

/// The remembered-browser cookie, kept as long as the account remembers the browser.
pub fn remembered_browser(https: bool, token: String) -> Cookie<'static> {
    BROWSER.build(https, token).max_age(Duration::seconds(BROWSER_FORGOTTEN_AFTER_SECS)).finish()
}

/// The remembered-browser token this request's browser presents, if any.
pub fn remembered_browser_token(req: &HttpRequest, state: &AppState) -> Option<String> {
    req.cookie(BROWSER.name(state.https)).map(|c| c.value().to_owned())
}

impl HostCookie {
    pub fn name(&self, https: bool) -> &'static str {
        if https { self.prefixed } else { self.name }
    }

    /// The cookie with its attributes set; callers may add a lifetime.
    pub fn build(&self, https: bool, value: String) -> CookieBuilder<'static> {
        Cookie::build(self.name(https), value)
            .path("/")
            .secure(https)
            .http_only(true)
            .same_site(SameSite::Lax)
    }
}

#[cfg(test)]
mod tests {
    use actix_web::cookie::SameSite;

    use super::{BROWSER, CSRF};

    #[test]
    fn over_https_the_cookies_are_host_prefixed_and_secure() {
        for cookie in [&CSRF, &BROWSER] {
            let https = cookie.build(true, "v".into()).finish();
            assert!(https.name().starts_with("__Host-"), "{}", https.name());
            assert_eq!((https.secure(), https.path(), https.domain()), (Some(true), Some("/"), None));
            assert_eq!((https.http_only(), https.same_site()), (Some(true), Some(SameSite::Lax)));
            let plain = cookie.build(false, "v".into()).finish();
            assert!(!plain.name().starts_with("__Host-") && plain.secure() == Some(false));
        }
    }
}
