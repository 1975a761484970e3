//! `EmailAddress`: parsed once at the edge, lower-cased, and safe to put in a
//! mail header (no CR/LF, no display name, no comments).

use std::fmt;

#[derive(Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EmailError {
    #[error("an email address must not contain line breaks or control characters")]
    ControlCharacter,
    #[error("{0:?} is not a valid email address (expected name@example.com)")]
    Invalid(String),
}

impl EmailAddress {
    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        if raw.chars().any(char::is_control) {
            return Err(EmailError::ControlCharacter);
        }
        let candidate = raw.trim().to_lowercase();
        let invalid = || EmailError::Invalid(raw.trim().chars().take(80).collect());
        if candidate.len() > 254 {
            return Err(invalid());
        }
        let (local, domain) = candidate.rsplit_once('@').ok_or_else(invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.starts_with('.')
            && !local.ends_with('.')
            && !local.contains("..")
            && local.chars().all(|c| c.is_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !local_ok || !domain_ok {
            return Err(invalid());
        }
        // Whatever we accept, the mail library must accept too.
        candidate.parse::<lettre::Address>().map_err(|_| invalid())?;
        Ok(Self(candidate))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// `j•••@example.com`: enough to recognise the mailbox, not to read it.
    pub fn masked(&self) -> String {
        let (local, domain) = self.0.rsplit_once('@').unwrap_or((&self.0, ""));
        let first: String = local.chars().take(1).collect();
        format!("{first}•••@{domain}")
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_lower_cased_and_trimmed() {
        assert_eq!(EmailAddress::parse(" Ann@Example.COM ").unwrap().as_str(), "ann@example.com");
    }

    #[test]
    fn header_injection_is_refused() {
        assert_eq!(
            EmailAddress::parse("a@example.com\r\nBcc: x@evil.test"),
            Err(EmailError::ControlCharacter)
        );
    }

    #[test]
    fn display_names_and_malformed_addresses_are_refused() {
        for bad in [
            "Ann <ann@example.com>",
            "ann",
            "@example.com",
            "ann@",
            "ann@localhost",
            "a..b@example.com",
            "ann@-x.com",
        ] {
            assert!(EmailAddress::parse(bad).is_err(), "{bad} was accepted");
        }
    }

    #[test]
    fn masking_keeps_the_first_letter_and_the_domain() {
        assert_eq!(EmailAddress::parse("john@example.com").unwrap().masked(), "j•••@example.com");
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn any_input_is_parsed_without_panicking(raw in any::<String>()) {
                let _ = EmailAddress::parse(&raw);
            }

            #[test]
            fn an_accepted_address_round_trips_and_is_safe_in_a_header(
                raw in "[ ]{0,2}[A-Za-z0-9._%+-]{1,20}@[A-Za-z0-9-]{1,12}(\\.[A-Za-z0-9-]{1,12}){1,3}[ ]{0,2}",
            ) {
                if let Ok(address) = EmailAddress::parse(&raw) {
                    prop_assert_eq!(EmailAddress::parse(address.as_str()), Ok(address.clone()));
                    prop_assert_eq!(address.as_str(), raw.trim().to_lowercase());
                    prop_assert!(!address.as_str().chars().any(|c| c.is_control() || c.is_whitespace()));
                    prop_assert!(address.as_str().parse::<lettre::Address>().is_ok());
                }
            }

            #[test]
            fn a_line_break_anywhere_is_refused(
                before in "[a-z]{1,8}@[a-z]{1,8}\\.com",
                after in "[A-Za-z: ]{0,20}",
                brk in prop::sample::select(vec!["\r", "\n", "\r\n", "\u{0}"]),
            ) {
                let raw = format!("{before}{brk}{after}");
                prop_assert!(EmailAddress::parse(&raw).is_err());
            }
        }
    }
}
