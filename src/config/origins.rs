//! The origins and hosts in the settings: `public_url`, `cookie_domain`,
//! `frame_ancestors`.

use anyhow::bail;
use url::Url;

use super::Settings;
use crate::domain::host::{is_https_or_loopback, is_loopback_host, is_plain_host};

impl Settings {
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
}

/// `domain` is a plain DNS name with at least two labels and `host` is it
/// or one of its subdomains.
pub(super) fn is_parent_domain(domain: &str, host: &str) -> bool {
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
pub(super) fn is_frame_ancestor(raw: &str) -> bool {
    let Ok(url) = Url::parse(raw) else { return false };
    is_https_or_loopback(&url) && is_plain_host(&url) && url.origin().ascii_serialization() == raw
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
        assert!(with("https://login.example.com", "example.com").check().is_ok());
        assert!(with("https://example.com", "example.com").check().is_ok());
        for (url, domain) in [
            ("https://login.example.com", "other.com"),
            ("https://login.example.com", "ample.com"),
            ("https://login.example.com", "com"),
            ("https://login.example.com", ".example.com"),
            ("https://login.example.com", "example.com; Path=/x"),
            ("http://127.0.0.1:8080", "127.0.0.1"),
        ] {
            let Err(error) = with(url, domain).check() else { panic!("{url} with {domain} is refused") };
            assert!(error.to_string().contains("cookie_domain"), "{error}");
        }
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
            // The URL parser lets these into a host; in a CSP each means more.
            "https://*",
            "https://*.example.com",
            "https://a.example.com;script-src",
            "https://a,b.example.com",
        ] {
            assert!(!is_frame_ancestor(bad), "{bad}");
        }
        let settings =
            Settings { frame_ancestors: vec!["https://x.example.com/".into()], ..Settings::default() };
        assert!(settings.check().err().expect("refused").to_string().contains("frame_ancestors"));
    }

    #[test]
    fn an_https_public_url_in_capitals_is_https() {
        let with = |public_url: &str| Settings {
            public_url: public_url.into(),
            cookie_domain: Some("example.com".into()),
            ..Settings::default()
        };
        for url in ["HTTPS://login.example.com", "Https://Login.Example.COM"] {
            let config = with(url).check().unwrap_or_else(|e| panic!("{url}: {e}"));
            assert!(config.is_https(), "{url}");
            assert_eq!(config.public_origin.as_str(), "https://login.example.com/");
        }
    }

    #[test]
    fn plain_http_is_refused_for_a_public_host() {
        let settings = Settings { public_url: "http://login.example.com".into(), ..Settings::default() };
        let err = settings.check().err().expect("refused").to_string();
        assert!(err.contains("public_url"), "{err}");
    }
}
