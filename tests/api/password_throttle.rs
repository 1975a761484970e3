//! Password guessing: after `password_free_failures` consecutive failures for
//! an address the next attempt waits (429, even with the right password);
//! unknown addresses are treated the same; after
//! `password_max_consecutive_failures` only an operator lets the address in.

use std::sync::Arc;

use reqwest::StatusCode;
use tokio::sync::Barrier;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{
    Reply, assert_page_says, assert_redirects_to, assert_status, assert_too_many_requests, form_on,
};
use crate::helpers::{TestApp, spawn_app_with};
use crate::inspect::database_of;

on_both_backends! {
    after_two_wrong_passwords_even_the_right_one_is_answered_429,
    an_unknown_address_is_throttled_exactly_like_a_known_one,
    after_a_right_password_the_address_is_throttled_like_a_fresh_one,
    after_three_consecutive_failures_the_address_waits_until_unlocked,
    set_password_also_ends_the_stop,
    ten_concurrent_wrong_passwords_get_no_more_checks_than_the_stop_allows,
    a_long_typed_address_is_counted_under_a_short_key,
    right_passwords_from_one_ip_are_not_counted_against_it,
}

const WRONG: &str = "not the password at all";

async fn after_two_wrong_passwords_even_the_right_one_is_answered_429(backend: Backend) {
    let app = app_with_two_free_failures(backend).await;
    two_wrong_passwords(&app, &app.user.email).await;

    let right = app.browser.enter_password(&app.user.email, &app.user.password).await;

    let retry_after = assert_too_many_requests(&right);
    assert!(retry_after <= 30, "the first delay is 30 s at most, got {retry_after}");
    assert_page_says(&right, "try again in");
    let database = database_of(&app).await;
    assert_eq!(database.challenges_issued_to(&app.user.email).await, 0, "no code was sent");
}

async fn an_unknown_address_is_throttled_exactly_like_a_known_one(backend: Backend) {
    let app = app_with_two_free_failures(backend).await;

    let known = wrong_passwords(&app, &app.user.email, 4).await;
    let unknown = wrong_passwords(&app, "nobody@example.com", 4).await;

    for (attempt, (known, unknown)) in known.iter().zip(&unknown).enumerate() {
        assert_eq!(
            (known.status, known.header("retry-after").is_some()),
            (unknown.status, unknown.header("retry-after").is_some()),
            "attempt #{} gets the same answer for both addresses",
            attempt + 1
        );
        assert_eq!(
            same_page(&known.body, &app.user.email),
            same_page(&unknown.body, "nobody@example.com"),
            "attempt #{} shows the same page for both addresses",
            attempt + 1
        );
    }
    assert_too_many_requests(&known[3]);
}

async fn after_a_right_password_the_address_is_throttled_like_a_fresh_one(backend: Backend) {
    let app = app_with_two_free_failures(backend).await;
    app.cli.add_user("bob@example.com", "bob's long password").await;
    let wrong = app.browser.enter_password(&app.user.email, WRONG).await;
    assert_status(&wrong, StatusCode::UNAUTHORIZED);
    app.start_sign_in(&app.new_browser()).await;

    let alice = wrong_passwords(&app, &app.user.email, 4).await;
    let fresh = wrong_passwords(&app, "bob@example.com", 4).await;

    let statuses = |replies: &[Reply]| replies.iter().map(|r| r.status.as_u16()).collect::<Vec<_>>();
    assert_eq!(
        statuses(&alice),
        statuses(&fresh),
        "alice's earlier failure was forgotten when she got the password right"
    );
    assert_too_many_requests(&alice[3]);
}

async fn after_three_consecutive_failures_the_address_waits_until_unlocked(backend: Backend) {
    let app = app_stopping_after_three_failures(backend).await;
    three_wrong_passwords(&app).await;
    let stopped = app.browser.enter_password(&app.user.email, &app.user.password).await;
    let retry_after = assert_too_many_requests(&stopped);
    assert!(retry_after > 3600, "a stop, not a delay: Retry-After {retry_after}");

    app.cli.run_ok(&["user", "unlock", &app.user.email], None).await;

    app.start_sign_in(&app.browser).await;
    let database = database_of(&app).await;
    assert_eq!(database.audit_count("lockout", "password").await, 1);
}

