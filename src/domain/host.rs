//! Hosts as settings name them and as proxies forward them: allow-list
//! patterns (`host`, `host:port`, `*.example.com`), the protected host of a
//! forward-auth request, and the checks that keep a setting from writing
//! more than a host into a header or a CSP source.

use std::net::IpAddr;

use url::Url;

/// An allow-list entry: `host`, `host:port` or `*.example.com`. Written
/// the way proxies compare hosts: any case, one trailing dot allowed, and a
/// port that may be the scheme's default (`wiki.example.com:443`).
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
        let (name, port) = split_port(rest)?;
        let name = name.strip_suffix('.').unwrap_or(name);
        let probe = Url::parse(&format!("https://{name}/")).ok()?;
        // Entries are written into the CSP's `form-action` too.
        if !is_plain_host(&probe) {
            return None;
        }
        let host = probe.host_str()?.to_owned();
        // Only a host: no path, user, or a name the parser had to rewrite.
        if host != name || host.is_empty() || probe.port().is_some() {
            return None;
        }
        Some(Self { host, wildcard, port })
    }

    pub fn matches(&self, url: &Url) -> bool {
        let Some(host) = url.host_str() else { return false };
        self.matches_host(host) && self.port.is_none_or(|p| url.port_or_known_default() == Some(p))
    }

    /// The host a proxy forwarded: an entry without a port matches any port.
    pub fn matches_forwarded(&self, forwarded: &ForwardedHost) -> bool {
        self.matches_host(&forwarded.host) && self.port.is_none_or(|p| p == forwarded.port)
    }

    fn matches_host(&self, host: &str) -> bool {
        if self.wildcard {
            host.strip_suffix(&self.host).is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
        } else {
            host == self.host
        }
    }
}

/// The host a proxy says it is protecting (`X-Forwarded-Host`), normalised
/// the way proxies route: lower case, without one trailing dot, and with the
/// scheme's default port when none is written. It is compared as text, not
/// parsed as a URL: `%2e`, `user@` or a path would let the URL parser judge
/// another host than the proxy routed, so such a value is no host at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ForwardedHost {
    host: String,
    port: u16,
}

impl ForwardedHost {
    /// `raw` as `host` or `host:port`, `scheme` from `X-Forwarded-Proto`.
    pub fn parse(scheme: &str, raw: &str) -> Option<Self> {
        let default_port = match scheme.to_ascii_lowercase().as_str() {
            "http" | "ws" => 80,
            "https" | "wss" => 443,
            _ => return None,
        };
        let allowed = |b: u8| b.is_ascii_alphanumeric() || b"-._:[]".contains(&b);
        if !raw.bytes().all(allowed) {
            return None;
        }
        let raw = raw.to_ascii_lowercase();
        let (host, port) = split_port(&raw)?;
        let host = host.strip_suffix('.').unwrap_or(host);
        let host = if host.starts_with('[') {
            // IPv6 literals in the form the URL parser gives patterns.
            match url::Host::parse(host).ok()? {
                ip @ url::Host::Ipv6(_) => ip.to_string(),
                _ => return None,
            }
        } else if !host.contains(['[', ']', ':']) && host.split('.').all(|label| !label.is_empty()) {
            host.to_owned()
        } else {
            return None;
        };
        Some(Self { host, port: port.unwrap_or(default_port) })
    }
}

/// `host` and its `:port`, if any (`[::1]:8080` too); `None` for a port
/// that is not 1–5 digits or over 65535.
fn split_port(hostport: &str) -> Option<(&str, Option<u16>)> {
    let Some((host, port)) = hostport.rsplit_once(':') else { return Some((hostport, None)) };
    if host.contains(':') && !host.ends_with(']') {
        return Some((hostport, None)); // a bare IPv6 address: refused by the caller
    }
    if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((host, Some(port.parse().ok()?)))
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

    #[test]
    fn a_pattern_may_end_in_a_dot_or_name_the_default_port() {
        let wiki = HostPattern::parse("Wiki.Example.com.").unwrap();
        assert_eq!(wiki, HostPattern::parse("wiki.example.com").unwrap());
        let https_only = HostPattern::parse("wiki.example.com:443").unwrap();
        assert!(https_only.matches(&Url::parse("https://wiki.example.com/").unwrap()));
        assert!(!https_only.matches(&Url::parse("http://wiki.example.com/").unwrap()));
        for bad in
            ["wiki.example.com..", "wiki.example.com:", "wiki.example.com:+443", "wiki.example.com:65536"]
        {
            assert!(HostPattern::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn a_forwarded_host_is_compared_as_proxies_route_it() {
        let wiki = ForwardedHost::parse("https", "wiki.example.com").unwrap();
        for same in ["WIKI.example.com", "wiki.example.com.", "wiki.example.com:443", "Wiki.Example.Com.:443"]
        {
            assert_eq!(ForwardedHost::parse("HTTPS", same).as_ref(), Some(&wiki), "{same}");
        }
        assert_ne!(ForwardedHost::parse("http", "wiki.example.com"), Some(wiki.clone()));
        assert_eq!(ForwardedHost::parse("wss", "wiki.example.com"), Some(wiki));
        let ip = ForwardedHost::parse("https", "[0:0::1]:8443").unwrap();
        assert!(HostPattern::parse("[::1]:8443").unwrap().matches_forwarded(&ip));
        // Only what a proxy routes on; the URL parser would read another host into these.
        for bad in
            ["", "a..b", "wiki.example.com..", "x@wiki.example.com", "wiki%2eexample.com", "a/b", "::1"]
        {
            assert_eq!(ForwardedHost::parse("https", bad), None, "{bad}");
        }
        assert_eq!(ForwardedHost::parse("ftp", "wiki.example.com"), None);
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn any_forwarded_host_is_parsed_without_panicking(scheme in any::<String>(), raw in any::<String>()) {
                let _ = ForwardedHost::parse(&scheme, &raw);
            }

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
