//! The sign-in flow through each proxy: an anonymous visit is sent to sign
//! in and lands back on its URL with the identity, a client's own identity
//! headers never reach the app, and signing out counts at once.

use reqwest::StatusCode;

use super::{PAGE, Proxy, deployment, sign_in_through_proxy};
use crate::backend::Backend;
use crate::browser::{assert_redirects_to, assert_status};

through_each_proxy! {
    a_visit_goes_through_sign_in_and_lands_on_the_original_url_with_the_identity,
    a_client_sent_identity_header_never_reaches_the_app,
    logging_out_takes_effect_on_the_next_request,
    an_aliased_identity_header_never_reaches_the_app,
}

async fn a_visit_goes_through_sign_in_and_lands_on_the_original_url_with_the_identity(
    backend: Backend,
    proxy: Proxy,
) {
    let Some((app, upstream, _proxy, browser)) = deployment(backend, proxy).await else { return };
    app.cli.run_ok(&["user", "set-name", &app.user.email, "Zoë Ünal"], None).await;

    let visit = browser.get_with_headers("/wiki/page?x=1&y=2", &PAGE).await;
    assert_status(&visit, StatusCode::FOUND);
    let sign_in = visit.header("location").expect("sent to sign in").to_owned();
    // The original URL is on Gatehouse's own origin, so `return_to` keeps only its path.
    assert_eq!(sign_in, format!("{}/login?return_to=%2Fwiki%2Fpage%3Fx%3D1%26y%3D2", browser.base));
    assert_eq!(upstream.hits(), 0, "nothing reached the app before sign-in");

    let landing = sign_in_through_proxy(&app, &browser, &sign_in).await;
    assert_eq!(landing, "/wiki/page?x=1&y=2");

    let page = browser.get_with_headers("/wiki/page?x=1&y=2", &PAGE).await;
    assert_status(&page, StatusCode::OK);
    assert!(page.body.contains("path=/wiki/page?x=1&y=2"), "{}", page.body);
    assert!(page.body.contains("remote-user=alice@example.com\n"), "{}", page.body);
    assert!(page.body.contains("remote-email=alice@example.com\n"), "{}", page.body);
    assert!(page.body.contains("remote-name=Zoë Ünal\n"), "the name, in UTF-8: {}", page.body);
}

async fn a_client_sent_identity_header_never_reaches_the_app(backend: Backend, proxy: Proxy) {
    let Some((app, upstream, _proxy, browser)) = deployment(backend, proxy).await else { return };
    // Alice has no name, so a forged Remote-Name has nothing to be replaced by.
    let forged = [
        PAGE[0],
        ("Remote-User", "admin@example.com"),
        ("Remote-Email", "admin@example.com"),
        ("Remote-Name", "admin@example.com"),
    ];

    // Anonymous, with a forged identity: sent to sign in, the app never asked.
    let reply = browser.get_with_headers("/admin", &forged).await;
    assert_status(&reply, StatusCode::FOUND);
    assert_eq!(upstream.hits(), 0);

    // Signed in as alice, still forging: the app hears alice only.
    let sign_in = reply.header("location").unwrap().to_owned();
    sign_in_through_proxy(&app, &browser, &sign_in).await;
    let page = browser.get_with_headers("/admin", &forged).await;
    assert_status(&page, StatusCode::OK);
    assert!(page.body.contains("remote-user=alice@example.com\n"), "{}", page.body);
    assert!(!page.body.contains("admin@example.com"), "{}", page.body);
}

async fn logging_out_takes_effect_on_the_next_request(backend: Backend, proxy: Proxy) {
    let Some((app, _upstream, _proxy, browser)) = deployment(backend, proxy).await else { return };
    let sign_in = browser.get_with_headers("/", &PAGE).await.header("location").unwrap().to_owned();
    sign_in_through_proxy(&app, &browser, &sign_in).await;
    assert_status(&browser.get_with_headers("/", &PAGE).await, StatusCode::OK);

    // Sign out on Gatehouse's account page (cookies do not depend on the port).
    let mut portal = browser.clone();
    portal.base = app.address.clone();
    assert_redirects_to(&portal.log_out().await, "/login");

    let after = browser.get_with_headers("/", &PAGE).await;
    assert_status(&after, StatusCode::FOUND);
    assert!(after.header("location").is_some_and(|l| l.contains("/login?return_to=")));
}

async fn an_aliased_identity_header_never_reaches_the_app(backend: Backend, proxy: Proxy) {
    let Some((app, _upstream, _proxy, browser)) = deployment(backend, proxy).await else { return };
    let sign_in = browser.get_with_headers("/", &PAGE).await.header("location").unwrap().to_owned();
    sign_in_through_proxy(&app, &browser, &sign_in).await;
    // Names that CGI, WSGI and PHP apps read as Remote-User and Remote-Email.
    let forged = [
        PAGE[0],
        ("Remote_User", "admin@example.com"),
        ("Remote.User", "admin@example.com"),
        ("Remote_Email", "admin@example.com"),
        ("Remote_Name", "admin@example.com"),
    ];

    let page = browser.get_with_headers("/", &forged).await;

    assert_status(&page, StatusCode::OK);
    assert!(page.body.contains("remote-user=alice@example.com\n"), "{}", page.body);
    assert!(!page.body.contains("admin@example.com"), "{}", page.body);
}
