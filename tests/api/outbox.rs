//! The durable outbox: mail survives an SMTP outage and a crash, several
//! instances deliver each mail once, the code page tells the person what
//! became of their mail, and the database never holds a readable code.

use std::time::{Duration, Instant};

use gatehouse::config::Settings;
use gatehouse::domain::clock::Clock;
use gatehouse::domain::email::EmailAddress;
use gatehouse::domain::keys::Keys;
use gatehouse::domain::mail::MailKind;
use gatehouse::mail::outbox::{Outbox, Sealer};
use gatehouse::mail::{Letter, Mailer};

use crate::backend::{Backend, on_both_backends};
use crate::browser::{Browser, Reply, assert_page_says, assert_redirects_to, page_says};
use crate::helpers::{Cli, TestApp, spawn_app_with, start_instance};
use crate::inspect::database_of;
use crate::mail::Mail;
use crate::smtp_sink::SmtpSink;

on_both_backends! {
    an_outage_then_recovery_delivers_the_waiting_mail_and_the_code_page_follows,
    the_code_is_valid_for_its_full_time_from_when_the_server_accepted_the_mail,
    a_mail_queued_before_a_crash_is_delivered_after_the_restart,
    a_mail_that_cannot_be_sent_fails_after_its_attempts_and_a_new_code_can_be_asked_for,
    two_instances_deliver_a_hundred_queued_mails_exactly_once,
    the_outbox_never_holds_a_readable_code,
    a_replaced_code_mail_still_waiting_is_never_sent,
    a_mail_server_that_never_answers_costs_a_timeout_not_a_stuck_sender,
    the_cleanup_forgets_settled_mail_after_a_week_and_browsers_after_400_days,
    a_sender_whose_lease_was_taken_over_can_record_nothing,
}

const DEADLINE: Duration = Duration::from_secs(20);

/// Reloads the code page, as a person waiting for their mail would, until it says `text`.
async fn reload_until_code_page_says(browser: &Browser, text: &str) -> Reply {
    let started = Instant::now();
    loop {
        let page = browser.get("/login/code").await;
        if page_says(&page, text) {
            return page;
        }
        assert!(started.elapsed() < DEADLINE, "the code page never said {text:?}; last:\n{}", page.body);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn next_mail_of(sink: &mut SmtpSink) -> Mail {
    match tokio::time::timeout(DEADLINE, sink.inbox.recv()).await {
        Ok(Some(raw)) => Mail::parse(&raw),
        _ => panic!("no mail reached the SMTP server within {DEADLINE:?}"),
    }
}

const STILL_TRYING: &str = "has not accepted the email yet";

/// The app with its SMTP server down (nothing listens on the returned port
/// yet), retrying every second unless `configure` says otherwise.
async fn app_with_mail_down(
    backend: Backend,
    configure: impl Fn(&mut Settings) + Send + Sync + 'static,
) -> (TestApp, u16) {
    let port = crate::ports::for_a_later_server(); // no SMTP server listens there (yet)
    let app = spawn_app_with(backend, move |s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.mail_retry_delay_secs = 1;
        configure(s);
    })
    .await;
    (app, port)
}

/// The password step while the mail server is down: the code page says it keeps trying.
async fn password_step_while_mail_is_down(app: &TestApp) -> Reply {
    let reply = app.browser.enter_password(&app.user.email, &app.user.password).await;
    assert_redirects_to(&reply, "/login/code");
    reload_until_code_page_says(&app.browser, STILL_TRYING).await
}

async fn an_outage_then_recovery_delivers_the_waiting_mail_and_the_code_page_follows(backend: Backend) {
    let (app, port) = app_with_mail_down(backend, |_| {}).await;
    let waiting = password_step_while_mail_is_down(&app).await;
    assert!(!page_says(&waiting, "sent at"), "nothing was sent yet:\n{}", waiting.body);

    // The SMTP server comes back: the waiting mail goes out on its next try.
    let mut server = SmtpSink::start_on(port).await;
    let mail = next_mail_of(&mut server).await;
    reload_until_code_page_says(&app.browser, "sent at").await;

    assert_redirects_to(&app.browser.enter_code(&mail.code()).await, "/");
    let rows = database_of(&app).await.outbox_rows().await;
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].status, "sent");
    assert!(rows[0].attempts >= 2, "the first try failed: {rows:?}");
}

