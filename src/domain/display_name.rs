//! An account's display name, as the operator gives it: shown on the
//! account page and sent to apps as `Remote-Name`. Text for people, never
//! markup or a way to split a header: no control or invisible formatting
//! characters.

use std::fmt;

/// Long enough for any real name; short enough for a header line.
const MAX_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum NameError {
    #[error("the name is empty")]
    Empty,
    #[error("the name is longer than {MAX_CHARS} characters")]
    TooLong,
    #[error("the name contains a control or invisible formatting character")]
    Hidden,
}

impl DisplayName {
    /// Trims the ends and folds inner runs of whitespace into one space.
    pub fn parse(raw: &str) -> Result<Self, NameError> {
        if raw.chars().any(|c| c.is_control() || is_invisible_format(c)) {
            return Err(NameError::Hidden);
        }
        let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        match name.chars().count() {
            0 => Err(NameError::Empty),
            n if n > MAX_CHARS => Err(NameError::TooLong),
            _ => Ok(Self(name)),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Characters that change how text around them shows without showing
/// themselves: zero-width ones, bidirectional overrides and isolates
/// ("Trojan Source"), the byte-order mark.
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{00AD}' | '\u{061C}' | '\u{180E}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
}

#[cfg(test)]
mod tests {
    use super::{DisplayName, NameError};

    #[test]
    fn names_are_trimmed_and_inner_whitespace_folded() {
        assert_eq!(DisplayName::parse("  Zoë   Ünal ").unwrap().as_str(), "Zoë Ünal");
        assert_eq!(DisplayName::parse("李小龍").unwrap().as_str(), "李小龍");
        assert_eq!(DisplayName::parse(&"a".repeat(100)).unwrap().as_str().len(), 100);
    }

    #[test]
    fn empty_long_and_hidden_characters_are_refused() {
        assert_eq!(DisplayName::parse("   "), Err(NameError::Empty));
        assert_eq!(DisplayName::parse(&"é".repeat(101)), Err(NameError::TooLong));
        for hidden in
            ["Ann\r\nX-Admin: 1", "Ann\tLee", "Ann\u{0}", "Ann\u{202E}eeL", "A\u{200B}nn", "\u{FEFF}Ann"]
        {
            assert_eq!(DisplayName::parse(hidden), Err(NameError::Hidden), "{hidden:?}");
        }
    }
}
