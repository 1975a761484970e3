//! The code step: `GET /login/code` and `POST /login/code`.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::Barrier;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{
    assert_page_says, assert_redirects_to, assert_redirects_to_login, assert_status, form_on,
};
use crate::helpers::{spawn_app, spawn_app_with};
use crate::mail::wrong_code_for;

on_both_backends! {
    the_right_code_signs_the_browser_in_and_shows_the_account,
    a_wrong_code_is_refused_with_401_and_says_how_many_attempts_are_left,
    an_expired_code_is_refused_with_410_and_a_new_code_is_offered,
    a_code_is_refused_with_410_once_its_link_refused_the_sign_in,
    the_fifth_wrong_code_is_answered_429_and_the_right_code_no_longer_works,
    twenty_concurrent_submissions_of_the_right_code_sign_in_exactly_once,
    a_code_pasted_with_spaces_is_accepted,
    a_code_pasted_with_a_dash_is_accepted,
    a_code_posted_by_a_signed_in_browser_is_sent_home,
    a_code_post_without_csrf_token_is_forbidden,
    a_code_post_with_a_wrong_csrf_token_is_forbidden,
    the_code_page_says_where_the_code_went_and_takes_numeric_input,
    the_code_page_without_a_sign_in_in_progress_redirects_to_login,
}

async fn the_right_code_signs_the_browser_in_and_shows_the_account(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;

    let reply = app.browser.enter_code(&mail.code()).await;

    assert_redirects_to(&reply, "/");
    let account = app.browser.get("/").await;
    assert_status(&account, StatusCode::OK);
    assert_page_says(&account, &app.user.email);
}

async fn a_wrong_code_is_refused_with_401_and_says_how_many_attempts_are_left(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;

    let reply = app.browser.enter_code(&wrong_code_for(&mail.code())).await;

    assert_status(&reply, StatusCode::UNAUTHORIZED);
    assert_page_says(&reply, "attempts left");
    let four_left = regex::Regex::new(r"(?i)\b4\s+(more\s+)?attempts\s+left").expect("regex");
    assert!(four_left.is_match(&reply.body), "says 4 attempts are left:\n{}", reply.body);
    assert!(reply.has_form("/login/code"), "the code form is shown again:\n{}", reply.body);
}

async fn an_expired_code_is_refused_with_410_and_a_new_code_is_offered(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.otp_ttl_secs = 1).await;
    let mail = app.start_sign_in(&app.browser).await;
    let page = app.browser.get("/login/code").await;
    assert_status(&page, StatusCode::OK);

    // Waiting past a server-side TTL of one second (timestamps are whole seconds).
    tokio::time::sleep(Duration::from_millis(2_200)).await;
    let reply = app.browser.submit(&page, "/login/code", &[("code", &mail.code())]).await;

    assert_status(&reply, StatusCode::GONE);
    assert_page_says(&reply, "expired");
    assert!(reply.has_form("/login/code/resend"), "a new code is offered:\n{}", reply.body);
}

async fn a_code_is_refused_with_410_once_its_link_refused_the_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;
    let page = app.browser.get("/login/code").await;
    let phone = app.new_browser();
    let approval = phone.get(&mail.link()).await;
    let refused = phone.submit(&approval, "/login/link", &[("deny", "1")]).await;
    assert_page_says(&refused, "Sign-in refused");

    let reply = app.browser.submit(&page, "/login/code", &[("code", &mail.code())]).await;

    assert_status(&reply, StatusCode::GONE);
    assert_page_says(&reply, "refused from the email");
}

async fn the_fifth_wrong_code_is_answered_429_and_the_right_code_no_longer_works(backend: Backend) {
    let app = spawn_app(backend).await;
    let code = app.start_sign_in(&app.browser).await.code();
    let wrong = wrong_code_for(&code);
    let mut page = app.browser.get("/login/code").await;
    for attempt in 1..=4 {
        page = app.browser.submit(&page, "/login/code", &[("code", &wrong)]).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED, "wrong code #{attempt}:\n{}", page.body);
    }

    let fifth = app.browser.submit(&page, "/login/code", &[("code", &wrong)]).await;
    let right = app.browser.submit(&page, "/login/code", &[("code", &code)]).await;

    assert_status(&fifth, StatusCode::TOO_MANY_REQUESTS);
    assert_page_says(&fifth, "too many");
    assert!(
        !signed_in_reply(&right) && !right.status.is_server_error() && right.status != StatusCode::OK,
        "the right code is refused now, got {} {:?}:\n{}",
        right.status,
        right.location,
        right.body
    );
    assert_redirects_to_login(&app.browser.get("/").await);
}

