//! Mail over STARTTLS to a real SMTP server (mailin-embedded, see
//! `tls_smtp_server`): with the relay's certificate trusted through
//! `smtp_ca_file` and the right credentials the code arrives; with an
//! untrusted certificate, a relay that offers no STARTTLS or wrong
//! credentials nothing is delivered, the code page says the mail is not
//! accepted yet and `gatehouse outbox` shows why.

use std::time::{Duration, Instant};

use crate::backend::{Backend, on_both_backends};
use crate::browser::{Browser, Reply, assert_redirects_to};
use crate::helpers::{TestApp, spawn_app_with};
use crate::mail::Mail;
use crate::tls_smtp_server::{Options, TlsSmtpServer};

const USER: &str = "gatehouse-relay";
const PASSWORD: &str = "relay-password-4d9e1c";
const RETRYING: &str = "Our mail server has not accepted the email yet. We keep trying";
const DEADLINE: Duration = Duration::from_secs(20);
const POLL_EVERY: Duration = Duration::from_millis(100);

on_both_backends! {
    a_code_mail_goes_over_starttls_with_auth_and_its_code_signs_in,
    an_untrusted_certificate_stops_the_mail_and_the_outbox_says_why,
    tls_required_never_falls_back_to_plain_smtp,
    wrong_smtp_credentials_leave_the_mail_queued_with_the_error,
}

async fn a_code_mail_goes_over_starttls_with_auth_and_its_code_signs_in(backend: Backend) {
    let mut relay = TlsSmtpServer::start(Options { starttls: true, login: Some((USER, PASSWORD)) });
    let app = spawn_app_mailing_to(backend, &relay, Some((USER, PASSWORD)), Trust::RelayCertificate).await;

    let reply = app.browser.enter_password(&app.user.email, &app.user.password).await;
    assert_redirects_to(&reply, "/login/code");
    let received = relay.next_message().await;

    assert_eq!(
        received.authenticated_as.as_deref(),
        Some(USER),
        "logged in, which mailin allows only over TLS"
    );
    assert!(relay.seen().greetings >= 2, "EHLO before and after STARTTLS: {:?}", relay.seen());
    let mail = Mail::parse(&received.raw);
    assert_eq!(mail.to, vec![app.user.email.clone()]);
    let reply = app.browser.enter_code(&mail.code()).await;
    assert_redirects_to(&reply, "/");
}

async fn an_untrusted_certificate_stops_the_mail_and_the_outbox_says_why(backend: Backend) {
    let mut relay = TlsSmtpServer::start(Options { starttls: true, login: Some((USER, PASSWORD)) });
    let app = spawn_app_mailing_to(backend, &relay, Some((USER, PASSWORD)), Trust::WebRootsOnly).await;

    let reply = app.browser.enter_password(&app.user.email, &app.user.password).await;
    assert_redirects_to(&reply, "/login/code");
    wait_for_code_page_saying(&app.browser, RETRYING).await;

    assert!(relay.seen().greetings >= 1, "the app reached the relay: {:?}", relay.seen());
    assert_eq!(relay.seen().transactions, 0, "no MAIL FROM, in plain or otherwise");
    relay.assert_nothing_received();
    let report = outbox_report(&app).await;
    assert_eq!(count(&report, "sent"), 0, "{report}");
    let error = error_line(&report, &app.user.email);
    assert!(error.contains("code") && error.contains(" attempt"), "the attempt is on record: {error}");
    assert!(error.to_lowercase().contains("certificate"), "the error names the certificate: {error}");
}

async fn tls_required_never_falls_back_to_plain_smtp(backend: Backend) {
    // The relay takes mail from anyone, in plain: only `tls=required` stands
    // between the code and the wire.
    let mut relay = TlsSmtpServer::start(Options { starttls: false, login: None });
    let app = spawn_app_mailing_to(backend, &relay, None, Trust::RelayCertificate).await;

    let reply = app.browser.enter_password(&app.user.email, &app.user.password).await;
    assert_redirects_to(&reply, "/login/code");
    wait_for_code_page_saying(&app.browser, RETRYING).await;
    // A retry must not fall back either. The count goes up when an attempt
    // starts, so wait until the second one is over and queued again.
    let report =
        wait_for_outbox(&app, "a second failed attempt", |report| report.contains("queued after 2 attempts"))
            .await;

    assert!(relay.seen().greetings >= 2, "the app reached the relay twice: {:?}", relay.seen());
    assert_eq!(relay.seen().transactions, 0, "no MAIL FROM in plain text");
    relay.assert_nothing_received();
    assert_eq!(count(&report, "sent"), 0, "{report}");
    let error = error_line(&report, &app.user.email);
    assert!(error.contains("STARTTLS"), "the error says STARTTLS was missing: {error}");
}

