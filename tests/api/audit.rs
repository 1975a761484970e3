//! The audit log, read back with `gatehouse audit`: one tab-separated line
//! per event (time, who, event, result, client IP, user agent).

use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{assert_redirects_to_login, assert_status};
use crate::helpers::spawn_app;

on_both_backends! {
    the_audit_log_lists_every_step_of_a_sign_in_with_the_client_ip,
}

async fn the_audit_log_lists_every_step_of_a_sign_in_with_the_client_ip(backend: Backend) {
    let app = spawn_app(backend).await;
    let wrong = app.browser.enter_password(&app.user.email, "not the password at all").await;
    assert_status(&wrong, StatusCode::UNAUTHORIZED);
    app.sign_in(&app.browser).await;
    assert_redirects_to_login(&app.browser.log_out().await);

    let audit = app.cli.run_ok(&["audit", "--user", &app.user.email], None).await;

    let lines: Vec<Vec<&str>> = audit.stdout.lines().map(|l| l.split('\t').collect()).collect();
    let events: Vec<String> =
        lines.iter().map(|fields| fields.get(2..4).unwrap_or_default().join(" ")).collect();
    assert_eq!(
        events,
        ["password failed", "password ok", "code_sent ok", "code ok", "logout ok"],
        "audit output:\n{}",
        audit.stdout
    );
    for fields in &lines {
        assert_eq!(fields.len(), 6, "six columns: {fields:?}");
        assert_eq!(fields[4], "127.0.0.1", "the client IP: {fields:?}");
    }
}
