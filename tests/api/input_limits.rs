//! Fields longer than anything a sign-in needs are refused with a 400 page,
//! request headers over 16 KiB with a 431 page (SECURITY.md item 34), and
//! the connection that sent them keeps working.

use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{Reply, assert_is_html_page, assert_page_says, assert_status};
use crate::helpers::{TestApp, spawn_app};
use crate::library::spawn_host_app;

on_both_backends! {
    a_form_field_over_4_kib_is_a_400_page,
    a_password_of_129_characters_is_a_400_page,
    a_password_of_128_characters_is_checked_like_any_other,
    headers_over_16_kib_are_a_431_page,
    headers_over_16_kib_are_a_431_page_under_a_mount_too,
}

async fn a_form_field_over_4_kib_is_a_400_page(backend: Backend) {
    let app = spawn_app(backend).await;
    let long_email = format!("{}@example.com", "a".repeat(4 * 1024));

    let reply = app.browser.enter_password(&long_email, &app.user.password).await;

    assert_bad_request_page(&reply);
    assert_still_serving(&app).await;
}

async fn a_password_of_129_characters_is_a_400_page(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = app.browser.enter_password(&app.user.email, &"é".repeat(129)).await;

    assert_bad_request_page(&reply);
    assert_page_says(&reply, "128 characters");
    assert_still_serving(&app).await;
}

async fn a_password_of_128_characters_is_checked_like_any_other(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = app.browser.enter_password(&app.user.email, &"é".repeat(128)).await;

    assert_status(&reply, StatusCode::UNAUTHORIZED);
}

async fn headers_over_16_kib_are_a_431_page(backend: Backend) {
    let app = spawn_app(backend).await;

    assert_headers_are_bounded(&app, "/login").await;
    assert_still_serving(&app).await;
}

async fn headers_over_16_kib_are_a_431_page_under_a_mount_too(backend: Backend) {
    let app = spawn_host_app(backend).await;

    assert_headers_are_bounded(&app, "/auth/login").await;
    assert_status(&app.browser.get("/auth/login").await, StatusCode::OK);
}

/// A 100 KB cookie, and many headers that add up to more than 16 KiB, get
/// the 431 page on `page`; 15 KiB of headers are served as usual.
async fn assert_headers_are_bounded(app: &TestApp, page: &str) {
    let huge_cookie = format!("left_by_another_app={}", "a".repeat(100 * 1024));
    let reply = app.browser.get_with_headers(page, &[("cookie", &huge_cookie)]).await;
    assert_headers_too_large_page(&reply);

    let filler = "b".repeat(1000);
    let names: Vec<String> = (0..17).map(|i| format!("x-filler-{i}")).collect();
    let many: Vec<(&str, &str)> = names.iter().map(|name| (name.as_str(), filler.as_str())).collect();
    assert_headers_too_large_page(&app.browser.get_with_headers(page, &many).await);

    let below = app.browser.get_with_headers(page, &many[..15]).await;
    assert_status(&below, StatusCode::OK);
}

fn assert_headers_too_large_page(reply: &Reply) {
    assert_status(reply, StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE);
    assert_is_html_page(reply);
    assert_page_says(reply, "cookies");
    assert!(reply.header("content-security-policy").is_some(), "with the security headers");
}

fn assert_bad_request_page(reply: &Reply) {
    assert_status(reply, StatusCode::BAD_REQUEST);
    assert_is_html_page(reply);
}

/// The same client (and so, with keep-alive, the same connection) still gets answers.
async fn assert_still_serving(app: &TestApp) {
    assert_status(&app.browser.get("/login").await, StatusCode::OK);
}
