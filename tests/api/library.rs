//! Gatehouse as a library: `examples/host_app.rs` itself (an actix-web app
//! with the portal mounted at `/auth` and `/notes` guarded by
//! `SignedInUser`), driven like a browser would drive it.

use std::sync::Arc;

use actix_web::middleware::{Condition, NormalizePath, TrailingSlash};
use actix_web::{App, HttpServer, web};
use gatehouse::{Portal, SignedInUser};
use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{assert_page_says, assert_redirects_to, assert_status};
use crate::chrome::{Chrome, Options, Viewport, on_both_viewports};
use crate::helpers::{Serve, TestApp, spawn_app_serving};

#[allow(dead_code)] // its `main`: the tests start its `server` themselves.
#[path = "../../examples/host_app.rs"]
mod host_app;

on_both_backends! {
    a_guarded_page_sends_the_visitor_through_the_mounted_portal_and_back,
    the_mailed_link_points_under_the_mount_and_comes_back_too,
    a_password_alone_does_not_open_a_guarded_page,
    signing_out_in_the_portal_closes_the_guarded_page_again,
    the_portal_keeps_its_pages_headers_and_404s_under_its_mount,
    a_sign_in_that_expired_starts_again_under_the_mount,
    an_app_that_forgot_the_session_middleware_fails_loudly_and_sends_no_mail,
    an_app_that_trims_trailing_slashes_still_reaches_every_portal_page,
    the_portal_cannot_be_mounted_at_the_root_of_an_app,
}

on_both_viewports! {
    in_a_real_browser_the_example_app_signs_in_through_its_styled_portal,
}

/// The example app on the test's database and SMTP sink.
pub(crate) async fn spawn_host_app(backend: Backend) -> TestApp {
    let serve: Serve = Arc::new(|settings, listener| {
        Box::pin(async move {
            let portal = Portal::start(settings, "/auth").await.expect("start the portal");
            let server = host_app::server(portal, listener).expect("start the example app");
            let handle = server.handle();
            tokio::spawn(server);
            handle
        })
    });
    spawn_app_serving(backend, serve, |_| {}).await
}

/// How an app other than the example mounts the portal.
#[derive(Clone, Copy)]
struct OtherApp {
    session_middleware: bool,
    trims_slashes: bool,
}

/// An app with the portal at `/auth` and a guarded `/notes`, set up as `how` says.
async fn spawn_other_app(backend: Backend, how: OtherApp) -> TestApp {
    let serve: Serve = Arc::new(move |settings, listener| {
        Box::pin(async move {
            let portal = Portal::start(settings, "/auth").await.expect("start the portal");
            let server = HttpServer::new(move || {
                App::new()
                    .wrap(Condition::new(how.session_middleware, portal.session_middleware()))
                    .configure(|cfg| portal.configure(cfg))
                    .route(
                        "/notes",
                        web::get().to(|user: SignedInUser| async move { user.email().to_owned() }),
                    )
                    .wrap(Condition::new(how.trims_slashes, NormalizePath::new(TrailingSlash::Trim)))
            })
            .listen(listener)
            .expect("listen")
            .run();
            let handle = server.handle();
            tokio::spawn(server);
            handle
        })
    });
    spawn_app_serving(backend, serve, |_| {}).await
}

/// The password step from the mounted login page; returns the code.
async fn enter_password(app: &TestApp, login_page: &str) -> String {
    let reply = app
        .browser
        .open_and_submit(
            login_page,
            "/auth/login",
            &[("email", &app.user.email), ("password", &app.user.password)],
        )
        .await;
    assert_redirects_to(&reply, "/auth/login/code");
    app.next_mail().await.code()
}

