//! The sign-in flow through each proxy: an anonymous visit is sent to sign
//! in and lands back on its URL with the identity, and signing out counts
//! at once.

use reqwest::StatusCode;

use super::{PAGE, Proxy, deployment, sign_in_through_proxy};
use crate::backend::Backend;
use crate::browser::{assert_redirects_to, assert_status};

through_each_proxy! {
    a_visit_goes_through_sign_in_and_lands_on_the_original_url_with_the_identity,
    logging_out_takes_effect_on_the_next_request,
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
