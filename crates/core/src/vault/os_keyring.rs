//! The OS keyring as a secret store: Secret Service on Linux, the Credential Manager on
//! Windows, the Keychain on macOS (the `keyring` crate's native backends, one per
//! platform, chosen at build time).
//!
//! Two things the crate does not do, done here:
//! - **Prove it keeps what it is given.** Built for a platform without a backend, keyring
//!   falls back to a mock store whose `set` succeeds and whose values vanish with the
//!   process: every camera rotated in that session would be lost. [`Keyring::self_test`]
//!   writes a probe through one handle and reads it through a fresh one.
//! - **Hold secrets larger than a credential.** Windows keeps at most 2,560 bytes per
//!   credential; a CA key in PEM is larger. A value over [`ENTRY_LIMIT`] is sealed (age,
//!   X25519) in a file of its own under `large-secrets/`, to a key that lives in the
//!   keyring, and the keyring entry names the file. The limit is the same everywhere, so
//!   the path Windows needs is the one the Linux tests drive.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use super::SecretStore;
use crate::error::{Error, Result};
use crate::secret::Secret;

const SERVICE: &str = super::SERVICE;

/// The largest value kept in a keyring entry itself (bytes). Windows' limit is 2,560
/// bytes of UTF-16, so 1,280 characters; this leaves room.
pub const ENTRY_LIMIT: usize = 1024;

/// What a keyring entry holds for a value kept in a sealed file.
const SEALED: &str = "portcullis-sealed-file:";

/// The keyring entry of the key large values are sealed to.
const SEALING_KEY: &str = "key/large-secrets/age-x25519";

/// The OS keyring, with the data directory for values too large for it.
#[derive(Debug)]
pub struct Keyring {
    large: PathBuf,
}

impl Keyring {
    pub fn new(home: &Path) -> Keyring {
        Keyring { large: home.join("large-secrets") }
    }

    /// Prove the keyring keeps what it is given: a probe written through one handle,
    /// read back through a fresh one, then deleted. A mock store, a locked or absent
    /// Secret Service, a Credential Manager that refuses: each is an error that says
    /// how to use the file vault instead.
    pub fn self_test(&self) -> Result<()> {
        let key = format!("probe/{}", hex::encode(rand::random::<[u8; 8]>()));
        let value = hex::encode(rand::random::<[u8; 16]>());
        let refuse = |why: String| {
            Error::Local(format!(
                "the OS keyring does not keep what it is given ({why}): nothing was changed. Unlock it, or use \
                 the encrypted file vault (PORTCULLIS_VAULT=file, passphrase in PORTCULLIS_VAULT_PASSPHRASE)"
            ))
        };
        let writer = keyring::Entry::new(SERVICE, &key).map_err(|e| refuse(e.to_string()))?;
        writer.set_password(&value).map_err(|e| refuse(e.to_string()))?;
        let read = keyring::Entry::new(SERVICE, &key).map_err(|e| refuse(e.to_string()))?.get_password();
        let _ = writer.delete_credential();
        match read {
            Ok(v) if v == value => Ok(()),
            Ok(_) => Err(refuse("a probe read back different".into())),
            Err(keyring::Error::NoEntry) => {
                Err(refuse("a probe written was gone when read through a new handle".into()))
            }
            Err(e) => Err(refuse(e.to_string())),
        }
    }

    fn entry(key: &str) -> Result<keyring::Entry> {
        keyring::Entry::new(SERVICE, key).map_err(|e| keyring_error(&e))
    }