async fn a_guarded_page_sends_the_visitor_through_the_mounted_portal_and_back(backend: Backend) {
    let app = spawn_host_app(backend).await;
    let public = app.browser.get("/").await;
    assert_status(&public, StatusCode::OK);
    assert_page_says(&public, "Anyone can read this page");
    assert!(!public.body.contains("Signed in as"));

    let guarded = app.browser.get("/notes?sort=new").await;
    assert_redirects_to(&guarded, "/auth/login?return_to=%2Fnotes%3Fsort%3Dnew");
    let login = app.browser.get(guarded.location.as_deref().unwrap()).await;
    assert_status(&login, StatusCode::OK);
    for (element, attribute, path) in
        [("link[rel=stylesheet]", "href", "/auth/static/gatehouse.css"), ("form", "action", "/auth/login")]
    {
        let found = login.element(element).unwrap_or_else(|| panic!("no {element} on the login page"));
        assert!(found.contains(&(attribute.to_owned(), path.to_owned())), "{element} {found:?}");
    }
    let css = app.browser.get("/auth/static/gatehouse.css").await;
    assert_status(&css, StatusCode::OK);
    assert_eq!(css.header("content-type"), Some("text/css"));

    let code = enter_password(&app, guarded.location.as_deref().unwrap()).await;
    let reply = app.browser.open_and_submit("/auth/login/code", "/auth/login/code", &[("code", &code)]).await;
    assert_redirects_to(&reply, "/notes?sort=new");
    let notes = app.browser.get("/notes?sort=new").await;
    assert_status(&notes, StatusCode::OK);
    assert_page_says(&notes, &format!("Signed in as <strong>{}</strong>", app.user.email));
    assert_page_says(&notes, "Ship the release on Friday");
    // The open page, which takes an `Option<SignedInUser>`, now knows who it is.
    assert_page_says(
        &app.browser.get("/").await,
        &format!("Signed in as <strong>{}</strong>", app.user.email),
    );
}

async fn the_mailed_link_points_under_the_mount_and_comes_back_too(backend: Backend) {
    let app = spawn_host_app(backend).await;
    let guarded = app.browser.get("/notes").await;
    let reply = app
        .browser
        .open_and_submit(
            guarded.location.as_deref().unwrap(),
            "/auth/login",
            &[("email", &app.user.email), ("password", &app.user.password)],
        )
        .await;
    assert_redirects_to(&reply, "/auth/login/code");
    let link = app.next_mail().await.link();
    let path = link.strip_prefix(&app.address).unwrap_or_else(|| panic!("{link} is not on {}", app.address));
    assert!(path.starts_with("/auth/login/link?token="), "the mailed link is {link}");

    // Tapped in the mail app's own browser, with no cookie of this sign-in:
    // it approves with the number, and the waiting browser comes back to /notes.
    let waiting = app.browser.get("/auth/login/code").await;
    let number = waiting.text_of("#match-number").expect("the waiting page shows the number");
    let phone = app.new_browser();
    let reply = phone.open_and_submit(path, "/auth/login/link", &[("number", number.trim())]).await;
    assert_page_says(&reply, "Sign-in approved");
    assert_redirects_to(&app.browser.get("/auth/login/code").await, "/notes");
    assert_page_says(
        &app.browser.get("/notes").await,
        &format!("Signed in as <strong>{}</strong>", app.user.email),
    );
}

async fn a_password_alone_does_not_open_a_guarded_page(backend: Backend) {
    let app = spawn_host_app(backend).await;
    enter_password(&app, "/auth/login").await;
    assert_redirects_to(&app.browser.get("/notes").await, "/auth/login?return_to=%2Fnotes");
}

async fn signing_out_in_the_portal_closes_the_guarded_page_again(backend: Backend) {
    let app = spawn_host_app(backend).await;
    let code = enter_password(&app, "/auth/login?return_to=/notes").await;
    app.browser.open_and_submit("/auth/login/code", "/auth/login/code", &[("code", &code)]).await;
    assert_status(&app.browser.get("/notes").await, StatusCode::OK);

    let account = app.browser.get("/auth/").await;
    assert_page_says(&account, &app.user.email);
    let reply = app.browser.submit(&account, "/auth/logout", &[]).await;
    assert_redirects_to(&reply, "/auth/login");
    assert_redirects_to(&app.browser.get("/notes").await, "/auth/login?return_to=%2Fnotes");
}

async fn the_portal_keeps_its_pages_headers_and_404s_under_its_mount(backend: Backend) {
    let app = spawn_host_app(backend).await;
    // The portal's own 404 page, with its headers, under the mount…
    let missing = app.browser.get("/auth/nothing-here").await;
    assert_status(&missing, StatusCode::NOT_FOUND);
    assert_page_says(&missing, "Page not found");
    assert!(missing.header("content-security-policy").is_some_and(|csp| csp.contains("frame-ancestors")));
    // …and it leaves the app's own pages and 404s alone.
    let elsewhere = app.browser.get("/nothing-here").await;
    assert_status(&elsewhere, StatusCode::NOT_FOUND);
    assert!(
        !elsewhere.body.contains("Page not found"),
        "the app's 404 became the portal's: {}",
        elsewhere.body
    );
    assert_eq!(app.browser.get("/").await.header("content-security-policy"), None);
    // Not signed in, the account page sends to sign in, with or without its slash.
    assert_redirects_to(&app.browser.get("/auth/").await, "/auth/login");
    assert_redirects_to(&app.browser.get("/auth").await, "/auth/login");
    // The standalone routes are not at the root.
    assert_status(&app.browser.get("/login").await, StatusCode::NOT_FOUND);
}