async fn set_password_also_ends_the_stop(backend: Backend) {
    let app = app_stopping_after_three_failures(backend).await;
    three_wrong_passwords(&app).await;

    app.cli
        .run_ok(
            &["user", "set-password", &app.user.email, "--password-stdin"],
            Some("a brand new long password"),
        )
        .await;

    let reply = app.browser.enter_password(&app.user.email, "a brand new long password").await;
    assert_redirects_to(&reply, "/login/code");
}

async fn ten_concurrent_wrong_passwords_get_no_more_checks_than_the_stop_allows(backend: Backend) {
    let app = app_stopping_after_three_failures(backend).await;
    let page = app.browser.get("/login").await;
    let fields = form_on(&page, "/login").with(&[("email", app.user.email.as_str()), ("password", WRONG)]);
    let barrier = Arc::new(Barrier::new(10));

    // Ten copies of one browser guess alice's password at once.
    let mut guesses = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let (browser, fields, barrier) = (app.browser.fork(), fields.clone(), barrier.clone());
        guesses.spawn(async move {
            barrier.wait().await;
            browser.post_fields("/login", &fields).await.status
        });
    }
    let statuses: Vec<u16> = guesses.join_all().await.iter().map(|s| s.as_u16()).collect();

    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(checked <= 3, "at most 3 of the guesses are checked before the stop, got statuses {statuses:?}");
    assert!(
        statuses.iter().all(|s| matches!(s, 401 | 429 | 503)),
        "every guess is refused cleanly, got {statuses:?}"
    );
}

async fn a_long_typed_address_is_counted_under_a_short_key(backend: Backend) {
    let app = app_with_two_free_failures(backend).await;
    let typed = format!("{}@example.com", "x".repeat(3000));

    let replies = wrong_passwords(&app, &typed, 3).await;

    assert_too_many_requests(&replies[2]);
    let longest = database_of(&app).await.longest_password_bucket().await;
    assert!(longest < 100, "a bucket key of {longest} characters");
}

async fn right_passwords_from_one_ip_are_not_counted_against_it(backend: Backend) {
    // One free failure per IP: a second attempt counted against it would wait.
    let app = spawn_app_with(backend, |s| s.password_free_failures_per_ip = 1).await;
    let others = [("bob@example.com", "bob's long password"), ("carol@example.com", "carol's long password")];
    for (email, password) in others {
        app.cli.add_user(email, password).await;
    }

    for (email, password) in [(app.user.email.as_str(), app.user.password.as_str())].into_iter().chain(others)
    {
        let reply = app.new_browser().enter_password(email, password).await;
        assert_redirects_to(&reply, "/login/code");
    }
    let wrong = app.browser.enter_password("bob@example.com", WRONG).await;

    assert_wrong_password(&wrong, 1);
    let after = app.browser.enter_password("carol@example.com", WRONG).await;
    assert_too_many_requests(&after);
}

async fn app_with_two_free_failures(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| {
        s.password_free_failures = 2;
        s.password_max_delay_secs = 30;
    })
    .await
}

async fn app_stopping_after_three_failures(backend: Backend) -> TestApp {
    spawn_app_with(backend, |s| s.password_max_consecutive_failures = 3).await
}

async fn two_wrong_passwords(app: &TestApp, email: &str) {
    for attempt in 1..=2 {
        let reply = app.browser.enter_password(email, WRONG).await;
        assert_wrong_password(&reply, attempt);
    }
}

async fn three_wrong_passwords(app: &TestApp) {
    for attempt in 1..=3 {
        let reply = app.browser.enter_password(&app.user.email, WRONG).await;
        assert_wrong_password(&reply, attempt);
    }
}

/// `count` wrong passwords for `email`, whatever each is answered.
async fn wrong_passwords(app: &TestApp, email: &str, count: usize) -> Vec<Reply> {
    let mut replies = Vec::new();
    for _ in 0..count {
        replies.push(app.browser.enter_password(email, WRONG).await);
    }
    replies
}

fn assert_wrong_password(reply: &Reply, attempt: u32) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "wrong password #{attempt} is checked and refused:\n{}",
        reply.body
    );
}

/// The page with what legitimately differs taken out: the address typed
/// back into the form, form values and the seconds to wait.
fn same_page(body: &str, email: &str) -> String {
    let values = regex::Regex::new(r#"value="[^"]*""#).expect("regex");
    values.replace_all(&body.replace(email, ""), "").chars().filter(|c| !c.is_ascii_digit()).collect()
}
