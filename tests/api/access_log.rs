//! The request log names the client as the portal itself sees it
//! (SECURITY.md item 23): behind a trusted proxy, the client it forwarded
//! for; from anyone else, the peer, whatever `X-Forwarded-For` it claims.

use std::net::IpAddr;

use reqwest::StatusCode;

use crate::backend::{Backend, on_both_backends};
use crate::helpers::Cli;
use crate::served::Server;
use crate::smtp_sink::SmtpSink;

on_both_backends! {
    the_request_log_believes_x_forwarded_for_from_trusted_proxies_only,
}

/// The trusted proxy: another loopback address, so that 127.0.0.1 can be
/// the untrusted peer of the same server.
const PROXY: &str = "127.0.0.2";
const FORGED: &str = "203.0.113.66";
const FORWARDED_CLIENT: &str = "198.51.100.7";

async fn the_request_log_believes_x_forwarded_for_from_trusted_proxies_only(backend: Backend) {
    let cli = Cli::new(backend).await;
    let sink = SmtpSink::start().await;
    let server = Server::start(&cli, sink.port, &[("GATEHOUSE_TRUSTED_PROXIES", PROXY)]).await;

    let direct = get_from("127.0.0.1", &format!("{}/login", server.address), FORGED).await;
    let proxied = get_from(PROXY, &format!("{}/healthz", server.address), FORWARDED_CLIENT).await;
    let log = server.stop().await;

    assert_eq!((direct, proxied), (StatusCode::OK, StatusCode::OK));
    assert!(!log.contains(FORGED), "the forged X-Forwarded-For address is in the log:\n{log}");
    assert!(log.contains("127.0.0.1 \"GET /login\" 200"), "the untrusted peer is logged:\n{log}");
    assert!(
        log.contains(&format!("{FORWARDED_CLIENT} \"GET /healthz\" 200")),
        "the trusted proxy's client is logged:\n{log}"
    );
}

/// A GET of `url` sent from the local address `from`, claiming to be
/// forwarded for `forwarded_for`.
async fn get_from(from: &str, url: &str, forwarded_for: &str) -> StatusCode {
    let from: IpAddr = from.parse().expect("an IP address");
    let client = reqwest::Client::builder().local_address(from).build().expect("build the HTTP client");
    let reply = client.get(url).header("x-forwarded-for", forwarded_for).send().await;
    reply.unwrap_or_else(|e| panic!("GET {url} from {from}: {e}")).status()
}