async fn wrong_smtp_credentials_leave_the_mail_queued_with_the_error(backend: Backend) {
    const WRONG_PASSWORD: &str = "not-the-relay-password-81b2";
    let mut relay = TlsSmtpServer::start(Options { starttls: true, login: Some((USER, PASSWORD)) });
    let app =
        spawn_app_mailing_to(backend, &relay, Some((USER, WRONG_PASSWORD)), Trust::RelayCertificate).await;

    let reply = app.browser.enter_password(&app.user.email, &app.user.password).await;
    assert_redirects_to(&reply, "/login/code");
    wait_for_code_page_saying(&app.browser, RETRYING).await;

    assert!(relay.seen().refused_logins >= 1, "the relay refused the login: {:?}", relay.seen());
    assert_eq!(relay.seen().transactions, 0, "no MAIL FROM without a login");
    relay.assert_nothing_received();
    let report = outbox_report(&app).await;
    assert_eq!((count(&report, "sent"), count(&report, "failed")), (0, 0), "still retrying: {report}");
    let error = error_line(&report, &app.user.email);
    assert!(error.contains("535"), "the relay's refusal is on record: {error}");
    assert!(!report.contains(WRONG_PASSWORD), "the SMTP password stays out of the report: {report}");
}

/// Whose certificates the app trusts for the relay.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Trust {
    /// `smtp_ca_file` names the relay's self-signed certificate.
    RelayCertificate,
    /// No `smtp_ca_file`: only the usual web roots.
    WebRootsOnly,
}

/// The app, mailing through `relay` with STARTTLS required. Retries come a
/// second after a failure, so a test sees the second attempt soon.
async fn spawn_app_mailing_to(
    backend: Backend,
    relay: &TlsSmtpServer,
    login: Option<(&str, &str)>,
    trust: Trust,
) -> TestApp {
    let credentials = login.map(|(user, password)| format!("{user}:{password}@")).unwrap_or_default();
    let smtp_url = format!("smtp://{credentials}localhost:{}?tls=required", relay.port);
    let ca_file = (trust == Trust::RelayCertificate).then(|| relay.cert_pem_path.clone());
    spawn_app_with(backend, move |settings| {
        settings.smtp_url = Some(smtp_url.clone());
        settings.smtp_ca_file = ca_file.clone();
        settings.mail_retry_delay_secs = 1;
    })
    .await
}

async fn wait_for_code_page_saying(browser: &Browser, text: &str) -> Reply {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let page = browser.get("/login/code").await;
        if page.body.contains(text) {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "the code page did not say {text:?} within {DEADLINE:?}:\n{}",
            page.body
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}

async fn outbox_report(app: &TestApp) -> String {
    app.cli.run_ok(&["outbox"], None).await.stdout
}

async fn wait_for_outbox(app: &TestApp, what: &str, done: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + DEADLINE;
    loop {
        let report = outbox_report(app).await;
        if done(&report) {
            return report;
        }
        assert!(
            Instant::now() < deadline,
            "`gatehouse outbox` did not show {what} within {DEADLINE:?}:\n{report}"
        );
        tokio::time::sleep(POLL_EVERY).await;
    }
}

/// The count `gatehouse outbox` gives for one status (`sent      3`).
fn count(report: &str, status: &str) -> i64 {
    report
        .lines()
        .find_map(|line| match line.split_whitespace().collect::<Vec<_>>()[..] {
            [name, count] if name == status => count.parse().ok(),
            _ => None,
        })
        .unwrap_or_else(|| panic!("no count for {status} in `gatehouse outbox`:\n{report}"))
}

/// The error line `gatehouse outbox` prints for the mail to `recipient`.
fn error_line<'a>(report: &'a str, recipient: &str) -> &'a str {
    report
        .lines()
        .find(|line| line.starts_with('#') && line.contains(recipient))
        .unwrap_or_else(|| panic!("no error on record for {recipient} in `gatehouse outbox`:\n{report}"))
}
