//! The standalone HTTP server: a [`Portal`] mounted at the root. Tests and
//! the CLI go through `Application`; embedders through `Portal`.

use std::net::TcpListener;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::Logger;
use actix_web::{App, HttpServer};
use anyhow::Context;

use super::portal::Portal;
use super::requester::client_ip;
use crate::config::{Config, Settings};
use crate::domain::network::TrustedProxies;

pub struct Application {
    port: u16,
    server: Server,
    portal: Portal,
}

impl Application {
    /// Checks the settings, binds `bind` and builds the server.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let config = settings.check()?;
        let listener = TcpListener::bind(&config.bind)
            .with_context(|| format!("invalid configuration: `bind` {} cannot be bound", config.bind))?;
        Self::build_on(config, listener).await
    }

    /// Builds the server on an already bound listener (tests bind port 0).
    pub async fn build_with_listener(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
        Self::build_on(settings.check()?, listener).await
    }

    async fn build_on(config: Config, listener: TcpListener) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let portal = Portal::start_at_root(config).await?;
        let server = HttpServer::new({
            let portal = portal.clone();
            move || {
                App::new()
                    .wrap(portal.session_middleware())
                    .wrap(access_log(portal.trusted_proxies().clone()))
                    .configure(|cfg| portal.configure(cfg))
            }
        })
        .listen(listener)?
        .shutdown_timeout(5)
        .run();
        Ok(Self { port, server, portal })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn handle(&self) -> ServerHandle {
        self.server.handle()
    }

    pub fn portal(&self) -> &Portal {
        &self.portal
    }

    /// Serves until stopped; the portal's background work stops with it.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

/// One line per request: the client, the method and path, the status and
/// the time taken. The client is the one the portal itself believes (the
/// peer, or the client a trusted proxy forwarded for), not actix's `%{r}a`,
/// which takes any `X-Forwarded-For` at its word. `%U` is the path without
/// the query string, which may hold a link token.
fn access_log(proxies: TrustedProxies) -> Logger {
    Logger::new("%{client}xi \"%{method}xi %U\" %s %Dms")
        .custom_request_replace("client", move |req| {
            client_ip(req.request(), &proxies).map_or_else(|| "-".to_owned(), |ip| ip.to_string())
        })
        .custom_request_replace("method", |req| req.method().to_string())
}
