//! `Settings` checked once into `Config`, the compiled form the portal runs
//! on: numbers in range and typed, hosts and rules parsed, the brand and its
//! stylesheet read. Every refusal names its key.

use std::io::Read as _;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, bail};
use lettre::message::Mailbox;
use url::Url;

use super::origins::{is_frame_ancestor, is_parent_domain};
use super::{SecretSource, Settings, SmtpSettings};
use crate::domain::access::AccessRules;
use crate::domain::brand::{Brand, Logo};
use crate::domain::colour::Colour;
use crate::domain::host::HostPattern;
use crate::domain::network::{Cidr, TrustedProxies};
use crate::domain::return_to::ReturnPolicy;

/// The custom CSS file is read into memory: keep it a stylesheet, not a dump.
pub const CUSTOM_CSS_MAX_BYTES: u64 = 64 * 1024;

/// The settings, checked: what every part of the portal is built from.
pub struct Config {
    pub database_url: String,
    pub bind: String,
    /// `public_url` as an origin; links in mail are built on it alone.
    pub public_origin: Url,
    pub secret: SecretSource,
    pub mail: MailConfig,
    pub codes: CodeRules,
    pub hashing: HashingRules,
    pub sessions: SessionRules,
    pub limits: Limits,
    pub trusted_proxies: TrustedProxies,
    pub return_policy: ReturnPolicy,
    pub access: AccessRules,
    pub cookie_domain: Option<String>,
    pub frame_ancestors: Vec<String>,
    pub brand: Brand,
}

impl Config {
    /// Whether the portal is served over https (then cookies are `__Host-`
    /// or `__Secure-`, and `Secure`, and HSTS is sent).
    pub fn is_https(&self) -> bool {
        self.public_origin.scheme() == "https"
    }
}

/// How codes and links behave.
#[derive(Clone, Debug)]
pub struct CodeRules {
    pub length: u32,
    pub ttl_secs: i64,
    pub max_attempts: i32,
    pub resend_cooldown_secs: i64,
}

/// argon2id's cost, and how many hashes may run or wait at once.
#[derive(Clone, Debug)]
pub struct HashingRules {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
    /// Hashing threads; 0: one per core.
    pub max_concurrent: u32,
    pub max_queue: u32,
}

#[derive(Clone, Copy, Debug)]
pub struct SessionRules {
    pub idle_secs: i64,
    pub absolute_secs: i64,
}

/// The limits of SECURITY.md items 7, 12 and 13.
#[derive(Clone, Debug)]
pub struct Limits {
    pub code_failure_budget: i64,
    pub code_sends_per_15_min: i64,
    pub code_sends_per_day: i64,
    pub code_sends_per_ip_per_hour: i64,
    pub code_sends_per_hour: i64,
    pub sign_ins_per_ip_per_hour: i64,
    pub password_free_failures: i32,
    pub password_free_failures_per_ip: i32,
    pub password_max_delay_secs: i64,
    pub password_max_consecutive_failures: i32,
}

/// Where mail goes and how hard the outbox tries.
#[derive(Clone)]
pub struct MailConfig {
    /// Unset: mail is printed to the console and saved in `dir`.
    pub smtp: Option<SmtpSettings>,
    pub ca_file: Option<PathBuf>,
    pub from: Mailbox,
    pub dir: PathBuf,
    pub timeout: Duration,
    pub max_attempts: i32,
    pub first_retry_delay_secs: i64,
    pub notify_new_sign_in: bool,
    pub code_in_subject: bool,
}

fn refuse(key: &str, why: impl std::fmt::Display) -> anyhow::Error {
    anyhow::anyhow!("invalid configuration: `{key}` {why}")
}

fn check(ok: bool, key: &str, why: &str) -> anyhow::Result<()> {
    if ok { Ok(()) } else { Err(refuse(key, why)) }
}

/// `value` if it lies in `range`, as the type the portal computes with;
/// else a refusal naming `key` and the range. The conversion is checked, not
/// an `as` cast, so no configured number can wrap into another one.
fn ranged<T, U>(value: T, range: RangeInclusive<T>, key: &str) -> anyhow::Result<U>
where
    T: PartialOrd + std::fmt::Display + Copy,
    U: TryFrom<T>,
{
    match U::try_from(value) {
        Ok(converted) if range.contains(&value) => Ok(converted),
        _ => Err(refuse(key, format!("must be {} to {}", range.start(), range.end()))),
    }
}

