//! The keys derived from the one secret key, each for one use, so that no
//! two uses share a key. The secret lives outside the database (see
//! `config::secret`), so a dump of the database alone cannot be used to
//! forge cookies or test codes.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The secret must be at least this long.
pub const MIN_SECRET_BYTES: usize = 32;

#[derive(Clone)]
pub struct Keys {
    /// Encrypts the session cookie (64 bytes, as the cookie library wants).
    pub cookie: [u8; 64],
    /// Keyed hash of one-time codes, link tokens and browser tokens.
    pub codes: [u8; 32],
    /// Keyed hash of CSRF tokens before a session exists.
    pub csrf: [u8; 32],
    /// Seals queued mail bodies (which hold codes and links) in the outbox.
    pub outbox: [u8; 32],
}

#[derive(Debug, thiserror::Error)]
#[error("the secret key must be at least {MIN_SECRET_BYTES} bytes")]
pub struct ShortSecret;

impl Keys {
    pub fn from_secret(secret: &[u8]) -> Result<Self, ShortSecret> {
        if secret.len() < MIN_SECRET_BYTES {
            return Err(ShortSecret);
        }
        let mut cookie = [0u8; 64];
        cookie[..32].copy_from_slice(&keyed_hash(secret, b"gatehouse cookie key part 1"));
        cookie[32..].copy_from_slice(&keyed_hash(secret, b"gatehouse cookie key part 2"));
        Ok(Self {
            cookie,
            codes: keyed_hash(secret, b"gatehouse one-time codes"),
            csrf: keyed_hash(secret, b"gatehouse csrf"),
            outbox: keyed_hash(secret, b"gatehouse outbox"),
        })
    }
}

/// HMAC-SHA-256 of `data` under `key`: a PRF, so each label gives an independent key.
pub fn keyed_hash(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_keys_differ_by_use() {
        let keys = Keys::from_secret(&[7u8; 32]).unwrap();
        assert_ne!(keys.codes, keys.csrf);
        assert_ne!(keys.codes, keys.outbox);
        assert_ne!(keys.csrf, keys.outbox);
        assert_ne!(keys.cookie[..32], keys.cookie[32..]);
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(Keys::from_secret(b"short").is_err());
    }
}
