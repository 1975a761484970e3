//! The portal as a library: an actix-web application mounts Gatehouse under
//! a path of its own and guards its handlers with [`SignedInUser`].
//!
//! ```no_run
//! use actix_web::{App, HttpServer, web};
//! use gatehouse::{Portal, Settings, SignedInUser};
//!
//! async fn notes(user: SignedInUser) -> String {
//!     format!("Notes of {}", user.email())
//! }
//!
//! # async fn run() -> anyhow::Result<()> {
//! let portal = Portal::start(Settings::load(None)?, "/auth").await?;
//! HttpServer::new(move || {
//!     App::new()
//!         .wrap(portal.session_middleware())
//!         .configure(|cfg| portal.configure(cfg))
//!         .route("/notes", web::get().to(notes))
//! })
//! .bind("127.0.0.1:8080")?
//! .run()
//! .await?;
//! # Ok(())
//! # }
//! ```
//!
//! The standalone `gatehouse serve` is this same portal mounted at the root.

use std::sync::Arc;
use std::time::Duration;

use actix_web::middleware::from_fn;
use actix_web::web;

use super::sessions::{Sessions, require_sessions};
use super::state::AppState;
use super::urls::Urls;
use super::{error_pages, headers, pages, routes};
use crate::config::{Config, Settings};
use crate::core::Core;
use crate::core::accounts::Accounts;
use crate::domain::network::TrustedProxies;

pub use super::signed_in::SignedInUser;
pub use crate::core::accounts::DEMO_EMAIL;

/// A running portal: its state, and the background work (the mail outbox's
/// senders, the cleanup of expired rows) that lives as long as any clone.
#[derive(Clone)]
pub struct Portal {
    state: web::Data<AppState>,
    _tasks: Arc<BackgroundTasks>,
}

impl Portal {
    /// Checks the settings, connects to the database and applies its
    /// migrations, loads the secret key, and starts sending mail. `mount` is
    /// where the portal's pages live, a path such as `/auth`: the portal then
    /// answers every path under it, and nothing else. (At the root it would
    /// take every path of the app; that is `gatehouse serve`.)
    pub async fn start(settings: Settings, mount: &str) -> anyhow::Result<Self> {
        let urls = Urls::mounted_at(mount).map_err(anyhow::Error::msg)?;
        if urls.mount.is_empty() {
            anyhow::bail!(
                "mount the portal under a path such as \"/auth\"; at the root it is `gatehouse serve`"
            );
        }
        Self::start_with(settings.check()?, urls).await
    }

    /// The standalone portal, at the root of its origin.
    pub(crate) async fn start_at_root(config: Config) -> anyhow::Result<Self> {
        Self::start_with(config, Urls::at_root()).await
    }

    async fn start_with(config: Config, urls: Urls) -> anyhow::Result<Self> {
        let state = web::Data::new(AppState::new(config, urls).await?);
        let core = &state.core;
        core.match_dummy_hash().await?;
        let tasks = BackgroundTasks(vec![
            tokio::spawn(upkeep_forever(core.clone())),
            tokio::spawn(core.outbox.clone().run_senders()),
        ]);
        Ok(Self { state, _tasks: Arc::new(tasks) })
    }

    /// The portal's paths under its mount point (`urls().login`, …).
    pub fn urls(&self) -> &Urls {
        &self.state.urls
    }

    /// The proxies whose `X-Forwarded-For` the portal believes.
    pub(crate) fn trusted_proxies(&self) -> &TrustedProxies {
        &self.state.trusted_proxies
    }

    /// The session middleware. Wrap the whole `App` in it, so that the
    /// portal's cookie reaches your handlers and using them keeps the session
    /// alive. It is the app's session: do not add another `SessionMiddleware`.
    /// Without it the portal's pages and `SignedInUser` answer 500 and log why.
    pub fn session_middleware(&self) -> Sessions {
        Sessions::new(&self.state)
    }

    /// Registers the portal's state (for [`SignedInUser`]) and its pages
    /// under the mount point, with their security headers and error pages.
    /// Your own routes keep their own headers and 404s.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        let state = &self.state;
        cfg.app_data(state.clone()).service(
            web::scope(&state.urls.mount)
                .app_data(error_pages::body_limit())
                .configure(routes::configure)
                .configure(|scope| {
                    // `/auth` without its slash is the account page too, so
                    // that a host's `NormalizePath::trim()` finds it.
                    if !state.urls.mount.is_empty() {
                        scope.route("", web::get().to(pages::account::show));
                    }
                })
                .default_service(web::to(routes::not_found))
                .wrap(from_fn(require_sessions))
                .wrap(from_fn(error_pages::refuse_oversized_headers))
                .wrap(from_fn(error_pages::render_errors))
                .wrap(headers::security_headers(&state.headers)),
        );
    }

    /// For demos and examples: creates [`DEMO_EMAIL`] when there are no
    /// accounts, or gives it a fresh password when it exists, and returns the
    /// password. Refused when `smtp_url` is set, as codes would then go to a
    /// real mailbox; `None` when other accounts exist.
    pub async fn demo_account(&self) -> anyhow::Result<Option<String>> {
        if !self.state.mail_to_console {
            anyhow::bail!("--demo is refused when `smtp_url` is set: the demo prints codes to the console");
        }
        let core = &self.state.core;
        let accounts =
            Accounts { db: &core.db, clock: &core.clock, hasher: &core.hasher, throttle: &core.throttle };
        accounts.demo_account().await
    }
}

/// Every 5 minutes: expired sessions, flows, limits and settled mail go,
/// and the dummy hash follows the stored hashes.
async fn upkeep_forever(core: Core) {
    let mut every = tokio::time::interval(Duration::from_secs(300));
    every.tick().await;
    loop {
        every.tick().await;
        if let Err(e) = core.db.delete_expired(core.clock.now()).await {
            tracing::warn!(error = %e, "deleting expired rows failed");
        }
        if let Err(e) = core.match_dummy_hash().await {
            tracing::warn!(error = format!("{e:#}"), "matching the dummy hash to the stored ones failed");
        }
    }
}

/// Stops the background work when the last `Portal` clone goes away (a test's
/// server stopping, say), instead of leaving it running in the runtime.
struct BackgroundTasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for BackgroundTasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}
