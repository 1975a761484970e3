//! `GET /auth/verify`, the forward-auth answer for nginx, Traefik and Caddy.

use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::assert_page_says;
use crate::browser::{assert_redirects_to, assert_status};
use crate::helpers::{spawn_app, spawn_app_with};

on_both_backends! {
    verify_answers_401_to_an_anonymous_browser,
    verify_answers_401_to_a_half_signed_in_session,
    verify_answers_200_with_the_user_to_a_signed_in_session,
    a_named_account_is_sent_with_its_name_in_utf8,
    verify_answers_401_right_after_logout,
    a_browser_relayed_by_a_trusted_proxy_is_sent_to_sign_in_and_back,
    redirect_mode_from_an_untrusted_peer_still_answers_401,
    a_401_to_a_trusted_proxy_names_the_sign_in_url_for_nginx,
    a_host_with_an_access_rule_admits_only_the_accounts_it_lists,
    a_star_rule_decides_for_every_host_no_other_rule_matches,
}

/// What Traefik's ForwardAuth sends for a browser visiting https://app.example.com/wiki?page=1.
const RELAYED: [(&str, &str); 4] = [
    ("Accept", "text/html,application/xhtml+xml"),
    ("X-Forwarded-Proto", "https"),
    ("X-Forwarded-Host", "app.example.com"),
    ("X-Forwarded-Uri", "/wiki?page=1"),
];

async fn verify_answers_401_to_an_anonymous_browser(backend: Backend) {
    let app = spawn_app(backend).await;

    let reply = app.browser.get("/auth/verify").await;

    assert_status(&reply, StatusCode::UNAUTHORIZED);
}

async fn verify_answers_401_to_a_half_signed_in_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.start_sign_in(&app.browser).await;

    let reply = app.browser.get("/auth/verify").await;

    assert_status(&reply, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.header("remote-user"), None);
}

async fn verify_answers_200_with_the_user_to_a_signed_in_session(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in(&app.browser).await;

    let reply = app.browser.get("/auth/verify").await;

    assert_status(&reply, StatusCode::OK);
    assert_eq!(reply.header("remote-user"), Some(app.user.email.as_str()));
    assert_eq!(reply.header("remote-email"), Some(app.user.email.as_str()));
    // Sent even without a display name, so no proxy's copy rules decide what the app gets.
    assert_eq!(
        reply.header("remote-name"),
        Some(app.user.email.as_str()),
        "the address stands in for a name"
    );
}

async fn a_named_account_is_sent_with_its_name_in_utf8(backend: Backend) {
    let app = spawn_app(backend).await;
    app.cli.run_ok(&["user", "set-name", &app.user.email, "Zoë  Ünal"], None).await;
    app.sign_in(&app.browser).await;

    let reply = app.browser.get("/auth/verify").await;

    assert_status(&reply, StatusCode::OK);
    let name = reply.headers.get("remote-name").map(|v| v.as_bytes());
    assert_eq!(name, Some("Zoë Ünal".as_bytes()));
    assert_page_says(
        &app.browser.get("/").await,
        "Signed in as <strong>Zoë Ünal</strong> (alice@example.com)",
    );
}

async fn verify_answers_401_right_after_logout(backend: Backend) {
    let app = spawn_app(backend).await;
    app.sign_in(&app.browser).await;
    let copy_of_signed_in_cookies = app.browser.fork();

    assert_redirects_to(&app.browser.log_out().await, "/login");
    let reply = copy_of_signed_in_cookies.get("/auth/verify").await;

    assert_status(&reply, StatusCode::UNAUTHORIZED);
}

async fn a_browser_relayed_by_a_trusted_proxy_is_sent_to_sign_in_and_back(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".into()];
        s.allowed_return_hosts = vec!["app.example.com".into()];
    })
    .await;

    let reply = app.browser.get_with_headers("/auth/verify?redirect=1", &RELAYED).await;

    assert_status(&reply, StatusCode::FOUND);
    let expected = format!("{}/login?return_to=https%3A%2F%2Fapp.example.com%2Fwiki%3Fpage%3D1", app.address);
    // The absolute PUBLIC_URL, as PRODUCT.md asks: the proxy serves another host.
    assert_eq!(reply.header("location"), Some(expected.as_str()));
}

