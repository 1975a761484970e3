//! The emailed link: `GET /login/link?token=…` consumes nothing. In the
//! browser that typed the password, Continue signs it in; in any other
//! browser the link only approves (or refuses) that waiting sign-in, by the
//! number the waiting page shows. Holding the mail alone signs nobody in.

use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::Barrier;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{
    Browser, Reply, assert_page_says, assert_redirects_to, assert_redirects_to_login, assert_status, form_on,
};
use crate::helpers::{spawn_app, spawn_app_with};
use crate::inspect::Database;

on_both_backends! {
    opening_the_link_consumes_nothing,
    the_link_in_the_browser_that_typed_the_password_signs_it_in_and_honours_return_to,
    the_link_elsewhere_approves_with_the_number_and_only_the_waiting_browser_signs_in,
    holding_the_mail_alone_signs_nobody_in,
    a_wrong_number_refuses_the_sign_in_counts_in_the_budget_and_tells_the_owner,
    this_wasnt_me_refuses_the_sign_in,
    an_empty_or_malformed_number_asks_again_and_decides_nothing,
    before_the_approval_the_waiting_page_says_it_has_not_come_yet,
    a_used_link_answers_410_when_opened,
    an_expired_link_answers_410_when_opened,
    twenty_browsers_approving_at_once_approve_exactly_once,
    an_approval_without_csrf_token_is_forbidden,
    a_made_up_link_token_is_refused,
}

/// The number the waiting browser's code page shows.
async fn match_number(waiting: &Browser) -> String {
    let page = waiting.get("/login/code").await;
    assert_status(&page, StatusCode::OK);
    page.text_of("#match-number").expect("the waiting page shows the number").trim().to_owned()
}

/// Opens `link` in `browser`, which must get the approval page, and answers it.
async fn answer(browser: &Browser, link: &str, changes: &[(&str, &str)]) -> Reply {
    let page = browser.get(link).await;
    assert_status(&page, StatusCode::OK);
    let form = form_on(&page, "/login/link");
    assert!(form.field("number").is_some(), "the approval page asks for the number:\n{}", page.body);
    browser.submit(&page, "/login/link", changes).await
}

/// A two-digit number other than `number`.
fn other_than(number: &str) -> String {
    if number == "42" { "43".into() } else { "42".into() }
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

async fn the_link_in_the_browser_that_typed_the_password_signs_it_in_and_honours_return_to(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app
        .browser
        .enter_password_from("/login?return_to=/somewhere", &app.user.email, &app.user.password)
        .await;
    assert_redirects_to(&reply, "/login/code");
    let mail = app.next_mail().await;

    let page = app.browser.get(&mail.link()).await;
    assert!(form_on(&page, "/login/link").field("number").is_none(), "no number asked here:\n{}", page.body);
    let reply = app.browser.submit(&page, "/login/link", &[]).await;

    assert_redirects_to(&reply, "/somewhere");
    assert_status(&app.browser.get("/").await, StatusCode::OK);
}

async fn the_link_elsewhere_approves_with_the_number_and_only_the_waiting_browser_signs_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let reply = app
        .browser
        .enter_password_from("/login?return_to=/somewhere", &app.user.email, &app.user.password)
        .await;
    assert_redirects_to(&reply, "/login/code");
    let mail = app.next_mail().await;
    let number = match_number(&app.browser).await;
    let phone = app.new_browser();

    let page = phone.get(&mail.link()).await;
    assert_page_says(&page, "127.0.0.1");
    assert!(page.element("button[name=deny][value='1']").is_some(), "a button refuses:\n{}", page.body);
    let approved = phone.submit(&page, "/login/link", &[("number", &number)]).await;

    assert_status(&approved, StatusCode::OK);
    assert_page_says(&approved, "Sign-in approved");
    assert!(phone.session_cookie().is_none(), "the approving browser gets no session");
    assert_redirects_to_login(&phone.get("/").await);
    // The waiting browser's next load of its page signs it in, once.
    assert_redirects_to(&app.browser.get("/login/code").await, "/somewhere");
    let account = app.browser.get("/").await;
    assert_status(&account, StatusCode::OK);
    assert_page_says(&account, &app.user.email);
    let audit = Database::open(&app.cli.database.url).await;
    assert_eq!(audit.audit_count("approval", "ok").await, 1);
}

async fn holding_the_mail_alone_signs_nobody_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;
    let stranger = app.new_browser();

    // Continue without a number, as the old link page offered it, and as a script would post it.
    let page = stranger.get(&mail.link()).await;
    let pressed =
        stranger.post_form("/login/link", &[("token", &mail.link_token()), ("csrf", &csrf(&page))]).await;

    assert_status(&pressed, StatusCode::BAD_REQUEST);
    assert!(form_on(&pressed, "/login/link").field("number").is_some(), "it asks for the number again");
    assert!(stranger.session_cookie().is_none());
    assert_redirects_to_login(&stranger.get("/").await);
    // The sign-in still waits for its own browser.
    assert_redirects_to(&app.browser.enter_code(&mail.code()).await, "/");
}

