//! A client's own identity headers, in every spelling, never reach the app:
//! not before sign-in, and not from a signed-in account that claims to be
//! someone else. Each configuration in `docs/` strips them before the check,
//! so no proxy's rules for copying Gatehouse's answer decide what the app
//! sees.

use reqwest::StatusCode;

use super::{PAGE, Proxy, deployment, sign_in_as};
use crate::backend::Backend;
use crate::browser::{Reply, assert_status};

through_each_proxy! {
    a_forged_identity_never_reaches_the_app_before_sign_in,
    a_signed_in_account_reaches_the_app_as_itself_whatever_it_forges,
}

/// A page request claiming to be Mallory in every header an app could read
/// an identity from: the names Gatehouse answers with, and the spellings
/// that CGI, WSGI and PHP apps read as the same `REMOTE_USER`.
const FORGED: [(&str, &str); 10] = [
    PAGE[0],
    ("Remote-User", "mallory@example.com"),
    ("Remote-Email", "mallory@example.com"),
    ("Remote-Name", "Mallory"),
    ("Remote_User", "mallory@example.com"),
    ("Remote_Email", "mallory@example.com"),
    ("Remote_Name", "Mallory"),
    ("Remote.User", "mallory@example.com"),
    ("Remote.Email", "mallory@example.com"),
    ("Remote.Name", "Mallory"),
];

async fn a_forged_identity_never_reaches_the_app_before_sign_in(backend: Backend, proxy: Proxy) {
    let Some((_app, upstream, _proxy, browser)) = deployment(backend, proxy).await else { return };

    for path in ["/", "/wiki/page"] {
        let reply = browser.get_with_headers(path, &FORGED).await;

        assert_status(&reply, StatusCode::FOUND);
        assert!(reply.header("location").is_some_and(|l| l.contains("/login?return_to=")));
    }
    assert_eq!(upstream.hits(), 0, "the app was asked before sign-in");
}

async fn a_signed_in_account_reaches_the_app_as_itself_whatever_it_forges(backend: Backend, proxy: Proxy) {
    let Some((app, _upstream, _proxy, browser)) = deployment(backend, proxy).await else { return };
    sign_in_as(&app, &browser, "/login", &app.user.email, &app.user.password).await;

    // An account without a display name: its address is its Remote-Name.
    let page = browser.get_with_headers("/wiki/page", &FORGED).await;
    assert_reached_as_alice(&page, "alice@example.com");

    app.cli.run_ok(&["user", "set-name", &app.user.email, "Alice Liddell"], None).await;
    let page = browser.get_with_headers("/wiki/page", &FORGED).await;
    assert_reached_as_alice(&page, "Alice Liddell");
}

/// The app heard Gatehouse's identity for alice, and no word of Mallory.
fn assert_reached_as_alice(page: &Reply, name: &str) {
    assert_status(page, StatusCode::OK);
    assert!(page.body.contains("remote-user=alice@example.com\n"), "{}", page.body);
    assert!(page.body.contains("remote-email=alice@example.com\n"), "{}", page.body);
    assert!(page.body.contains(&format!("remote-name={name}\n")), "{}", page.body);
    assert!(!page.body.to_lowercase().contains("mallory"), "a forged header reached the app: {}", page.body);
}
