//! Revocation is complete (SECURITY.md item 30): a new password, disabling
//! or removing an account ends its sessions and its pending sign-ins — the
//! code and link already mailed no longer work, "send a new code" sends
//! nothing — and no session is ever written back after it.

use std::collections::HashMap;

use actix_session::storage::{SessionKey, SessionStore as _};
use actix_web::cookie::time::Duration;
use gatehouse::config::SessionRules;
use gatehouse::db::Db;
use gatehouse::domain::clock::Clock;
use gatehouse::web::session_store::DbSessionStore;
use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{
    assert_page_says, assert_redirects_to, assert_redirects_to_login, assert_status, form_on,
};
use crate::helpers::{TestApp, spawn_app};
use crate::inspect::Database;

on_both_backends! {
    a_new_password_ends_the_pending_sign_in_its_code_and_its_link,
    disabling_ends_the_pending_sign_in_its_code_and_its_link,
    removing_ends_the_pending_sign_in_its_code_and_its_link,
    send_a_new_code_sends_nothing_after_a_new_password,
    a_session_revoked_while_a_request_ran_is_not_written_back,
}

/// A sign-in waiting for its code; then `command` is run on the account.
/// The code, the link and the waiting page must all be dead.
async fn pending_sign_in_ends_with(backend: Backend, command: &[&str], password: Option<&str>) {
    let app = spawn_app(backend).await;
    let mail = app.start_sign_in(&app.browser).await;
    let page = app.browser.get("/login/code").await;
    assert_status(&page, StatusCode::OK);

    let mut args = command.to_vec();
    args.push(&app.user.email);
    app.cli.run_ok(&args, password).await;

    let code = app.browser.submit(&page, "/login/code", &[("code", &mail.code())]).await;
    assert_redirects_to(&code, "/login");
    assert_redirects_to_login(&app.browser.get("/").await);
    let link = app.new_browser().get(&mail.link()).await;
    assert!(link.status == StatusCode::NOT_FOUND || link.status == StatusCode::GONE, "{}", link.status);
    assert!(!link.has_form("/login/link"), "the link offers nothing:\n{}", link.body);
}

async fn a_new_password_ends_the_pending_sign_in_its_code_and_its_link(backend: Backend) {
    let new = "a brand new passphrase";
    pending_sign_in_ends_with(backend, &["user", "set-password", "--password-stdin"], Some(new)).await;
}

async fn disabling_ends_the_pending_sign_in_its_code_and_its_link(backend: Backend) {
    pending_sign_in_ends_with(backend, &["user", "disable"], None).await;
}

async fn removing_ends_the_pending_sign_in_its_code_and_its_link(backend: Backend) {
    pending_sign_in_ends_with(backend, &["user", "remove"], None).await;
}

async fn send_a_new_code_sends_nothing_after_a_new_password(backend: Backend) {
    let app = spawn_app(backend).await;
    app.start_sign_in(&app.browser).await;
    let page = app.browser.get("/login/code").await;
    let database = Database::open(&app.cli.database.url).await;
    let before = database.outbox_rows().await.len();
    set_password(&app).await;

    let resend = app.browser.submit(&page, "/login/code/resend", &[]).await;

    assert_redirects_to(&resend, "/login");
    assert_eq!(database.outbox_rows().await.len(), before, "no mail was queued");
    let again = app.browser.get("/login").await;
    assert_page_says(&again, "expired");
    assert!(form_on(&again, "/login").field("email").is_some());
}

async fn set_password(app: &TestApp) {
    let args = ["user", "set-password", &app.user.email, "--password-stdin"];
    app.cli.run_ok(&args, Some("a brand new passphrase")).await;
}

/// What a request in an app that mounts the portal can race: it loaded the
/// signed-in session, a new password revoked it meanwhile, and then the
/// request's session middleware writes the session back.
async fn a_session_revoked_while_a_request_ran_is_not_written_back(backend: Backend) {
    let app = spawn_app(backend).await;
    let database = Database::open(&app.cli.database.url).await;
    let user_id = database.user_id(&app.user.email).await;
    let db = Db::connect(&app.cli.database.url).await.unwrap();
    let store =
        DbSessionStore::new(db, Clock::system(), SessionRules { idle_secs: 1800, absolute_secs: 43_200 });
    let state: HashMap<String, String> = [
        ("gatehouse.user_id".to_owned(), user_id.to_string()),
        ("gatehouse.epoch".to_owned(), "0".to_owned()),
    ]
    .into();
    let ttl = Duration::minutes(30);
    let key = store.save(state.clone(), &ttl).await.unwrap();
    assert!(store.load(&key).await.unwrap().is_some(), "the session is stored");

    set_password(&app).await;
    let written: SessionKey = store.update(key, state.clone(), &ttl).await.unwrap();
    let saved_anew = store.save(state, &ttl).await.unwrap();

    assert!(store.load(&written).await.unwrap().is_none(), "the revoked session was written back");
    assert!(store.load(&saved_anew).await.unwrap().is_none(), "a revoked session was stored anew");
    assert_eq!(database.sessions_of(user_id).await, 0);
}
