//! How many wrong codes ever get checked: at most `otp_max_attempts` per
//! code, however many arrive at once, and a per-account budget over a
//! rolling 24 h that resending, a new session or a new IP never resets.

use std::sync::Arc;

use reqwest::StatusCode;
use tokio::sync::Barrier;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{
    Browser, Reply, assert_page_says, assert_redirects_to, assert_redirects_to_login, assert_status,
    assert_too_many_requests, form_on,
};
use crate::helpers::{spawn_app, spawn_app_with};
use crate::inspect::database_of;
use crate::mail::wrong_code_for;

on_both_backends! {
    two_hundred_concurrent_wrong_codes_get_at_most_five_checked,
    the_budget_of_wrong_codes_survives_resend_a_new_session_and_a_forged_client_ip,
}

const GUESSES: usize = 200;

async fn two_hundred_concurrent_wrong_codes_get_at_most_five_checked(backend: Backend) {
    let app = spawn_app(backend).await;
    let code = app.start_sign_in(&app.browser).await.code();
    let page = app.browser.get("/login/code").await;
    let form = form_on(&page, "/login/code");
    let barrier = Arc::new(Barrier::new(GUESSES));

    // Two hundred copies of one half-signed-in browser each try another wrong code at once.
    let mut tasks = tokio::task::JoinSet::new();
    for guess in wrong_codes(&code).take(GUESSES) {
        let (browser, barrier) = (app.browser.fork(), barrier.clone());
        let fields = form.with(&[("code", &guess)]);
        tasks.spawn(async move {
            barrier.wait().await;
            browser.post_fields("/login/code", &fields).await.status
        });
    }
    let statuses = tasks.join_all().await;

    let database = database_of(&app).await;
    let attempts = database.challenge_attempts(&app.user.email).await;
    let counted = database.code_failures_counted(&app.user.email).await;
    assert!(
        attempts.len() == 1 && attempts[0] <= 5,
        "one challenge with at most 5 attempts, got {attempts:?}"
    );
    assert!(counted <= 5, "at most 5 wrong codes counted against the account, got {counted}");
    assert!(
        statuses.iter().all(|s| s.is_client_error()),
        "every guess is refused cleanly, got {}",
        tally(&statuses)
    );
    let right = app.browser.submit(&page, "/login/code", &[("code", &code)]).await;
    assert_status(&right, StatusCode::TOO_MANY_REQUESTS);
    assert_redirects_to_login(&app.browser.get("/").await);
}

async fn the_budget_of_wrong_codes_survives_resend_a_new_session_and_a_forged_client_ip(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.code_failure_budget = 7;
        s.otp_max_attempts = 5;
        s.otp_resend_cooldown_secs = 0;
        s.code_sends_per_15_min = 10;
    })
    .await;
    let laptop = &app.browser;
    let first = app.start_sign_in(laptop).await.code();
    for guess in 1..=3 {
        assert_wrong(&enter_code_from(laptop, &wrong_code_for(&first), guess).await, guess);
    }
    assert_redirects_to(&laptop.resend_code().await, "/login/code");
    let second = app.next_mail().await.code();
    for guess in 4..=5 {
        assert_wrong(&enter_code_from(laptop, &wrong_code_for(&second), guess).await, guess);
    }
    let phone = app.new_browser();
    let third = app.start_sign_in(&phone).await.code();
    for guess in 6..=7 {
        assert_wrong(&enter_code_from(&phone, &wrong_code_for(&third), guess).await, guess);
    }

    let right_on_phone = enter_code_from(&phone, &third, 8).await;
    let right_on_laptop = enter_code_from(laptop, &second, 9).await;

    for reply in [&right_on_phone, &right_on_laptop] {
        assert_too_many_requests(reply);
        assert_page_says(reply, "Code entry is closed");
    }
    assert_redirects_to_login(&phone.get("/").await);
    assert_redirects_to_login(&laptop.get("/").await);
    let warning = app.next_mail().await;
    assert!(
        warning.subject.contains("Someone is trying to sign in"),
        "the owner is warned, got subject {:?}",
        warning.subject
    );
    assert_eq!(warning.to, vec![app.user.email.clone()]);
    let database = database_of(&app).await;
    assert_eq!(database.audit_count("lockout", "code_budget").await, 1, "one lockout, one warning");
}

/// Types `code` on the code page, claiming with `X-Forwarded-For` to come
/// from a different address each time (the peer is not a trusted proxy).
async fn enter_code_from(browser: &Browser, code: &str, forged_ip: u8) -> Reply {
    let forwarded_for = format!("198.51.100.{forged_ip}");
    browser
        .open_and_submit_with_headers(
            "/login/code",
            "/login/code",
            &[("code", code)],
            &[("X-Forwarded-For", &forwarded_for)],
        )
        .await
}

fn assert_wrong(reply: &Reply, guess: u8) {
    assert_eq!(
        reply.status,
        StatusCode::UNAUTHORIZED,
        "wrong code #{guess} is checked and refused:\n{}",
        reply.body
    );
}

/// Every code of the right length but `code` itself.
fn wrong_codes(code: &str) -> impl Iterator<Item = String> + '_ {
    let width = code.len();
    (0..).map(move |n| format!("{n:0width$}")).filter(move |guess| guess != code)
}

fn tally(statuses: &[StatusCode]) -> String {
    let mut counts = std::collections::BTreeMap::new();
    for status in statuses {
        *counts.entry(status.as_u16()).or_insert(0) += 1;
    }
    format!("{counts:?}")
}
