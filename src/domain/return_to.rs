//! `return_to`: where to send the browser after sign-in. Only a path on this
//! origin or a URL whose host is on `allowed_return_hosts`; anything else is
//! dropped silently (never followed). Parsing uses the WHATWG URL rules that
//! browsers use, so `//evil`, `/\evil` and `https:evil` resolve to the host a
//! browser would visit, and that host is what is checked.

use url::Url;

use super::host::HostPattern;

/// The rules for accepting a `return_to`.
#[derive(Clone, Debug)]
pub struct ReturnPolicy {
    origin: Url,
    allowed: Vec<HostPattern>,
}

impl ReturnPolicy {
    pub fn new(origin: Url, allowed: Vec<HostPattern>) -> Self {
        Self { origin, allowed }
    }

    /// The hosts other than this origin that `return_to` may name.
    pub fn allowed_hosts(&self) -> &[HostPattern] {
        &self.allowed
    }

    /// The target to redirect to, or `None` when `raw` must be dropped.
    /// Same-origin targets come back as a path (`/app?x=1`), others absolute.
    pub fn check(&self, raw: &str) -> Option<String> {
        if raw.is_empty() || raw.len() > 2048 || raw.chars().any(|c| c.is_control() || c == '\\') {
            return None;
        }
        // Only absolute URLs or absolute paths; no scheme-relative or relative tricks.
        if !(raw.starts_with('/') || raw.starts_with("https://") || raw.starts_with("http://")) {
            return None;
        }
        let url = self.origin.join(raw).ok()?;
        if !matches!(url.scheme(), "http" | "https") || !url.username().is_empty() || url.password().is_some()
        {
            return None;
        }
        if url.origin() == self.origin.origin() {
            let mut path = url.path().to_owned();
            if let Some(query) = url.query() {
                path.push('?');
                path.push_str(query);
            }
            // The path alone must still be read as a path by a browser.
            return (path.starts_with('/') && !path.starts_with("//")).then_some(path);
        }
        let scheme_ok = url.scheme() == "https" || self.origin.scheme() == "http";
        (scheme_ok && self.allowed.iter().any(|p| p.matches(&url))).then(|| url.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(allowed: &[&str]) -> ReturnPolicy {
        let allowed = allowed.iter().map(|s| HostPattern::parse(s).unwrap()).collect();
        ReturnPolicy::new(Url::parse("https://login.example.com").unwrap(), allowed)
    }

    #[test]
    fn same_origin_paths_are_kept() {
        assert_eq!(policy(&[]).check("/app?x=1").as_deref(), Some("/app?x=1"));
        assert_eq!(policy(&[]).check("https://login.example.com/a").as_deref(), Some("/a"));
    }

    #[test]
    fn open_redirect_tricks_are_dropped() {
        for bad in [
            "//evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "https:evil.example",
            "https://evil.example/",
            "/%5cevil.example",
            "javascript:alert(1)",
            "http://login.example.com@evil.example/",
            "/\t/evil.example",
            "evil.example",
            "///evil.example",
            "https://login.example.com.evil.example/",
        ] {
            let checked = policy(&[]).check(bad);
            assert!(
                checked.as_deref().is_none_or(|p| p.starts_with('/') && !p.starts_with("//")),
                "{bad:?} gave {checked:?}"
            );
            assert!(checked.is_none() || bad == "/%5cevil.example", "{bad:?} gave {checked:?}");
        }
    }

    #[test]
    fn allowed_hosts_and_wildcards_match_exactly() {
        let p = policy(&["app.example.com", "*.corp.example", "wiki.example.com:8443"]);
        assert!(p.check("https://app.example.com/x").is_some());
        assert!(p.check("https://app.example.com:9999/x").is_some());
        assert!(p.check("https://a.corp.example/").is_some());
        assert!(p.check("https://corp.example/").is_none());
        assert!(p.check("https://evilcorp.example/").is_none());
        assert!(p.check("https://wiki.example.com:8443/").is_some());
        assert!(p.check("https://wiki.example.com/").is_none());
        assert!(p.check("http://app.example.com/").is_none(), "plain http from an https portal");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        fn tricky() -> impl Strategy<Value = String> {
            let pieces = prop::sample::select(vec![
                "/",
                "//",
                "\\",
                "https:",
                "http:",
                "//evil.example",
                "app.example.com",
                "login.example.com",
                "@",
                ":",
                "%2f",
                "%5c",
                "?",
                "#",
                ".",
                "..",
                "\t",
                "evil.example",
                "a.corp.example",
                "x",
                "/path",
            ]);
            prop::collection::vec(pieces, 1..8).prop_map(|parts| parts.concat())
        }

        proptest! {
            #[test]
            fn any_target_is_checked_without_panicking(raw in any::<String>()) {
                let _ = policy(&["app.example.com", "*.corp.example"]).check(&raw);
            }

            #[test]
            fn an_accepted_target_never_leaves_the_allowed_origins(raw in tricky()) {
                let policy = policy(&["app.example.com", "*.corp.example"]);
                if let Some(target) = policy.check(&raw) {
                    // Where a browser on the sign-in page would go.
                    let origin = Url::parse("https://login.example.com").unwrap();
                    let landed = origin.join(&target).unwrap();
                    let host = landed.host_str().unwrap_or_default();
                    let allowed = host == "login.example.com"
                        || host == "app.example.com"
                        || host.ends_with(".corp.example");
                    prop_assert!(allowed, "{raw:?} gave {target:?}, which lands on {landed}");
                    prop_assert_eq!(policy.check(&target), Some(target.clone()), "checking again keeps it");
                }
            }
        }
    }
}