async fn redirect_mode_from_an_untrusted_peer_still_answers_401(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.allowed_return_hosts = vec!["app.example.com".into()]).await;

    let reply = app.browser.get_with_headers("/auth/verify?redirect=1", &RELAYED).await;

    assert_status(&reply, StatusCode::UNAUTHORIZED);
    assert_eq!(reply.location, None);
}

async fn a_401_to_a_trusted_proxy_names_the_sign_in_url_for_nginx(backend: Backend) {
    let app = spawn_app_with(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".into()];
        s.allowed_return_hosts = vec!["app.example.com".into()];
    })
    .await;

    // nginx's auth_request: no `?redirect=1`; it turns the 401 into a 302 itself.
    let reply = app.browser.get_with_headers("/auth/verify", &RELAYED).await;

    assert_status(&reply, StatusCode::UNAUTHORIZED);
    let expected = format!("{}/login?return_to=https%3A%2F%2Fapp.example.com%2Fwiki%3Fpage%3D1", app.address);
    assert_eq!(reply.header("location"), Some(expected.as_str()));
}

/// What a trusted proxy forwards for a visit to `https://<host>/`.
fn visiting(host: &str) -> [(&'static str, &str); 3] {
    [("X-Forwarded-Proto", "https"), ("X-Forwarded-Host", host), ("X-Forwarded-Uri", "/")]
}

async fn a_host_with_an_access_rule_admits_only_the_accounts_it_lists(backend: Backend) {
    use gatehouse::domain::access::AccessRule;
    let app = spawn_app_with(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".into()];
        s.access_rules = vec![
            AccessRule { host: "wiki.example.com".into(), allow: vec!["bob@example.org".into()] },
            AccessRule { host: "Docs.Example.com.".into(), allow: vec!["example.com".into()] },
        ];
    })
    .await;
    app.sign_in(&app.browser).await;

    for wiki in ["wiki.example.com", "WIKI.example.com.", "wiki.example.com:443"] {
        let refused = app.browser.get_with_headers("/auth/verify", &visiting(wiki)).await;
        assert_status(&refused, StatusCode::FORBIDDEN);
        assert_page_says(&refused, "You do not have access to this site");
        assert_eq!(refused.header("remote-user"), None);
    }
    for docs in ["docs.example.com", "docs.example.com.", "DOCS.example.com:443"] {
        let reply = app.browser.get_with_headers("/auth/verify", &visiting(docs)).await;
        assert_status(&reply, StatusCode::OK);
        assert_eq!(reply.header("remote-user"), Some("alice@example.com"), "{docs}");
    }
    // A host no rule names is closed once rules exist, and so is an unknown
    // host (none from a trusted proxy): then the rules cannot be checked.
    let unmatched = app.browser.get_with_headers("/auth/verify", &visiting("blog.example.com")).await;
    assert_status(&unmatched, StatusCode::FORBIDDEN);
    assert_page_says(&unmatched, "You do not have access to this site");
    assert_status(&app.browser.get("/auth/verify").await, StatusCode::FORBIDDEN);
}

async fn a_star_rule_decides_for_every_host_no_other_rule_matches(backend: Backend) {
    use gatehouse::domain::access::AccessRule;
    let app = spawn_app_with(backend, |s| {
        s.trusted_proxies = vec!["127.0.0.1/32".into()];
        s.access_rules = vec![
            AccessRule { host: "*".into(), allow: vec!["alice@example.com".into()] },
            AccessRule { host: "wiki.example.com".into(), allow: vec!["bob@example.org".into()] },
        ];
    })
    .await;
    app.sign_in(&app.browser).await;

    let other = app.browser.get_with_headers("/auth/verify", &visiting("blog.example.com")).await;
    assert_status(&other, StatusCode::OK);
    assert_eq!(other.header("remote-user"), Some("alice@example.com"));
    let wiki = app.browser.get_with_headers("/auth/verify", &visiting("wiki.example.com.")).await;
    assert_status(&wiki, StatusCode::FORBIDDEN);
}
