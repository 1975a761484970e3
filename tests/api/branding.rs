//! Branding from configuration: the logo on every page and in the mail, the
//! accent and custom CSS in `/static/site.css`, and a CSP that allows the
//! logo's origin without allowing inline styles.

use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{Reply, assert_redirects_to, assert_status};
use crate::helpers::{TestApp, spawn_app_with};

const LOGO: &str = "https://cdn.example.com/brand/logo.png";
const ACCENT: &str = "#0a7d4f";
const CUSTOM_CSS: &str = "header.site { border-bottom: 3px solid var(--accent); }";
const SITE_NAME: &str = "Acme Login";

on_both_backends! {
    every_page_shows_the_logo_and_links_the_site_stylesheet,
    the_site_stylesheet_carries_the_accent_and_the_custom_css,
    the_csp_allows_the_logo_origin_and_still_no_inline_styles,
    the_code_mail_shows_the_logo_and_the_accent,
    a_logo_path_reaches_the_mail_as_an_absolute_url_on_public_url,
}

/// The app with every branding setting; the directory holds the custom CSS.
async fn spawn_branded_app(backend: Backend) -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("a directory for the custom CSS");
    let css = dir.path().join("custom.css");
    std::fs::write(&css, CUSTOM_CSS).expect("write the custom CSS");
    let app = spawn_app_with(backend, move |s| {
        s.site_name = SITE_NAME.into();
        s.logo_url = Some(LOGO.into());
        s.accent_color = ACCENT.into();
        s.custom_css_file = Some(css.clone());
    })
    .await;
    (app, dir)
}

fn assert_branded(reply: &Reply) {
    let logo = reply.element("header.site img.logo").unwrap_or_else(|| panic!("no logo:\n{}", reply.body));
    let attr = |name: &str| logo.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    assert_eq!(attr("src"), Some(LOGO));
    assert_eq!(attr("alt"), Some(SITE_NAME), "the logo names the site for screen readers");
    assert_eq!(attr("height"), Some("32"));
    assert!(reply.element("header.site .brand").is_none(), "the name is not said twice:\n{}", reply.body);
    assert!(
        reply.body.contains(r#"<link rel="stylesheet" href="/static/site.css">"#),
        "site.css linked:\n{}",
        reply.body
    );
    assert!(!reply.body.contains("style="), "no inline styles:\n{}", reply.body);
}

async fn every_page_shows_the_logo_and_links_the_site_stylesheet(backend: Backend) {
    let (app, _css) = spawn_branded_app(backend).await;

    let login = app.browser.get("/login").await;
    let not_found = app.browser.get("/no/such/page").await;
    let mail = app.start_sign_in(&app.browser).await;
    let code_page = app.browser.get("/login/code").await;
    assert_redirects_to(&app.browser.enter_code(&mail.code()).await, "/");
    let account = app.browser.get("/").await;

    assert_status(&not_found, StatusCode::NOT_FOUND);
    for reply in [&login, &not_found, &code_page, &account] {
        assert_branded(reply);
    }
}

async fn the_site_stylesheet_carries_the_accent_and_the_custom_css(backend: Backend) {
    let (app, _css) = spawn_branded_app(backend).await;

    let sheet = app.browser.get("/static/site.css").await;

    assert_status(&sheet, StatusCode::OK);
    assert_eq!(sheet.header("content-type"), Some("text/css; charset=utf-8"));
    assert!(sheet.header("cache-control").is_some_and(|c| c.starts_with("public")), "{:?}", sheet.headers);
    assert!(
        sheet.body.starts_with(&format!(":root{{--accent:{ACCENT};--on-accent:#ffffff;")),
        "{}",
        sheet.body
    );
    assert!(sheet.body.contains("prefers-color-scheme: dark"), "{}", sheet.body);
    assert!(sheet.body.trim_end().ends_with(CUSTOM_CSS), "custom CSS comes last:\n{}", sheet.body);
}

async fn the_csp_allows_the_logo_origin_and_still_no_inline_styles(backend: Backend) {
    let (app, _css) = spawn_branded_app(backend).await;

    let login = app.browser.get("/login").await;

    let csp = login.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("img-src 'self' data: https://cdn.example.com;"), "{csp}");
    assert!(csp.contains("style-src 'self';"), "{csp}");
    assert!(!csp.contains("unsafe-inline"), "{csp}");
}

async fn the_code_mail_shows_the_logo_and_the_accent(backend: Backend) {
    let (app, _css) = spawn_branded_app(backend).await;

    let mail = app.start_sign_in(&app.browser).await;

    let html = mail.html.as_deref().expect("an HTML part");
    assert!(html.contains(&format!(r#"<img src="{LOGO}" alt="{SITE_NAME}" height="32""#)), "{html}");
    assert!(html.contains(&format!("background:{ACCENT}")), "the button has the accent:\n{html}");
    assert!(mail.text().contains(SITE_NAME), "{}", mail.text());
}

async fn a_logo_path_reaches_the_mail_as_an_absolute_url_on_public_url(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.logo_url = Some("/brand/logo.svg".into())).await;

    let login = app.browser.get("/login").await;
    let mail = app.start_sign_in(&app.browser).await;

    assert!(login.body.contains(r#"src="/brand/logo.svg""#), "{}", login.body);
    let csp = login.header("content-security-policy").expect("a CSP");
    assert!(csp.contains("img-src 'self' data:;"), "a path needs no other origin: {csp}");
    let html = mail.html.as_deref().expect("an HTML part");
    assert!(html.contains(&format!(r#"src="{}/brand/logo.svg""#, app.address)), "{html}");
}
