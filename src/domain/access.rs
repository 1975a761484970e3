//! Per-host access rules for forward-auth: which accounts may use which
//! protected host. A host without a rule is open to every signed-in
//! account; a host with one only to the addresses and domains it lists.
//! When rules exist and the protected host is unknown (no `X-Forwarded-Host`
//! from a trusted proxy), access is denied: a check that cannot be made fails closed.

use serde::Deserialize;
use url::Url;

use super::email::EmailAddress;
use super::host::HostPattern;

/// One rule as configured: `[[access_rules]] host = "wiki.example.com"`,
/// `allow = ["alice@example.com", "example.org"]`.
#[derive(Clone, Debug, Deserialize)]
pub struct AccessRule {
    pub host: String,
    pub allow: Vec<String>,
}

#[derive(Clone, Debug)]
enum Allowed {
    Address(String),
    Domain(String),
}

#[derive(Clone, Debug, Default)]
pub struct AccessRules {
    rules: Vec<(HostPattern, Vec<Allowed>)>,
}

impl AccessRules {
    /// Checks and compiles the configured rules; the error names the bad entry.
    pub fn new(configured: &[AccessRule]) -> Result<Self, String> {
        let mut rules = Vec::with_capacity(configured.len());
        for rule in configured {
            let host = HostPattern::parse(&rule.host)
                .ok_or_else(|| format!("host {:?} must be host, host:port or *.example.com", rule.host))?;
            let allow = rule.allow.iter().map(|entry| parse_allowed(entry)).collect::<Result<Vec<_>, _>>()?;
            rules.push((host, allow));
        }
        Ok(Self { rules })
    }

    /// Whether `email` (lower-cased, as stored) may use `host` (as the proxy
    /// forwarded it, with `scheme` for its default port).
    pub fn allows(&self, scheme: &str, host: Option<&str>, email: &str) -> bool {
        if self.rules.is_empty() {
            return true;
        }
        let Some(url) = host.and_then(|h| Url::parse(&format!("{scheme}://{h}/")).ok()) else {
            return false;
        };
        match self.rules.iter().find(|(pattern, _)| pattern.matches(&url)) {
            None => true,
            Some((_, allow)) => allow.iter().any(|allowed| match allowed {
                Allowed::Address(address) => email == address,
                Allowed::Domain(domain) => email.rsplit_once('@').is_some_and(|(_, d)| d == domain),
            }),
        }
    }
}

/// `alice@example.com` (one account) or `example.org` / `@example.org` (a whole domain).
fn parse_allowed(entry: &str) -> Result<Allowed, String> {
    let entry = entry.trim().to_ascii_lowercase();
    let bad = || format!("allow entry {entry:?} must be an address or a domain");
    match entry.split_once('@') {
        Some(("", domain)) => {
            HostPattern::parse(domain).map(|_| Allowed::Domain(domain.to_owned())).ok_or_else(bad)
        }
        Some(_) => {
            EmailAddress::parse(&entry).map(|e| Allowed::Address(e.as_str().to_owned())).map_err(|_| bad())
        }
        None => HostPattern::parse(&entry)
            .filter(|_| !entry.starts_with("*.") && !entry.contains(':'))
            .map(|_| Allowed::Domain(entry.clone()))
            .ok_or_else(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules() -> AccessRules {
        AccessRules::new(&[
            AccessRule {
                host: "wiki.example.com".into(),
                allow: vec!["Alice@Example.com".into(), "example.org".into()],
            },
            AccessRule { host: "*.admin.example.com".into(), allow: vec!["@ops.example.com".into()] },
        ])
        .unwrap()
    }

    #[test]
    fn a_host_with_a_rule_admits_its_addresses_and_domains_only() {
        let rules = rules();
        assert!(rules.allows("https", Some("wiki.example.com"), "alice@example.com"));
        assert!(rules.allows("https", Some("WIKI.example.com"), "bob@example.org"));
        assert!(!rules.allows("https", Some("wiki.example.com"), "mallory@example.com"));
        assert!(!rules.allows("https", Some("wiki.example.com"), "eve@notexample.org"));
        assert!(rules.allows("https", Some("db.admin.example.com"), "root@ops.example.com"));
        assert!(!rules.allows("https", Some("db.admin.example.com"), "alice@example.com"));
    }

    #[test]
    fn hosts_without_a_rule_are_open_and_an_unknown_host_is_closed() {
        let rules = rules();
        assert!(rules.allows("https", Some("blog.example.com"), "anyone@example.net"));
        assert!(!rules.allows("https", None, "alice@example.com"));
        assert!(AccessRules::default().allows("https", None, "anyone@example.net"));
    }

    #[test]
    fn bad_rules_are_refused() {
        let bad = |host: &str, allow: &str| {
            AccessRules::new(&[AccessRule { host: host.into(), allow: vec![allow.into()] }]).is_err()
        };
        assert!(bad("wiki.example.com/path", "alice@example.com"));
        assert!(bad("wiki.example.com", "not an address"));
        assert!(bad("wiki.example.com", "*.example.org"));
        assert!(!bad("wiki.example.com:8443", "@example.org"));
    }
}
