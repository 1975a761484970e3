//! Several instances on one database (the load-balancer set-up): every
//! limit lives in the database, so spending it on one instance spends it on
//! all of them; and what one instance (or the CLI) ends, every instance
//! sees ended at once, whatever it had cached.

use std::io::Write as _;
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use sqlx::{Connection as _, PgConnection};

use gatehouse::db::users;
use gatehouse::domain::email::EmailAddress;

use crate::backend::{Backend, TestDatabase, on_both_backends, skip_postgres};
use crate::browser::{
    Browser, assert_page_says, assert_redirects_to, assert_redirects_to_login, assert_status,
    assert_too_many_requests,
};
use crate::helpers::{Instance, TestApp, spawn_app, spawn_app_with};
use crate::inspect::database_of;
use crate::mail::wrong_code_for;

on_both_backends! {
    wrong_codes_on_two_instances_spend_one_budget,
    a_code_send_limit_filled_on_one_instance_refuses_on_the_other,
    password_failures_on_two_instances_add_up_to_one_run,
    a_logout_on_one_instance_ends_the_session_on_the_other_at_once,
    disabling_an_account_ends_its_sessions_on_every_instance_at_once,
    a_new_name_reaches_every_instance_at_once,
    the_cookie_from_before_the_code_step_is_dead_on_every_instance,
}

async fn a_logout_on_one_instance_ends_the_session_on_the_other_at_once(backend: Backend) {
    let (app, _second, on_second) = signed_in_on_two_instances(backend).await;

    assert_redirects_to_login(&app.browser.log_out().await);

    assert_status(&on_second.get("/auth/verify").await, StatusCode::UNAUTHORIZED);
    assert_redirects_to_login(&on_second.get("/").await);
}

/// The notices that tell an instance of another's writes can be late: here
/// they are held up outright, the Postgres backends that deliver them
/// stopped. The cache must not be trusted meanwhile.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logout_takes_effect_on_the_other_instance_while_its_notices_are_held_up() {
    if skip_postgres().await {
        return;
    }
    let (app, _second, on_second) = signed_in_on_two_instances(Backend::Postgres).await;
    let Some(_held) = NoticesHeldUp::on_database(&app.cli.database.url).await else { return };

    assert_redirects_to_login(&app.browser.log_out().await);

    assert_status(&on_second.get("/auth/verify").await, StatusCode::UNAUTHORIZED);
    assert_redirects_to_login(&on_second.get("/").await);
}

/// An account change returns only once no instance would still serve the
/// account as it was, even one whose notices are held up (here the change
/// and the read are made in-process, so they follow each other closely).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disabled_account_is_refused_on_the_other_instance_while_its_notices_are_held_up() {
    if skip_postgres().await {
        return;
    }
    let database = TestDatabase::create(Backend::Postgres).await;
    let [first, second] = database.two_instances().await;
    let (first, second) = (first.with_cache().await, second.with_cache().await);
    let email = EmailAddress::parse("ann@example.com").unwrap();
    let id = users::insert(&first, &email, None, "hash", 1).await.unwrap();
    // The second instance reads the account until it keeps it, and trusts its cache.
    let deadline = Instant::now() + Duration::from_secs(10);
    while second.cache().user(id).is_none() {
        assert!(users::find_by_id(&second, id).await.unwrap().is_some(), "the account is there");
        assert!(Instant::now() < deadline, "the second instance never cached the account");
        tokio::task::yield_now().await;
    }
    let Some(_held) = NoticesHeldUp::on_database(&database.url).await else { return };

    users::disable(&first, &email, 2).await.unwrap();

    let seen = users::find_by_id(&second, id).await.unwrap().expect("the account");
    assert!(seen.disabled, "the other instance still served the account as enabled");
}

/// The Postgres backends listening on a test's database, stopped (SIGSTOP)
/// until this is dropped.
struct NoticesHeldUp(Vec<String>);

impl NoticesHeldUp {
    /// None, with a warning, when the server is not on this machine (it
    /// cannot be signalled from here); under `CI=true` that fails instead.
    async fn on_database(url: &str) -> Option<Self> {
        let pids = listening_backends(url).await;
        let local = pids.iter().all(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|name| name.starts_with("postgres"))
        });
        if !local {
            assert!(
                !std::env::var("CI").is_ok_and(|v| v == "true"),
                "CI=true but Postgres is not on this machine"
            );
            // Past the harness's capture: a skipped test must not go unnoticed.
            let warning =
                "\nWARNING: SKIPPED: Postgres is not on this machine, so its listeners cannot be held up\n";
            let _ = std::io::stderr().write_all(warning.as_bytes());
            return None;
        }
        let pids: Vec<String> = pids.iter().map(i32::to_string).collect();
        assert!(signal("-STOP", &pids), "kill -STOP {pids:?} failed");
        Some(Self(pids))
    }
}

impl Drop for NoticesHeldUp {
    fn drop(&mut self) {
        // Best effort: a panic here, during a failing test's unwinding, would abort.
        signal("-CONT", &self.0);
    }
}

