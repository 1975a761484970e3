//! The password step: `GET /login` and `POST /login`.

use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{Reply, assert_redirects_to, assert_status};
use crate::helpers::{SUPPORT_URL, spawn_app};

on_both_backends! {
    the_right_password_leads_to_the_code_page_and_mails_a_code_to_the_user,
    a_wrong_password_is_refused_with_401_and_the_form_again,
    an_unknown_email_gets_the_same_page_as_a_wrong_password,
    a_disabled_account_gets_the_same_page_as_a_wrong_password,
    the_login_form_helps_password_managers,
    a_login_post_without_csrf_token_is_forbidden,
    a_login_post_with_a_wrong_csrf_token_is_forbidden,
    return_to_is_kept_through_both_steps,
    a_protocol_relative_return_to_is_dropped,
    an_absolute_return_to_elsewhere_is_dropped,
    a_backslash_return_to_is_dropped,
}

async fn the_right_password_leads_to_the_code_page_and_mails_a_code_to_the_user(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = app.browser.enter_password(&app.user.email, &app.user.password).await;

    assert_redirects_to(&reply, "/login/code");
    let mail = app.next_mail().await;
    assert_eq!(mail.to, vec![app.user.email.clone()]);
}

async fn a_wrong_password_is_refused_with_401_and_the_form_again(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = app.browser.enter_password(&app.user.email, "not the password at all").await;

    assert_status(&reply, StatusCode::UNAUTHORIZED);
    assert!(reply.has_form("/login"), "the login form is shown again:\n{}", reply.body);
    assert!(reply.body.contains(SUPPORT_URL), "the error page links to support:\n{}", reply.body);
}

async fn an_unknown_email_gets_the_same_page_as_a_wrong_password(backend: Backend) {
    let app = spawn_app(backend).await;

    let wrong_password = app.browser.enter_password(&app.user.email, "not the password at all").await;
    let unknown_email =
        app.new_browser().enter_password("nobody@example.com", "not the password at all").await;

    assert_status(&wrong_password, StatusCode::UNAUTHORIZED);
    assert_same_page(&wrong_password, &app.user.email, &unknown_email, "nobody@example.com");
}

async fn a_disabled_account_gets_the_same_page_as_a_wrong_password(backend: Backend) {
    let app = spawn_app(backend).await;
    let carol = "carol@example.com";
    app.cli.add_user(carol, "carol's long password").await;
    app.cli.run_ok(&["user", "disable", carol], None).await;

    let wrong_password = app.browser.enter_password(&app.user.email, "not the password at all").await;
    let disabled = app.new_browser().enter_password(carol, "carol's long password").await;

    assert_status(&wrong_password, StatusCode::UNAUTHORIZED);
    assert_same_page(&wrong_password, &app.user.email, &disabled, carol);
}

async fn the_login_form_helps_password_managers(backend: Backend) {
    let app = spawn_app(backend).await;

    let page = app.browser.get("/login").await;

    assert_status(&page, StatusCode::OK);
    assert_eq!(attr(&page, "input[name=email]", "autocomplete").as_deref(), Some("username"));
    assert_eq!(attr(&page, "input[name=password]", "autocomplete").as_deref(), Some("current-password"));
    assert_eq!(attr(&page, "input[name=password]", "type").as_deref(), Some("password"));
}

async fn a_login_post_without_csrf_token_is_forbidden(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app.browser.get("/login").await;
    assert_status(&page, StatusCode::OK);

    let reply = app
        .browser
        .post_form("/login", &[("email", &app.user.email), ("password", &app.user.password)])
        .await;

    assert_status(&reply, StatusCode::FORBIDDEN);
}

async fn a_login_post_with_a_wrong_csrf_token_is_forbidden(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app.browser.get("/login").await;

    let reply = app
        .browser
        .submit(
            &page,
            "/login",
            &[("email", &app.user.email), ("password", &app.user.password), ("csrf", "forged")],
        )
        .await;

    assert_status(&reply, StatusCode::FORBIDDEN);
}

async fn return_to_is_kept_through_both_steps(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = app
        .browser
        .enter_password_from("/login?return_to=/somewhere", &app.user.email, &app.user.password)
        .await;
    assert_redirects_to(&reply, "/login/code");
    let code = app.next_mail().await.code();
    let reply = app.browser.enter_code(&code).await;

    assert_redirects_to(&reply, "/somewhere");
}

async fn a_protocol_relative_return_to_is_dropped(backend: Backend) {
    assert_return_to_is_dropped(backend, "//evil.example").await;
}

async fn an_absolute_return_to_elsewhere_is_dropped(backend: Backend) {
    assert_return_to_is_dropped(backend, "https://evil.example/").await;
}

async fn a_backslash_return_to_is_dropped(backend: Backend) {
    assert_return_to_is_dropped(backend, "/\\evil.example").await;
}

async fn assert_return_to_is_dropped(backend: Backend, return_to: &str) {
    let app = spawn_app(backend).await;
    let login_page = format!("/login?return_to={}", urlencode(return_to));

    let reply = app.browser.enter_password_from(&login_page, &app.user.email, &app.user.password).await;
    assert_redirects_to(&reply, "/login/code");
    let code = app.next_mail().await.code();
    let reply = app.browser.enter_code(&code).await;

    assert_redirects_to(&reply, "/");
}

/// Same status and same page, once the CSRF token and the typed email are
/// blanked out.
fn assert_same_page(expected: &Reply, expected_email: &str, actual: &Reply, actual_email: &str) {
    assert_eq!(actual.status, expected.status, "same status; body:\n{}", actual.body);
    assert_eq!(normalise(actual, actual_email), normalise(expected, expected_email), "the two pages differ");
}

fn normalise(reply: &Reply, email: &str) -> String {
    let mut body = reply.body.replace(email, "EMAIL");
    for token in reply.input_values("csrf") {
        if !token.is_empty() {
            body = body.replace(&token, "CSRF");
        }
    }
    body
}

fn attr(page: &Reply, css: &str, name: &str) -> Option<String> {
    page.element(css)?.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

fn urlencode(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}
