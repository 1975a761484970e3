//! The processes of a deployment: the proxy, run on a free loopback port
//! with its configuration from `docs/` (only hosts and ports changed), and
//! the app behind it, which answers with what reached it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use reqwest::StatusCode;

use super::Proxy;

/// The app behind the proxy: answers every path with what reached it, the
/// identity headers first, then every other header.
pub struct Upstream {
    pub port: u16,
    pub hits: Arc<AtomicUsize>,
}

impl Upstream {
    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

pub async fn start_upstream() -> Upstream {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let server = HttpServer::new(move || {
        let counter = counter.clone();
        App::new().default_service(web::to(move |req: HttpRequest| {
            counter.fetch_add(1, Ordering::SeqCst);
            let body = what_reached_the_app(&req);
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

fn what_reached_the_app(req: &HttpRequest) -> String {
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
    format!(
        "path={}\nremote-user={}\nremote-email={}\nremote-name={}\n{others}",
        req.uri(),
        header("remote-user"),
        header("remote-email"),
        header("remote-name")
    )
}

/// A proxy process in front of Gatehouse and the upstream app.
pub struct Running {
    child: Child,
    pub origin: String,
    dir: tempfile::TempDir,
}

/// Where a proxy listens and what it is in front of.
#[derive(Clone, Copy)]
pub struct Ports {
    pub proxy: u16,
    pub gatehouse: u16,
    pub upstream: u16,
}

impl Running {
    /// `proxy` on `ports.proxy` with its configuration from `docs/`,
    /// pointed at the given Gatehouse and upstream ports.
    pub async fn start(proxy: Proxy, ports: Ports) -> Running {
        let dir = tempfile::tempdir().expect("a directory for the proxy");
        let mut command = Command::new(proxy.program());
        match proxy {
            Proxy::Nginx => nginx(&mut command, dir.path(), ports),
            Proxy::Traefik => traefik(&mut command, dir.path(), ports),
            Proxy::Caddy | Proxy::CaddyUpstream => caddy(&mut command, dir.path(), ports),
        }
        // Traefik logs to stdout, the others to stderr.
        let log = std::fs::File::create(dir.path().join("proxy.log")).unwrap();
        let child = command.stdout(log.try_clone().unwrap()).stderr(log).spawn().expect("start the proxy");
        let running = Running { child, origin: format!("http://127.0.0.1:{}", ports.proxy), dir };
        running.wait_until_serving(proxy).await;
        running
    }

    /// Ready once it serves Gatehouse's sign-in page: Traefik listens
    /// before its file provider has handed it the routers.
    async fn wait_until_serving(&self, proxy: Proxy) {
        let probe = reqwest::Client::new();
        let started = Instant::now();
        while !probe
            .get(format!("{}/login", self.origin))
            .send()
            .await
            .is_ok_and(|reply| reply.status() == StatusCode::OK)
        {
            let log = std::fs::read_to_string(self.dir.path().join("proxy.log")).unwrap_or_default();
            let nginx_log = std::fs::read_to_string(self.dir.path().join("error.log")).unwrap_or_default();
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "{proxy:?} did not start:\n{log}{nginx_log}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn docs() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs")
}

/// `docs/<file>` pointed at the test's Gatehouse and upstream ports.
fn documented(file: &str, ports: Ports) -> String {
    std::fs::read_to_string(docs().join(file))
        .unwrap_or_else(|e| panic!("docs/{file}: {e}"))
        .replace("127.0.0.1:8080", &format!("127.0.0.1:{}", ports.gatehouse))
        .replace("127.0.0.1:3000", &format!("127.0.0.1:{}", ports.upstream))
}

/// `text` with `from` replaced; `from` must be there, so that a changed
/// documented file fails here rather than running unchanged.
fn replaced(text: &str, from: &str, to: &str) -> String {
    assert!(text.contains(from), "expected {from:?} in:\n{text}");
    text.replace(from, to)
}

/// The test proxies serve the docs' host and 127.0.0.1 (`public_url`:
/// plain http needs a loopback host). On a port other than 80, nginx's
/// `$host` needs `:$server_port` for the original URL, as docs/nginx.md says.
fn nginx(command: &mut Command, dir: &Path, ports: Ports) {
    let listen = format!("listen 127.0.0.1:{}", ports.proxy);
    let site = documented("nginx.conf", ports);
    let site = replaced(&site, "listen 80 default_server;", &format!("{listen} default_server;"));
    let site = replaced(&site, "listen 80;", &format!("{listen};"));
    let site = replaced(&site, "server_name app.example.com;", "server_name app.example.com 127.0.0.1;");
    let site = replaced(&site, "X-Forwarded-Host $host;", "X-Forwarded-Host $host:$server_port;");
    std::fs::write(dir.join("site.conf"), site).unwrap();
    let headers = std::fs::read_to_string(docs().join("gatehouse_proxy_headers")).unwrap();
    let headers = replaced(&headers, "X-Forwarded-Host $host;", "X-Forwarded-Host $host:$server_port;");
    std::fs::write(dir.join("gatehouse_proxy_headers"), headers).unwrap();
    let d = dir.display();
    let main = format!(
        "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {d}/body;\n  proxy_temp_path {d}/proxy;\n  \
         fastcgi_temp_path {d}/fastcgi;\n  uwsgi_temp_path {d}/uwsgi;\n  scgi_temp_path {d}/scgi;\n  \
         include {d}/site.conf;\n}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), main).unwrap();
    command.arg("-p").arg(dir).arg("-c").arg(dir.join("nginx.conf"));
}

/// Plain http on loopback ports: the static file without its TLS part.
fn traefik(command: &mut Command, dir: &Path, ports: Ports) {
    let d = dir.display();
    let dynamic = documented("traefik.yml", ports);
    let hosts = "(Host(`app.example.com`) || Host(`127.0.0.1`))";
    let dynamic = replaced(&dynamic, "Host(`app.example.com`)", hosts);
    std::fs::write(dir.join("gatehouse.yml"), dynamic).unwrap();
    let file = std::fs::read_to_string(docs().join("traefik-static.yml")).unwrap();
    let (plain, _tls) = file.split_once("      tls:\n").expect("docs/traefik-static.yml has a tls: part");
    let plain = replaced(plain, "\":80\"", "\"127.0.0.1:0\"");
    let plain = replaced(&plain, "\":443\"", &format!("\"127.0.0.1:{}\"", ports.proxy));
    let plain = replaced(&plain, "/etc/traefik/gatehouse.yml", &format!("{d}/gatehouse.yml"));
    std::fs::write(dir.join("traefik.yml"), plain).unwrap();
    command.arg(format!("--configFile={d}/traefik.yml"));
}

/// Plain http on a loopback port, no admin endpoint, no certificates.
fn caddy(command: &mut Command, dir: &Path, ports: Ports) {
    let d = dir.display();
    let port = ports.proxy;
    let addresses = format!("http://app.example.com:{port}, http://127.0.0.1:{port} {{");
    let site = replaced(&documented("Caddyfile", ports), "app.example.com {", &addresses);
    let caddyfile = format!("{{\n\tadmin off\n\tauto_https off\n\tstorage file_system {d}/data\n}}\n{site}");
    std::fs::write(dir.join("Caddyfile"), caddyfile).unwrap();
    command
        .arg("run")
        .arg("--config")
        .arg(dir.join("Caddyfile"))
        .arg("--adapter")
        .arg("caddyfile")
        .env("HOME", dir)
        .env("XDG_DATA_HOME", dir)
        .env("XDG_CONFIG_HOME", dir);
}
