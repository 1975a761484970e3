//! The security headers of SECURITY.md item 24, on every response: pages,
//! errors, redirects and static files.

use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::DefaultHeaders;

use crate::config::Config;

/// The headers, worked out once from the configuration.
#[derive(Clone, Debug)]
pub struct SecurityHeaders {
    csp: String,
    /// Whether `frame_ancestors` lets any site frame the pages.
    framable: bool,
    https: bool,
}

impl SecurityHeaders {
    pub fn new(config: &Config) -> Self {
        // After a form POST, browsers check `form-action` on the redirect too,
        // so allowed return hosts must be listed.
        let mut form_action = String::from("'self'");
        for host in config.return_policy.allowed_hosts() {
            form_action.push_str(&format!(" https://{host}"));
            if !config.is_https() {
                form_action.push_str(&format!(" http://{host}"));
            }
        }
        // A logo on another origin (a CDN) is allowed as an image, and only it.
        let mut img_src = String::from("'self' data:");
        if let Some(origin) = config.brand.logo.as_ref().and_then(|logo| logo.foreign_origin()) {
            img_src.push(' ');
            img_src.push_str(&origin);
        }
        // No framing unless `frame_ancestors` names who may (validated as bare origins).
        let frame_ancestors = if config.frame_ancestors.is_empty() {
            "'none'".to_owned()
        } else {
            config.frame_ancestors.join(" ")
        };
        let csp = format!(
            "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'self'; img-src {img_src}; \
             form-action {form_action}; frame-ancestors {frame_ancestors}; base-uri 'none'"
        );
        Self { csp, framable: !config.frame_ancestors.is_empty(), https: config.is_https() }
    }
}

pub fn security_headers(headers: &SecurityHeaders) -> DefaultHeaders {
    let mut default = DefaultHeaders::new()
        .add(("Content-Security-Policy", headers.csp.clone()))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "no-referrer"));
    if !headers.framable {
        // For browsers without CSP frame-ancestors; it cannot express a list.
        default = default.add(("X-Frame-Options", "DENY"));
    }
    default = default
        .add(("Cross-Origin-Opener-Policy", "same-origin"))
        .add(("Permissions-Policy", "camera=(), microphone=(), geolocation=()"))
        // Pages carry CSRF tokens and account data: never cache them.
        // Static files set their own Cache-Control, which this does not override.
        .add(("Cache-Control", "no-store"));
    if headers.https {
        default = default.add((
            HeaderName::from_static("strict-transport-security"),
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        ));
    }
    default
}

#[cfg(test)]
mod tests {
    use actix_web::{App, HttpResponse, test, web};

    use super::*;
    use crate::config::Settings;

    async fn headers_for(public_url: &str) -> actix_web::http::header::HeaderMap {
        headers_with(Settings { public_url: public_url.into(), ..Settings::default() }).await
    }

    async fn headers_with(settings: Settings) -> actix_web::http::header::HeaderMap {
        let headers = SecurityHeaders::new(&settings.check().unwrap());
        let app = test::init_service(
            App::new().wrap(security_headers(&headers)).route("/", web::get().to(HttpResponse::Ok)),
        )
        .await;
        test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await.headers().clone()
    }

    #[actix_web::test]
    async fn hsts_is_sent_over_https_only() {
        for https in ["https://login.example.com", "HTTPS://login.example.com"] {
            assert!(headers_for(https).await.contains_key("strict-transport-security"), "{https}");
        }
        assert!(!headers_for("http://127.0.0.1:8080").await.contains_key("strict-transport-security"));
    }

    #[actix_web::test]
    async fn a_logo_on_another_origin_is_allowed_as_an_image_and_nothing_else() {
        let settings = Settings {
            logo_url: Some("https://cdn.example.com/brand/logo.png".into()),
            ..Settings::default()
        };
        let headers = headers_with(settings).await;
        let csp = headers.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("img-src 'self' data: https://cdn.example.com;"), "{csp}");
        assert_eq!(csp.matches("cdn.example.com").count(), 1, "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
    }

    #[actix_web::test]
    async fn frame_ancestors_lets_the_named_origins_frame_the_pages() {
        let settings = Settings {
            frame_ancestors: vec![
                "https://portal.example.com".into(),
                "https://intranet.example.org:8443".into(),
            ],
            ..Settings::default()
        };
        let headers = headers_with(settings).await;
        let csp = headers.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(
            csp.contains("frame-ancestors https://portal.example.com https://intranet.example.org:8443;"),
            "{csp}"
        );
        assert!(!headers.contains_key("x-frame-options"), "X-Frame-Options would forbid it again");
        assert_eq!(headers_for("https://login.example.com").await.get("x-frame-options").unwrap(), "DENY");
    }

    #[actix_web::test]
    async fn the_csp_forbids_inline_script_and_framing() {
        let headers = headers_for("https://login.example.com").await;
        let csp = headers.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("default-src 'none'") && csp.contains("frame-ancestors 'none'"), "{csp}");
        assert!(!csp.contains("unsafe-inline"), "{csp}");
        assert_eq!(headers.get("referrer-policy").unwrap(), "no-referrer");
        assert_eq!(headers.get("x-content-type-options").unwrap(), "nosniff");
    }
}
