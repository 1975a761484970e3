//! Access rules through each proxy: the rules judge the host the proxy
//! routed by, however the client spelled it, and once rules exist a host
//! that none names is closed.

use std::io::{Read as _, Write as _};
use std::time::Duration;

use gatehouse::domain::access::AccessRule;
use reqwest::StatusCode;

use super::{PAGE, Proxy, deployment_with, sign_in_as};
use crate::backend::Backend;
use crate::browser::{Browser, SESSION_COOKIE, assert_status};

through_proxies! {
    nginx Nginx: [
        a_host_no_rule_names_is_denied_once_rules_exist,
        a_host_spelled_with_a_trailing_dot_is_judged_by_its_rule,
        nginx_closes_the_connection_for_a_host_it_does_not_serve,
        nginx_has_the_host_it_routed_by_judged_not_the_host_header,
    ],
    caddy Caddy: [
        a_host_no_rule_names_is_denied_once_rules_exist,
        caddy_routes_no_host_spelled_with_a_trailing_dot,
    ],
    caddy_upstream CaddyUpstream: [
        a_host_no_rule_names_is_denied_once_rules_exist,
        caddy_routes_no_host_spelled_with_a_trailing_dot,
    ],
    traefik Traefik: [
        a_host_no_rule_names_is_denied_once_rules_exist,
        a_host_spelled_with_a_trailing_dot_is_judged_by_its_rule,
    ],
}

/// The docs' host, which every test proxy serves beside 127.0.0.1.
const APP_HOST: &str = "app.example.com";
const BOB: (&str, &str) = ("bob@example.org", "bob's long passphrase");

fn rule(host: &str, allow: &str) -> AccessRule {
    AccessRule { host: host.into(), allow: vec![allow.into()] }
}

/// A browser's page request to the proxy, for `host` (with the proxy's port).
async fn open_page_on(browser: &Browser, host: &str) -> crate::browser::Reply {
    let port = browser.base.rsplit_once(':').expect("the proxy's origin has a port").1;
    let host = format!("{host}:{port}");
    browser.get_with_headers("/", &[PAGE[0], ("Host", &host)]).await
}

async fn a_host_no_rule_names_is_denied_once_rules_exist(backend: Backend, proxy: Proxy) {
    let rules = vec![rule(APP_HOST, "alice@example.com")];
    let Some((app, upstream, _proxy, browser)) =
        deployment_with(backend, proxy, move |s| s.access_rules = rules.clone()).await
    else {
        return;
    };
    sign_in_as(&app, &browser, "/login", &app.user.email, &app.user.password).await;

    // The proxy serves 127.0.0.1 too, but no rule names it.
    let unnamed = browser.get_with_headers("/", &PAGE).await;
    assert_status(&unnamed, StatusCode::FORBIDDEN);
    assert_eq!(upstream.hits(), 0, "{}", unnamed.body);

    // The rule's own host admits her: the 403 was the missing rule's.
    let named = open_page_on(&browser, APP_HOST).await;
    assert_status(&named, StatusCode::OK);
    assert!(named.body.contains("remote-user=alice@example.com\n"), "{}", named.body);
}

/// nginx and Traefik route `app.example.com.` (and any case of it) to the
/// app's host; the rule of that host must decide.
async fn a_host_spelled_with_a_trailing_dot_is_judged_by_its_rule(backend: Backend, proxy: Proxy) {
    let rules = vec![rule(APP_HOST, "alice@example.com")];
    let Some((app, upstream, _proxy, alice)) =
        deployment_with(backend, proxy, move |s| s.access_rules = rules.clone()).await
    else {
        return;
    };
    app.cli.add_user(BOB.0, BOB.1).await;
    sign_in_as(&app, &alice, "/login", &app.user.email, &app.user.password).await;
    let bob = Browser::new(&alice.base);
    sign_in_as(&app, &bob, "/login", BOB.0, BOB.1).await;

    for spelling in ["app.example.com.", "APP.Example.Com."] {
        let admitted = open_page_on(&alice, spelling).await;
        assert_status(&admitted, StatusCode::OK);
        assert!(admitted.body.contains("remote-user=alice@example.com\n"), "{}", admitted.body);

        let hits = upstream.hits();
        let refused = open_page_on(&bob, spelling).await;
        assert_status(&refused, StatusCode::FORBIDDEN);
        assert_eq!(upstream.hits(), hits, "bob reached the app as {spelling}: {}", refused.body);
    }
}

/// Caddy matches no site for `app.example.com.`: the request never reaches
/// the app (nor Gatehouse), so the rules are not walked around either.
async fn caddy_routes_no_host_spelled_with_a_trailing_dot(backend: Backend, proxy: Proxy) {
    let rules = vec![rule(APP_HOST, "alice@example.com")];
    let Some((app, upstream, _proxy, bob)) =
        deployment_with(backend, proxy, move |s| s.access_rules = rules.clone()).await
    else {
        return;
    };
    app.cli.add_user(BOB.0, BOB.1).await;
    sign_in_as(&app, &bob, "/login", BOB.0, BOB.1).await;

    let reply = open_page_on(&bob, "app.example.com.").await;

    assert_eq!(upstream.hits(), 0, "{:?}: {}", reply.status, reply.body);
    assert!(!reply.body.contains("remote-user"), "{}", reply.body);
}

async fn nginx_closes_the_connection_for_a_host_it_does_not_serve(backend: Backend, proxy: Proxy) {
    let Some((app, upstream, _proxy, browser)) = deployment_with(backend, proxy, |_| {}).await else {
        return;
    };
    sign_in_as(&app, &browser, "/login", &app.user.email, &app.user.password).await;
    let port = browser.base.rsplit_once(':').unwrap().1;

    let reply = reqwest::Client::new()
        .get(format!("{}/", browser.base))
        .header("Host", format!("other.example.com:{port}"))
        .header("Cookie", format!("{SESSION_COOKIE}={}", browser.session_cookie().unwrap()))
        .send()
        .await;

    assert!(reply.is_err(), "nginx answered an unknown host: {reply:?}");
    assert_eq!(upstream.hits(), 0);
}

/// A request line with an absolute URL names the host nginx routes by;
/// its `Host` header may say another. `$host` is the routed one.
async fn nginx_has_the_host_it_routed_by_judged_not_the_host_header(backend: Backend, proxy: Proxy) {
    let rules = vec![rule(APP_HOST, BOB.0), rule("127.0.0.1", "alice@example.com")];
    let Some((app, upstream, _proxy, browser)) =
        deployment_with(backend, proxy, move |s| s.access_rules = rules.clone()).await
    else {
        return;
    };
    sign_in_as(&app, &browser, "/login", &app.user.email, &app.user.password).await;
    let address = browser.base.strip_prefix("http://").unwrap().to_owned();
    let cookie = format!("{SESSION_COOKIE}={}", browser.session_cookie().unwrap());

    let request = format!(
        "GET http://{APP_HOST}/ HTTP/1.1\r\nHost: {address}\r\nCookie: {cookie}\r\n\
         Accept: text/html\r\nConnection: close\r\n\r\n"
    );
    let status_line = tokio::task::spawn_blocking(move || raw_exchange(&address, &request)).await.unwrap();

    assert!(status_line.starts_with("HTTP/1.1 403"), "{status_line}");
    assert_eq!(upstream.hits(), 0);
}

/// Sends `request` as it is and returns the answer's status line.
fn raw_exchange(address: &str, request: &str) -> String {
    let mut stream = std::net::TcpStream::connect(address).expect("connect to the proxy");
    stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    answer.lines().next().unwrap_or_default().to_owned()
}
