//! The emailed link: `GET /login/link?token=…` (a "Continue" page that
//! consumes nothing) and its `POST /login/link`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::Barrier;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{
    Browser, Reply, assert_page_says, assert_redirects_to, assert_redirects_to_login, assert_status, form_on,
};
use crate::helpers::{spawn_app, spawn_app_with};

on_both_backends! {
    opening_the_link_consumes_nothing,
    the_link_signs_in_a_browser_without_cookies_and_honours_return_to,
    a_used_link_answers_410_when_opened,
    an_expired_link_answers_410_when_opened,
    twenty_browsers_pressing_continue_at_once_sign_in_exactly_one,
    a_link_post_without_csrf_token_is_forbidden,
    a_made_up_link_token_is_refused,
}

async fn opening_the_link_consumes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;

    // What a mail scanner does: fetch the link, twice, with no cookies.
    let first = app.new_browser().get(&mail.link()).await;
    let second = app.new_browser().get(&mail.link()).await;

    assert_status(&first, StatusCode::OK);
    assert_status(&second, StatusCode::OK);
    assert_redirects_to(&app.browser.enter_code(&mail.code()).await, "/");
}

async fn the_link_signs_in_a_browser_without_cookies_and_honours_return_to(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app
        .browser
        .enter_password_from("/login?return_to=/somewhere", &app.user.email, &app.user.password)
        .await;
    assert_redirects_to(&reply, "/login/code");
    let mail = app.next_mail().await;
    let phone = app.new_browser();

    let reply = phone.continue_link(&mail.link()).await;

    assert_redirects_to(&reply, "/somewhere");
    let account = phone.get("/").await;
    assert_status(&account, StatusCode::OK);
    assert_page_says(&account, &app.user.email);
    assert_redirects_to_login(&app.browser.get("/").await);
}

async fn a_used_link_answers_410_when_opened(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;
    assert_redirects_to(&app.browser.enter_code(&mail.code()).await, "/");

    let reply = app.new_browser().get(&mail.link()).await;

    assert_status(&reply, StatusCode::GONE);
    assert_page_says(&reply, "already been used");
}

async fn an_expired_link_answers_410_when_opened(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.otp_ttl_secs = 1).await;
    let mail = app.start_sign_in(&app.browser).await;

    // Waiting past a server-side TTL of one second (timestamps are whole seconds).
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let reply = app.new_browser().get(&mail.link()).await;

    assert_status(&reply, StatusCode::GONE);
    assert_page_says(&reply, "expired");
}

async fn twenty_browsers_pressing_continue_at_once_sign_in_exactly_one(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;
    let mut pressers = Vec::new();
    for _ in 0..20 {
        let browser = app.new_browser();
        let page = browser.get(&mail.link()).await;
        assert_status(&page, StatusCode::OK);
        pressers.push((browser, form_on(&page, "/login/link")));
    }
    let barrier = Arc::new(Barrier::new(20));

    let mut tasks = tokio::task::JoinSet::new();
    for (browser, form) in pressers {
        let barrier = barrier.clone();
        tasks.spawn(async move {
            barrier.wait().await;
            let reply = browser.post_fields(&form.action, &form.fields).await;
            (reply, browser)
        });
    }
    let results: Vec<(Reply, Browser)> = tasks.join_all().await;

    let winners = results
        .iter()
        .filter(|(r, _)| r.status == StatusCode::SEE_OTHER && r.location.as_deref() == Some("/"))
        .count();
    let statuses: Vec<u16> = results.iter().map(|(r, _)| r.status.as_u16()).collect();
    assert_eq!(winners, 1, "exactly one press wins; statuses: {statuses:?}");
    let mut signed_in = 0;
    for (_, browser) in &results {
        if browser.get("/").await.status == StatusCode::OK {
            signed_in += 1;
        }
    }
    assert_eq!(signed_in, 1, "exactly one browser ends up signed in");
}

async fn a_link_post_without_csrf_token_is_forbidden(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;
    let phone = app.new_browser();
    let page = phone.get(&mail.link()).await;
    assert_status(&page, StatusCode::OK);

    let reply = phone.post_form("/login/link", &[("token", &mail.link_token())]).await;

    assert_status(&reply, StatusCode::FORBIDDEN);
    assert_redirects_to(&phone.submit(&page, "/login/link", &[]).await, "/");
}

async fn a_made_up_link_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    app.start_sign_in(&app.browser).await;

    let reply = app.new_browser().get("/login/link?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;

    assert!(
        reply.status.is_client_error() && !reply.has_form("/login/link"),
        "a made-up token gets an error page, got {}:\n{}",
        reply.status,
        reply.body
    );
}
