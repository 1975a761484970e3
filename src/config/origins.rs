//! The origins and hosts in the settings: `public_url`, `cookie_domain`,
//! `frame_ancestors`, and the host checks that keep a setting from writing
//! more than a host into a header.

use std::net::IpAddr;

use anyhow::bail;
use url::Url;

use super::Settings;

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

    /// Whether the portal is served over https (then cookies are `__Host-` and `Secure`).
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
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

/// https, or plain http to a loopback host (development).
pub fn is_https_or_loopback(url: &Url) -> bool {
    url.scheme() == "https" || (url.scheme() == "http" && is_loopback_host(url))
}

/// A host that can be written into a header or a CSP source as it is: an IP
/// address, or a DNS name of letters, digits and hyphens. The URL parser
/// lets `*`, `;` and `,` into hosts, each of which would change what a CSP
/// source means.
pub fn is_plain_host(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d
            .split('.')
            .all(|label| !label.is_empty() && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')),
        Some(url::Host::Ipv4(_) | url::Host::Ipv6(_)) => true,
        None => false,
    }
}

/// True for `localhost` and loopback IP addresses.
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
        assert!(settings.validate().unwrap_err().to_string().contains("frame_ancestors"));
    }

    #[test]
    fn plain_http_is_refused_for_a_public_host() {
        let settings = Settings { public_url: "http://login.example.com".into(), ..Settings::default() };
        let err = settings.validate().unwrap_err().to_string();
        assert!(err.contains("public_url"), "{err}");
    }
}
