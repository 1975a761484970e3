//! `Password`: a secret as typed, with the length rules of SECURITY.md item
//! 10 and the blocklist of common passwords. Hashing is `core::hashing`.

use std::fmt;

pub const MIN_LENGTH: usize = 8;
pub const MAX_LENGTH: usize = 128;

/// A password as typed. Its `Debug` prints nothing, so it cannot reach a log.
#[derive(Clone)]
pub struct Password(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("the password must be at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("the password must not contain control characters")]
    ControlCharacter,
    #[error("that password is one of the most common passwords; choose another")]
    Common,
}

/// The most common passwords of 8 characters or more, lower-cased: the
/// 19,640-entry list Django ships (BSD licence; compiled by Royce Williams
/// from breach corpora), filtered to the lengths we would otherwise accept.
static COMMON_PASSWORDS: &str = include_str!("common_passwords.txt");

fn is_common(password: &str) -> bool {
    static SET: std::sync::OnceLock<std::collections::HashSet<&'static str>> = std::sync::OnceLock::new();
    let set = SET.get_or_init(|| COMMON_PASSWORDS.lines().collect());
    set.contains(password.to_lowercase().as_str())
}

impl Password {
    /// A password as submitted at sign-in: anything up to the maximum length
    /// is checked against the stored hash (older passwords may be shorter).
    pub fn for_sign_in(raw: String) -> Result<Self, PasswordError> {
        if raw.chars().count() > MAX_LENGTH {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(raw))
    }

    /// A new password being set: 8–128 characters, no composition rules.
    pub fn new_secret(raw: String) -> Result<Self, PasswordError> {
        let length = raw.chars().count();
        if length < MIN_LENGTH {
            return Err(PasswordError::TooShort);
        }
        if length > MAX_LENGTH {
            return Err(PasswordError::TooLong);
        }
        if raw.chars().any(char::is_control) {
            return Err(PasswordError::ControlCharacter);
        }
        if is_common(&raw) {
            return Err(PasswordError::Common);
        }
        Ok(Self(raw))
    }

    /// The bytes to hash; only the hasher calls this.
    pub fn expose(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_rules_count_characters_not_bytes() {
        assert_eq!(Password::new_secret("short".into()).unwrap_err(), PasswordError::TooShort);
        assert!(Password::new_secret("ééééééé€".into()).is_ok());
        assert_eq!(Password::new_secret("x".repeat(129)).unwrap_err(), PasswordError::TooLong);
        assert_eq!(Password::for_sign_in("x".repeat(129)).unwrap_err(), PasswordError::TooLong);
    }

    #[test]
    fn common_passwords_are_refused_whatever_their_case() {
        for common in ["password", "Password1", "iloveyou", "qwertyuiop"] {
            assert_eq!(Password::new_secret(common.into()).unwrap_err(), PasswordError::Common, "{common}");
        }
        assert!(Password::new_secret("a sentence nobody has used".into()).is_ok());
    }

    #[test]
    fn debug_never_shows_the_password() {
        let p = Password::new_secret("hunter2hunter2".into()).unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
