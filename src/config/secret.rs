//! Where the secret key comes from: `secret_key`, or the file
//! `secret_key_file`, created (mode 0600) with 64 random bytes when missing.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use rand::TryRng as _;

use crate::domain::keys::Keys;

/// The configured source of the secret key; read only by what needs keys
/// (the portal), not by every command.
#[derive(Clone)]
pub enum SecretSource {
    Inline(String),
    File(PathBuf),
}

impl SecretSource {
    /// The keys derived from the secret, creating the key file if it is missing.
    pub fn load(&self) -> anyhow::Result<Keys> {
        match self {
            SecretSource::Inline(secret) => Keys::from_secret(secret.as_bytes())
                .context("invalid configuration: `secret_key` must be at least 32 characters"),
            SecretSource::File(path) => {
                let secret = read_or_create(path)?;
                Keys::from_secret(&secret).with_context(|| {
                    format!(
                        "invalid configuration: `secret_key_file` {} holds fewer than 32 bytes",
                        path.display()
                    )
                })
            }
        }
    }
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
        let source = SecretSource::File(dir.path().join("k"));
        let first = source.load().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join("k")).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let second = source.load().unwrap();
        assert_eq!(first.codes, second.codes);
    }
}
