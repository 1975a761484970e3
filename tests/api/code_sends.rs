//! How many codes an account is sent: `code_sends_per_15_min`, whether the
//! code comes from the password step or from "send a new code". A refused
//! send makes no code and mails nothing.

use crate::backend::{Backend, on_both_backends};
use crate::browser::{Reply, assert_page_says, assert_redirects_to, assert_too_many_requests};
use crate::helpers::{TestApp, spawn_app_with};
use crate::inspect::database_of;

on_both_backends! {
    a_fourth_code_by_resend_within_15_minutes_is_refused_and_not_sent,
    a_fourth_code_by_the_password_step_within_15_minutes_is_refused_and_not_sent,
}

async fn a_fourth_code_by_resend_within_15_minutes_is_refused_and_not_sent(backend: Backend) {
    let app = app_sending_three_codes_per_15_minutes(backend).await;
    let newest = three_codes_sent(&app).await;

    let fourth = app.browser.resend_code().await;

    assert_refused_as_too_many_codes(&fourth);
    assert_no_code_made_or_mailed(&app).await;
    assert_redirects_to(&app.browser.enter_code(&newest).await, "/");
}

async fn a_fourth_code_by_the_password_step_within_15_minutes_is_refused_and_not_sent(backend: Backend) {
    let app = app_sending_three_codes_per_15_minutes(backend).await;
    three_codes_sent(&app).await;

    let fourth = app.new_browser().enter_password(&app.user.email, &app.user.password).await;

    assert_refused_as_too_many_codes(&fourth);
    assert_no_code_made_or_mailed(&app).await;
}

async fn app_sending_three_codes_per_15_minutes(backend: Backend) -> TestApp {
    let app = spawn_app_with(backend, |s| {
        s.code_sends_per_15_min = 3;
        s.otp_resend_cooldown_secs = 0;
    })
    .await;
    app.cli.add_user("bob@example.com", "bob's long password").await;
    app
}

/// The password step and two resends: the three codes allowed. Returns the newest.
async fn three_codes_sent(app: &TestApp) -> String {
    let mut newest = app.start_sign_in(&app.browser).await.code();
    for _ in 0..2 {
        assert_redirects_to(&app.browser.resend_code().await, "/login/code");
        newest = app.next_mail().await.code();
    }
    newest
}

fn assert_refused_as_too_many_codes(reply: &Reply) {
    assert_too_many_requests(reply);
    assert_page_says(reply, "Too many codes were sent");
}

/// No challenge row was added for alice, and the next mail the sink gets
/// is one sent to bob afterwards (his sends are counted apart).
async fn assert_no_code_made_or_mailed(app: &TestApp) {
    let database = database_of(app).await;
    assert_eq!(database.challenges_issued_to(&app.user.email).await, 3, "no fourth code was made");
    let bob = app.new_browser();
    let reply = bob.enter_password("bob@example.com", "bob's long password").await;
    assert_redirects_to(&reply, "/login/code");
    let next = app.next_mail().await;
    assert_eq!(next.to, vec!["bob@example.com".to_owned()], "the refused code was not mailed to alice");
}
