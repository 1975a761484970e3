//! `smtp_url`: which SMTP connections are allowed (the transport itself is
//! built by `mail::transport`). `smtps://` (implicit TLS)
//! and `smtp://…?tls=required` (STARTTLS, never falling back) are for real
//! relays; plain SMTP only to a loopback relay or with an explicit `?tls=none`.
//! Credentials come from the URL (`smtps://user:password@host`, AUTH after
//! TLS); `smtp_ca_file` adds trusted CAs for a private relay.

use url::Url;

use crate::domain::host::is_loopback_host;

/// Holds the SMTP password (in `lettre_url`): no `Debug`, so it cannot be
/// logged by accident; `host` is what logs may name.
#[derive(Clone)]
pub struct SmtpSettings {
    /// The URL handed to lettre (with `tls=none` removed: lettre's plain form).
    lettre_url: String,
    pub plain: bool,
    /// `smtps://`: TLS from the first byte rather than STARTTLS.
    implicit_tls: bool,
    pub host: String,
}

impl SmtpSettings {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let url = Url::parse(raw).map_err(|e| format!("is not a URL: {e}"))?;
        let host = url.host_str().filter(|h| !h.is_empty()).ok_or("needs a host")?.to_owned();
        let tls = url.query_pairs().find(|(k, _)| k == "tls").map(|(_, v)| v.into_owned());
        let plain = match (url.scheme(), tls.as_deref()) {
            ("smtps", None) => false,
            ("smtp", Some("required")) => false,
            ("smtp", Some("none")) => true,
            ("smtp", None) if is_loopback_host(&url) => true,
            ("smtp", None) => {
                return Err("must say how to protect the connection: smtps://host (implicit TLS), \
                            smtp://host?tls=required (STARTTLS), or smtp://host?tls=none (plain, not recommended)"
                    .into());
            }
            ("smtp", Some(other)) => {
                return Err(format!("tls={other} is not supported (use required or none)"));
            }
            ("smtps", Some(_)) => return Err("smtps:// is always TLS: leave out ?tls=".into()),
            (scheme, _) => return Err(format!("scheme {scheme}: is not smtp: or smtps:")),
        };
        let mut lettre_url = url.clone();
        if plain {
            lettre_url.set_query(None);
        }
        Ok(Self { lettre_url: lettre_url.to_string(), plain, implicit_tls: url.scheme() == "smtps", host })
    }

    /// The URL as lettre takes it. It holds the SMTP password: never log it.
    pub fn lettre_url(&self) -> &str {
        &self.lettre_url
    }

    /// `smtps://`: TLS from the first byte rather than STARTTLS.
    pub fn implicit_tls(&self) -> bool {
        self.implicit_tls
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_forms_are_accepted() {
        assert!(!SmtpSettings::parse("smtps://u:p@mail.example.com").unwrap().plain);
        assert!(!SmtpSettings::parse("smtp://mail.example.com:587?tls=required").unwrap().plain);
        let refused = SmtpSettings::parse("smtps://mail.example.com?tls=required").err().unwrap();
        assert!(refused.contains("always TLS"), "{refused}");
    }

    #[test]
    fn plain_smtp_needs_loopback_or_an_explicit_choice() {
        assert!(SmtpSettings::parse("smtp://127.0.0.1:2525").unwrap().plain);
        assert!(SmtpSettings::parse("smtp://mail.example.com").is_err());
        assert!(SmtpSettings::parse("smtp://mail.example.com?tls=opportunistic").is_err());
        assert!(SmtpSettings::parse("smtp://mail.example.com?tls=none").unwrap().plain);
    }
}
