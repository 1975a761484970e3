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

use actix_session::SessionMiddleware;
use actix_web::middleware::from_fn;
use actix_web::web;

use crate::auth::code::random_token;
use crate::auth::email::EmailAddress;
use crate::auth::password::Password;
use crate::config::Settings;
use crate::db::sessions::DbSessionStore;
use crate::db::users;
use crate::http::{error_pages, headers};
use crate::routes;
use crate::startup::{AppState, session_middleware};
use crate::urls::Urls;

pub use crate::auth::signed_in::SignedInUser;

/// The account [`Portal::demo_account`] creates.
pub const DEMO_EMAIL: &str = "demo@example.com";

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
    /// where the portal's pages live: `""` for the root, or a path such as
    /// `/auth`.
    pub async fn start(settings: Settings, mount: &str) -> anyhow::Result<Self> {
        let urls = Urls::mounted_at(mount).map_err(anyhow::Error::msg)?;
        let state = web::Data::new(AppState::new(settings, urls).await?);
        let tasks = BackgroundTasks(vec![
            tokio::spawn(crate::startup::delete_expired_forever(state.db.clone())),
            tokio::spawn(state.outbox.clone().run_senders()),
        ]);
        Ok(Self { state, _tasks: Arc::new(tasks) })
    }

    /// The portal's paths under its mount point (`urls().login`, …).
    pub fn urls(&self) -> &Urls {
        &self.state.urls
    }

    /// The session middleware. Wrap the whole `App` in it, so that the
    /// portal's cookie reaches your handlers and using them keeps the session
    /// alive. It is the app's session: do not add another `SessionMiddleware`.
    pub fn session_middleware(&self) -> SessionMiddleware<DbSessionStore> {
        session_middleware(&self.state)
    }

    /// Registers the portal's state (for [`SignedInUser`]) and its pages
    /// under the mount point, with their security headers and error pages.
    /// Your own routes keep their own headers and 404s.
    pub fn configure(&self, cfg: &mut web::ServiceConfig) {
        let state = &self.state;
        let urls = state.urls.clone();
        cfg.app_data(state.clone()).service(
            web::scope(&urls.mount)
                .app_data(error_pages::body_limit())
                .configure(routes::configure)
                .configure(|scope| {
                    // `/auth` without its slash: on to the account page, `/auth/`.
                    if !urls.mount.is_empty() {
                        let account = urls.account.clone();
                        scope.route(
                            "",
                            web::get().to(move || std::future::ready(routes::see_other(&account))),
                        );
                    }
                })
                .default_service(web::to(routes::not_found))
                .wrap(from_fn(error_pages::render_errors))
                .wrap(headers::security_headers(&state.settings)),
        );
    }

    /// For demos and examples: creates [`DEMO_EMAIL`] when there are no
    /// accounts, or gives it a fresh password when it exists, and returns the
    /// password. Refused when `smtp_url` is set, as codes would then go to a
    /// real mailbox; `None` when other accounts exist.
    pub async fn demo_account(&self) -> anyhow::Result<Option<String>> {
        let settings = &self.state.settings;
        if settings.smtp_url.is_some() {
            anyhow::bail!(
                "a demo account is refused when `smtp_url` is set: the demo prints codes to the console"
            );
        }
        let db = &self.state.db;
        let email = EmailAddress::parse(DEMO_EMAIL)?;
        let exists = users::find_by_email(db, &email).await?.is_some();
        if !exists && users::count(db).await? > 0 {
            return Ok(None);
        }
        let password = random_token()[..16].to_owned();
        let hash = self.state.hasher.hash(&Password::new_secret(password.clone())?).await?;
        if exists {
            users::set_password_hash(db, &email, &hash).await?;
        } else {
            users::insert(db, &email, None, &hash).await?;
        }
        Ok(Some(password))
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
