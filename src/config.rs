//! Settings: a TOML file plus `GATEHOUSE_*` environment variables (the
//! environment wins), checked once at start-up so that a bad value stops the
//! process with a message naming its key.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use serde::Deserialize;
use url::Url;

use crate::pages::brand::{CUSTOM_CSS_MAX_BYTES, Logo};
use crate::pages::colour::Colour;

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
            .list_separator(",");
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
        check((1..=300).contains(&self.smtp_timeout_secs), "smtp_timeout_secs", "must be 1 to 300")?;
        check((1..=50).contains(&self.mail_max_attempts), "mail_max_attempts", "must be 1 to 50")?;
        check((1..=600).contains(&self.mail_retry_delay_secs), "mail_retry_delay_secs", "must be 1 to 600")?;
        if let Some(ca) = &self.smtp_ca_file {
            check(ca.is_file(), "smtp_ca_file", "must be a readable PEM file")?;
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
        self.validate_branding()?;
        if let Some(smtp) = &self.smtp_url {
            crate::mail::transport::SmtpSettings::parse(smtp)
                .map_err(|e| anyhow::anyhow!("invalid configuration: `smtp_url` {e}"))?;
        }
        crate::mail::parse_mailbox(&self.mail_from)
            .map_err(|e| anyhow::anyhow!("invalid configuration: `mail_from` {e}"))?;
        Ok(())
    }

    /// The accent is written into CSS and the logo into pages and mails: both
    /// are parsed strictly. The custom CSS file is only looked at here; it is
    /// read once, when the application starts.
    fn validate_branding(&self) -> anyhow::Result<()> {
        if Colour::parse(&self.accent_color).is_none() {
            bail!("invalid configuration: `accent_color` must be #rgb or #rrggbb, such as #1d4ed8");
        }
        if let Some(logo) = &self.logo_url {
            Logo::parse(logo).map_err(|why| anyhow::anyhow!("invalid configuration: `logo_url` {why}"))?;
        }
        if let Some(path) = &self.custom_css_file {
            let fail = |why: String| {
                anyhow::anyhow!("invalid configuration: `custom_css_file` {}: {why}", path.display())
            };
            let meta = std::fs::File::open(path)
                .and_then(|f| f.metadata())
                .map_err(|e| fail(format!("cannot be read ({e})")))?;
            if !meta.is_file() {
                return Err(fail("is not a file".into()));
            }
            if meta.len() > CUSTOM_CSS_MAX_BYTES {
                return Err(fail(format!("is larger than {} KiB", CUSTOM_CSS_MAX_BYTES / 1024)));
            }
        }
        Ok(())
    }

    /// `public_url` as an origin: http(s), a host, no path. Plain http is only
    /// for a loopback host (development): cookies there lose `Secure`.
    pub fn public_origin(&self) -> anyhow::Result<Url> {
        let url = Url::parse(&self.public_url)
            .map_err(|e| anyhow::anyhow!("invalid configuration: `public_url` {e}"))?;
        let host_ok = url.host_str().is_some();
        let path_ok = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
        if !host_ok || !path_ok || !matches!(url.scheme(), "http" | "https") {
            bail!("invalid configuration: `public_url` must be an origin such as https://login.example.com");
        }
        if url.scheme() == "http" && !is_loopback_host(&url) {
            bail!(
                "invalid configuration: `public_url` must use https unless its host is loopback (127.0.0.1, ::1 or localhost)"
            );
        }
        Ok(url)
    }

    /// Whether the portal is served over https (then cookies are `__Host-` and `Secure`).
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }
}

/// True for `localhost` and loopback IP addresses.
/// `domain` is a plain DNS name with at least two labels and `host` is it
/// or one of its subdomains.
fn is_parent_domain(domain: &str, host: &str) -> bool {
    let plain = domain.contains('.')
        && !domain.starts_with('.')
        && domain
            .split('.')
            .all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'));
    let domain = domain.to_ascii_lowercase();
    plain && (host == domain || host.strip_suffix(&domain).is_some_and(|sub| sub.ends_with('.')))
}

/// A CSP `frame-ancestors` source we accept: a bare https origin (http for
/// loopback), written exactly as its origin, so nothing else can slip into the header.
fn is_frame_ancestor(raw: &str) -> bool {
    let Ok(url) = Url::parse(raw) else { return false };
    let scheme_ok = url.scheme() == "https" || (url.scheme() == "http" && is_loopback_host(&url));
    scheme_ok && url.origin().ascii_serialization() == raw
}

