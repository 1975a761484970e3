//! One-time codes and link tokens: drawn from the OS CSPRNG, never stored in
//! the clear (HMAC-SHA-256 under the secret key), compared in constant time.

use std::fmt;

use base64::Engine as _;
use rand::RngExt as _;
use subtle::ConstantTimeEq as _;

use super::keys::keyed_hash;

/// A code as emailed or typed. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeCode(String);

impl OneTimeCode {
    /// A uniform code of `length` digits from the OS generator.
    pub fn generate(length: u32) -> Self {
        let mut rng = rand::rand_core::UnwrapErr(rand::rngs::SysRng);
        // One uniform digit at a time: no modulo bias, any length.
        let digits = (0..length).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect();
        Self(digits)
    }

    /// Reads what a person typed or pasted: spaces, dashes and full-width
    /// digits are accepted; anything else that is not `length` digits is `None`.
    pub fn parse(raw: &str, length: u32) -> Option<Self> {
        let mut digits = String::with_capacity(length as usize);
        for c in raw.chars() {
            match c {
                '0'..='9' => digits.push(c),
                '０'..='９' => digits.push(char::from(b'0' + (c as u32 - '０' as u32) as u8)),
                ' ' | '-' | '\u{a0}' | '\u{2009}' | '\u{2010}'..='\u{2015}' | '\t' => {}
                _ => return None,
            }
            if digits.len() > length as usize {
                return None;
            }
        }
        (digits.len() == length as usize).then_some(Self(digits))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The keyed hash stored in the database.
    pub fn digest(&self, key: &[u8; 32]) -> Vec<u8> {
        keyed_hash(key, format!("code:{}", self.0).as_bytes()).to_vec()
    }

    /// Constant-time comparison with a stored digest.
    pub fn matches(&self, key: &[u8; 32], stored: &[u8]) -> bool {
        self.digest(key).ct_eq(stored).into()
    }
}

impl fmt::Debug for OneTimeCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeCode(<redacted>)")
    }
}

/// A random URL-safe token of 256 bits (link tokens, CSRF tokens).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rand_core::UnwrapErr(rand::rngs::SysRng).fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

/// Tokens are 43 URL-safe base64 characters; anything else is not worth a lookup.
pub fn looks_like_token(token: &str) -> bool {
    token.len() == 43 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The keyed hash under which a link token is stored and looked up.
pub fn link_digest(key: &[u8; 32], token: &str) -> Vec<u8> {
    keyed_hash(key, format!("link:{token}").as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_have_the_configured_length_and_only_digits() {
        for length in [6, 8, 10] {
            let code = OneTimeCode::generate(length);
            assert_eq!(code.as_str().len(), length as usize);
            assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn digits_are_uniform() {
        let mut counts = [0u32; 10];
        for _ in 0..2_000 {
            for b in OneTimeCode::generate(10).as_str().bytes() {
                counts[usize::from(b - b'0')] += 1;
            }
        }
        // 20,000 digits: each should be near 2,000; 1,700..2,300 is > 6 sigma.
        assert!(counts.iter().all(|&c| (1_700..2_300).contains(&c)), "{counts:?}");
    }

    #[test]
    fn pasted_codes_are_normalised() {
        let expected = OneTimeCode::parse("483920", 6).unwrap();
        for pasted in ["483 920", "483-920", " 483920 ", "４８３９２０", "483\u{a0}920"] {
            assert_eq!(OneTimeCode::parse(pasted, 6).as_ref(), Some(&expected), "{pasted}");
        }
    }

    #[test]
    fn wrong_shapes_are_not_codes() {
        for bad in ["48392", "4839201", "48392a", "", "483920\0"] {
            assert!(OneTimeCode::parse(bad, 6).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn digests_match_only_their_code_and_key() {
        let key = [1u8; 32];
        let code = OneTimeCode::parse("123456", 6).unwrap();
        let stored = code.digest(&key);
        assert!(code.matches(&key, &stored));
        assert!(!OneTimeCode::parse("123457", 6).unwrap().matches(&key, &stored));
        assert!(!code.matches(&[2u8; 32], &stored));
    }

    #[test]
    fn link_tokens_carry_256_random_bits() {
        let token = random_token();
        assert_eq!(token.len(), 43);
        assert_ne!(token, random_token());
    }

    mod properties {
        use proptest::prelude::*;

        use super::*;

        proptest! {
            #[test]
            fn any_input_is_parsed_without_panicking(raw in any::<String>(), length in 6u32..=10) {
                let _ = OneTimeCode::parse(&raw, length);
            }

            #[test]
            fn an_accepted_code_is_exactly_its_digits_and_round_trips(raw in "[0-9 -]{0,24}", length in 6u32..=10) {
                if let Some(code) = OneTimeCode::parse(&raw, length) {
                    prop_assert_eq!(code.as_str().len(), length as usize);
                    prop_assert!(code.as_str().bytes().all(|b| b.is_ascii_digit()));
                    let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
                    prop_assert_eq!(code.as_str(), digits.as_str());
                    prop_assert_eq!(OneTimeCode::parse(code.as_str(), length), Some(code.clone()));
                }
            }

            #[test]
            fn a_generated_code_survives_any_spacing_a_person_pastes(
                length in 6u32..=10,
                separators in prop::collection::vec(prop::sample::select(vec!["", " ", "-", "\u{a0}"]), 10),
            ) {
                let code = OneTimeCode::generate(length);
                let pasted: String = code.as_str().chars().zip(&separators).map(|(d, s)| format!("{d}{s}")).collect();
                prop_assert_eq!(OneTimeCode::parse(&pasted, length), Some(code));
            }
        }
    }
}
