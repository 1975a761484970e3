//! Fields longer than anything a sign-in needs are refused with a 400 page,
//! and the connection that sent them keeps working.

use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{Reply, assert_is_html_page, assert_page_says, assert_status};
use crate::helpers::{TestApp, spawn_app};

on_both_backends! {
    a_form_field_over_4_kib_is_a_400_page,
    a_password_of_129_characters_is_a_400_page,
    a_password_of_128_characters_is_checked_like_any_other,
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

fn assert_bad_request_page(reply: &Reply) {
    assert_status(reply, StatusCode::BAD_REQUEST);
    assert_is_html_page(reply);
}

/// The same client (and so, with keep-alive, the same connection) still gets answers.
async fn assert_still_serving(app: &TestApp) {
    assert_status(&app.browser.get("/login").await, StatusCode::OK);
}
