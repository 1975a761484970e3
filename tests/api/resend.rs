//! "Send a new code": `POST /login/code/resend`.

use std::time::Duration;

use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{Reply, assert_page_says, assert_redirects_to, assert_status};
use crate::helpers::{TestApp, spawn_app, spawn_app_with};
use crate::mail::Mail;

on_both_backends! {
    asking_for_a_new_code_during_the_cooldown_is_answered_429_with_retry_after,
    a_new_code_replaces_the_old_one,
    a_new_code_also_retires_the_old_link,
}

async fn asking_for_a_new_code_during_the_cooldown_is_answered_429_with_retry_after(backend: Backend) {
    let app = spawn_app(backend).await;
    app.start_sign_in(&app.browser).await;

    let reply = app.browser.resend_code().await;

    assert_status(&reply, StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = reply
        .header("retry-after")
        .unwrap_or_else(|| panic!("a Retry-After header; headers: {:?}", reply.headers))
        .parse()
        .expect("Retry-After is a number of seconds");
    assert!((1..=30).contains(&retry_after), "Retry-After within the 30 s cooldown: {retry_after}");
}

async fn a_new_code_replaces_the_old_one(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.otp_resend_cooldown_secs = 1).await;
    let old = app.start_sign_in(&app.browser).await;

    let new = resend_after_cooldown(&app).await;

    assert_ne!(old.code(), new.code(), "a new code is a different code");
    let reply = app.browser.enter_code(&old.code()).await;
    assert!(reply.status.is_client_error(), "the old code is refused, got {}:\n{}", reply.status, reply.body);
    assert_page_says(&reply, "replaced by a newer code");
    assert_redirects_to(&app.browser.enter_code(&new.code()).await, "/");
}

async fn a_new_code_also_retires_the_old_link(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.otp_resend_cooldown_secs = 1).await;
    let old = app.start_sign_in(&app.browser).await;
    resend_after_cooldown(&app).await;
    let phone = app.new_browser();

    let page = phone.get(&old.link()).await;
    let reply =
        if page.status == StatusCode::OK { phone.submit(&page, "/login/link", &[]).await } else { page };

    assert!(
        reply.status.is_client_error(),
        "the old link is refused, got {} {:?}:\n{}",
        reply.status,
        reply.location,
        reply.body
    );
    assert_ne!(phone.get("/").await.status, StatusCode::OK, "the phone is not signed in");
}

/// Waits out a one-second cooldown (a server-side timer), asks for a new
/// code and returns its mail.
async fn resend_after_cooldown(app: &TestApp) -> Mail {
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let reply = app.browser.resend_code().await;
    assert_resend_accepted(&reply);
    app.next_mail().await
}

fn assert_resend_accepted(reply: &Reply) {
    let back_to_code_page =
        reply.status == StatusCode::SEE_OTHER && reply.location.as_deref() == Some("/login/code");
    let code_page = reply.status == StatusCode::OK && reply.has_form("/login/code");
    assert!(
        back_to_code_page || code_page,
        "a new code is sent and the code page shown, got {} {:?}:\n{}",
        reply.status,
        reply.location,
        reply.body
    );
}
