//! What every request handler may use, shared by all workers: the use
//! cases' services (`core`), and what the web layer itself needs: the URLs
//! under the mount, the origin, the brand, the cookie keys.

use std::sync::Arc;

use actix_web::cookie::Key;
use url::Url;

use super::headers::SecurityHeaders;
use super::urls::Urls;
use crate::config::{Config, SessionRules};
use crate::core::Core;
use crate::db::Db;
use crate::domain::brand::Brand;
use crate::domain::clock::Clock;
use crate::domain::host::on_origin;
use crate::domain::network::TrustedProxies;
use crate::domain::return_to::ReturnPolicy;

pub struct AppState {
    pub core: Core,
    /// The portal's paths under its mount point.
    pub urls: Arc<Urls>,
    pub public_origin: Url,
    /// Served over https: cookies get `Secure` and their prefixes, HSTS is sent.
    pub https: bool,
    pub brand: Brand,
    pub return_policy: ReturnPolicy,
    pub trusted_proxies: TrustedProxies,
    pub sessions: SessionRules,
    pub cookie_domain: Option<String>,
    pub headers: SecurityHeaders,
    /// Encrypts the session cookie.
    pub cookie_key: Key,
    /// Keyed hash of CSRF tokens before a session exists.
    pub csrf_key: [u8; 32],
    /// No `smtp_url`: mail goes to the console (development).
    pub mail_to_console: bool,
}

impl AppState {
    /// Loads the secret key, connects to the database and applies its
    /// migrations, and builds the services.
    pub async fn new(config: Config, urls: Urls) -> anyhow::Result<Self> {
        let keys = config.secret.load()?;
        let db = Db::connect(&config.database_url).await?;
        db.migrate().await?;
        let db = db.with_cache().await;
        let link_base = on_origin(&config.public_origin, &urls.link);
        let core = Core::new(&config, db, &keys, link_base, Clock::system())?;
        Ok(Self {
            core,
            urls: Arc::new(urls),
            https: config.is_https(),
            headers: SecurityHeaders::new(&config),
            brand: config.brand,
            return_policy: config.return_policy,
            trusted_proxies: config.trusted_proxies,
            sessions: config.sessions,
            cookie_domain: config.cookie_domain,
            cookie_key: Key::try_from(&keys.cookie[..])?,
            csrf_key: keys.csrf,
            mail_to_console: config.mail.smtp.is_none(),
            public_origin: config.public_origin,
        })
    }

    /// Where to go after a sign-in: a still-valid `return_to`, else the account page.
    pub fn landing(&self, return_to: Option<&str>) -> String {
        return_to.and_then(|r| self.return_policy.check(r)).unwrap_or_else(|| self.urls.account.clone())
    }
}