/// The backends of the two instances' listeners, once both are connected.
async fn listening_backends(url: &str) -> Vec<i32> {
    let mut db = PgConnection::connect(url).await.expect("connect to the test database");
    let sql = "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'LISTEN %'";
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let pids: Vec<i32> =
            sqlx::query_scalar(sql).fetch_all(&mut db).await.expect("the listening backends");
        if pids.len() == 2 {
            return pids;
        }
        assert!(Instant::now() < deadline, "expected one listening connection an instance, found {pids:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn signal(which: &str, pids: &[String]) -> bool {
    std::process::Command::new("kill").arg(which).args(pids).status().is_ok_and(|status| status.success())
}

async fn disabling_an_account_ends_its_sessions_on_every_instance_at_once(backend: Backend) {
    let (app, _second, on_second) = signed_in_on_two_instances(backend).await;

    app.cli.run_ok(&["user", "disable", &app.user.email], None).await;

    assert_status(&app.browser.get("/auth/verify").await, StatusCode::UNAUTHORIZED);
    assert_status(&on_second.get("/auth/verify").await, StatusCode::UNAUTHORIZED);
}

async fn a_new_name_reaches_every_instance_at_once(backend: Backend) {
    let (app, _second, on_second) = signed_in_on_two_instances(backend).await;
    for browser in [&app.browser, &on_second] {
        assert_eq!(browser.get("/auth/verify").await.header("remote-name"), Some(app.user.email.as_str()));
    }

    app.cli.run_ok(&["user", "set-name", &app.user.email, "Alice Liddell"], None).await;

    for browser in [&app.browser, &on_second] {
        assert_eq!(browser.get("/auth/verify").await.header("remote-name"), Some("Alice Liddell"));
    }
}

/// The waiting sign-in's cookie leads nowhere once the code was entered,
/// even where it was cached. (That its old key is announced to every
/// instance is `session_store::the_old_key_names_nothing_on_another_instance…`:
/// here the finished flow alone would already send it to `/login`.)
async fn the_cookie_from_before_the_code_step_is_dead_on_every_instance(backend: Backend) {
    let app = spawn_app(backend).await;
    let second = app.start_second_instance().await;
    let mail = app.start_sign_in(&app.browser).await;
    // The second instance reads the waiting sign-in's session (and may keep it).
    let stale = same_browser_on(&app.browser, &second.address);
    assert_status(&stale.get("/login/code").await, StatusCode::OK);

    assert_redirects_to(&app.browser.enter_code(&mail.code()).await, "/");

    assert_redirects_to_login(&stale.get("/login/code").await);
    assert_redirects_to_login(&stale.get("/").await);
}

async fn wrong_codes_on_two_instances_spend_one_budget(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.code_failure_budget = 4;
        s.otp_max_attempts = 5;
    })
    .await;
    let second = app.start_second_instance().await;
    let code = app.start_sign_in(&app.browser).await.code();
    let wrong = wrong_code_for(&code);
    for _ in 0..2 {
        assert_status(&app.browser.enter_code(&wrong).await, StatusCode::UNAUTHORIZED);
    }
    let on_second = same_browser_on(&app.browser, &second.address);
    for _ in 0..2 {
        assert_status(&on_second.enter_code(&wrong).await, StatusCode::UNAUTHORIZED);
    }

    let right_on_second = on_second.enter_code(&code).await;
    let right_on_first = app.browser.enter_code(&code).await;

    for reply in [&right_on_second, &right_on_first] {
        assert_too_many_requests(reply);
        assert_page_says(reply, "Code entry is closed");
    }
    assert_redirects_to_login(&on_second.get("/").await);
    let warning = app.next_mail().await;
    assert!(
        warning.subject.contains("Someone is trying to sign in"),
        "the owner is warned, got subject {:?}",
        warning.subject
    );
}

async fn a_code_send_limit_filled_on_one_instance_refuses_on_the_other(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.code_sends_per_15_min = 2;
        s.otp_resend_cooldown_secs = 0;
    })
    .await;
    let second = app.start_second_instance().await;
    app.start_sign_in(&app.browser).await;
    assert_redirects_to(&app.browser.resend_code().await, "/login/code");
    app.next_mail().await;

    let phone = Browser::new(&second.address);
    let password_step = phone.enter_password(&app.user.email, &app.user.password).await;
    let resend = same_browser_on(&app.browser, &second.address).resend_code().await;

    for reply in [&password_step, &resend] {
        assert_too_many_requests(reply);
        assert_page_says(reply, "Too many codes were sent");
    }
    let database = database_of(&app).await;
    assert_eq!(database.challenges_issued_to(&app.user.email).await, 2, "no third code was made");
}

async fn password_failures_on_two_instances_add_up_to_one_run(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.password_max_consecutive_failures = 3).await;
    let second = app.start_second_instance().await;
    let on_second = Browser::new(&second.address);
    for browser in [&app.browser, &on_second, &app.browser] {
        let wrong = browser.enter_password(&app.user.email, "not the password at all").await;
        assert_status(&wrong, StatusCode::UNAUTHORIZED);
    }

    let right_on_second = on_second.enter_password(&app.user.email, &app.user.password).await;

    assert_too_many_requests(&right_on_second);
}

/// The app and a second instance on its database, and the app's browser,
/// signed in, on the second instance too. Both instances have read the
/// session and the account (and may keep them).
async fn signed_in_on_two_instances(backend: Backend) -> (TestApp, Instance, Browser) {
    let app = spawn_app(backend).await;
    let second = app.start_second_instance().await;
    app.sign_in(&app.browser).await;
    let on_second = same_browser_on(&app.browser, &second.address);
    for _ in 0..3 {
        assert_status(&app.browser.get("/auth/verify").await, StatusCode::OK);
        assert_status(&on_second.get("/auth/verify").await, StatusCode::OK);
    }
    (app, second, on_second)
}

/// A copy of `browser`, cookies and all, talking to the instance at `address`
/// (cookies are per host, not per port: a load balancer in miniature).
fn same_browser_on(browser: &Browser, address: &str) -> Browser {
    let mut copy = browser.fork();
    copy.base = address.to_owned();
    copy
}
