//! Pages outside the flow and the error pages every request can meet:
//! health checks, 404, security headers, oversized and malformed forms.

use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{Reply, assert_is_html_page, assert_redirects_to, assert_status, form_on};
use crate::helpers::{SUPPORT_URL, TestApp, spawn_app};

on_both_backends! {
    healthz_and_readyz_answer_200,
    an_unknown_page_is_a_404_page_with_the_support_link,
    every_page_carries_the_security_headers,
    every_error_page_links_to_support,
    pages_with_secrets_are_not_cached,
    an_oversized_form_is_refused_with_413,
    a_form_with_a_missing_field_is_a_400_page,
    a_form_with_a_duplicate_field_is_a_400_page,
    a_form_with_invalid_utf8_is_a_400_page,
    a_form_with_a_nul_byte_is_a_400_page,
}

async fn healthz_and_readyz_answer_200(backend: Backend) {
    let app = spawn_app(backend).await;

    let healthz = app.browser.get("/healthz").await;
    let readyz = app.browser.get("/readyz").await;

    assert_status(&healthz, StatusCode::OK);
    assert_status(&readyz, StatusCode::OK);
}

async fn an_unknown_page_is_a_404_page_with_the_support_link(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = app.browser.get("/no/such/page").await;

    assert_status(&reply, StatusCode::NOT_FOUND);
    assert_is_html_page(&reply);
    assert!(reply.body.contains(SUPPORT_URL), "links to support:\n{}", reply.body);
}

async fn every_page_carries_the_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;

    let login = app.browser.get("/login").await;
    let not_found = app.browser.get("/no/such/page").await;
    let wrong_password = app.browser.enter_password(&app.user.email, "not the password at all").await;

    for reply in [&login, &not_found, &wrong_password] {
        assert_security_headers(reply);
    }
}

async fn every_error_page_links_to_support(backend: Backend) {
    let app = spawn_app(backend).await;
    let login = app.browser.get("/login").await;
    let forbidden = app.browser.submit(&login, "/login", &[("csrf", "forged")]).await;
    let not_found = app.browser.get("/no/such/page").await;
    let bad_request = post_login_body(&app, |csrf| format!("csrf={csrf}&email=alice%40example.com")).await;
    let too_large = app.browser.submit(&login, "/login", &[("password", &"a".repeat(64 * 1024))]).await;
    let unauthorized = app.browser.enter_password(&app.user.email, "not the password at all").await;
    app.start_sign_in(&app.browser).await;
    let too_many = app.browser.resend_code().await;

    for (reply, status) in [
        (&forbidden, StatusCode::FORBIDDEN),
        (&not_found, StatusCode::NOT_FOUND),
        (&bad_request, StatusCode::BAD_REQUEST),
        (&too_large, StatusCode::PAYLOAD_TOO_LARGE),
        (&unauthorized, StatusCode::UNAUTHORIZED),
        (&too_many, StatusCode::TOO_MANY_REQUESTS),
    ] {
        assert_status(reply, status);
        assert_is_html_page(reply);
        assert!(reply.body.contains(SUPPORT_URL), "the {status} page links to support:\n{}", reply.body);
    }
}

async fn pages_with_secrets_are_not_cached(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;
    let code_page = app.browser.get("/login/code").await;
    let link_page = app.new_browser().get(&mail.link()).await;
    assert_redirects_to(&app.browser.enter_code(&mail.code()).await, "/");

    let account = app.browser.get("/").await;

    for reply in [&code_page, &link_page, &account] {
        assert_status(reply, StatusCode::OK);
        let cache_control = reply.header("cache-control").unwrap_or_default();
        assert!(cache_control.contains("no-store"), "Cache-Control: no-store, got {cache_control:?}");
    }
}

async fn an_oversized_form_is_refused_with_413(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app.browser.get("/login").await;
    let huge = "a".repeat(64 * 1024);

    let reply = app.browser.submit(&page, "/login", &[("email", &app.user.email), ("password", &huge)]).await;

    assert_status(&reply, StatusCode::PAYLOAD_TOO_LARGE);
    assert_still_serving(&app).await;
}

async fn a_form_with_a_missing_field_is_a_400_page(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = post_login_body(&app, |csrf| format!("csrf={csrf}&email=alice%40example.com")).await;

    assert_bad_request_page(&reply);
    assert_still_serving(&app).await;
}

async fn a_form_with_a_duplicate_field_is_a_400_page(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = post_login_body(&app, |csrf| {
        format!("csrf={csrf}&email=alice%40example.com&email=bob%40example.com&password=whatever1")
    })
    .await;

    assert_bad_request_page(&reply);
    assert_still_serving(&app).await;
}

async fn a_form_with_invalid_utf8_is_a_400_page(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = post_login_body(&app, |csrf| {
        format!("csrf={csrf}&email=al%FF%FEice%40example.com&password=whatever1")
    })
    .await;

    assert_bad_request_page(&reply);
    assert_still_serving(&app).await;
}

async fn a_form_with_a_nul_byte_is_a_400_page(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply =
        post_login_body(&app, |csrf| format!("csrf={csrf}&email=alice%00%40example.com&password=whatever1"))
            .await;

    assert_bad_request_page(&reply);
    assert_still_serving(&app).await;
}

/// Posts a hand-written form body to `/login`, with the page's real CSRF
/// token (URL-encoded) so that only the body's shape is wrong.
async fn post_login_body(app: &TestApp, body: impl Fn(&str) -> String) -> Reply {
    let page = app.browser.get("/login").await;
    let csrf = form_on(&page, "/login").field("csrf").unwrap_or_default().to_owned();
    let csrf: String = url::form_urlencoded::byte_serialize(csrf.as_bytes()).collect();
    app.browser.post_raw("/login", "application/x-www-form-urlencoded", body(&csrf).into_bytes()).await
}

fn assert_bad_request_page(reply: &Reply) {
    assert_status(reply, StatusCode::BAD_REQUEST);
    assert_is_html_page(reply);
}

async fn assert_still_serving(app: &TestApp) {
    assert_status(&app.browser.get("/healthz").await, StatusCode::OK);
}

fn assert_security_headers(reply: &Reply) {
    let header = |name: &str| reply.header(name).unwrap_or_default().to_ascii_lowercase();
    let csp = header("content-security-policy");
    assert!(csp.contains("frame-ancestors"), "CSP with frame-ancestors on {}: {csp:?}", reply.status);
    assert!(!script_src(&csp).contains("'unsafe-inline'"), "no inline script in CSP: {csp:?}");
    assert_eq!(header("x-content-type-options"), "nosniff", "on {}", reply.status);
    assert_eq!(header("referrer-policy"), "no-referrer", "on {}", reply.status);
}

/// The directive that governs scripts: `script-src`, else `default-src`.
fn script_src(csp: &str) -> String {
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    let find = |name: &str| directives.iter().find(|d| d.starts_with(name)).map(|d| d.to_string());
    find("script-src ").or_else(|| find("default-src ")).unwrap_or_default()
}