async fn the_code_is_valid_for_its_full_time_from_when_the_server_accepted_the_mail(backend: Backend) {
    let (app, port) = app_with_mail_down(backend, |s| {
        s.mail_retry_delay_secs = 2;
        s.otp_ttl_secs = 600;
    })
    .await;
    password_step_while_mail_is_down(&app).await;
    let mut server = SmtpSink::start_on(port).await;
    next_mail_of(&mut server).await;
    reload_until_code_page_says(&app.browser, "sent at").await;

    let (created_at, sent_at, expires_at) =
        database_of(&app).await.newest_challenge_clock(&app.user.email).await;
    let sent_at = sent_at.expect("the acceptance time is recorded");
    assert!(
        sent_at > created_at,
        "the mail was accepted after the outage: created {created_at}, sent {sent_at}"
    );
    assert_eq!(expires_at, sent_at + 600, "the ten minutes start at acceptance");
}

async fn a_mail_queued_before_a_crash_is_delivered_after_the_restart(backend: Backend) {
    let (mut app, _) = app_with_mail_down(backend, |_| {}).await;
    password_step_while_mail_is_down(&app).await;
    app.stop().await;
    // As the process would leave it if it died in the middle of a send:
    // the row held by a sender whose lease has run out.
    let db = database_of(&app).await;
    db.execute("UPDATE outbox SET status = 'sending', lease_until = 0").await;

    let sink_port = app.sink_port();
    app.start_again_with(move |s| s.smtp_url = Some(format!("smtp://127.0.0.1:{sink_port}"))).await;
    let mail = app.next_mail().await;
    assert_redirects_to(&app.browser.enter_code(&mail.code()).await, "/");
    let statuses: Vec<String> = db.outbox_rows().await.into_iter().map(|r| r.status).collect();
    assert_eq!(statuses, ["sent"]);
}

async fn a_mail_that_cannot_be_sent_fails_after_its_attempts_and_a_new_code_can_be_asked_for(
    backend: Backend,
) {
    let (mut app, _) = app_with_mail_down(backend, |s| {
        s.mail_max_attempts = 2;
        s.otp_resend_cooldown_secs = 0;
    })
    .await;
    app.browser.enter_password(&app.user.email, &app.user.password).await;
    let failed = reload_until_code_page_says(&app.browser, "We could not send the email").await;
    assert!(failed.has_form("/login/code/resend"), "a new code can be asked for:\n{}", failed.body);

    let outbox = app.cli.run_ok(&["outbox"], None).await.stdout;
    assert!(outbox.lines().any(|l| l.split_whitespace().eq(["failed", "1"])), "{outbox}");
    assert!(outbox.contains("failed after 2 attempts") && outbox.contains("alice@example.com"), "{outbox}");

    // The mail server is back; the person asks for a new code and gets it.
    let sink_port = app.sink_port();
    app.stop().await;
    app.start_again_with(move |s| s.smtp_url = Some(format!("smtp://127.0.0.1:{sink_port}"))).await;
    assert_redirects_to(&app.browser.resend_code().await, "/login/code");
    let mail = app.next_mail().await;
    assert_redirects_to(&app.browser.enter_code(&mail.code()).await, "/");
}

