//! The `gatehouse` command line: user management and migrations, run as the
//! real binary against the test's database.

use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{assert_redirects_to, assert_status};
use crate::helpers::{Cli, spawn_app};

on_both_backends! {
    a_user_added_with_the_cli_can_sign_in,
    user_add_works_on_a_fresh_database,
    migrate_succeeds_and_can_run_again,
    user_list_shows_every_user,
    display_names_are_set_listed_and_removed,
    a_display_name_with_a_line_break_or_hidden_characters_is_refused,
    a_disabled_user_cannot_sign_in_until_enabled_again,
    set_password_replaces_the_password,
    a_removed_user_cannot_sign_in_and_is_not_listed,
    passwords_of_8_and_128_characters_are_accepted,
    user_add_refuses_an_invalid_email,
    user_add_refuses_an_email_with_a_line_break,
    user_add_refuses_a_password_under_8_characters,
    user_add_refuses_a_password_over_128_characters,
    user_add_refuses_a_common_password,
    user_add_refuses_an_existing_user,
    commands_on_an_unknown_user_are_refused,
}

async fn a_user_added_with_the_cli_can_sign_in(backend: Backend) {
    let app = spawn_app(backend).await;

    app.cli.add_user("dave@example.com", "dave's long password").await;

    let reply = app.browser.enter_password("dave@example.com", "dave's long password").await;
    assert_redirects_to(&reply, "/login/code");
    assert_eq!(app.next_mail().await.to, vec!["dave@example.com".to_owned()]);
}

async fn user_add_works_on_a_fresh_database(backend: Backend) {
    let cli = Cli::new(backend).await;

    cli.add_user("erin@example.com", "erin's long password").await;

    let list = cli.run_ok(&["user", "list"], None).await;
    assert!(list.stdout.contains("erin@example.com"), "listed:\n{}", list.stdout);
}

async fn migrate_succeeds_and_can_run_again(backend: Backend) {
    let cli = Cli::new(backend).await;

    cli.run_ok(&["migrate"], None).await;
    cli.run_ok(&["migrate"], None).await;

    let list = cli.run_ok(&["user", "list"], None).await;
    assert!(!list.stdout.contains('@'), "no users yet:\n{}", list.stdout);
}

async fn display_names_are_set_listed_and_removed(backend: Backend) {
    let cli = Cli::new(backend).await;
    cli.run_ok(
        &["user", "add", "heidi@example.com", "--name", " Heidi  Klum ", "--password-stdin"],
        Some("a long enough password"),
    )
    .await;
    let listed = |out: &str| out.lines().find(|l| l.starts_with("heidi@")).map(str::to_owned);
    let list = cli.run_ok(&["user", "list"], None).await;
    assert_eq!(listed(&list.stdout).as_deref(), Some("heidi@example.com\tenabled\tHeidi Klum"));

    cli.run_ok(&["user", "set-name", "Heidi@Example.com", "Adelheid"], None).await;
    let list = cli.run_ok(&["user", "list"], None).await;
    assert_eq!(listed(&list.stdout).as_deref(), Some("heidi@example.com\tenabled\tAdelheid"));

    cli.run_ok(&["user", "set-name", "heidi@example.com"], None).await;
    let list = cli.run_ok(&["user", "list"], None).await;
    assert_eq!(listed(&list.stdout).as_deref(), Some("heidi@example.com\tenabled\t"));

    cli.run(&["user", "set-name", "nobody@example.com", "Nobody"], None).await.assert_refused();
}

async fn a_display_name_with_a_line_break_or_hidden_characters_is_refused(backend: Backend) {
    let cli = Cli::new(backend).await;
    for name in ["Ivan\r\nRemote-User: admin@example.com", "Ivan\u{202E}nimda", "   ", &"x".repeat(101)] {
        let out = cli
            .run(
                &["user", "add", "ivan@example.com", "--name", name, "--password-stdin"],
                Some("a long enough password\n"),
            )
            .await;
        out.assert_refused();
    }
    let list = cli.run_ok(&["user", "list"], None).await;
    assert!(!list.stdout.contains("ivan@"), "a refused add added nothing:\n{}", list.stdout);
}

async fn user_list_shows_every_user(backend: Backend) {
    let cli = Cli::new(backend).await;
    cli.add_user("frank@example.com", "frank's long password").await;
    cli.add_user("grace@example.com", "grace's long password").await;

    let list = cli.run_ok(&["user", "list"], None).await;

    assert!(list.stdout.contains("frank@example.com"), "frank listed:\n{}", list.stdout);
    assert!(list.stdout.contains("grace@example.com"), "grace listed:\n{}", list.stdout);
}

