//! Gatehouse in front of an app, for real: Debian's nginx runs
//! `docs/nginx.conf` (its ports changed) with `auth_request` to Gatehouse,
//! in front of a tiny upstream app that shows what reached it.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::browser::{Browser, assert_redirects_to, assert_status};
use crate::helpers::{TestApp, spawn_app_with};
use crate::tools::{skip_suite, tool};

on_both_backends! {
    a_visit_goes_through_sign_in_and_lands_on_the_original_url_with_the_identity,
    a_client_sent_identity_header_never_reaches_the_app,
    logging_out_takes_effect_on_the_next_request,
}

fn nginx_path() -> PathBuf {
    tool("GATEHOUSE_TEST_NGINX", "/usr/sbin/nginx")
}

fn skip_nginx_tests() -> bool {
    static CHECKED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    skip_suite(&CHECKED, "nginx", &[nginx_path()], "Install Debian's nginx, or set GATEHOUSE_TEST_NGINX.")
}

/// The app behind nginx: answers every path with what reached it.
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
                req.headers().get_all(name).filter_map(|v| v.to_str().ok()).collect::<Vec<_>>().join(",")
            };
            let body = format!(
                "path={}\nremote-user={}\nremote-email={}\n",
                req.uri(),
                header("remote-user"),
                header("remote-email")
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

struct Nginx {
    child: Child,
    origin: String,
    _dir: tempfile::TempDir,
}

impl Nginx {
    /// nginx on a free loopback port with `docs/nginx.conf`, pointed at the
    /// given Gatehouse and upstream ports.
    async fn start(port: u16, gatehouse_port: u16, upstream_port: u16) -> Nginx {
        let dir = tempfile::tempdir().expect("a directory for nginx");
        let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs");
        let site = std::fs::read_to_string(docs.join("nginx.conf"))
            .expect("docs/nginx.conf")
            .replace("listen 80;", &format!("listen 127.0.0.1:{port};"))
            .replace("127.0.0.1:8080", &format!("127.0.0.1:{gatehouse_port}"))
            .replace("127.0.0.1:3000", &format!("127.0.0.1:{upstream_port}"));
        std::fs::write(dir.path().join("site.conf"), site).unwrap();
        std::fs::copy(docs.join("gatehouse_proxy_headers"), dir.path().join("gatehouse_proxy_headers"))
            .unwrap();
        let d = dir.path().display();
        let main = format!(
            "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 64; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
             fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
             include {d}/site.conf;\n}}\n"
        );
        std::fs::write(dir.path().join("nginx.conf"), main).unwrap();
        let child = Command::new(nginx_path())
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(dir.path().join("nginx.conf"))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start nginx");
        let nginx = Nginx { child, origin: format!("http://127.0.0.1:{port}"), _dir: dir };
        let started = Instant::now();
        while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
            let log = std::fs::read_to_string(nginx._dir.path().join("error.log")).unwrap_or_default();
            assert!(started.elapsed() < Duration::from_secs(10), "nginx did not start:\n{log}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        nginx
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Gatehouse, the app and nginx in front of both; `None` when nginx is missing.
async fn deployment(backend: Backend) -> Option<(TestApp, Upstream, Nginx, Browser)> {
    if skip_nginx_tests() {
        return None;
    }
    let nginx_port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let public = format!("http://127.0.0.1:{nginx_port}");
    let app = spawn_app_with(backend, move |s| {
        s.public_url = public.clone();
        s.trusted_proxies = vec!["127.0.0.1/32".into()];
    })
    .await;
    let upstream = start_upstream().await;
    let nginx = Nginx::start(nginx_port, app.port, upstream.port).await;
    let browser = Browser::new(&nginx.origin);
    Some((app, upstream, nginx, browser))
}

/// Follows the app's redirect to sign in, signs in with password and code,
/// and returns where the sign-in sends the browser.
async fn sign_in_through_nginx(app: &TestApp, browser: &Browser, sign_in_url: &str) -> String {
    let path = sign_in_url.strip_prefix(&browser.base).expect("the sign-in URL is on the public origin");
    let reply = browser.enter_password_from(path, &app.user.email, &app.user.password).await;
    assert_redirects_to(&reply, "/login/code");
    let reply = browser.enter_code(&app.next_mail().await.code()).await;
    assert_eq!(reply.status, StatusCode::SEE_OTHER, "{}", reply.body);
    reply.header("location").expect("where the sign-in lands").to_owned()
}

async fn a_visit_goes_through_sign_in_and_lands_on_the_original_url_with_the_identity(backend: Backend) {
    let Some((app, upstream, _nginx, browser)) = deployment(backend).await else { return };

    let visit = browser.get("/wiki/page?x=1&y=2").await;
    assert_status(&visit, StatusCode::FOUND);
    let sign_in = visit.header("location").expect("sent to sign in").to_owned();
    // The original URL is on Gatehouse's own origin, so `return_to` keeps only its path.
    assert_eq!(sign_in, format!("{}/login?return_to=%2Fwiki%2Fpage%3Fx%3D1%26y%3D2", browser.base));
    assert_eq!(upstream.hits.load(Ordering::SeqCst), 0, "nothing reached the app before sign-in");

    let landing = sign_in_through_nginx(&app, &browser, &sign_in).await;
    assert_eq!(landing, "/wiki/page?x=1&y=2");

    let page = browser.get("/wiki/page?x=1&y=2").await;
    assert_status(&page, StatusCode::OK);
    assert!(page.body.contains("path=/wiki/page?x=1&y=2"), "{}", page.body);
    assert!(page.body.contains("remote-user=alice@example.com\n"), "{}", page.body);
    assert!(page.body.contains("remote-email=alice@example.com\n"), "{}", page.body);
}

async fn a_client_sent_identity_header_never_reaches_the_app(backend: Backend) {
    let Some((app, upstream, _nginx, browser)) = deployment(backend).await else { return };
    let forged = [("Remote-User", "admin@example.com"), ("Remote-Email", "admin@example.com")];

    // Anonymous, with a forged identity: sent to sign in, the app never asked.
    let reply = browser.get_with_headers("/admin", &forged).await;
    assert_status(&reply, StatusCode::FOUND);
    assert_eq!(upstream.hits.load(Ordering::SeqCst), 0);

    // Signed in as alice, still forging: the app hears alice only.
    let sign_in = reply.header("location").unwrap().to_owned();
    sign_in_through_nginx(&app, &browser, &sign_in).await;
    let page = browser.get_with_headers("/admin", &forged).await;
    assert_status(&page, StatusCode::OK);
    assert!(page.body.contains("remote-user=alice@example.com\n"), "{}", page.body);
    assert!(!page.body.contains("admin@example.com"), "{}", page.body);
}

async fn logging_out_takes_effect_on_the_next_request(backend: Backend) {
    let Some((app, _upstream, _nginx, browser)) = deployment(backend).await else { return };
    let sign_in = browser.get("/").await.header("location").unwrap().to_owned();
    sign_in_through_nginx(&app, &browser, &sign_in).await;
    assert_status(&browser.get("/").await, StatusCode::OK);

    // Sign out on Gatehouse's account page (cookies do not depend on the port).
    let mut portal = browser.clone();
    portal.base = app.address.clone();
    assert_redirects_to(&portal.log_out().await, "/login");

    let after = browser.get("/").await;
    assert_status(&after, StatusCode::FOUND);
    assert!(after.header("location").is_some_and(|l| l.contains("/login?return_to=")));
}