async fn two_instances_deliver_a_hundred_queued_mails_exactly_once(backend: Backend) {
    let cli = Cli::new(backend).await;
    cli.run_ok(&["migrate"], None).await;
    let mut sink = SmtpSink::start().await;
    let config = cli.settings(sink.port).check().unwrap();
    let keys = Keys::from_secret(cli.secret_key.as_bytes()).unwrap();
    let db = gatehouse::db::Db::connect(&cli.database.url).await.unwrap();
    let sealer = std::sync::Arc::new(Sealer::new(&keys.outbox));
    let mailer = Mailer::new(&config.mail).unwrap();
    let ttl = config.codes.ttl_secs;
    let outbox = Outbox::new(db.clone(), mailer, sealer.clone(), &config.mail, ttl, Clock::system());
    for n in 0..100 {
        let letter = Letter {
            to: EmailAddress::parse(&format!("user{n}@example.com")).unwrap(),
            subject: format!("mail number {n}"),
            text: format!("body {n}"),
            html: format!("<p>body {n}</p>"),
        };
        outbox.enqueue(&sealer.seal(MailKind::NewSignIn, &letter, None).unwrap()).await.unwrap();
    }

    let (_first, _second) = tokio::join!(start_instance(&cli, sink.port), start_instance(&cli, sink.port));
    let mut received = Vec::new();
    while received.len() < 100 {
        received.push(next_mail_of(&mut sink).await.subject);
    }
    // Once every row is settled, every send that happened has reached the sink.
    let inspect = crate::inspect::Database::open(&cli.database.url).await;
    let started = Instant::now();
    while inspect.outbox_rows().await.iter().any(|r| r.status != "sent") {
        assert!(started.elapsed() < DEADLINE, "not every row was marked sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    while let Ok(raw) = sink.inbox.try_recv() {
        received.push(Mail::parse(&raw).subject);
    }
    received.sort();
    let mut expected: Vec<String> = (0..100).map(|n| format!("mail number {n}")).collect();
    expected.sort();
    assert_eq!(received, expected, "each mail arrives exactly once");
    assert!(inspect.outbox_rows().await.iter().all(|r| r.attempts == 1 && r.body.is_none()));
}

async fn the_outbox_never_holds_a_readable_code(backend: Backend) {
    let (app, port) = app_with_mail_down(backend, |_| {}).await;
    password_step_while_mail_is_down(&app).await;
    let db = database_of(&app).await;
    let queued = db.outbox_rows().await;
    let body = queued[0].body.clone().expect("a waiting mail keeps its sealed body");

    let mut server = SmtpSink::start_on(port).await;
    let mail = next_mail_of(&mut server).await;
    let (code, token) = (mail.code(), mail.link_token());
    for secret in [&code, &token] {
        assert!(!contains(&body, secret.as_bytes()), "the queued body shows {secret}");
    }
    assert!(!contains(&body, b"alice@example.com") && !contains(&body, b"sign-in code"));
    reload_until_code_page_says(&app.browser, "sent at").await;
    assert_eq!(db.outbox_rows().await[0].body, None, "a sent mail's body is erased");
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

async fn a_replaced_code_mail_still_waiting_is_never_sent(backend: Backend) {
    let (app, port) = app_with_mail_down(backend, |s| {
        s.mail_retry_delay_secs = 2;
        s.otp_resend_cooldown_secs = 0;
    })
    .await;
    password_step_while_mail_is_down(&app).await;
    assert_redirects_to(&app.browser.resend_code().await, "/login/code");

    let mut server = SmtpSink::start_on(port).await;
    let mail = next_mail_of(&mut server).await;
    let page = reload_until_code_page_says(&app.browser, "sent at").await;
    assert_page_says(&page, "sent at");
    assert_redirects_to(&app.browser.enter_code(&mail.code()).await, "/");
    let db = database_of(&app).await;
    let started = Instant::now();
    while db.outbox_rows().await.iter().any(|r| r.status == "queued" || r.status == "sending") {
        assert!(started.elapsed() < DEADLINE, "the old mail was never settled");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let statuses: Vec<String> = db.outbox_rows().await.into_iter().map(|r| r.status).collect();
    assert_eq!(statuses, ["cancelled", "sent"], "only the newest code is mailed");
    assert!(server.inbox.try_recv().is_err(), "the replaced code never reached the mail server");
}

async fn a_mail_server_that_never_answers_costs_a_timeout_not_a_stuck_sender(backend: Backend) {
    // Accepts connections and never says a word, not even its greeting.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = silent.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((stream, _)) = silent.accept().await {
            held.push(stream);
        }
    });
    let app = spawn_app_with(backend, move |s| {
        s.smtp_url = Some(format!("smtp://127.0.0.1:{port}"));
        s.smtp_timeout_secs = 1;
        s.mail_retry_delay_secs = 1;
    })
    .await;
    password_step_while_mail_is_down(&app).await;
    let db = database_of(&app).await;
    let started = Instant::now();
    while db.outbox_rows().await[0].attempts < 3 {
        assert!(started.elapsed() < DEADLINE, "the sender is stuck: {:?}", db.outbox_rows().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let outbox = app.cli.run_ok(&["outbox"], None).await.stdout;
    let timed_out = outbox.contains("timed out") || outbox.contains("no answer within");
    assert!(outbox.contains("#1") && timed_out, "the timeout is on record:\n{outbox}");
}

async fn the_cleanup_forgets_settled_mail_after_a_week_and_browsers_after_400_days(backend: Backend) {
    let app = crate::helpers::spawn_app(backend).await;
    let db = database_of(&app).await;
    // 0 is long ago; 9999999999 is far ahead.
    db.execute(
        "INSERT INTO outbox (kind, recipient, status, next_attempt_at, created_at) VALUES \
         ('code', 'old@example.com', 'sent', 0, 0), ('code', 'old@example.com', 'failed', 0, 0), \
         ('code', 'waiting@example.com', 'queued', 0, 0), ('code', 'new@example.com', 'sent', 0, 9999999999)",
    )
    .await;
    db.execute(match backend {
        Backend::Sqlite => {
            "INSERT INTO known_browsers (user_id, token_hash, first_seen, last_seen) \
             SELECT id, X'01', 0, 0 FROM users UNION ALL SELECT id, X'02', 0, 9999999999 FROM users"
        }
        Backend::Postgres => {
            "INSERT INTO known_browsers (user_id, token_hash, first_seen, last_seen) \
             SELECT id, '\\x01'::bytea, 0, 0 FROM users UNION ALL SELECT id, '\\x02'::bytea, 0, 9999999999 FROM users"
        }
    })
    .await;
    let portal = gatehouse::db::Db::connect(&app.cli.database.url).await.unwrap();
    portal.delete_expired(Clock::system().now()).await.expect("every cleanup statement runs");

    let statuses: Vec<String> = db.outbox_rows().await.into_iter().map(|r| r.status).collect();
    assert_eq!(statuses, ["queued", "sent"], "a queued mail stays however old; settled ones go after a week");
    assert_eq!(db.known_browsers().await, 1);
}

/// What "never recorded twice" rests on: once a lease has run out and
/// another sender claimed the row, the first sender's outcome is refused.
async fn a_sender_whose_lease_was_taken_over_can_record_nothing(backend: Backend) {
    use gatehouse::db::outbox::{NewMail, Setback, claim, enqueue, mark_sent, mark_setback};
    let cli = Cli::new(backend).await;
    let db = gatehouse::db::Db::connect(&cli.database.url).await.unwrap();
    db.migrate().await.unwrap();
    let mail =
        NewMail { kind: MailKind::NewSignIn, recipient: "ann@example.com".into(), body: vec![1, 2, 3] };
    enqueue(&db, &mail, 100).await.unwrap();

    let first = claim(&db, 100, 110, b"first").await.unwrap().expect("the row is due");
    assert!(claim(&db, 105, 115, b"second").await.unwrap().is_none(), "leased rows are not claimed");
    let second =
        claim(&db, 111, 121, b"second").await.unwrap().expect("claimed again after the lease ran out");
    assert_eq!(first.id, second.id);

    assert!(!mark_sent(&db, first.id, b"first", 112, 600).await.unwrap(), "the old lease records nothing");
    let retry = Setback::Retry { at: 200, error: "late" };
    assert!(!mark_setback(&db, first.id, b"first", retry).await.unwrap());
    assert!(mark_sent(&db, second.id, b"second", 113, 600).await.unwrap(), "the lease holder settles it");
    let rows = crate::inspect::Database::open(&cli.database.url).await.outbox_rows().await;
    assert_eq!((rows.len(), rows[0].status.as_str(), rows[0].attempts), (1, "sent", 2));
}