async fn a_disabled_user_cannot_sign_in_until_enabled_again(backend: Backend) {
    let app = spawn_app(backend).await;

    app.cli.run_ok(&["user", "disable", &app.user.email], None).await;
    let while_disabled = app.browser.enter_password(&app.user.email, &app.user.password).await;
    app.cli.run_ok(&["user", "enable", &app.user.email], None).await;
    let once_enabled = app.new_browser().enter_password(&app.user.email, &app.user.password).await;

    assert_status(&while_disabled, StatusCode::UNAUTHORIZED);
    assert_redirects_to(&once_enabled, "/login/code");
}

async fn set_password_replaces_the_password(backend: Backend) {
    let app = spawn_app(backend).await;

    app.cli
        .run_ok(
            &["user", "set-password", &app.user.email, "--password-stdin"],
            Some("a brand new passphrase"),
        )
        .await;

    let old = app.browser.enter_password(&app.user.email, &app.user.password).await;
    let new = app.new_browser().enter_password(&app.user.email, "a brand new passphrase").await;
    assert_status(&old, StatusCode::UNAUTHORIZED);
    assert_redirects_to(&new, "/login/code");
}

async fn a_removed_user_cannot_sign_in_and_is_not_listed(backend: Backend) {
    let app = spawn_app(backend).await;

    app.cli.run_ok(&["user", "remove", &app.user.email], None).await;

    let reply = app.browser.enter_password(&app.user.email, &app.user.password).await;
    assert_status(&reply, StatusCode::UNAUTHORIZED);
    let list = app.cli.run_ok(&["user", "list"], None).await;
    assert!(!list.stdout.contains(&app.user.email), "not listed:\n{}", list.stdout);
}

async fn passwords_of_8_and_128_characters_are_accepted(backend: Backend) {
    let cli = Cli::new(backend).await;
    let long: String = "Tr0ub4dor&3 horse ".chars().cycle().take(128).collect();

    cli.add_user("heidi@example.com", "q7#Lm2!x").await;
    cli.add_user("ivan@example.com", &long).await;
}

async fn user_add_refuses_an_invalid_email(backend: Backend) {
    let cli = Cli::new(backend).await;

    let output = cli
        .run(&["user", "add", "not-an-email", "--password-stdin"], Some("a perfectly fine password\n"))
        .await;

    output.assert_refused();
}

async fn user_add_refuses_an_email_with_a_line_break(backend: Backend) {
    let cli = Cli::new(backend).await;

    let crlf = cli
        .run(
            &["user", "add", "judy@example.com\r\nBcc: mallory@example.com", "--password-stdin"],
            Some("a perfectly fine password\n"),
        )
        .await;
    let lf = cli
        .run(&["user", "add", "judy@example.com\n", "--password-stdin"], Some("a perfectly fine password\n"))
        .await;

    crlf.assert_refused();
    lf.assert_refused();
    let list = cli.run_ok(&["user", "list"], None).await;
    assert!(!list.stdout.contains("judy"), "nobody was added:\n{}", list.stdout);
}

async fn user_add_refuses_a_password_under_8_characters(backend: Backend) {
    let cli = Cli::new(backend).await;

    let output = cli.run(&["user", "add", "kim@example.com", "--password-stdin"], Some("q7#Lm2!\n")).await;

    output.assert_refused();
}

async fn user_add_refuses_a_password_over_128_characters(backend: Backend) {
    let cli = Cli::new(backend).await;
    let too_long: String = "Tr0ub4dor&3 horse ".chars().cycle().take(129).collect();

    let output = cli
        .run(&["user", "add", "liam@example.com", "--password-stdin"], Some(&format!("{too_long}\n")))
        .await;

    output.assert_refused();
}

async fn user_add_refuses_a_common_password(backend: Backend) {
    let cli = Cli::new(backend).await;

    let output = cli.run(&["user", "add", "mia@example.com", "--password-stdin"], Some("password\n")).await;

    output.assert_refused();
}

async fn user_add_refuses_an_existing_user(backend: Backend) {
    let cli = Cli::new(backend).await;
    cli.add_user("noah@example.com", "noah's long password").await;

    let output = cli
        .run(&["user", "add", "noah@example.com", "--password-stdin"], Some("another long password\n"))
        .await;

    output.assert_refused();
}

async fn commands_on_an_unknown_user_are_refused(backend: Backend) {
    let cli = Cli::new(backend).await;
    let ghost = "ghost@example.com";

    let disable = cli.run(&["user", "disable", ghost], None).await;
    let enable = cli.run(&["user", "enable", ghost], None).await;
    let set_password = cli
        .run(&["user", "set-password", ghost, "--password-stdin"], Some("a perfectly fine password\n"))
        .await;
    let remove = cli.run(&["user", "remove", ghost], None).await;

    for output in [disable, enable, set_password, remove] {
        output.assert_refused();
    }
}
