//! Settings: a TOML file plus `GATEHOUSE_*` environment variables (the
//! environment wins), checked once at start-up so that a bad value stops the
//! process with a message naming its key.

mod origins;

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use url::Url;

use origins::{is_frame_ancestor, is_parent_domain};
pub use origins::{is_https_or_loopback, is_loopback_host, is_plain_host};

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
    pub access_rules: Vec<crate::auth::access::AccessRule>,
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
    /// Reads the optional TOML file, then the environment, then validates.
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
        let settings: Settings = builder
            .add_source(env)
            .build()
            .and_then(|c| c.try_deserialize())
            .map_err(|e| anyhow::anyhow!("invalid configuration: {e}"))?;
        settings.validate()?;
        Ok(settings)
    }

    /// Checks every value whose type alone does not make it valid.
    pub fn validate(&self) -> anyhow::Result<()> {
        fn check(ok: bool, key: &str, why: &str) -> anyhow::Result<()> {
            if ok { Ok(()) } else { bail!("invalid configuration: `{key}` {why}") }
        }
        check(
            self.database_url.starts_with("sqlite:")
                || self.database_url.starts_with("postgres://")
                || self.database_url.starts_with("postgresql://"),
            "database_url",
            "must start with sqlite: or postgres://",
        )?;
        check(
            self.bind.parse::<std::net::SocketAddr>().is_ok(),
            "bind",
            "must be an address such as 127.0.0.1:8080",
        )?;
        self.public_origin()?;
        check((6..=10).contains(&self.otp_length), "otp_length", "must be 6 to 10 digits")?;
        check((1..=3600).contains(&self.otp_ttl_secs), "otp_ttl_secs", "must be 1 to 3600")?;
        check((1..=10).contains(&self.otp_max_attempts), "otp_max_attempts", "must be 1 to 10")?;
        check(self.otp_resend_cooldown_secs <= 3600, "otp_resend_cooldown_secs", "must be at most 3600")?;
        check(self.argon2_memory_kib >= 19_456, "argon2_memory_kib", "must be at least 19456 (19 MiB)")?;
        check(self.argon2_iterations >= 2, "argon2_iterations", "must be at least 2")?;
        check((1..=16).contains(&self.argon2_parallelism), "argon2_parallelism", "must be 1 to 16")?;
        check(
            (1..=86_400).contains(&self.session_idle_timeout_secs),
            "session_idle_timeout_secs",
            "must be 1 to 86400",
        )?;
        check(
            (1..=30 * 86_400).contains(&self.session_absolute_timeout_secs),
            "session_absolute_timeout_secs",
            "must be 1 to 2592000",
        )?;
        // SECURITY.md items 7 and 12: the budget keeps a guesser who holds the
        // password below 5e-5 a day; a stop after at most 100 failures.
        check((1..=50).contains(&self.code_failure_budget), "code_failure_budget", "must be 1 to 50")?;
        check(
            (1..=100).contains(&self.password_max_consecutive_failures),
            "password_max_consecutive_failures",
            "must be 1 to 100",
        )?;
        check((1..=300).contains(&self.smtp_timeout_secs), "smtp_timeout_secs", "must be 1 to 300")?;
        check((1..=50).contains(&self.mail_max_attempts), "mail_max_attempts", "must be 1 to 50")?;
        check((1..=600).contains(&self.mail_retry_delay_secs), "mail_retry_delay_secs", "must be 1 to 600")?;
        if let Some(ca) = &self.smtp_ca_file {
            check(ca.is_file(), "smtp_ca_file", "must be a PEM file")?;
        }
        check(!self.site_name.trim().is_empty(), "site_name", "must not be empty")?;
        for proxy in &self.trusted_proxies {
            crate::http::client_ip::Cidr::parse(proxy)
                .with_context(|| format!("invalid configuration: `trusted_proxies` entry {proxy:?}"))?;
        }
        if let Some(domain) = &self.cookie_domain {
            check(
                self.is_https(),
                "cookie_domain",
                "needs an https public_url (the cookie is then __Secure- and Secure)",
            )?;
            let host =
                Url::parse(&self.public_url).ok().and_then(|u| u.host_str().map(str::to_ascii_lowercase));
            check(
                is_parent_domain(domain, host.as_deref().unwrap_or_default()),
                "cookie_domain",
                "must be public_url's host or a parent domain of it, such as example.com for login.example.com",
            )?;
        }
        crate::auth::access::AccessRules::new(&self.access_rules)
            .map_err(|e| anyhow::anyhow!("invalid configuration: `access_rules` {e}"))?;
        for origin in &self.frame_ancestors {
            check(
                is_frame_ancestor(origin),
                "frame_ancestors",
                "entries must be origins such as https://portal.example.com (http only for loopback hosts)",
            )?;
        }
        for host in &self.allowed_return_hosts {
            check(
                crate::auth::return_to::HostPattern::parse(host).is_some(),
                "allowed_return_hosts",
                "entries must be host, host:port or *.example.com",
            )?;
        }
        if let Some(support) = &self.support_url {
            check(
                Url::parse(support).is_ok_and(|u| matches!(u.scheme(), "https" | "http" | "mailto")),
                "support_url",
                "must be an https:, http: or mailto: URL",
            )?;
        }
        // The accent is written into CSS and the logo into pages and mails:
        // both are parsed strictly, by the code that uses them.
        crate::pages::brand::Brand::load(self)?;
        if let Some(smtp) = &self.smtp_url {
            crate::mail::transport::SmtpSettings::parse(smtp)
                .map_err(|e| anyhow::anyhow!("invalid configuration: `smtp_url` {e}"))?;
        }
        crate::mail::parse_mailbox(&self.mail_from)
            .map_err(|e| anyhow::anyhow!("invalid configuration: `mail_from` {e}"))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_rules_come_from_the_toml_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("gatehouse.toml");
        std::fs::write(
            &file,
            "[[access_rules]]\nhost = \"wiki.example.com\"\nallow = [\"alice@example.com\", \"example.org\"]\n",
        )
        .unwrap();
        let settings = Settings::load(Some(&file)).unwrap();
        assert_eq!(settings.access_rules.len(), 1);
        assert_eq!(settings.access_rules[0].host, "wiki.example.com");
        assert_eq!(settings.access_rules[0].allow, ["alice@example.com", "example.org"]);

        std::fs::write(&file, "[[access_rules]]\nhost = \"wiki.example.com/x\"\nallow = []\n").unwrap();
        let Err(error) = Settings::load(Some(&file)) else { panic!("a bad host is refused") };
        assert!(error.to_string().contains("access_rules"), "{error}");
    }

    #[test]
    fn every_out_of_range_value_is_refused_naming_its_key() {
        type Spoil = fn(&mut Settings);
        let cases: [(&str, Spoil); 16] = [
            ("database_url", |s| s.database_url = "mysql://x".into()),
            ("bind", |s| s.bind = "localhost".into()),
            ("otp_ttl_secs", |s| s.otp_ttl_secs = 3601),
            ("otp_max_attempts", |s| s.otp_max_attempts = 11),
            ("argon2_parallelism", |s| s.argon2_parallelism = 0),
            ("session_idle_timeout_secs", |s| s.session_idle_timeout_secs = 0),
            ("session_absolute_timeout_secs", |s| s.session_absolute_timeout_secs = 31 * 86_400),
            ("code_failure_budget", |s| s.code_failure_budget = 51),
            ("password_max_consecutive_failures", |s| s.password_max_consecutive_failures = 101),
            ("mail_max_attempts", |s| s.mail_max_attempts = 0),
            ("mail_retry_delay_secs", |s| s.mail_retry_delay_secs = 601),
            ("smtp_ca_file", |s| s.smtp_ca_file = Some("/no/such/ca.pem".into())),
            ("site_name", |s| s.site_name = "  ".into()),
            ("trusted_proxies", |s| s.trusted_proxies = vec!["10.0.0.0/33".into()]),
            ("allowed_return_hosts", |s| s.allowed_return_hosts = vec!["https://x.example".into()]),
            ("support_url", |s| s.support_url = Some("javascript:alert(1)".into())),
        ];
        for (key, spoil) in cases {
            let mut settings = Settings::default();
            spoil(&mut settings);
            let refused = settings.validate().err().unwrap_or_else(|| panic!("{key} was accepted"));
            assert!(refused.to_string().contains(&format!("`{key}`")), "{key}: {refused}");
        }
    }

    #[test]
    fn list_keys_in_the_environment_are_split_at_commas() {
        let env = config::Map::from([
            ("GATEHOUSE_FRAME_ANCESTORS".into(), "https://a.example.com,https://b.example.com".into()),
            ("GATEHOUSE_TRUSTED_PROXIES".into(), "127.0.0.1/32,10.0.0.0/8".into()),
            ("GATEHOUSE_ALLOWED_RETURN_HOSTS".into(), "app.example.com".into()),
            ("GATEHOUSE_OTP_LENGTH".into(), "8".into()),
        ]);
        let settings = Settings::load_with(None, Some(env)).unwrap();
        assert_eq!(settings.frame_ancestors, ["https://a.example.com", "https://b.example.com"]);
        assert_eq!(settings.trusted_proxies, ["127.0.0.1/32", "10.0.0.0/8"]);
        assert_eq!(settings.allowed_return_hosts, ["app.example.com"]);
        assert_eq!(settings.otp_length, 8);
    }

    #[test]
    fn defaults_are_valid() {
        Settings::default().validate().unwrap();
    }

    #[test]
    fn a_bad_value_names_its_key() {
        let settings = Settings { otp_length: 4, ..Settings::default() };
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("otp_length"), "{err}");
    }

    #[test]
    fn weak_argon2_parameters_are_refused() {
        let settings = Settings { argon2_memory_kib: 1024, ..Settings::default() };
        assert!(settings.validate().unwrap_err().to_string().contains("argon2_memory_kib"));
    }
}
