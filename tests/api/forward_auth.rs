//! `GET /auth/verify`, the forward-auth answer for nginx, Traefik and Caddy.

use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{assert_redirects_to, assert_status};
use crate::helpers::spawn_app;

on_both_backends! {
    verify_answers_401_to_an_anonymous_browser,
    verify_answers_401_to_a_half_signed_in_session,
    verify_answers_200_with_the_user_to_a_signed_in_session,
    verify_answers_401_right_after_logout,
}

async fn verify_answers_401_to_an_anonymous_browser(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = app.browser.get("/auth/verify").await;

    assert_status(&reply, StatusCode::UNAUTHORIZED);
}

async fn verify_answers_401_to_a_half_signed_in_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.start_sign_in(&app.browser).await;

    let reply = app.browser.get("/auth/verify").await;

    assert_status(&reply, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.header("remote-user"), None);
}

async fn verify_answers_200_with_the_user_to_a_signed_in_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in(&app.browser).await;

    let reply = app.browser.get("/auth/verify").await;

    assert_status(&reply, StatusCode::OK);
    assert_eq!(reply.header("remote-user"), Some(app.user.email.as_str()));
    assert_eq!(reply.header("remote-email"), Some(app.user.email.as_str()));
}

async fn verify_answers_401_right_after_logout(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in(&app.browser).await;
    let copy_of_signed_in_cookies = app.browser.fork();

    assert_redirects_to(&app.browser.log_out().await, "/login");
    let reply = copy_of_signed_in_cookies.get("/auth/verify").await;

    assert_status(&reply, StatusCode::UNAUTHORIZED);
}
