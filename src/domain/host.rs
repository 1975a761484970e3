//! Hosts as settings name them: allow-list patterns (`host`, `host:port`,
//! `*.example.com`) and the checks that keep a setting from writing more
//! than a host into a header or a CSP source.

use std::net::IpAddr;

use url::Url;

/// An allow-list entry: `host`, `host:port` or `*.example.com`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostPattern {
    host: String,
    wildcard: bool,
    port: Option<u16>,
}

impl HostPattern {
    pub fn parse(entry: &str) -> Option<Self> {
        let entry = entry.trim().to_ascii_lowercase();
        let (wildcard, rest) = match entry.strip_prefix("*.") {
            Some(rest) => (true, rest),
            None => (false, entry.as_str()),
        };
        let probe = Url::parse(&format!("https://{rest}/")).ok()?;
        // Entries are written into the CSP's `form-action` too.
        if !is_plain_host(&probe) {
            return None;
        }
        let host = probe.host_str()?.to_owned();
        let exact = probe.port().map_or(host.clone(), |p| format!("{host}:{p}"));
        if exact != rest || host.is_empty() {
            return None;
        }
        Some(Self { host, wildcard, port: probe.port() })
    }

    pub fn matches(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else { return false };
        let host_ok = if self.wildcard {
            host.strip_suffix(&self.host).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
        } else {
            host == self.host
        };
        host_ok && self.port.is_none_or(|p| url.port_or_known_default() == Some(p))
    }
}

/// `path` (with its query) on `origin`, as mails and proxies need it:
/// absolute, and from `public_url`, never from a request's Host.
pub fn on_origin(origin: &Url, path: &str) -> String {
    format!("{}{path}", origin.as_str().trim_end_matches('/'))
}

impl std::fmt::Display for HostPattern {
    /// As configured: `*.example.com`, `host` or `host:port`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.wildcard {
            f.write_str("*.")?;
        }
        f.write_str(&self.host)?;
        match self.port {
            Some(port) => write!(f, ":{port}"),
            None => Ok(()),
        }
    }
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
    fn malformed_allow_list_entries_are_rejected() {
        assert!(HostPattern::parse("https://x.example").is_none());
        assert!(HostPattern::parse("x.example/path").is_none());
        assert!(HostPattern::parse("*.example.com").is_some());
        // Hosts the URL parser accepts but a CSP source would read as more.
        for bad in ["*", "*.*.example.com", "a.example.com;script-src", "a,b.example.com"] {
            assert!(HostPattern::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn patterns_show_as_configured() {
        for entry in ["app.example.com", "*.corp.example", "wiki.example.com:8443"] {
            assert_eq!(HostPattern::parse(entry).unwrap().to_string(), entry);
        }
        assert_eq!(HostPattern::parse(" App.Example.com ").unwrap().to_string(), "app.example.com");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn any_entry_is_parsed_without_panicking(raw in any::<String>()) {
                let _ = HostPattern::parse(&raw);
            }

            #[test]
            fn an_accepted_pattern_round_trips_and_is_plain(raw in "(\\*\\.)?[A-Za-z0-9.;,*_ -]{1,24}(:[0-9]{1,6})?") {
                if let Some(pattern) = HostPattern::parse(&raw) {
                    let shown = pattern.to_string();
                    prop_assert_eq!(HostPattern::parse(&shown), Some(pattern));
                    let plain = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || ".-:".contains(c);
                    let rest = shown.strip_prefix("*.").unwrap_or(&shown);
                    prop_assert!(rest.chars().all(plain), "{shown} would say more in a CSP source");
                }
            }
        }
    }
}