async fn a_sign_in_that_expired_starts_again_under_the_mount(backend: Backend) {
    let app = spawn_host_app(backend).await;
    // A code form with no sign-in behind it (the session is gone).
    let reply = app.browser.get("/auth/login/code").await;
    assert_redirects_to(&reply, "/auth/login");
    let notice = reply.cookies.iter().find(|c| c.name == "gatehouse_notice").expect("the notice cookie");
    assert_eq!(notice.path.as_deref(), Some("/auth/login"));
    assert_page_says(&app.browser.get("/auth/login").await, "Your sign-in expired");
}

async fn in_a_real_browser_the_example_app_signs_in_through_its_styled_portal(viewport: Viewport) {
    let app = spawn_host_app(Backend::Sqlite).await;
    let Some(chrome) = Chrome::launch(&app.address, viewport, Options::default()).await else { return };
    chrome.open("/notes").await;
    assert_eq!(chrome.path().await, "/auth/login?return_to=%2Fnotes");
    assert_eq!(chrome.title().await, "Sign in – Gatehouse");
    // Both stylesheets came from under the mount and hold rules.
    let rules = chrome.script("return [...document.styleSheets].map(s => s.cssRules.length)").await;
    let rules: Vec<u64> = serde_json::from_value(rules).expect("a list of rule counts");
    assert!(rules.len() == 2 && rules[0] > 0, "stylesheets and their rule counts: {rules:?}");
    chrome.check_page("mounted-login").await;

    chrome.type_into("#email", &app.user.email).await;
    chrome.type_into("#password", &app.user.password).await;
    chrome.press("/auth/login").await;
    assert_eq!(chrome.path().await, "/auth/login/code");
    chrome.check_page("mounted-code").await;
    chrome.type_into("#code", &app.next_mail().await.code()).await;
    chrome.press("/auth/login/code").await;
    assert_eq!(chrome.path().await, "/notes");
    assert!(chrome.text().await.contains(&format!("Signed in as {}", app.user.email)));
}

async fn an_app_that_forgot_the_session_middleware_fails_loudly_and_sends_no_mail(backend: Backend) {
    let app = spawn_other_app(backend, OtherApp { session_middleware: false, trims_slashes: false }).await;

    for path in ["/auth/login", "/notes"] {
        let reply = app.browser.get(path).await;
        assert_status(&reply, StatusCode::INTERNAL_SERVER_ERROR);
    }
    assert_page_says(&app.browser.get("/auth/login").await, "Something went wrong on our side");
    // Not even a password step gets as far as a mail.
    let reply = app
        .browser
        .post_form(
            "/auth/login",
            &[("email", &app.user.email), ("password", &app.user.password), ("csrf", "x")],
        )
        .await;
    assert_status(&reply, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(crate::inspect::database_of(&app).await.outbox_rows().await.is_empty(), "no mail was queued");
}

async fn the_portal_cannot_be_mounted_at_the_root_of_an_app(backend: Backend) {
    let cli = crate::helpers::Cli::new(backend).await;
    for root in ["", "/"] {
        let refused = Portal::start(cli.settings(0), root).await.err().expect("refused");
        assert!(refused.to_string().contains("such as \"/auth\""), "{refused}");
    }
}

async fn an_app_that_trims_trailing_slashes_still_reaches_every_portal_page(backend: Backend) {
    let app = spawn_other_app(backend, OtherApp { session_middleware: true, trims_slashes: true }).await;

    // `/auth/` arrives as `/auth`: the account page, which sends to sign in.
    assert_redirects_to(&app.browser.get("/auth/").await, "/auth/login");
    let code = enter_password(&app, "/auth/login/").await;
    let reply = app.browser.open_and_submit("/auth/login/code", "/auth/login/code", &[("code", &code)]).await;
    assert_redirects_to(&reply, "/auth/");
    assert_page_says(&app.browser.get("/auth/").await, "You are signed in");
}
