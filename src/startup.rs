//! Builds the application: the shared state, the session middleware, and
//! the standalone HTTP server, which is a [`Portal`] mounted at the root.
//! Tests and the CLI go through `Application`; embedders through `Portal`.

use std::net::TcpListener;
use std::sync::Arc;

use actix_web::dev::{Server, ServerHandle};
use actix_web::middleware::Logger;
use actix_web::{App, HttpServer};
use anyhow::Context;
use url::Url;

use crate::auth::access::AccessRules;
use crate::auth::challenge::ChallengePolicy;
use crate::auth::keys::Keys;
use crate::auth::password::PasswordHasher;
use crate::auth::return_to::ReturnPolicy;
use crate::auth::throttle::Throttle;
use crate::config::Settings;
use crate::db::Db;
use crate::http::client_ip::Cidr;
use crate::mail::Mailer;
use crate::mail::outbox::Outbox;
use crate::pages::brand::Brand;
use crate::portal::Portal;
use crate::urls::Urls;

/// Everything a request handler may need, shared by all workers.
pub struct AppState {
    pub settings: Settings,
    pub public_origin: Url,
    /// The portal's paths under its mount point.
    pub urls: Arc<Urls>,
    pub brand: Brand,
    pub db: Db,
    pub keys: Keys,
    pub hasher: PasswordHasher,
    pub challenges: ChallengePolicy,
    pub outbox: Outbox,
    pub return_policy: ReturnPolicy,
    pub access: AccessRules,
    pub trusted_proxies: Vec<Cidr>,
    pub throttle: Throttle,
}

impl AppState {
    /// Connects to the database, applies migrations, loads the secret key.
    pub async fn new(settings: Settings, urls: Urls) -> anyhow::Result<Self> {
        settings.validate()?;
        let public_origin = settings.public_origin()?;
        let brand = Brand::load(&settings)?;
        let keys = Keys::load(&settings)?;
        let db = Db::connect(&settings.database_url).await?;
        db.migrate().await?;
        let challenges = ChallengePolicy {
            code_length: settings.otp_length,
            ttl_secs: settings.otp_ttl_secs as i64,
            max_attempts: settings.otp_max_attempts as i32,
            resend_cooldown_secs: settings.otp_resend_cooldown_secs as i64,
            key: keys.codes,
            throttle: Throttle::new(&settings),
        };
        let trusted_proxies =
            settings.trusted_proxies.iter().map(|p| Cidr::parse(p)).collect::<Result<_, _>>()?;
        Ok(Self {
            throttle: Throttle::new(&settings),
            trusted_proxies,
            hasher: PasswordHasher::new(&settings)?,
            outbox: Outbox::new(db.clone(), Mailer::from_settings(&settings)?, &keys.outbox, &settings),
            return_policy: ReturnPolicy::new(public_origin.clone(), &settings.allowed_return_hosts),
            access: AccessRules::new(&settings.access_rules).map_err(anyhow::Error::msg)?,
            challenges,
            public_origin,
            urls: Arc::new(urls),
            brand,
            keys,
            db,
            settings,
        })
    }
}

pub struct Application {
    port: u16,
    server: Server,
    portal: Portal,
}

impl Application {
    /// Binds `settings.bind` and builds the server.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = TcpListener::bind(&settings.bind)
            .with_context(|| format!("invalid configuration: `bind` {} cannot be bound", settings.bind))?;
        Self::build_with_listener(settings, listener).await
    }

    /// Builds the server on an already bound listener (tests bind port 0).
    pub async fn build_with_listener(settings: Settings, listener: TcpListener) -> anyhow::Result<Self> {
        let port = listener.local_addr()?.port();
        let portal = Portal::start_at_root(settings).await?;
        let server = HttpServer::new({
            let portal = portal.clone();
            move || {
                App::new()
                    .wrap(portal.session_middleware())
                    // `%U` is the path without the query string, which may hold a link token.
                    .wrap(
                        Logger::new("%{r}a \"%{method}xi %U\" %s %Dms")
                            .custom_request_replace("method", |req| req.method().to_string()),
                    )
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
