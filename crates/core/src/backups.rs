//! Configuration backups at rest. A camera's configuration export can hold its user
//! database, so it is never written in clear: each one is age-encrypted (X25519) to a
//! key made on first use and held in the vault only. The run that takes a backup needs
//! only the public half; opening one takes the vault.
//!
//! Files: `backups/<device>/<sha256 of the export>.cfg.age`, 0600 in a 0700 directory.
//! The history records the digest, so an opened backup can be checked against it.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::secret::Secret;

fn local(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Local(format!("{what}: {e}"))
}

/// The key backups are sealed to (public: safe to hold for a whole run).
#[derive(Debug, Clone)]
pub struct BackupRecipient(age::x25519::Recipient);

/// The key that opens backups, read from the vault when one is opened.
pub struct BackupIdentity(age::x25519::Identity);

impl std::fmt::Debug for BackupIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackupIdentity(…)")
    }
}

impl BackupIdentity {
    pub fn generate() -> BackupIdentity {
        BackupIdentity(age::x25519::Identity::generate())
    }

    /// From the vault's text (`AGE-SECRET-KEY-1…`).
    pub fn parse(secret: &Secret) -> Result<BackupIdentity> {
        age::x25519::Identity::from_str(secret.expose().trim())
            .map(BackupIdentity)
            .map_err(|e| local("the vault's backup key", e))
    }

    /// For the vault only.
    pub fn to_secret(&self) -> Secret {
        use age::secrecy::ExposeSecret;
        Secret::new(self.0.to_string().expose_secret().to_string())
    }

    pub fn recipient(&self) -> BackupRecipient {
        BackupRecipient(self.0.to_public())
    }
}

/// Encrypt a configuration export.
pub fn seal(to: &BackupRecipient, plain: &[u8]) -> Result<Vec<u8>> {
    let encryptor = age::Encryptor::with_recipients(std::iter::once(&to.0 as &dyn age::Recipient))
        .map_err(|e| local("backup encryption", e))?;
    let mut out = Vec::with_capacity(plain.len() + 256);
    let mut w = encryptor.wrap_output(&mut out).map_err(|e| local("backup encryption", e))?;
    w.write_all(plain).map_err(|e| local("backup encryption", e))?;
    w.finish().map_err(|e| local("backup encryption", e))?;
    Ok(out)
}

/// Decrypt a backup; the result is checked against the digest in its name.
pub fn open(identity: &BackupIdentity, file: &Path) -> Result<zeroize::Zeroizing<Vec<u8>>> {
    // A device's export is at most 64 MiB (the driver's limit); sealing adds a little.
    let sealed = crate::files::read_bounded(file, 65 * 1024 * 1024)?;
    let decryptor = age::Decryptor::new(&sealed[..]).map_err(|e| local(&file.display().to_string(), e))?;
    let mut reader = decryptor
        .decrypt(std::iter::once(&identity.0 as &dyn age::Identity))
        .map_err(|e| local(&format!("{}: not sealed to this vault's backup key", file.display()), e))?;
    let mut plain = zeroize::Zeroizing::new(Vec::new());
    reader.read_to_end(&mut plain).map_err(|e| local(&file.display().to_string(), e))?;
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&plain[..]));
    let named = file.file_name().and_then(|n| n.to_str()).and_then(|n| n.split('.').next()).unwrap_or_default();
    if named != digest {
        return Err(Error::Local(format!("{}: the content does not match its digest", file.display())));
    }
    Ok(plain)
}

/// Which camera a backup came from, kept beside it (`<digest>.json`): a restore goes only
/// to that model and serial. Not secret, and holds nothing of the configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Meta {
    /// The device's label when the backup was taken (`127.1.0.1:80`).
    pub device: String,
    pub model: String,
    pub serial: String,
    pub firmware: String,
    /// RFC 3339.
    pub taken_at: String,
}

/// The metadata file of the sealed backup at `sealed`.
pub fn meta_path(sealed: &Path) -> PathBuf {
    let name = sealed.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    sealed.with_file_name(format!("{}.json", name.trim_end_matches(".cfg.age")))
}

pub fn write_meta(sealed: &Path, meta: &Meta) -> Result<()> {
    let text = serde_json::to_vec_pretty(meta).map_err(|e| local("backup metadata", e))?;
    crate::files::write_private(&meta_path(sealed), &text)
}

