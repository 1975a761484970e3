//! The portal's own small cookies (the session's is built by
//! `http::sessions`): host-only, for every path, `HttpOnly`, `SameSite=Lax`,
//! and over https `Secure` with the `__Host-` prefix, which browsers only
//! accept with exactly those attributes.

use actix_web::cookie::{Cookie, CookieBuilder, SameSite};

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