pub fn is_loopback_host(url: &Url) -> bool {
    match url.host() {
        // Non-http schemes (smtp:) keep IP addresses as opaque host names.
        Some(url::Host::Domain(d)) => {
            d.eq_ignore_ascii_case("localhost")
                || d.trim_matches(|c| c == '[' || c == ']').parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
        }
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_domain_must_hold_the_public_host_and_needs_https() {
        let with = |public_url: &str, domain: &str| Settings {
            public_url: public_url.into(),
            cookie_domain: Some(domain.into()),
            ..Settings::default()
        };
        assert!(with("https://login.example.com", "example.com").validate().is_ok());
        assert!(with("https://example.com", "example.com").validate().is_ok());
        for (url, domain) in [
            ("https://login.example.com", "other.com"),
            ("https://login.example.com", "ample.com"),
            ("https://login.example.com", "com"),
            ("https://login.example.com", ".example.com"),
            ("https://login.example.com", "example.com; Path=/x"),
            ("http://127.0.0.1:8080", "127.0.0.1"),
        ] {
            let Err(error) = with(url, domain).validate() else { panic!("{url} with {domain} is refused") };
            assert!(error.to_string().contains("cookie_domain"), "{error}");
        }
    }

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
    fn frame_ancestors_are_bare_origins_only() {
        for good in ["https://portal.example.com", "https://portal.example.com:8443", "http://127.0.0.1:3000"]
        {
            assert!(is_frame_ancestor(good), "{good}");
        }
        for bad in [
            "*",
            "'self'",
            "https://portal.example.com/",
            "https://portal.example.com/path",
            "http://portal.example.com",
            "https://a.example.com; script-src *",
            "https://a.example.com https://b.example.com",
            "javascript:alert(1)",
        ] {
            assert!(!is_frame_ancestor(bad), "{bad}");
        }
        let settings =
            Settings { frame_ancestors: vec!["https://x.example.com/".into()], ..Settings::default() };
        assert!(settings.validate().unwrap_err().to_string().contains("frame_ancestors"));
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
    fn plain_http_is_refused_for_a_public_host() {
        let settings = Settings { public_url: "http://login.example.com".into(), ..Settings::default() };
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("public_url"), "{err}");
    }

    fn refusal(settings: Settings) -> String {
        settings.validate().unwrap_err().to_string()
    }

    #[test]
    fn an_accent_that_is_not_a_hex_colour_is_refused() {
        for bad in ["red; } body{display:none", "#12345", "url(https://evil.example/x.png)", "red", ""] {
            let err = refusal(Settings { accent_color: bad.into(), ..Settings::default() });
            assert!(err.contains("accent_color"), "{bad:?}: {err}");
        }
        let short = Settings { accent_color: "#0a5".into(), ..Settings::default() };
        short.validate().unwrap();
    }

    #[test]
    fn a_logo_over_plain_http_to_a_public_host_is_refused() {
        let err = refusal(Settings {
            logo_url: Some("http://cdn.example.com/logo.png".into()),
            ..Settings::default()
        });
        assert!(err.contains("logo_url"), "{err}");
        for good in ["https://cdn.example.com/logo.png", "/static/logo.svg", "http://127.0.0.1:9000/logo.png"]
        {
            Settings { logo_url: Some(good.into()), ..Settings::default() }.validate().unwrap();
        }
    }

    #[test]
    fn a_missing_custom_css_file_is_refused_naming_the_key() {
        let missing = std::env::temp_dir().join("gatehouse-no-such-dir/custom.css");
        let err = refusal(Settings { custom_css_file: Some(missing), ..Settings::default() });
        assert!(err.contains("custom_css_file") && err.contains("custom.css"), "{err}");
    }

    #[test]
    fn a_custom_css_file_over_64_kib_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let css = dir.path().join("big.css");
        std::fs::write(&css, vec![b' '; 64 * 1024 + 1]).unwrap();
        let err = refusal(Settings { custom_css_file: Some(css), ..Settings::default() });
        assert!(err.contains("custom_css_file") && err.contains("64 KiB"), "{err}");
    }

    #[test]
    fn weak_argon2_parameters_are_refused() {
        let settings = Settings { argon2_memory_kib: 1024, ..Settings::default() };
        assert!(settings.validate().unwrap_err().to_string().contains("argon2_memory_kib"));
    }
}