impl Settings {
    /// Checks every value and compiles the settings; the error names the key.
    pub fn check(&self) -> anyhow::Result<Config> {
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
        let public_origin = self.public_origin()?;
        Ok(Config {
            database_url: self.database_url.clone(),
            bind: self.bind.clone(),
            secret: match &self.secret_key {
                Some(secret) => SecretSource::Inline(secret.clone()),
                None => SecretSource::File(self.secret_key_file.clone()),
            },
            mail: self.mail()?,
            codes: self.codes()?,
            hashing: self.hashing()?,
            sessions: self.sessions()?,
            limits: self.limits()?,
            trusted_proxies: self.trusted_proxies()?,
            return_policy: ReturnPolicy::new(public_origin.clone(), self.return_hosts()?),
            access: AccessRules::new(&self.access_rules).map_err(|e| refuse("access_rules", e))?,
            cookie_domain: self.cookie_domain()?,
            frame_ancestors: self.frame_ancestors()?,
            brand: self.brand(&public_origin)?,
            public_origin,
        })
    }

    fn codes(&self) -> anyhow::Result<CodeRules> {
        Ok(CodeRules {
            length: ranged(self.otp_length, 6..=10, "otp_length")?,
            ttl_secs: ranged(self.otp_ttl_secs, 1..=3600, "otp_ttl_secs")?,
            max_attempts: ranged(self.otp_max_attempts, 1..=10, "otp_max_attempts")?,
            resend_cooldown_secs: ranged(
                self.otp_resend_cooldown_secs,
                0..=3600,
                "otp_resend_cooldown_secs",
            )?,
        })
    }

    fn hashing(&self) -> anyhow::Result<HashingRules> {
        Ok(HashingRules {
            memory_kib: ranged(self.argon2_memory_kib, 19_456..=4_194_304, "argon2_memory_kib")?,
            iterations: ranged(self.argon2_iterations, 2..=100, "argon2_iterations")?,
            parallelism: ranged(self.argon2_parallelism, 1..=16, "argon2_parallelism")?,
            max_concurrent: ranged(self.argon2_max_concurrent, 0..=256, "argon2_max_concurrent")?,
            max_queue: ranged(self.argon2_max_queue, 0..=10_000, "argon2_max_queue")?,
        })
    }

    fn sessions(&self) -> anyhow::Result<SessionRules> {
        Ok(SessionRules {
            idle_secs: ranged(self.session_idle_timeout_secs, 1..=86_400, "session_idle_timeout_secs")?,
            absolute_secs: ranged(
                self.session_absolute_timeout_secs,
                1..=30 * 86_400,
                "session_absolute_timeout_secs",
            )?,
        })
    }

    fn limits(&self) -> anyhow::Result<Limits> {
        // SECURITY.md items 7 and 12: the budget keeps a guesser who holds the
        // password below 5e-5 a day; a stop after at most 100 failures.
        Ok(Limits {
            code_failure_budget: ranged(self.code_failure_budget, 1..=50, "code_failure_budget")?,
            code_sends_per_15_min: ranged(self.code_sends_per_15_min, 1..=100, "code_sends_per_15_min")?,
            code_sends_per_day: ranged(self.code_sends_per_day, 1..=1_000, "code_sends_per_day")?,
            code_sends_per_ip_per_hour: ranged(
                self.code_sends_per_ip_per_hour,
                1..=100_000,
                "code_sends_per_ip_per_hour",
            )?,
            code_sends_per_hour: ranged(self.code_sends_per_hour, 1..=10_000_000, "code_sends_per_hour")?,
            sign_ins_per_ip_per_hour: ranged(
                self.sign_ins_per_ip_per_hour,
                1..=10_000_000,
                "sign_ins_per_ip_per_hour",
            )?,
            password_free_failures: ranged(self.password_free_failures, 0..=100, "password_free_failures")?,
            password_free_failures_per_ip: ranged(
                self.password_free_failures_per_ip,
                0..=1_000,
                "password_free_failures_per_ip",
            )?,
            password_max_delay_secs: ranged(
                self.password_max_delay_secs,
                30..=86_400,
                "password_max_delay_secs",
            )?,
            password_max_consecutive_failures: ranged(
                self.password_max_consecutive_failures,
                1..=100,
                "password_max_consecutive_failures",
            )?,
        })
    }

    fn mail(&self) -> anyhow::Result<MailConfig> {
        let smtp = self.smtp_url.as_deref().map(SmtpSettings::parse).transpose();
        let smtp = smtp.map_err(|e| refuse("smtp_url", e))?;
        if let Some(ca) = &self.smtp_ca_file {
            check(ca.is_file(), "smtp_ca_file", "must be a PEM file")?;
        }
        Ok(MailConfig {
            smtp,
            ca_file: self.smtp_ca_file.clone(),
            from: parse_mailbox(&self.mail_from).map_err(|e| refuse("mail_from", e))?,
            dir: self.mail_dir.clone(),
            timeout: Duration::from_secs(ranged(self.smtp_timeout_secs, 1..=300, "smtp_timeout_secs")?),
            max_attempts: ranged(self.mail_max_attempts, 1..=50, "mail_max_attempts")?,
            first_retry_delay_secs: ranged(self.mail_retry_delay_secs, 1..=600, "mail_retry_delay_secs")?,
            notify_new_sign_in: self.notify_new_sign_in,
            code_in_subject: self.otp_code_in_subject,
        })
    }

