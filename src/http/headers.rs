//! The security headers of SECURITY.md item 24, on every response: pages,
//! errors, redirects and static files.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::DefaultHeaders;

use crate::config::Settings;

pub fn security_headers(settings: &Settings) -> DefaultHeaders {
    // After a form POST, browsers check `form-action` on the redirect too,
    // so allowed return hosts must be listed.
    let mut form_action = String::from("'self'");
    for host in &settings.allowed_return_hosts {
        form_action.push_str(&format!(" https://{host}"));
        if !settings.is_https() {
            form_action.push_str(&format!(" http://{host}"));
        }
    }
    let csp = format!(
        "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action {form_action}; \
         frame-ancestors 'none'; base-uri 'none'"
    );
    let mut headers = DefaultHeaders::new()
        .add(("Content-Security-Policy", csp))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"))
        .add(("X-Frame-Options", "DENY"))
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Permissions-Policy", "camera=(), microphone=(), geolocation=()"))
        // Pages carry CSRF tokens and account data: never cache them.
        // Static files set their own Cache-Control, which this does not override.
        .add(("Cache-Control", "no-store"));
    if settings.is_https() {
        headers = headers.add((
            HeaderName::from_static("strict-transport-security"),
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    headers
}
