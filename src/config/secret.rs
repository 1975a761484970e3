//! Where the secret key comes from: `secret_key`, or the file
//! `secret_key_file`, created (mode 0600) with 64 random bytes when missing
//! and refused when other users may read it.

use std::fs::File;
use std::io::{Read as _, Write};
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
    match File::open(path) {
        Ok(mut file) => {
            refuse_if_shared(path, &file)?;
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).with_context(|| cannot(path, "read"))?;
            Ok(trim_ascii(bytes))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut secret = [0u8; 64];
            rand::rngs::SysRng
                .try_fill_bytes(&mut secret)
                .map_err(|e| anyhow::anyhow!("reading the OS random generator: {e}"))?;
            let encoded = hex::encode(secret);
            write_private(path, encoded.as_bytes()).with_context(|| cannot(path, "created"))?;
            tracing::info!(path = %path.display(), "created a new secret key file");
            Ok(encoded.into_bytes())
        }
        Err(e) => Err(e).with_context(|| cannot(path, "read")),
    }
}

fn cannot(path: &Path, what: &str) -> String {
    format!("invalid configuration: `secret_key_file` {} cannot be {what}", path.display())
}

/// Like ssh with a private key, a key file that its group or others may
/// read or write is refused: whoever reads the key can forge session
/// cookies and CSRF tokens. The mode is that of the open file, so the file
/// checked is the file read.
#[cfg(unix)]
fn refuse_if_shared(path: &Path, file: &File) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = file.metadata().with_context(|| cannot(path, "read"))?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        anyhow::bail!(
            "invalid configuration: `secret_key_file` {path} is open to other users (mode {mode:03o}); \
             make it private with: chmod 600 {path}",
            path = path.display()
        );
    }
    Ok(())
}

#[cfg(not(unix))]
fn refuse_if_shared(_path: &Path, _file: &File) -> anyhow::Result<()> {
    Ok(())
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

    #[cfg(unix)]
    #[test]
    fn a_key_file_that_others_can_read_or_write_is_refused_as_ssh_refuses_a_key() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k");
        std::fs::write(&path, "k".repeat(64)).unwrap();
        let source = SecretSource::File(path.clone());
        for mode in [0o644, 0o640, 0o604, 0o660, 0o602, 0o620] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            let Err(error) = source.load() else { panic!("a key file of mode {mode:o} was accepted") };
            let message = format!("{error:#}");
            assert!(message.contains("`secret_key_file`"), "{message}");
            assert!(message.contains(&format!("chmod 600 {}", path.display())), "{message}");
            assert!(message.contains(&format!("{mode:o}")), "{message}");
        }
        for mode in [0o600, 0o400] {
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
            source.load().unwrap_or_else(|e| panic!("mode {mode:o}: {e:#}"));
        }
    }
}