async fn twenty_concurrent_submissions_of_the_right_code_sign_in_exactly_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let code = app.start_sign_in(&app.browser).await.code();
    let page = app.browser.get("/login/code").await;
    let fields = form_on(&page, "/login/code").with(&[("code", &code)]);
    let barrier = Arc::new(Barrier::new(20));

    // Twenty copies of the same half-signed-in browser press "Sign in" at once.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..20 {
        let (browser, fields, barrier) = (app.browser.fork(), fields.clone(), barrier.clone());
        tasks.spawn(async move {
            barrier.wait().await;
            let reply = browser.post_fields("/login/code", &fields).await;
            (reply, browser)
        });
    }
    let results = tasks.join_all().await;

    let winners = results.iter().filter(|(r, _)| signed_in_reply(r)).count();
    assert_eq!(winners, 1, "exactly one submission wins; statuses: {:?}", statuses(&results));
    for (reply, _) in results.iter().filter(|(r, _)| !signed_in_reply(r)) {
        assert!(
            reply.status.is_client_error() || reply.status == StatusCode::SEE_OTHER,
            "a losing submission is refused cleanly, got {}:\n{}",
            reply.status,
            reply.body
        );
    }
    let mut signed_in = 0;
    for (_, browser) in &results {
        if browser.get("/").await.status == StatusCode::OK {
            signed_in += 1;
        }
    }
    assert_eq!(signed_in, 1, "exactly one browser ends up signed in");
    // The winner's use is recorded once, with the use; a loser that got as
    // far as the check, as a used code (the others found the session gone).
    let audit = app.cli.run_ok(&["audit", "--user", &app.user.email], None).await;
    let results: Vec<&str> = audit
        .stdout
        .lines()
        .filter_map(|l| l.split('\t').nth(2).filter(|event| *event == "code").and(l.split('\t').nth(3)))
        .collect();
    assert_eq!(results.iter().filter(|r| **r == "ok").count(), 1, "audit output:\n{}", audit.stdout);
    assert!(results.iter().all(|r| ["ok", "used"].contains(r)), "audit output:\n{}", audit.stdout);
}

async fn a_code_pasted_with_spaces_is_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let code = app.start_sign_in(&app.browser).await.code();
    let (head, tail) = code.split_at(3);

    let reply = app.browser.enter_code(&format!(" {head} {tail} ")).await;

    assert_redirects_to(&reply, "/");
}

async fn a_code_pasted_with_a_dash_is_accepted(backend: Backend) {
    let app = spawn_app(backend).await;
    let code = app.start_sign_in(&app.browser).await.code();
    let (head, tail) = code.split_at(3);

    let reply = app.browser.enter_code(&format!("{head}-{tail}")).await;

    assert_redirects_to(&reply, "/");
}

async fn a_code_posted_by_a_signed_in_browser_is_sent_home(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in(&app.browser).await;
    let account = app.browser.get("/").await;
    let csrf = form_on(&account, "/logout").field("csrf").unwrap_or_default().to_owned();

    let reply = app.browser.post_form("/login/code", &[("code", "000000"), ("csrf", &csrf)]).await;

    assert_redirects_to(&reply, "/");
}

async fn a_code_post_without_csrf_token_is_forbidden(backend: Backend) {
    let app = spawn_app(backend).await;
    let code = app.start_sign_in(&app.browser).await.code();

    let reply = app.browser.post_form("/login/code", &[("code", &code)]).await;

    assert_status(&reply, StatusCode::FORBIDDEN);
    assert_redirects_to(&app.browser.enter_code(&code).await, "/");
}

async fn a_code_post_with_a_wrong_csrf_token_is_forbidden(backend: Backend) {
    let app = spawn_app(backend).await;
    let code = app.start_sign_in(&app.browser).await.code();
    let page = app.browser.get("/login/code").await;

    let reply = app.browser.submit(&page, "/login/code", &[("code", &code), ("csrf", "forged")]).await;

    assert_status(&reply, StatusCode::FORBIDDEN);
    assert_redirects_to(&app.browser.enter_code(&code).await, "/");
}

async fn the_code_page_says_where_the_code_went_and_takes_numeric_input(backend: Backend) {
    let app = spawn_app(backend).await;
    app.start_sign_in(&app.browser).await;

    let page = app.browser.get("/login/code").await;

    assert_status(&page, StatusCode::OK);
    assert_page_says(&page, "@example.com");
    assert!(!page.body.contains(&app.user.email), "the address is masked:\n{}", page.body);
    let input = page.element("input[name=code]").expect("a code input");
    let attr = |name: &str| input.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(attr("inputmode"), Some("numeric"));
    assert_eq!(attr("autocomplete"), Some("one-time-code"));
    assert!(page.has_form("/login/code/resend"), "offers a new code:\n{}", page.body);
}

async fn the_code_page_without_a_sign_in_in_progress_redirects_to_login(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = app.browser.get("/login/code").await;

    assert_redirects_to_login(&reply);
}

fn signed_in_reply(reply: &crate::browser::Reply) -> bool {
    reply.status == StatusCode::SEE_OTHER && reply.location.as_deref() == Some("/")
}

fn statuses(results: &[(crate::browser::Reply, crate::browser::Browser)]) -> Vec<String> {
    results
        .iter()
        .map(|(r, _)| format!("{} {}", r.status.as_u16(), r.location.as_deref().unwrap_or("")))
        .collect()
}