/// The metadata of a backup; `None` for one taken before metadata was kept.
pub fn read_meta(sealed: &Path) -> Result<Option<Meta>> {
    match std::fs::read(meta_path(sealed)) {
        Ok(bytes) => {
            serde_json::from_slice(&bytes).map(Some).map_err(|e| local(&format!("{}", meta_path(sealed).display()), e))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(local("backup metadata", e)),
    }
}

/// Where a device's backup of this content goes.
pub fn path_for(backups: &Path, device_dir: &str, digest: &str) -> PathBuf {
    backups.join(device_dir).join(format!("{digest}.cfg.age"))
}

/// A device label as a folder name under `backups/`.
pub fn device_dir(label: &str) -> String {
    label.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}

/// Seal the plaintext backups an earlier version left (`<digest>.cfg`), then remove
/// them. Returns how many were sealed.
pub fn seal_legacy(home: &Path, to: &BackupRecipient) -> Result<usize> {
    let mut sealed = 0;
    let Ok(devices) = std::fs::read_dir(home.join("backups")) else { return Ok(0) };
    for dir in devices.flatten().filter(|d| d.path().is_dir()) {
        for f in std::fs::read_dir(dir.path()).map_err(|e| local("backups", e))?.flatten() {
            let path = f.path();
            let Some(digest) = path.file_name().and_then(|n| n.to_str()).and_then(|n| n.strip_suffix(".cfg")) else {
                continue;
            };
            let plain = zeroize::Zeroizing::new(std::fs::read(&path).map_err(|e| local("backups", e))?);
            crate::files::write_private(&dir.path().join(format!("{digest}.cfg.age")), &seal(to, &plain)?)?;
            std::fs::remove_file(&path).map_err(|e| local("backups", e))?;
            sealed += 1;
        }
    }
    Ok(sealed)
}

/// One backup on disk.
#[derive(Debug, Clone, Serialize)]
pub struct BackupFile {
    /// The device's folder (its label, made safe for a file name).
    pub device: String,
    pub path: String,
    /// SHA-256 of the configuration (as the history records it).
    pub sha256: String,
    /// Encrypted size.
    pub bytes: u64,
    /// RFC 3339.
    pub written: String,
    /// Which camera it came from, when that was kept.
    pub meta: Option<Meta>,
}

/// Every backup under the data directory, newest first.
pub fn list(home: &Path) -> Result<Vec<BackupFile>> {
    let root = home.join("backups");
    let mut out = Vec::new();
    let Ok(devices) = std::fs::read_dir(&root) else { return Ok(out) };
    for dir in devices.flatten().filter(|d| d.path().is_dir()) {
        let device = dir.file_name().to_string_lossy().into_owned();
        for f in std::fs::read_dir(dir.path()).map_err(|e| local("backups", e))?.flatten() {
            let name = f.file_name().to_string_lossy().into_owned();
            let Some(sha256) = name.strip_suffix(".cfg.age") else { continue };
            let meta = f.metadata().map_err(|e| local("backups", e))?;
            let written = meta
                .modified()
                .ok()
                .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
                .unwrap_or_default();
            let kept = read_meta(&f.path()).ok().flatten();
            out.push(BackupFile {
                meta: kept,
                device: device.clone(),
                path: f.path().display().to_string(),
                sha256: sha256.to_string(),
                bytes: meta.len(),
                written,
            });
        }
    }
    out.sort_by(|a, b| b.written.cmp(&a.written).then(a.path.cmp(&b.path)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_backup_is_sealed_opened_only_with_its_key_and_checked_against_its_digest() {
        let dir = std::env::temp_dir().join(format!("pc-backups-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let key = BackupIdentity::generate();
        let again = BackupIdentity::parse(&key.to_secret()).unwrap();
        // Binary, as real exports are (Hikvision's are encrypted blobs).
        let plain: Vec<u8> = (0..=255u8).cycle().take(10_000).chain(b"<user>admin</user>".iter().copied()).collect();
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&plain));
        let file = path_for(&dir.join("backups"), "127.1.0.1_80", &digest);
        crate::files::write_private(&file, &seal(&key.recipient(), &plain).unwrap()).unwrap();
        let on_disk = std::fs::read(&file).unwrap();
        assert!(on_disk.starts_with(b"age-encryption.org/v1"), "sealed with age");
        assert!(!on_disk.windows(5).any(|w| w == b"admin"), "nothing in clear");
        assert_eq!(&open(&again, &file).unwrap()[..], &plain[..], "byte for byte");
        assert!(open(&BackupIdentity::generate(), &file).is_err(), "another vault's key cannot open it");
        // A file renamed to another digest is caught.
        let renamed = path_for(&dir.join("backups"), "127.1.0.1_80", &"0".repeat(64));
        std::fs::copy(&file, &renamed).unwrap();
        assert!(open(&key, &renamed).unwrap_err().to_string().contains("does not match"));
        // A plaintext backup an earlier version left is sealed and removed.
        let legacy = dir.join("backups").join("127.1.0.2_80").join(format!("{digest}.cfg"));
        crate::files::write_private(&legacy, &plain).unwrap();
        assert_eq!(seal_legacy(&dir, &key.recipient()).unwrap(), 1);
        assert!(!legacy.exists());
        assert_eq!(&open(&key, &legacy.with_extension("cfg.age")).unwrap()[..], &plain[..]);
        let listed = list(&dir).unwrap();
        assert_eq!(listed.len(), 3);
        assert!(listed.iter().any(|b| b.sha256 == digest && b.device == "127.1.0.1_80"));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
