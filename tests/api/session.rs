//! Sessions: rotation, half-signed-in sessions, logout, timeouts, restarts.

use std::time::Duration;

use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{
    SESSION_COOKIE, assert_page_says, assert_redirects_to, assert_redirects_to_login, assert_status,
};
use crate::helpers::{spawn_app, spawn_app_with};

on_both_backends! {
    a_half_signed_in_session_is_never_shown_the_account,
    the_session_cookie_changes_at_the_password_step_and_at_the_code_step,
    the_cookie_from_before_the_code_step_is_dead_after_sign_in,
    a_planted_session_cookie_never_becomes_a_signed_in_session,
    logging_out_ends_the_session_on_the_server,
    a_logout_with_a_wrong_csrf_token_is_forbidden_and_keeps_the_session,
    an_idle_session_times_out,
    a_busy_session_still_ends_at_its_absolute_lifetime,
    a_sign_in_survives_a_server_restart_between_password_and_code,
    session_cookies_are_http_only_and_same_site_lax,
    with_cookie_domain_the_session_cookie_is_secure_prefixed_for_the_whole_domain,
}

async fn a_half_signed_in_session_is_never_shown_the_account(backend: Backend) {
    let app = spawn_app(backend).await;
    app.start_sign_in(&app.browser).await;

    let reply = app.browser.get("/").await;

    assert_eq!(reply.status, StatusCode::SEE_OTHER, "not the account page:\n{}", reply.body);
    assert!(
        reply.location.as_deref().is_some_and(|l| l.starts_with("/login")),
        "sent to sign in, got {:?}",
        reply.location
    );
    assert!(!reply.body.contains(&app.user.email), "the account is not shown:\n{}", reply.body);
}

async fn the_session_cookie_changes_at_the_password_step_and_at_the_code_step(backend: Backend) {
    let app = spawn_app(backend).await;
    app.browser.get("/login").await;
    let before = app.browser.session_cookie();

    let mail = app.start_sign_in(&app.browser).await;
    let after_password = app.browser.session_cookie().expect("a session cookie after the password step");
    assert_redirects_to(&app.browser.enter_code(&mail.code()).await, "/");
    let after_code = app.browser.session_cookie().expect("a session cookie after the code step");

    assert_ne!(before.as_deref(), Some(after_password.as_str()), "rotated at the password step");
    assert_ne!(after_password, after_code, "rotated at the code step");
}

async fn the_cookie_from_before_the_code_step_is_dead_after_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;
    let stale = app.browser.fork();

    assert_redirects_to(&app.browser.enter_code(&mail.code()).await, "/");

    assert_redirects_to_login(&stale.get("/").await);
    assert_redirects_to_login(&stale.get("/login/code").await);
    assert_status(&app.browser.get("/").await, StatusCode::OK);
}

async fn a_planted_session_cookie_never_becomes_a_signed_in_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let planted = "attacker-chosen-session-value-0123456789abcdefghijklmnopqrstuvwxyz";
    app.browser.plant_cookie(SESSION_COOKIE, planted);

    app.sign_in(&app.browser).await;

    let attacker = app.new_browser();
    attacker.plant_cookie(SESSION_COOKIE, planted);
    assert_ne!(app.browser.session_cookie().as_deref(), Some(planted));
    assert_redirects_to_login(&attacker.get("/").await);
}

async fn logging_out_ends_the_session_on_the_server(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in(&app.browser).await;
    let copy_of_signed_in_cookies = app.browser.fork();

    let reply = app.browser.log_out().await;

    assert_redirects_to(&reply, "/login");
    assert_redirects_to_login(&app.browser.get("/").await);
    assert_redirects_to_login(&copy_of_signed_in_cookies.get("/").await);
}

async fn a_logout_with_a_wrong_csrf_token_is_forbidden_and_keeps_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in(&app.browser).await;
    let account = app.browser.get("/").await;

    let reply = app.browser.submit(&account, "/logout", &[("csrf", "forged")]).await;

    assert_status(&reply, StatusCode::FORBIDDEN);
    assert_status(&app.browser.get("/").await, StatusCode::OK);
}

