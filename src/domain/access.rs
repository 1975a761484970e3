//! Per-host access rules for forward-auth: which accounts may use which
//! protected host. Hosts compare as proxies route them (lower case, without
//! one trailing dot, without the scheme's default port), and the rules fail
//! closed: once any rule exists, a host that no rule matches is denied unless
//! a `host = "*"` rule lists the account, and so is an unknown host (no
//! usable `X-Forwarded-Host` from a trusted proxy). Without any rule every
//! signed-in account may use every host.

use serde::Deserialize;

use super::email::EmailAddress;
use super::host::{ForwardedHost, HostPattern};

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

impl Allowed {
    fn admits(&self, email: &str) -> bool {
        match self {
            Allowed::Address(address) => email == address,
            Allowed::Domain(domain) => email.rsplit_once('@').is_some_and(|(_, d)| d == domain),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct AccessRules {
    /// In file order: the first rule whose host matches decides.
    rules: Vec<(HostPattern, Vec<Allowed>)>,
    /// The `host = "*"` rule: decides for every host no other rule matches.
    every_other_host: Option<Vec<Allowed>>,
}

impl AccessRules {
    /// Checks and compiles the configured rules; the error names the bad entry.
    pub fn new(configured: &[AccessRule]) -> Result<Self, String> {
        let mut compiled = Self::default();
        for rule in configured {
            let allow = rule.allow.iter().map(|entry| parse_allowed(entry)).collect::<Result<Vec<_>, _>>()?;
            if rule.host.trim() == "*" {
                if compiled.every_other_host.replace(allow).is_some() {
                    return Err("only one rule may have host \"*\"".into());
                }
                continue;
            }
            let host = HostPattern::parse(&rule.host).ok_or_else(|| {
                format!("host {:?} must be host, host:port, *.example.com or \"*\"", rule.host)
            })?;
            compiled.rules.push((host, allow));
        }
        Ok(compiled)
    }

    /// Whether `email` (lower-cased, as stored) may use `host` (as the proxy
    /// forwarded it, with `scheme` for its default port).
    pub fn allows(&self, scheme: &str, host: Option<&str>, email: &str) -> bool {
        if self.rules.is_empty() && self.every_other_host.is_none() {
            return true;
        }
        let Some(site) = host.and_then(|h| ForwardedHost::parse(scheme, h)) else {
            return false;
        };
        let own_rule = self.rules.iter().find(|(pattern, _)| pattern.matches_forwarded(&site));
        let allow = own_rule.map(|(_, allow)| allow).or(self.every_other_host.as_ref());
        allow.is_some_and(|allow| allow.iter().any(|allowed| allowed.admits(email)))
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

    fn rule(host: &str, allow: &[&str]) -> AccessRule {
        AccessRule { host: host.into(), allow: allow.iter().map(|a| a.to_string()).collect() }
    }

    fn rules() -> AccessRules {
        AccessRules::new(&[
            rule("wiki.example.com", &["Alice@Example.com", "example.org"]),
            rule("*.admin.example.com", &["@ops.example.com"]),
        ])
        .unwrap()
    }

    #[test]
    fn a_host_with_a_rule_admits_its_addresses_and_domains_only() {
        let rules = rules();
        assert!(rules.allows("https", Some("wiki.example.com"), "alice@example.com"));
        assert!(rules.allows("https", Some("wiki.example.com"), "bob@example.org"));
        assert!(!rules.allows("https", Some("wiki.example.com"), "mallory@example.com"));
        assert!(!rules.allows("https", Some("wiki.example.com"), "eve@notexample.org"));
        assert!(rules.allows("https", Some("db.admin.example.com"), "root@ops.example.com"));
        assert!(!rules.allows("https", Some("db.admin.example.com"), "alice@example.com"));
    }

    #[test]
    fn case_one_trailing_dot_and_the_default_port_do_not_change_the_host() {
        let rules = rules();
        for host in ["WIKI.example.com", "wiki.example.com.", "wiki.example.com:443", "Wiki.Example.Com.:443"]
        {
            assert!(rules.allows("https", Some(host), "alice@example.com"), "{host}");
            assert!(!rules.allows("https", Some(host), "mallory@example.com"), "{host}");
        }
        assert!(!rules.allows("http", Some("wiki.example.com.:80"), "mallory@example.com"));
        assert!(!rules.allows("https", Some("db.admin.example.com."), "alice@example.com"));
    }

    #[test]
    fn a_rule_may_name_its_host_with_a_trailing_dot_or_a_default_port() {
        let rules = AccessRules::new(&[
            rule("Wiki.Example.com.", &["alice@example.com"]),
            rule("docs.example.com:443", &["alice@example.com"]),
        ])
        .unwrap();
        assert!(!rules.allows("https", Some("wiki.example.com"), "mallory@example.com"));
        assert!(rules.allows("https", Some("wiki.example.com"), "alice@example.com"));
        assert!(rules.allows("https", Some("docs.example.com"), "alice@example.com"));
        assert!(!rules.allows("https", Some("docs.example.com"), "mallory@example.com"));
        // host:port is that port only: plain http on 80 is another site.
        assert!(!rules.allows("http", Some("docs.example.com"), "alice@example.com"));
    }

    #[test]
    fn with_rules_a_host_no_rule_matches_is_denied() {
        let rules = rules();
        assert!(!rules.allows("https", Some("blog.example.com"), "alice@example.com"));
        assert!(!rules.allows("https", Some("admin.example.com"), "root@ops.example.com"));
        assert!(!rules.allows("https", Some("wiki.example.com.evil.example"), "alice@example.com"));
    }

    #[test]
    fn a_star_rule_judges_every_host_no_other_rule_matches() {
        let rules = AccessRules::new(&[
            rule("*", &["example.net"]),
            rule("wiki.example.com", &["alice@example.com"]),
        ])
        .unwrap();
        assert!(rules.allows("https", Some("blog.example.com"), "anyone@example.net"));
        assert!(!rules.allows("https", Some("blog.example.com"), "alice@example.com"));
        // The host's own rule decides, wherever the `*` rule stands.
        assert!(rules.allows("https", Some("wiki.example.com."), "alice@example.com"));
        assert!(!rules.allows("https", Some("wiki.example.com"), "anyone@example.net"));
    }

    #[test]
    fn without_rules_every_host_is_open() {
        let open = AccessRules::default();
        for host in [None, Some("blog.example.com"), Some("not a host")] {
            assert!(open.allows("https", host, "anyone@example.net"), "{host:?}");
        }
    }

    #[test]
    fn with_rules_an_unknown_or_malformed_host_is_denied() {
        let everyone = AccessRules::new(&[rule("*", &["example.com"])]).unwrap();
        assert!(!everyone.allows("https", None, "alice@example.com"));
        for host in [
            "",
            "wiki.example.com..",
            ".wiki.example.com",
            "wiki.example.com/x",
            "alice@wiki.example.com",
            "wiki.example.com:99999",
            "wiki.example.com:+443",
            "wiki.example.com, blog.example.com",
            "wiki%2eexample.com",
        ] {
            assert!(!everyone.allows("https", Some(host), "alice@example.com"), "{host:?}");
        }
        assert!(!everyone.allows("gopher", Some("wiki.example.com"), "alice@example.com"));
        assert!(everyone.allows("HTTPS", Some("[::1]:8443"), "alice@example.com"));
    }

    #[test]
    fn bad_rules_are_refused() {
        let bad = |host: &str, allow: &str| AccessRules::new(&[rule(host, &[allow])]).is_err();
        assert!(bad("wiki.example.com/path", "alice@example.com"));
        assert!(bad("wiki.example.com..", "alice@example.com"));
        assert!(bad("wiki.example.com", "not an address"));
        assert!(bad("wiki.example.com", "*.example.org"));
        assert!(!bad("wiki.example.com:8443", "@example.org"));
        assert!(!bad("*", "example.org"));
        let two_stars = AccessRules::new(&[rule("*", &["example.org"]), rule(" * ", &["example.com"])]);
        assert!(two_stars.is_err(), "which of two `*` rules would apply is not clear");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        /// Every kind of rule host: exact, wildcard, with a port, an IP, and
        /// with `every_other` the `*` rule.
        fn rules(every_other: bool) -> AccessRules {
            let mut configured = vec![
                rule("wiki.example.com", &["alice@example.com"]),
                rule("*.admin.example.com", &["@ops.example.com"]),
                rule("docs.example.com:443", &["example.com"]),
                rule("127.0.0.1", &["alice@example.com"]),
                rule("[::1]:8443", &["root@ops.example.com"]),
            ];
            if every_other {
                configured.push(rule("*", &["example.net"]));
            }
            AccessRules::new(&configured).unwrap()
        }

        fn host_name() -> impl Strategy<Value = String> {
            prop_oneof![
                "([a-z0-9-]{1,6}\\.){0,2}(wiki|db\\.admin|admin|docs|blog)\\.example\\.com",
                Just("127.0.0.1".to_owned()),
                Just("[::1]".to_owned()),
            ]
        }

        fn with_port(name: &str, port: Option<u16>) -> String {
            port.map_or_else(|| name.to_owned(), |p| format!("{name}:{p}"))
        }

        proptest! {
            #[test]
            fn any_request_is_judged_without_panicking(
                scheme in any::<String>(),
                host in proptest::option::of(any::<String>()),
                email in any::<String>(),
            ) {
                for rules in [rules(false), rules(true)] {
                    let _ = rules.allows(&scheme, host.as_deref(), &email);
                }
            }

            #[test]
            fn any_rule_is_checked_without_panicking(
                host in any::<String>(),
                allow in proptest::collection::vec(any::<String>(), 0..3),
            ) {
                let _ = AccessRules::new(&[AccessRule { host, allow }]);
            }

            #[test]
            fn a_host_and_its_spellings_get_the_same_answer(
                name in host_name(),
                port in proptest::option::of(prop_oneof![Just(443u16), Just(80), Just(8443)]),
                scheme in "https?",
                email in "(alice|root|eve)@(example\\.com|ops\\.example\\.com|example\\.net)",
                every_other in any::<bool>(),
            ) {
                let rules = rules(every_other);
                let default_port = if scheme == "https" { 443 } else { 80 };
                // An IPv6 literal has no trailing dot to drop.
                let dot = if name.ends_with(']') { "" } else { "." };
                let loud = name.to_ascii_uppercase();
                let spellings = [
                    with_port(&loud, port),
                    with_port(&format!("{name}{dot}"), port),
                    with_port(&name, port.or(Some(default_port))),
                    with_port(&format!("{loud}{dot}"), port.or(Some(default_port))),
                ];
                let answer = rules.allows(&scheme, Some(&with_port(&name, port)), &email);
                for spelling in spellings {
                    prop_assert_eq!(rules.allows(&scheme, Some(&spelling), &email), answer, "{}", spelling);
                }
            }

            #[test]
            fn a_rule_and_its_spellings_admit_the_same_hosts(
                rule_host in "(\\*\\.)?(wiki|admin|docs)\\.example\\.com",
                name in host_name(),
                email in "(alice|eve)@example\\.com",
            ) {
                let judge = |rule_host: &str| {
                    AccessRules::new(&[rule(rule_host, &["alice@example.com"])])
                        .unwrap()
                        .allows("https", Some(&name), &email)
                };
                let answer = judge(&rule_host);
                for spelling in [rule_host.to_ascii_uppercase(), format!("{rule_host}."), format!("{rule_host}:443")] {
                    prop_assert_eq!(judge(&spelling), answer, "{}", spelling);
                }
            }
        }
    }
}