fn csrf(page: &Reply) -> String {
    form_on(page, "/login/link").field("csrf").unwrap_or_default().to_owned()
}

async fn a_wrong_number_refuses_the_sign_in_counts_in_the_budget_and_tells_the_owner(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;
    let number = match_number(&app.browser).await;

    let refused = answer(&app.new_browser(), &mail.link(), &[("number", &other_than(&number))]).await;

    assert_status(&refused, StatusCode::OK);
    assert_page_says(&refused, "Sign-in refused");
    let waiting = app.browser.get("/login/code").await;
    assert_status(&waiting, StatusCode::GONE);
    assert_page_says(&waiting, "refused from the email");
    assert_redirects_to_login(&app.browser.get("/").await);
    let database = Database::open(&app.cli.database.url).await;
    assert_eq!(database.code_failures_counted(&app.user.email).await, 1, "a wrong guess in the budget");
    assert_eq!(database.audit_count("approval", "wrong_number").await, 1);
    let notice = app.next_mail().await;
    assert!(notice.subject.contains("was refused"), "{}", notice.subject);
    assert!(notice.text().contains("change your password"), "{}", notice.text());
}

async fn this_wasnt_me_refuses_the_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;

    let refused = answer(&app.new_browser(), &mail.link(), &[("deny", "1")]).await;

    assert_page_says(&refused, "You refused the sign-in");
    assert_status(&app.browser.get("/login/code").await, StatusCode::GONE);
    let database = Database::open(&app.cli.database.url).await;
    assert_eq!(database.audit_count("approval", "denied").await, 1);
    assert_eq!(database.code_failures_counted(&app.user.email).await, 1);
    assert!(app.next_mail().await.subject.contains("was refused"));
}

async fn an_empty_or_malformed_number_asks_again_and_decides_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;
    let number = match_number(&app.browser).await;
    let phone = app.new_browser();

    for typed in ["", "4", "abc", "4 2", "123"] {
        let again = answer(&phone, &mail.link(), &[("number", typed)]).await;
        assert_status(&again, StatusCode::BAD_REQUEST);
        assert_page_says(&again, "two-digit number");
    }

    assert_page_says(&answer(&phone, &mail.link(), &[("number", &number)]).await, "Sign-in approved");
    assert_redirects_to(&app.browser.get("/login/code").await, "/");
    let database = Database::open(&app.cli.database.url).await;
    assert_eq!(database.code_failures_counted(&app.user.email).await, 0);
}

async fn before_the_approval_the_waiting_page_says_it_has_not_come_yet(backend: Backend) {
    let app = spawn_app(backend).await;
    app.start_sign_in(&app.browser).await;
    let page = app.browser.get("/login/code").await;
    let control = page.element("a[href='/login/code?check=1']").expect("the Continue control");
    assert!(!control.is_empty());

    let checked = app.browser.get("/login/code?check=1").await;

    assert_status(&checked, StatusCode::OK);
    assert_page_says(&checked, "has not come yet");
    assert!(checked.body.contains("Approved on your other device? Continue"), "{}", checked.body);
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

async fn twenty_browsers_approving_at_once_approve_exactly_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;
    let number = match_number(&app.browser).await;
    let mut approvers = Vec::new();
    for _ in 0..20 {
        let browser = app.new_browser();
        let page = browser.get(&mail.link()).await;
        assert_status(&page, StatusCode::OK);
        let form = form_on(&page, "/login/link").with(&[("number", &number)]);
        approvers.push((browser, form));
    }
    let barrier = Arc::new(Barrier::new(20));

    let mut tasks = tokio::task::JoinSet::new();
    for (browser, form) in approvers {
        let barrier = barrier.clone();
        tasks.spawn(async move {
            barrier.wait().await;
            browser.post_fields("/login/link", &form).await
        });
    }
    let replies: Vec<Reply> = tasks.join_all().await;

    let approved = replies.iter().filter(|r| r.body.contains("Sign-in approved")).count();
    let statuses: Vec<u16> = replies.iter().map(|r| r.status.as_u16()).collect();
    assert_eq!(approved, 1, "exactly one approval; statuses: {statuses:?}");
    assert!(
        replies.iter().all(|r| r.status == StatusCode::OK || r.status == StatusCode::GONE),
        "{statuses:?}"
    );
    assert_redirects_to(&app.browser.get("/login/code").await, "/");
    let again = app.browser.fork();
    assert_status(&again.get("/").await, StatusCode::OK);
}

async fn an_approval_without_csrf_token_is_forbidden(backend: Backend) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;
    let number = match_number(&app.browser).await;
    let phone = app.new_browser();
    let page = phone.get(&mail.link()).await;
    assert_status(&page, StatusCode::OK);

    let reply = phone.post_form("/login/link", &[("token", &mail.link_token()), ("number", &number)]).await;

    assert_status(&reply, StatusCode::FORBIDDEN);
    assert_page_says(&phone.submit(&page, "/login/link", &[("number", &number)]).await, "Sign-in approved");
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
