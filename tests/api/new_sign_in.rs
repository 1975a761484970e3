//! The new-sign-in notice: a completed sign-in from a browser the account
//! has not used before mails its owner; the same browser again does not.

use crate::backend::{Backend, on_both_backends};
use crate::browser::assert_redirects_to;
use crate::helpers::{TestApp, spawn_app_with};
use crate::inspect::database_of;

on_both_backends! {
    a_sign_in_from_a_new_browser_mails_its_owner_with_browser_ip_and_time,
    the_same_browser_signing_in_again_is_not_news,
    no_notice_when_notify_new_sign_in_is_off,
}

const FIREFOX: &str = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

async fn notices_queued(app: &TestApp) -> usize {
    database_of(app).await.outbox_rows().await.iter().filter(|r| r.kind == "new_sign_in").count()
}

async fn a_sign_in_from_a_new_browser_mails_its_owner_with_browser_ip_and_time(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.notify_new_sign_in = true).await;
    let browser = app.new_browser().with_user_agent(FIREFOX);
    let code = app.start_sign_in(&browser).await.code();
    assert_eq!(notices_queued(&app).await, 0, "nothing is news before the sign-in completes");
    assert_redirects_to(&browser.enter_code(&code).await, "/");

    let notice = app.next_mail().await;
    assert_eq!(notice.subject, "New sign-in to your Gatehouse account");
    assert_eq!(notice.to, std::slice::from_ref(&app.user.email));
    let text = notice.text().to_owned();
    for fact in ["Firefox on Windows 10", "127.0.0.1", "UTC"] {
        assert!(text.contains(fact), "the notice names {fact:?}:\n{text}");
    }
    assert!(notice.html.as_deref().is_some_and(|h| h.contains("Firefox on Windows 10")));
}

async fn the_same_browser_signing_in_again_is_not_news(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.notify_new_sign_in = true).await;
    app.sign_in(&app.browser).await;
    app.next_mail().await; // the notice of the first sign-in
    assert_eq!(notices_queued(&app).await, 1);

    assert_redirects_to(&app.browser.log_out().await, "/login");
    app.sign_in(&app.browser).await;
    assert_eq!(notices_queued(&app).await, 1, "the browser is known after its first sign-in");

    // Another browser is news again.
    let other = app.new_browser();
    app.sign_in(&other).await;
    assert_eq!(notices_queued(&app).await, 2);
}

async fn no_notice_when_notify_new_sign_in_is_off(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.notify_new_sign_in = false).await;
    app.sign_in(&app.browser).await;
    assert_eq!(notices_queued(&app).await, 0);
}
