//! No stranger can lock the owner out (SECURITY.md item 31): a browser that
//! has completed a sign-in to the account is exempt from the address's
//! delay and stop, and has a run of failures of its own instead.

use crate::backend::{Backend, on_both_backends};
use crate::browser::{
    assert_redirects_to, assert_redirects_to_login, assert_status, assert_too_many_requests,
};
use crate::helpers::{TestApp, spawn_app_with};

on_both_backends! {
    a_stranger_cannot_lock_the_owner_out_of_a_browser_that_signed_in_before,
    a_remembered_browser_has_a_run_of_failures_of_its_own,
    unlock_also_lets_the_remembered_browsers_in_again,
}

const WRONG: &str = "not the password at all";

/// An app that stops an address after two consecutive failures, and whose
/// own browser has signed in once (so the account remembers it) and out.
async fn app_whose_browser_signed_in_before(backend: Backend) -> TestApp {
    let app = spawn_app_with(backend, |s| s.password_max_consecutive_failures = 2).await;
    app.sign_in(&app.browser).await;
    assert_redirects_to_login(&app.browser.log_out().await);
    app
}

async fn a_stranger_cannot_lock_the_owner_out_of_a_browser_that_signed_in_before(backend: Backend) {
    let app = app_whose_browser_signed_in_before(backend).await;
    let stranger = app.new_browser();
    for _ in 0..2 {
        assert_status(
            &stranger.enter_password(&app.user.email, WRONG).await,
            reqwest::StatusCode::UNAUTHORIZED,
        );
    }
    assert_too_many_requests(&app.new_browser().enter_password(&app.user.email, &app.user.password).await);

    let owner = app.browser.enter_password(&app.user.email, &app.user.password).await;

    assert_redirects_to(&owner, "/login/code");
}

async fn a_remembered_browser_has_a_run_of_failures_of_its_own(backend: Backend) {
    let app = app_whose_browser_signed_in_before(backend).await;
    for _ in 0..2 {
        let wrong = app.browser.enter_password(&app.user.email, WRONG).await;
        assert_status(&wrong, reqwest::StatusCode::UNAUTHORIZED);
    }

    let stopped = app.browser.enter_password(&app.user.email, &app.user.password).await;
    let elsewhere = app.new_browser().enter_password(&app.user.email, &app.user.password).await;

    assert_too_many_requests(&stopped);
    assert_redirects_to(&elsewhere, "/login/code");
}

async fn unlock_also_lets_the_remembered_browsers_in_again(backend: Backend) {
    let app = app_whose_browser_signed_in_before(backend).await;
    for _ in 0..2 {
        app.browser.enter_password(&app.user.email, WRONG).await;
    }
    assert_too_many_requests(&app.browser.enter_password(&app.user.email, &app.user.password).await);

    app.cli.run_ok(&["user", "unlock", &app.user.email], None).await;

    assert_redirects_to(
        &app.browser.enter_password(&app.user.email, &app.user.password).await,
        "/login/code",
    );
}