async fn an_idle_session_times_out(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.session_idle_timeout_secs = 2).await;
    app.sign_in(&app.browser).await;
    assert_status(&app.browser.get("/").await, StatusCode::OK);

    // Waiting past a server-side idle timeout of two seconds.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let reply = app.browser.get("/").await;

    assert_redirects_to_login(&reply);
}

async fn a_busy_session_still_ends_at_its_absolute_lifetime(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.session_idle_timeout_secs = 60;
        s.session_absolute_timeout_secs = 4;
    })
    .await;
    app.sign_in(&app.browser).await;

    // Used twice a second, so never idle: fine for the first three seconds
    // (instants are whole seconds), gone once the four-second lifetime is over.
    for tick in 0..12 {
        let reply = app.browser.get("/").await;
        if tick <= 4 {
            assert_status(&reply, StatusCode::OK);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let reply = app.browser.get("/").await;

    assert_redirects_to_login(&reply);
}

async fn a_sign_in_survives_a_server_restart_between_password_and_code(backend: Backend) {
    let mut app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;

    app.restart().await;
    let reply = app.browser.enter_code(&mail.code()).await;

    assert_redirects_to(&reply, "/");
    let account = app.browser.get("/").await;
    assert_status(&account, StatusCode::OK);
    assert_page_says(&account, &app.user.email);
}

async fn session_cookies_are_http_only_and_same_site_lax(backend: Backend) {
    let app = spawn_app(backend).await;
    let login_page = app.browser.get("/login").await;
    let credentials = [("email", app.user.email.as_str()), ("password", app.user.password.as_str())];
    let password_step = app.browser.submit(&login_page, "/login", &credentials).await;
    assert_redirects_to(&password_step, "/login/code");
    let code = app.next_mail().await.code();
    let code_step = app.browser.enter_code(&code).await;
    assert_redirects_to(&code_step, "/");

    let cookies: Vec<_> = [&login_page, &password_step, &code_step]
        .iter()
        .flat_map(|reply| reply.cookies.iter().cloned())
        .collect();

    assert!(
        cookies.iter().any(|c| c.name == SESSION_COOKIE),
        "a {SESSION_COOKIE} cookie is set on plain http (no __Host- prefix): {cookies:?}"
    );
    for cookie in &cookies {
        assert!(cookie.http_only, "HttpOnly: {cookie:?}");
        assert!(cookie.same_site_lax, "SameSite=Lax: {cookie:?}");
        assert_eq!(cookie.path.as_deref(), Some("/"), "Path=/: {cookie:?}");
        assert!(!cookie.secure, "no Secure flag on plain-http localhost: {cookie:?}");
    }
}

async fn with_cookie_domain_the_session_cookie_is_secure_prefixed_for_the_whole_domain(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.public_url = "https://login.example.com".into();
        s.cookie_domain = Some("example.com".into());
    })
    .await;
    // The test talks plain http to 127.0.0.1, where a client keeps no Secure
    // cookie: carry the login form's CSRF cookie by hand, as a browser on
    // https://login.example.com would.
    let login_page = app.browser.get("/login").await;
    for header in login_page.headers.get_all("set-cookie") {
        let pair = header.to_str().unwrap().split(';').next().unwrap();
        let (name, value) = pair.split_once('=').unwrap();
        app.browser.plant_cookie(name, value);
    }
    let credentials = [("email", app.user.email.as_str()), ("password", app.user.password.as_str())];
    let password_step = app.browser.submit(&login_page, "/login", &credentials).await;
    assert_redirects_to(&password_step, "/login/code");

    let session: Vec<String> = password_step
        .headers
        .get_all("set-cookie")
        .iter()
        .map(|h| h.to_str().unwrap().to_owned())
        .filter(|c| c.starts_with("__Secure-gatehouse_session="))
        .collect();
    assert_eq!(session.len(), 1, "{:?}", password_step.headers);
    for attribute in ["Domain=example.com", "Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(session[0].split("; ").any(|a| a == attribute), "{attribute} in {}", session[0]);
    }
}
