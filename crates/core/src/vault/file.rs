//! The passphrase-protected file vault (age), for machines without a usable keyring.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::SecretStore;
use crate::error::{Error, Result};
use crate::secret::Secret;

/// A passphrase-protected file vault, in two age files:
/// - `vault-key.age`: an X25519 key of its own, encrypted with the passphrase (scrypt,
///   about a second by design, paid once per process when the vault is opened);
/// - `vault.age`: the secrets, encrypted to that key. A write re-encrypts the map in
///   milliseconds, so a site's worth of rotations (several writes per device) is not
///   minutes of scrypt behind one lock.
///
/// A vault from before the key file (the map encrypted with the passphrase itself) is
/// read with the passphrase and moves to the key on its next write. The plaintext
/// exists only in memory.
#[derive(Debug)]
pub struct FileVault {
    path: PathBuf,
    passphrase: Secret,
    /// scrypt work factor (log2 N); lowered only by tests.
    work_factor: Option<u8>,
    /// The opened vault: its key for the life of the process (unsealing it costs a
    /// scrypt run), its map only as long as the file is the one it was read from.
    cache: std::sync::Mutex<Option<Opened>>,
}

/// The vault's key and its decrypted map.
struct Opened {
    key: age::x25519::Identity,
    /// Whether the key is written down yet (a new vault's is, with its first write).
    key_saved: bool,
    map: BTreeMap<String, String>,
    /// SHA-256 of the file the map was read from or written to: another process (the
    /// desktop app and a CLI run side by side) may have written it since.
    seen: Option<[u8; 32]>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Opened({} entries)", self.map.len())
    }
}

impl Drop for FileVault {
    fn drop(&mut self) {
        if let Ok(mut c) = self.cache.lock() {
            if let Some(opened) = c.as_mut() {
                for v in opened.map.values_mut() {
                    zeroize::Zeroize::zeroize(v);
                }
            }
        }
    }
}

impl FileVault {
    pub fn new(path: PathBuf, passphrase: Secret) -> Self {
        FileVault { path, passphrase, work_factor: None, cache: std::sync::Mutex::new(None) }
    }

    /// Faster, weaker encryption for tests only.
    pub fn with_work_factor(mut self, log_n: u8) -> Self {
        self.work_factor = Some(log_n);
        self
    }

    fn key_path(&self) -> PathBuf {
        self.path.with_file_name("vault-key.age")
    }

    fn cannot(&self, path: &Path, what: impl std::fmt::Display) -> Error {
        Error::Local(format!("{}: {what}", path.display()))
    }

    fn read_if_there(path: &Path) -> Result<Option<Vec<u8>>> {
        match std::fs::read(path) {
            Ok(d) => Ok(Some(d)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::Local(format!("{}: {e}", path.display()))),
        }
    }

    fn passphrase_identity(&self) -> age::scrypt::Identity {
        age::scrypt::Identity::new(self.passphrase.expose().to_string().into())
    }

