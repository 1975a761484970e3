//! The mail that carries the code and the link.

use crate::backend::{Backend, on_both_backends};
use crate::browser::assert_redirects_to;
use crate::helpers::spawn_app;

on_both_backends! {
    the_mail_has_a_text_and_an_html_part_with_the_code_and_the_link,
    the_mailed_link_uses_public_url_whatever_the_host_header_says,
    the_mail_is_dated_identified_marked_automatic_and_says_who_asked,
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

async fn the_mail_is_dated_identified_marked_automatic_and_says_who_asked(backend: Backend) {
    let app = spawn_app(backend).await;
    let safari = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 \
                  (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";
    let mail = app.start_sign_in(&app.browser.with_user_agent(safari)).await;

    assert_eq!(mail.header("auto-submitted"), Some("auto-generated"));
    let message_id = mail.header("message-id").unwrap_or_default();
    assert!(message_id.starts_with('<') && message_id.contains('@'), "Message-ID: {message_id:?}");
    assert!(
        mail.header("date").is_some_and(|d| d.contains("+0000") || d.contains("GMT")),
        "{:?}",
        mail.headers
    );
    let subject_code: String = mail.subject.chars().filter(char::is_ascii_digit).collect();
    assert_eq!(subject_code, mail.code(), "the code is in the subject: {:?}", mail.subject);
    for part in [mail.text(), mail.html.as_deref().unwrap_or_default()] {
        for fact in ["Safari on iPhone", "127.0.0.1", "UTC"] {
            assert!(part.contains(fact), "both parts name {fact:?}:\n{part}");
        }
    }
}
