//! Settings: a TOML file plus `GATEHOUSE_*` environment variables (the
//! environment wins), as written (`Settings`), and checked once into the
//! compiled form the portal runs on (`Config`, in `check`), so that a bad
//! value stops the process with a message naming its key.

mod check;
mod origins;
mod secret;
mod smtp;

use std::path::{Path, PathBuf};

use anyhow::bail;
use serde::Deserialize;

pub use check::{CodeRules, Config, HashingRules, Limits, MailConfig, SessionRules};
pub use secret::SecretSource;
pub use smtp::SmtpSettings;

/// Every setting of PRODUCT.md, with its default.
#[derive(Clone, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub database_url: String,
    pub bind: String,
    pub public_url: String,
    pub secret_key_file: PathBuf,
    pub secret_key: Option<String>,
    pub smtp_url: Option<String>,
    pub mail_from: String,
    /// Where the development mailer saves `.eml` files when `smtp_url` is unset.
    pub mail_dir: PathBuf,
    /// How long a mail may take to reach the SMTP server before it counts as failed.
    pub smtp_timeout_secs: u64,
    /// A PEM file of extra CA certificates to trust for the SMTP server (a private relay).
    pub smtp_ca_file: Option<PathBuf>,
    /// Tries per mail before it is marked failed, and the first wait between
    /// tries (doubling each time, at most ten minutes).
    pub mail_max_attempts: u32,
    pub mail_retry_delay_secs: u64,
    /// Mail the account's owner after a sign-in from a browser it had not used before.
    pub notify_new_sign_in: bool,
    pub otp_length: u32,
    pub otp_ttl_secs: u64,
    pub otp_max_attempts: u32,
    pub otp_resend_cooldown_secs: u64,
    /// Put the code in the mail's subject, so phone notifications show it.
    pub otp_code_in_subject: bool,
    pub argon2_memory_kib: u32,
    pub argon2_iterations: u32,
    pub argon2_parallelism: u32,
    pub session_idle_timeout_secs: u64,
    pub session_absolute_timeout_secs: u64,
    /// Wrong codes evaluated per account over a rolling 24 hours.
    pub code_failure_budget: u32,
    pub code_sends_per_15_min: u32,
    pub code_sends_per_day: u32,
    pub code_sends_per_ip_per_hour: u32,
    /// Codes sent per hour by this whole deployment: a ceiling against mail floods.
    pub code_sends_per_hour: u32,
    pub sign_ins_per_ip_per_hour: u32,
    /// Password failures per account (or per IP) that cost no delay.
    pub password_free_failures: u32,
    pub password_free_failures_per_ip: u32,
    pub password_max_delay_secs: u64,
    pub password_max_consecutive_failures: u32,
    /// Concurrent argon2 computations; more wait in a short queue, then get 503.
    pub argon2_max_concurrent: u32,
    pub argon2_max_queue: u32,
    pub trusted_proxies: Vec<String>,
    pub allowed_return_hosts: Vec<String>,
    /// The parent domain the session cookie is sent to (single sign-on for
    /// the apps on its subdomains); unset: only `public_url`'s host.
    pub cookie_domain: Option<String>,
    /// Per-host allow-lists checked by `/auth/verify` (TOML `[[access_rules]]`).
    pub access_rules: Vec<crate::domain::access::AccessRule>,
    /// Origins that may show the pages in a frame (CSP `frame-ancestors`); empty: none.
    pub frame_ancestors: Vec<String>,
    pub site_name: String,
    pub support_url: Option<String>,
    /// Shown in every page's header and every mail: an https URL, or a path on this origin.
    pub logo_url: Option<String>,
    /// Buttons, links and focus rings, as `#rgb` or `#rrggbb`.
    pub accent_color: String,
    /// A stylesheet served after Gatehouse's own, read once at start-up.
    pub custom_css_file: Option<PathBuf>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            database_url: "sqlite://gatehouse.db".into(),
            bind: "127.0.0.1:8080".into(),
            public_url: "http://127.0.0.1:8080".into(),
            secret_key_file: "gatehouse.key".into(),
            secret_key: None,
            smtp_url: None,
            mail_from: "Gatehouse <no-reply@localhost>".into(),
            mail_dir: "mail".into(),
            smtp_timeout_secs: 15,
            smtp_ca_file: None,
            mail_max_attempts: 8,
            mail_retry_delay_secs: 5,
            notify_new_sign_in: true,
            otp_length: 6,
            otp_ttl_secs: 600,
            otp_max_attempts: 5,
            otp_resend_cooldown_secs: 30,
            otp_code_in_subject: true,
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            argon2_parallelism: 1,
            session_idle_timeout_secs: 30 * 60,
            session_absolute_timeout_secs: 12 * 60 * 60,
            code_failure_budget: 50,
            code_sends_per_15_min: 3,
            code_sends_per_day: 10,
            code_sends_per_ip_per_hour: 30,
            code_sends_per_hour: 1000,
            sign_ins_per_ip_per_hour: 300,
            password_free_failures: 5,
            password_free_failures_per_ip: 20,
            password_max_delay_secs: 3600,
            password_max_consecutive_failures: 100,
            argon2_max_concurrent: 0,
            argon2_max_queue: 16,
            trusted_proxies: Vec::new(),
            allowed_return_hosts: Vec::new(),
            frame_ancestors: Vec::new(),
            access_rules: Vec::new(),
            cookie_domain: None,
            site_name: "Gatehouse".into(),
            support_url: None,
            logo_url: None,
            // The accent static/gatehouse.css has always had.
            accent_color: "#1d4ed8".into(),
            custom_css_file: None,
        }
    }
}

/// Keys whose environment value is a comma-separated list.
const LIST_KEYS: [&str; 3] = ["trusted_proxies", "allowed_return_hosts", "frame_ancestors"];

impl Settings {
    /// Reads the optional TOML file, then the environment. `check` then
    /// says whether the values make sense.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Self> {
        Self::load_with(file, None)
    }

    /// `load`, with `env` standing in for the process environment (tests).
    fn load_with(file: Option<&Path>, env: Option<config::Map<String, String>>) -> anyhow::Result<Self> {
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            if !path.exists() {
                bail!("configuration file {} does not exist", path.display());
            }
            builder = builder.add_source(config::File::from(path).format(config::FileFormat::Toml));
        }
        let mut env = config::Environment::with_prefix("GATEHOUSE")
            .prefix_separator("_")
            .try_parsing(true)
            .list_separator(",")
            .source(env);
        for key in LIST_KEYS {
            env = env.with_list_parse_key(key);
        }
        builder
            .add_source(env)
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))
    }
}

#[cfg(test)]
mod tests;