    fn trusted_proxies(&self) -> anyhow::Result<TrustedProxies> {
        let cidrs = self.trusted_proxies.iter().map(|proxy| {
            Cidr::parse(proxy).map_err(|e| refuse("trusted_proxies", format!("entry {proxy:?}: {e}")))
        });
        Ok(TrustedProxies::new(cidrs.collect::<anyhow::Result<_>>()?))
    }

    fn return_hosts(&self) -> anyhow::Result<Vec<HostPattern>> {
        let parsed = self.allowed_return_hosts.iter().map(|host| HostPattern::parse(host));
        parsed
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| refuse("allowed_return_hosts", "entries must be host, host:port or *.example.com"))
    }

    fn cookie_domain(&self) -> anyhow::Result<Option<String>> {
        let Some(domain) = &self.cookie_domain else { return Ok(None) };
        check(
            self.public_origin()?.scheme() == "https",
            "cookie_domain",
            "needs an https public_url (the cookie is then __Secure- and Secure)",
        )?;
        let host = self.public_origin()?.host_str().map(str::to_ascii_lowercase);
        check(
            is_parent_domain(domain, host.as_deref().unwrap_or_default()),
            "cookie_domain",
            "must be public_url's host or a parent domain of it, such as example.com for login.example.com",
        )?;
        Ok(Some(domain.clone()))
    }

    fn frame_ancestors(&self) -> anyhow::Result<Vec<String>> {
        for origin in &self.frame_ancestors {
            check(
                is_frame_ancestor(origin),
                "frame_ancestors",
                "entries must be origins such as https://portal.example.com (http only for loopback hosts)",
            )?;
        }
        Ok(self.frame_ancestors.clone())
    }

    /// The brand: the accent is written into CSS and the logo into pages and
    /// mails, so both are parsed strictly; the custom CSS is read here, once.
    fn brand(&self, public_origin: &Url) -> anyhow::Result<Brand> {
        check(!self.site_name.trim().is_empty(), "site_name", "must not be empty")?;
        if let Some(support) = &self.support_url {
            check(
                Url::parse(support).is_ok_and(|u| matches!(u.scheme(), "https" | "http" | "mailto")),
                "support_url",
                "must be an https:, http: or mailto: URL",
            )?;
        }
        let accent = Colour::parse(&self.accent_color)
            .context("invalid configuration: `accent_color` must be #rgb or #rrggbb, such as #1d4ed8")?;
        let logo =
            self.logo_url.as_deref().map(Logo::parse).transpose().map_err(|why| refuse("logo_url", why))?;
        let custom_css = self.custom_css_file.as_deref().map(read_custom_css).transpose()?;
        Ok(Brand::new(
            self.site_name.clone(),
            self.support_url.clone(),
            logo,
            accent,
            custom_css.as_deref(),
            public_origin,
        ))
    }
}

/// A mailbox such as `Gatehouse <no-reply@example.com>`, on one line.
pub fn parse_mailbox(raw: &str) -> Result<Mailbox, String> {
    if raw.chars().any(char::is_control) {
        return Err("must not contain line breaks".into());
    }
    raw.parse::<Mailbox>().map_err(|e| format!("is not a mail address: {e}"))
}

/// The custom CSS: present, readable, UTF-8 and at most `CUSTOM_CSS_MAX_BYTES`.
fn read_custom_css(path: &Path) -> anyhow::Result<String> {
    let fail = |why: String| refuse("custom_css_file", format!("{}: {why}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| fail(format!("cannot be read ({e})")))?;
    let mut bytes = Vec::new();
    file.take(CUSTOM_CSS_MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| fail(format!("cannot be read ({e})")))?;
    if bytes.len() as u64 > CUSTOM_CSS_MAX_BYTES {
        bail!(fail(format!("is larger than {} KiB", CUSTOM_CSS_MAX_BYTES / 1024)));
    }
    let css = String::from_utf8(bytes).map_err(|_| fail("is not UTF-8 text".into()))?;
    // A byte-order mark would become part of the first selector once the
    // file follows the palette in site.css.
    Ok(css.strip_prefix('\u{FEFF}').map(str::to_owned).unwrap_or(css))
}
