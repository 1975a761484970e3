//! No secret reaches a log line or an audit row: the real `gatehouse serve`
//! binary runs at debug level through a whole sign-in (with a wrong password,
//! a wrong code, a resend and the link), and everything it printed and
//! stored is searched for every password, code, link token, cookie value and
//! CSRF token the test saw.

use std::time::Duration;

use reqwest::StatusCode;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{Browser, Reply, SESSION_COOKIE, assert_redirects_to, assert_status};
use crate::helpers::Cli;
use crate::inspect::Database;
use crate::mail::{Mail, wrong_code_for};
use crate::served::Server;
use crate::smtp_sink::SmtpSink;

on_both_backends! {
    no_secret_reaches_the_log_or_the_audit_table,
}

const EMAIL: &str = "alice@example.com";
const PASSWORD: &str = "correct horse battery staple";
const WRONG_PASSWORD: &str = "incorrect donkey battery stable";

async fn no_secret_reaches_the_log_or_the_audit_table(backend: Backend) {
    let cli = Cli::new(backend).await;
    cli.add_user(EMAIL, PASSWORD).await;
    let mut sink = SmtpSink::start().await;
    let server = Server::start(&cli, sink.port, &[("GATEHOUSE_OTP_RESEND_COOLDOWN_SECS", "0")]).await;
    let mut secrets = Secrets::new();

    sign_in_the_long_way(&server.address, &mut sink.inbox, &mut secrets).await;
    let output = server.stop().await;
    let audit_rows = Database::open(&cli.database.url).await.audit_rows().await;

    assert!(
        output.contains("\"POST /login\" 401") && output.contains("\"POST /login/code\" 303"),
        "the request log was captured:\n{output}"
    );
    assert!(audit_rows.len() >= 6, "the sign-in was audited: {audit_rows:#?}");
    for (what, secret) in &secrets.seen {
        assert!(
            !contains_secret(&output, secret),
            "the {what} {secret:?} is in the output of `gatehouse serve`:\n{output}"
        );
        for row in &audit_rows {
            assert!(!contains_secret(row, secret), "the {what} {secret:?} is in an audit row: {row}");
        }
    }
}

/// Wrong password, right password, wrong code, a new code, both links
/// opened, the newest code, the account page, logout.
async fn sign_in_the_long_way(address: &str, inbox: &mut UnboundedReceiver<Vec<u8>>, secrets: &mut Secrets) {
    let laptop = Browser::new(address);
    secrets.add("password", PASSWORD);
    secrets.add("wrong password", WRONG_PASSWORD);

    let wrong = sign_in_step(&laptop, secrets, WRONG_PASSWORD).await;
    assert_status(&wrong, StatusCode::UNAUTHORIZED);
    let right = sign_in_step(&laptop, secrets, PASSWORD).await;
    assert_redirects_to(&right, "/login/code");
    let first = secrets.mail(next_mail(inbox).await);

    let page = seen(&laptop, secrets, laptop.get("/login/code").await);
    let wrong_code = wrong_code_for(&first.code());
    secrets.add("wrong code", &wrong_code);
    let refused = laptop.submit(&page, "/login/code", &[("code", &wrong_code)]).await;
    assert_status(&seen(&laptop, secrets, refused), StatusCode::UNAUTHORIZED);
    let page = seen(&laptop, secrets, laptop.get("/login/code").await);
    let resent = laptop.submit(&page, "/login/code/resend", &[]).await;
    assert_redirects_to(&seen(&laptop, secrets, resent), "/login/code");
    let second = secrets.mail(next_mail(inbox).await);

    let phone = Browser::new(address);
    let old_link = seen(&phone, secrets, phone.get(&first.link()).await);
    assert_status(&old_link, StatusCode::GONE);
    let new_link = seen(&phone, secrets, phone.get(&second.link()).await);
    assert_status(&new_link, StatusCode::OK);

    let page = seen(&laptop, secrets, laptop.get("/login/code").await);
    let signed_in = laptop.submit(&page, "/login/code", &[("code", &second.code())]).await;
    assert_redirects_to(&seen(&laptop, secrets, signed_in), "/");
    let account = seen(&laptop, secrets, laptop.get("/").await);
    assert_status(&account, StatusCode::OK);
    let logged_out = laptop.submit(&account, "/logout", &[]).await;
    seen(&laptop, secrets, logged_out);
}

async fn sign_in_step(browser: &Browser, secrets: &mut Secrets, password: &str) -> Reply {
    let page = seen(browser, secrets, browser.get("/login").await);
    let reply = browser.submit(&page, "/login", &[("email", EMAIL), ("password", password)]).await;
    seen(browser, secrets, reply)
}

/// Notes the CSRF tokens on `reply` and the cookies `browser` now holds.
fn seen(browser: &Browser, secrets: &mut Secrets, reply: Reply) -> Reply {
    for token in reply.input_values("csrf") {
        secrets.add("CSRF token", &token);
    }
    for name in [SESSION_COOKIE, "gatehouse_csrf"] {
        if let Some(value) = browser.cookie(name) {
            let decoded = percent_encoding::percent_decode_str(&value).decode_utf8_lossy().into_owned();
            secrets.add("cookie value", &value);
            secrets.add("cookie value", &decoded);
        }
    }
    reply
}

struct Secrets {
    seen: Vec<(&'static str, String)>,
}

impl Secrets {
    fn new() -> Secrets {
        Secrets { seen: Vec::new() }
    }

    fn add(&mut self, what: &'static str, secret: &str) {
        assert!(secret.len() >= 6, "a {what} this short cannot be searched for: {secret:?}");
        if !self.seen.iter().any(|(_, s)| s == secret) {
            self.seen.push((what, secret.to_owned()));
        }
    }

    fn mail(&mut self, mail: Mail) -> Mail {
        self.add("code", &mail.code());
        self.add("link token", &mail.link_token());
        mail
    }
}

/// Whether `text` holds `secret`; a code counts only when it does not sit
/// inside a longer number (a timestamp's microseconds, say).
fn contains_secret(text: &str, secret: &str) -> bool {
    if !secret.bytes().all(|b| b.is_ascii_digit()) {
        return text.contains(secret);
    }
    text.match_indices(secret).any(|(at, _)| {
        let before = text[..at].bytes().next_back();
        let after = text[at + secret.len()..].bytes().next();
        !before.is_some_and(|b| b.is_ascii_digit()) && !after.is_some_and(|b| b.is_ascii_digit())
    })
}

async fn next_mail(inbox: &mut UnboundedReceiver<Vec<u8>>) -> Mail {
    match tokio::time::timeout(Duration::from_secs(10), inbox.recv()).await {
        Ok(Some(raw)) => Mail::parse(&raw),
        _ => panic!("no mail reached the SMTP sink within 10 s"),
    }
}
