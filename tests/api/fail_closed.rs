//! Settings fail closed (SECURITY.md item 35): an `HTTPS://` public_url in
//! capitals is still https (`Secure`, `__Host-` cookies and HSTS), and a
//! secret key file that other users can read stops the server.

use std::net::TcpListener;
use std::os::unix::fs::PermissionsExt as _;

use gatehouse::web::server::Application;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{Reply, assert_redirects_to, assert_status};
use crate::helpers::{Cli, spawn_app_with};

on_both_backends! {
    an_https_public_url_in_capitals_keeps_secure_host_cookies_and_hsts,
    a_secret_key_file_that_others_can_read_stops_the_server,
}

async fn an_https_public_url_in_capitals_keeps_secure_host_cookies_and_hsts(backend: Backend) {
    let app = spawn_app_with(backend, |s| s.public_url = "HTTPS://Login.Example.com".into()).await;
    let login_page = app.browser.get("/login").await;
    assert_status(&login_page, reqwest::StatusCode::OK);
    // The test talks plain http to 127.0.0.1, where a client keeps no Secure
    // cookie: carry the CSRF cookie by hand, as a browser on https would.
    for cookie in set_cookies(&login_page) {
        let (name, value) = cookie.split(';').next().and_then(|pair| pair.split_once('=')).unwrap();
        app.browser.plant_cookie(name, value);
    }
    let credentials = [("email", app.user.email.as_str()), ("password", app.user.password.as_str())];
    let password_step = app.browser.submit(&login_page, "/login", &credentials).await;
    assert_redirects_to(&password_step, "/login/code");

    for reply in [&login_page, &password_step] {
        assert_eq!(reply.header("strict-transport-security"), Some("max-age=31536000; includeSubDomains"));
    }
    let cookies: Vec<String> = [&login_page, &password_step].into_iter().flat_map(set_cookies).collect();
    for name in ["__Host-gatehouse_csrf=", "__Host-gatehouse_session="] {
        assert!(cookies.iter().any(|c| c.starts_with(name)), "{name} is set: {cookies:#?}");
    }
    for cookie in &cookies {
        assert!(cookie.starts_with("__Host-"), "every cookie is __Host-: {cookie}");
        for attribute in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
            assert!(cookie.split("; ").any(|a| a == attribute), "{attribute} in {cookie}");
        }
    }
}

fn set_cookies(reply: &Reply) -> Vec<String> {
    let values = reply.headers.get_all("set-cookie").iter();
    values.map(|v| v.to_str().expect("an ASCII Set-Cookie").to_owned()).collect()
}

async fn a_secret_key_file_that_others_can_read_stops_the_server(backend: Backend) {
    let cli = Cli::new(backend).await;
    let key_file = cli.database.workdir().join("shared.key");
    std::fs::write(&key_file, "k".repeat(64)).unwrap();
    let mut settings = cli.settings(0);
    settings.secret_key = None;
    settings.secret_key_file = key_file.clone();

    for mode in [0o644, 0o640, 0o604] {
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(mode)).unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let Err(error) = Application::build_with_listener(settings.clone(), listener).await else {
            panic!("the server started with a key file of mode {mode:o}");
        };
        let message = format!("{error:#}");
        assert!(
            message.contains("`secret_key_file`") && message.contains("chmod 600"),
            "{mode:o}: {message}"
        );
    }

    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let app = Application::build_with_listener(settings, listener).await.expect("a private key file serves");
    let server = app.handle();
    tokio::spawn(app.run_until_stopped());
    server.stop(false).await;
}
