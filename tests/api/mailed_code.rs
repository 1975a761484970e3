//! The mail that carries the code and the link.

use crate::backend::{Backend, on_both_backends};
use crate::browser::assert_redirects_to;
use crate::helpers::spawn_app;

on_both_backends! {
    the_mail_has_a_text_and_an_html_part_with_the_code_and_the_link,
    the_mailed_link_uses_public_url_whatever_the_host_header_says,
}

async fn the_mail_has_a_text_and_an_html_part_with_the_code_and_the_link(backend: Backend) {
    let app = spawn_app(backend).await;

    let mail = app.start_sign_in(&app.browser).await;

    assert_eq!(mail.to, vec![app.user.email.clone()]);
    assert_eq!(mail.content_type, "multipart/alternative");
    assert!(!mail.subject.trim().is_empty(), "a subject: {mail:#?}");
    assert!(mail.html.is_some(), "an HTML part: {mail:#?}");
    assert_eq!(mail.code().len(), 6, "a six-digit code by default");
    assert!(
        mail.link().starts_with(&format!("{}/login/link?token=", app.address)),
        "the link starts with public_url: {}",
        mail.link()
    );
    let html = mail.html.as_deref().unwrap_or_default();
    assert!(html.contains(&mail.code()), "the HTML part holds the code too:\n{html}");
}

async fn the_mailed_link_uses_public_url_whatever_the_host_header_says(backend: Backend) {
    let app = spawn_app(backend).await;
    let page = app.browser.get("/login").await;
    let csrf = crate::browser::form_on(&page, "/login").field("csrf").unwrap_or_default().to_owned();

    let reply = app
        .browser
        .post_form_with_headers(
            "/login",
            &[("email", &app.user.email), ("password", &app.user.password), ("csrf", &csrf)],
            &[("host", "evil.example"), ("x-forwarded-host", "evil.example"), ("x-forwarded-proto", "https")],
        )
        .await;

    assert_redirects_to(&reply, "/login/code");
    let mail = app.next_mail().await;
    assert!(
        mail.link().starts_with(&format!("{}/login/link?token=", app.address)),
        "the link ignores Host and X-Forwarded-Host: {}",
        mail.link()
    );
}
