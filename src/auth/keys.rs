//! The secret key and the keys derived from it. The secret lives outside the
//! database (a file created with mode 0600, or `secret_key`), so that a dump
//! of the database alone cannot be used to forge cookies or test codes.

use std::io::Write;
use std::path::Path;

use actix_web::cookie::Key;
use anyhow::{Context, bail};
use hmac::{Hmac, KeyInit, Mac};
use rand::TryRng as _;
use sha2::Sha256;

use crate::config::Settings;

type HmacSha256 = Hmac<Sha256>;

/// Keys for each use, derived from the one secret so that no two uses share a key.
#[derive(Clone)]
pub struct Keys {
    /// Encrypts the session cookie (actix-session `Private`).
    pub cookie: Key,
    /// Keyed hash of one-time codes and link tokens.
    pub codes: [u8; 32],
    /// Keyed hash of CSRF tokens before a session exists.
    pub csrf: [u8; 32],
    /// Seals queued mail bodies (which hold codes and links) in the outbox.
    pub outbox: [u8; 32],
}

impl Keys {
    pub fn from_secret(secret: &[u8]) -> anyhow::Result<Self> {
        if secret.len() < 32 {
            bail!("the secret key must be at least 32 bytes");
        }
        let mut cookie = [0u8; 64];
        cookie[..32].copy_from_slice(&derive(secret, b"gatehouse cookie key part 1"));
        cookie[32..].copy_from_slice(&derive(secret, b"gatehouse cookie key part 2"));
        Ok(Self {
            cookie: Key::try_from(&cookie[..]).context("deriving the cookie key")?,
            codes: derive(secret, b"gatehouse one-time codes"),
            csrf: derive(secret, b"gatehouse csrf"),
            outbox: derive(secret, b"gatehouse outbox"),
        })
    }

    /// `secret_key` when set, else the contents of `secret_key_file`,
    /// which is created (mode 0600) with 64 random bytes when missing.
    pub fn load(settings: &Settings) -> anyhow::Result<Self> {
        match &settings.secret_key {
            Some(secret) => Self::from_secret(secret.as_bytes())
                .context("invalid configuration: `secret_key` must be at least 32 characters"),
            None => {
                let secret = read_or_create(&settings.secret_key_file)?;
                Self::from_secret(&secret).with_context(|| {
                    format!(
                        "invalid configuration: `secret_key_file` {} holds fewer than 32 bytes",
                        settings.secret_key_file.display()
                    )
                })
            }
        }
    }
}

/// HMAC-SHA-256(secret, label): a PRF, so each label gives an independent key.
fn derive(secret: &[u8], label: &[u8]) -> [u8; 32] {
    keyed_hash(secret, label)
}

/// HMAC-SHA-256 of `data` under `key`.
pub fn keyed_hash(key: &[u8], data: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().into()
}

fn read_or_create(path: &Path) -> anyhow::Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(trim_ascii(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = [0u8; 64];
            rand::rngs::SysRng
                .try_fill_bytes(&mut secret)
                .map_err(|e| anyhow::anyhow!("reading the OS random generator: {e}"))?;
            let encoded = hex::encode(secret);
            write_private(path, encoded.as_bytes()).with_context(|| {
                format!("invalid configuration: `secret_key_file` {} cannot be created", path.display())
            })?;
            tracing::info!(path = %path.display(), "created a new secret key file");
            Ok(encoded.into_bytes())
        }
        Err(e) => Err(e).with_context(|| {
            format!("invalid configuration: `secret_key_file` {} cannot be read", path.display())
        }),
    }
}

fn trim_ascii(mut bytes: Vec<u8>) -> Vec<u8> {
    while bytes.last().is_some_and(|b| b.is_ascii_whitespace()) {
        bytes.pop();
    }
    bytes
}

fn write_private(path: &Path, contents: &[u8]) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(contents)?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_key_file_is_created_private_and_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings { secret_key_file: dir.path().join("k"), ..Settings::default() };
        let first = Keys::load(&settings).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&settings.secret_key_file).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = Keys::load(&settings).unwrap();
        assert_eq!(first.codes, second.codes);
    }

    #[test]
    fn derived_keys_differ_by_use() {
        let keys = Keys::from_secret(&[7u8; 32]).unwrap();
        assert_ne!(keys.codes, keys.csrf);
        assert_ne!(keys.codes, keys.outbox);
        assert_ne!(keys.csrf, keys.outbox);
    }

    #[test]
    fn a_short_secret_is_refused() {
        assert!(Keys::from_secret(b"short").is_err());
    }
}