    fn get_entry(key: &str) -> Result<Option<String>> {
        match Self::entry(key)?.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keyring_error(&e)),
        }
    }

    fn set_entry(key: &str, value: &str) -> Result<()> {
        Self::entry(key)?.set_password(value).map_err(|e| keyring_error(&e))
    }

    /// The file a large value of `key` is sealed in (named by a digest: keys hold
    /// addresses and user names).
    fn sealed_path(&self, key: &str) -> PathBuf {
        let digest = <sha2::Sha256 as sha2::Digest>::digest(key.as_bytes());
        let name: String = hex::encode(digest).chars().take(32).collect();
        self.large.join(format!("{name}.age"))
    }

    /// The key large values are sealed to: made on first use, kept in the keyring.
    fn sealing_key(&self, create: bool) -> Result<age::x25519::Identity> {
        if let Some(text) = Self::get_entry(SEALING_KEY)? {
            let text = zeroize::Zeroizing::new(text);
            return age::x25519::Identity::from_str(text.trim())
                .map_err(|e| Error::Local(format!("OS keyring: the key for large secrets is damaged: {e}")));
        }
        if !create {
            return Err(Error::Local(
                "OS keyring: the key for large secrets is missing, so a sealed value cannot be opened".into(),
            ));
        }
        use age::secrecy::ExposeSecret;
        let key = age::x25519::Identity::generate();
        Self::set_entry(SEALING_KEY, key.to_string().expose_secret())?;
        Ok(key)
    }

    fn open_sealed(&self, file: &str) -> Result<Secret> {
        // Only a name of our own making: the entry could have been edited by hand.
        let path = self.large.join(file);
        let ours = file.len() == 36
            && file.strip_suffix(".age").is_some_and(|stem| stem.chars().all(|c| c.is_ascii_hexdigit()));
        if !ours {
            return Err(Error::Local(format!("OS keyring: an entry names {file:?}, not a sealed file of ours")));
        }
        let data = std::fs::read(&path).map_err(|e| Error::Local(format!("{}: {e}", path.display())))?;
        let plain = zeroize::Zeroizing::new(
            age::decrypt(&self.sealing_key(false)?, &data)
                .map_err(|e| Error::Local(format!("{}: cannot decrypt: {e}", path.display())))?,
        );
        let text = std::str::from_utf8(&plain).map_err(|e| Error::Local(format!("{}: {e}", path.display())))?;
        Ok(Secret::new(text))
    }
}

impl SecretStore for Keyring {
    fn get(&self, key: &str) -> Result<Option<Secret>> {
        match Self::get_entry(key)? {
            Some(v) => match v.strip_prefix(SEALED) {
                Some(file) => self.open_sealed(file).map(Some),
                None => Ok(Some(Secret::new(v))),
            },
            None => Ok(None),
        }
    }

    fn set(&self, key: &str, value: &Secret) -> Result<()> {
        let sealed = self.sealed_path(key);
        if value.expose().len() <= ENTRY_LIMIT {
            Self::set_entry(key, value.expose())?;
            // A large value this one replaces is not left behind.
            let _ = std::fs::remove_file(&sealed);
            return Ok(());
        }
        let to = self.sealing_key(true)?.to_public();
        let data = age::encrypt(&to, value.expose().as_bytes())
            .map_err(|e| Error::Local(format!("sealing a large secret: {e}")))?;
        crate::files::private_dir(&self.large)?;
        // The file first: an entry naming a file that is not there would lose the value.
        crate::files::write_private(&sealed, &data)?;
        let name = sealed.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Self::set_entry(key, &format!("{SEALED}{name}"))
    }

    fn delete(&self, key: &str) -> Result<()> {
        match Self::entry(key)?.delete_credential() {
            Ok(()) | Err(keyring::Error::NoEntry) => {}
            Err(e) => return Err(keyring_error(&e)),
        }
        match std::fs::remove_file(self.sealed_path(key)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(Error::Local(format!("{}: {e}", self.sealed_path(key).display())))
            }
            _ => Ok(()),
        }
    }

    fn describe(&self) -> String {
        #[cfg(target_os = "windows")]
        let which = "the Windows Credential Manager";
        #[cfg(target_os = "macos")]
        let which = "the macOS Keychain";
        #[cfg(not(any(target_os = "windows", target_os = "macos")))]
        let which = "the OS keyring (Secret Service)";
        which.into()
    }
}

fn keyring_error(e: &keyring::Error) -> Error {
    Error::Local(format!(
        "OS keyring: {e}. On a headless machine, use the file vault (PORTCULLIS_VAULT=file, passphrase in PORTCULLIS_VAULT_PASSPHRASE)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mock store keyring falls back to where a platform has no backend: `set`
    /// succeeds and a fresh handle finds nothing. The self-test must refuse it.
    #[test]
    fn a_store_that_forgets_is_refused_by_the_self_test() {
        keyring::set_default_credential_builder(keyring::mock::default_credential_builder());
        let home = std::env::temp_dir().join(format!("pc-keyring-mock-{}", std::process::id()));
        let e = Keyring::new(&home).self_test().unwrap_err().to_string();
        assert!(e.contains("does not keep") && e.contains("PORTCULLIS_VAULT=file"), "{e}");
    }
}