    /// Run `f` on the vault as the file holds it now: under a lock other processes
    /// honour too, the map re-read whenever another process wrote the file since, so a
    /// change is never made to a stale copy (which would drop another run's passwords).
    fn with_vault<R>(&self, f: impl FnOnce(&mut Opened) -> Result<R>) -> Result<R> {
        let mut cache = self.cache.lock().map_err(|_| Error::Local("vault lock poisoned".into()))?;
        let lock_path = self.path.with_file_name("vault.lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| self.cannot(&lock_path, e))?;
        lock.lock().map_err(|e| self.cannot(&lock_path, e))?;
        let data = Self::read_if_there(&self.path)?;
        let digest = data.as_deref().map(sha256);
        let fresh = match cache.take() {
            Some(opened) if opened.seen == digest => Some(opened),
            // Written by another process: the same key opens it (no scrypt run).
            Some(mut opened) if opened.key_saved => match data.as_deref().map(|d| age::decrypt(&opened.key, d)) {
                Some(Ok(plain)) => {
                    let plain = zeroize::Zeroizing::new(plain);
                    opened.map = serde_json::from_slice(&plain)
                        .map_err(|e| self.cannot(&self.path, format!("corrupt vault: {e}")))?;
                    opened.seen = digest;
                    Some(opened)
                }
                _ => None,
            },
            _ => None,
        };
        *cache = Some(match fresh {
            Some(opened) => opened,
            None => self.open()?,
        });
        let result = match cache.as_mut() {
            Some(opened) => f(opened),
            None => Err(Error::Local("vault cache".into())),
        };
        drop(lock);
        result
    }

    fn open(&self) -> Result<Opened> {
        use std::str::FromStr;
        let key_path = self.key_path();
        let key = match Self::read_if_there(&key_path)? {
            Some(sealed) => {
                let pass = self.passphrase.expose();
                let text = match super::unlocked::recall(&sealed, pass) {
                    Some(held) => held,
                    None => {
                        let plain =
                            zeroize::Zeroizing::new(age::decrypt(&self.passphrase_identity(), &sealed).map_err(
                                |e| self.cannot(&key_path, format!("cannot decrypt ({e}); wrong passphrase?")),
                            )?);
                        let text = std::str::from_utf8(&plain).map_err(|e| self.cannot(&key_path, e))?;
                        let text = zeroize::Zeroizing::new(text.trim().to_string());
                        super::unlocked::remember(&sealed, pass, &text);
                        text
                    }
                };
                Some(age::x25519::Identity::from_str(text.trim()).map_err(|e| self.cannot(&key_path, e))?)
            }
            None => None,
        };
        let map = match Self::read_if_there(&self.path)? {
            None => BTreeMap::new(),
            Some(data) => {
                // Encrypted to the key; or, from before the key file (or a crash between
                // writing the key and re-encrypting), with the passphrase itself.
                let plain = match &key {
                    Some(k) => age::decrypt(k, &data).or_else(|_| age::decrypt(&self.passphrase_identity(), &data)),
                    None => age::decrypt(&self.passphrase_identity(), &data),
                };
                let plain = zeroize::Zeroizing::new(
                    plain.map_err(|e| self.cannot(&self.path, format!("cannot decrypt ({e}); wrong passphrase?")))?,
                );
                serde_json::from_slice(&plain).map_err(|e| self.cannot(&self.path, format!("corrupt vault: {e}")))?
            }
        };
        let key_saved = key.is_some();
        let seen = Self::read_if_there(&self.path)?.as_deref().map(sha256);
        Ok(Opened { key: key.unwrap_or_else(age::x25519::Identity::generate), key_saved, map, seen })
    }

    fn write(&self, opened: &mut Opened) -> Result<()> {
        if !opened.key_saved {
            // The key first: a map encrypted to a key that is nowhere would be lost.
            use age::secrecy::ExposeSecret;
            let mut recipient = age::scrypt::Recipient::new(self.passphrase.expose().to_string().into());
            if let Some(n) = self.work_factor {
                recipient.set_work_factor(n);
            }
            let text = zeroize::Zeroizing::new(opened.key.to_string().expose_secret().to_string());
            let sealed = age::encrypt(&recipient, text.as_bytes())
                .map_err(|e| Error::Local(format!("vault key encryption: {e}")))?;
            crate::files::write_private(&self.key_path(), &sealed)?;
            // Held as after an unseal: the command that made the vault paid scrypt once,
            // and the next one within the window need not pay it again.
            super::unlocked::remember(&sealed, self.passphrase.expose(), &text);
            opened.key_saved = true;
        }
        let plain = zeroize::Zeroizing::new(serde_json::to_vec(&opened.map).map_err(|e| Error::Local(e.to_string()))?);
        let data = age::encrypt(&opened.key.to_public(), &plain)
            .map_err(|e| Error::Local(format!("vault encryption: {e}")))?;
        crate::files::write_private(&self.path, &data)?;
        opened.seen = Some(sha256(&data));
        Ok(())
    }
}

fn sha256(data: &[u8]) -> [u8; 32] {
    <sha2::Sha256 as sha2::Digest>::digest(data).into()
}

impl SecretStore for FileVault {
    fn get(&self, key: &str) -> Result<Option<Secret>> {
        self.with_vault(|v| Ok(v.map.get(key).map(|s| Secret::new(s.clone()))))
    }
    fn get_many(&self, keys: &[String]) -> Result<std::collections::HashMap<String, Secret>> {
        self.with_vault(|v| {
            Ok(keys.iter().filter_map(|k| Some((k.clone(), Secret::new(v.map.get(k)?.clone())))).collect())
        })
    }
    fn set(&self, key: &str, value: &Secret) -> Result<()> {
        self.set_many(&[(key.to_string(), value.clone())])
    }
    fn set_many(&self, items: &[(String, Secret)]) -> Result<()> {
        self.with_vault(|v| {
            for (k, s) in items {
                v.map.insert(k.clone(), s.expose().to_string());
            }
            self.write(v)
        })
    }
    fn delete(&self, key: &str) -> Result<()> {
        self.with_vault(|v| if v.map.remove(key).is_some() { self.write(v) } else { Ok(()) })
    }
    fn describe(&self) -> String {
        format!("the encrypted file {}", self.path.display())
    }
    /// Forget the unsealed key the kernel keyring holds for this vault, if any: the next
    /// command unseals it with the passphrase again.
    fn lock(&self) -> Result<bool> {
        match Self::read_if_there(&self.key_path())? {
            Some(sealed) => Ok(super::unlocked::forget(&sealed, self.passphrase.expose())),
            None => Ok(false),
        }
    }
}
