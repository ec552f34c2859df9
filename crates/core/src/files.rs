//! Files at rest: the data directory is the owner's only (0700, files 0600), and every
//! file is written whole or not at all.
//!
//! An atomic write goes to a fresh temporary file beside the target — created
//! exclusively (never an existing file, never through a symlink someone planted) — is
//! synced, renamed over the target, and the directory is synced so that the rename
//! itself survives a power cut.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

fn local(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::Local(format!("{}: {e}", path.display()))
}

/// Write `data` to `path` atomically, readable by the owner only.
pub fn write_private(path: &Path, data: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    private_dir(&dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let result = (|| {
        let mut f = platform::create_new_private(&tmp).map_err(|e| local(&tmp, e))?;
        f.write_all(data).map_err(|e| local(&tmp, e))?;
        f.sync_all().map_err(|e| local(&tmp, e))?;
        std::fs::rename(&tmp, path).map_err(|e| local(path, e))?;
        platform::sync_dir(&dir).map_err(|e| local(&dir, e))
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// Create `dir` (and its parents) if need be; the last one owner-only.
pub fn private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    platform::create_private_dir(dir).map_err(|e| local(dir, e))
}

/// Check the data directory at start: it must belong to whoever runs Portcullis, and
/// no one else may read it. A directory others can read is tightened; one that
/// belongs to someone else is refused (someone could have prepared it).
pub fn check_home(home: &Path) -> Result<()> {
    private_dir(home)?;
    platform::check_owner_and_tighten(home).map_err(|e| local(home, e))
}

#[cfg(unix)]
mod platform {
    use std::fs::{File, OpenOptions};
    use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
    use std::path::Path;

    pub fn create_new_private(path: &Path) -> std::io::Result<File> {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(path)
    }

    pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
        File::open(dir)?.sync_all()
    }

    pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
        std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
    }

    pub fn check_owner_and_tighten(home: &Path) -> std::io::Result<()> {
        let meta = std::fs::symlink_metadata(home)?;
        if meta.file_type().is_symlink() || !meta.is_dir() {
            return Err(std::io::Error::other("the data directory is not a directory (a symlink?)"));
        }
        let me = rustix::process::geteuid().as_raw();
        if meta.uid() != me {
            return Err(std::io::Error::other(format!(
                "the data directory belongs to user {} and Portcullis runs as {me}: refusing to use it",
                meta.uid()
            )));
        }
        if meta.mode() & 0o077 != 0 {
            std::fs::set_permissions(home, std::fs::Permissions::from_mode(0o700))?;
        }
        // What the libraries create in it (sled's database files) is owner-only too.
        rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o077));
        Ok(())
    }
}

#[cfg(not(unix))]
mod platform {
    //! Windows: the data directory lives under the user's profile (%APPDATA%), whose
    //! ACL already admits the user alone; files are created new, never over a link.
    use std::fs::{File, OpenOptions};
    use std::path::Path;

    pub fn create_new_private(path: &Path) -> std::io::Result<File> {
        OpenOptions::new().write(true).create_new(true).open(path)
    }

    pub fn sync_dir(_dir: &Path) -> std::io::Result<()> {
        // Windows cannot open a directory as a file to flush it; NTFS journals renames.
        Ok(())
    }

    pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    pub fn check_owner_and_tighten(home: &Path) -> std::io::Result<()> {
        let meta = std::fs::symlink_metadata(home)?;
        if meta.file_type().is_symlink() || !meta.is_dir() {
            return Err(std::io::Error::other("the data directory is not a directory (a symlink?)"));
        }
        Ok(())
    }
}

/// Create a new file (never over an existing one or through a link) readable by its
/// owner only: for plaintext a person asked to have written where they chose.
pub fn create_new_private(path: &Path) -> std::io::Result<std::fs::File> {
    platform::create_new_private(path)
}

/// The page cache of each sled database (sled's default is 1 GiB): the stores are read
/// a record at a time or once per command, and a site's audit of thousands of cameras
/// must stay within a laptop's means (issue #19: under 150 MB for 5,000).
const SLED_CACHE_BYTES: u64 = 8 * 1024 * 1024;

/// The number an 8-byte big-endian sled key or value holds (sled orders keys by bytes, so
/// the stores number their records big-endian); `None` for any other length.
pub fn be_u64(bytes: &[u8]) -> Option<u64> {
    <[u8; 8]>::try_from(bytes).ok().map(u64::from_be_bytes)
}

/// Open a sled database, waiting briefly for the lock a database just closed in this
/// process may still hold: sled releases it from a background thread after the last
/// handle is dropped, so reopening at once (the desktop switching data directories)
/// can find it held for a moment.
pub fn open_sled(path: &Path) -> std::result::Result<sled::Db, sled::Error> {
    let mut waited = std::time::Duration::ZERO;
    loop {
        match sled::Config::new().path(path).cache_capacity(SLED_CACHE_BYTES).open() {
            // sled says so only in words (an `Other` I/O error).
            Err(sled::Error::Io(e)) if e.to_string().contains("could not acquire lock") && waited.as_secs() < 2 => {
                std::thread::sleep(std::time::Duration::from_millis(50));
                waited += std::time::Duration::from_millis(50);
            }
            other => return other,
        }
    }
}

/// The most a file a person chose (an inventory, credentials, an address plan, a report
/// to verify, a handover) may hold.
pub const CHOSEN_LIMIT: u64 = 64 * 1024 * 1024;

/// A file a person chose, read whole: at most `limit` bytes, so a wrong pick (a video, a
/// device file that never ends) is an error and not the machine's memory.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let input = |e: &dyn std::fmt::Display| Error::Input(format!("{}: {e}", path.display()));
    let file = std::fs::File::open(path).map_err(|e| input(&e))?;
    // Sized from what the file says (never past the limit), so the buffer is not grown by
    // copying: a secret read here (credentials, a key) leaves no unwiped copies behind.
    let said = file.metadata().map(|m| m.len()).unwrap_or(0).min(limit);
    let mut data = Vec::with_capacity(usize::try_from(said).unwrap_or(0));
    file.take(limit + 1).read_to_end(&mut data).map_err(|e| input(&e))?;
    if data.len() as u64 > limit {
        return Err(input(&format!("more than {limit} bytes: not a file this reads")));
    }
    Ok(data)
}

/// A text file a person chose ([`read_bounded`] to [`CHOSEN_LIMIT`]), as UTF-8.
pub fn read_chosen_text(path: &Path) -> Result<String> {
    read_text(path, CHOSEN_LIMIT)
}

/// A text file of at most `limit` bytes ([`read_bounded`]), as UTF-8.
pub fn read_text(path: &Path, limit: u64) -> Result<String> {
    String::from_utf8(read_bounded(path, limit)?)
        .map_err(|_| Error::Input(format!("{}: not UTF-8 text", path.display())))
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::{MetadataExt, PermissionsExt};

    fn temp(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("pc-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn a_chosen_file_is_read_up_to_its_limit_and_a_file_that_never_ends_is_an_error() {
        let dir = temp("bounded");
        std::fs::create_dir_all(&dir).unwrap();
        let small = dir.join("inventory.csv");
        std::fs::write(&small, "address\n127.1.0.1\n").unwrap();
        assert_eq!(read_chosen_text(&small).unwrap(), "address\n127.1.0.1\n");
        assert_eq!(read_bounded(&small, 18).unwrap().len(), 18, "exactly the limit is read");
        let e = read_bounded(&small, 17).unwrap_err();
        assert!(matches!(e, Error::Input(ref m) if m.contains("more than 17 bytes")), "{e}");
        // /dev/zero says it is empty and never ends.
        let e = read_bounded(Path::new("/dev/zero"), 1024).unwrap_err();
        assert!(e.to_string().contains("more than 1024 bytes"), "{e}");
        std::fs::write(&small, [0xff, 0xfe]).unwrap();
        assert!(read_chosen_text(&small).unwrap_err().to_string().contains("not UTF-8"));
        assert!(matches!(read_chosen_text(&dir.join("missing")), Err(Error::Input(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn files_are_owner_only_and_written_whole() {
        let home = temp("modes").join("home");
        write_private(&home.join("vault-index.json"), b"[]").unwrap();
        write_private(&home.join("vault-index.json"), b"[1]").unwrap();
        assert_eq!(std::fs::read(home.join("vault-index.json")).unwrap(), b"[1]");
        assert_eq!(std::fs::metadata(home.join("vault-index.json")).unwrap().mode() & 0o777, 0o600);
        assert_eq!(std::fs::metadata(&home).unwrap().mode() & 0o777, 0o700);
        let leftovers: Vec<_> =
            std::fs::read_dir(&home).unwrap().flatten().filter(|e| e.path() != home.join("vault-index.json")).collect();
        assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
        let _ = std::fs::remove_dir_all(home.parent().unwrap());
    }

    #[test]
    fn a_planted_symlink_is_replaced_not_followed() {
        let dir = temp("symlink");
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, b"keep me").unwrap();
        // Someone links the target name to a file of theirs: the write replaces the link.
        std::os::unix::fs::symlink(&victim, dir.join("pins.json")).unwrap();
        write_private(&dir.join("pins.json"), b"{}").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        assert!(!std::fs::symlink_metadata(dir.join("pins.json")).unwrap().file_type().is_symlink());
        // And a temporary file is never opened through a link either.
        let tmp = dir.join("planted.tmp");
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        assert!(platform::create_new_private(&tmp).is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep me");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_data_directory_others_can_read_is_tightened_and_one_of_another_user_refused() {
        let home = temp("home");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
        check_home(&home).unwrap();
        assert_eq!(std::fs::metadata(&home).unwrap().mode() & 0o777, 0o700);
        // Only root can give a directory away; CI runs as root.
        if rustix::process::geteuid().is_root() {
            std::os::unix::fs::chown(&home, Some(65534), Some(65534)).unwrap();
            let e = check_home(&home).unwrap_err();
            assert!(e.to_string().contains("belongs to user 65534"), "{e}");
        }
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn a_database_closed_a_moment_ago_opens_once_its_lock_is_released() {
        let dir = std::env::temp_dir().join(format!("pc-sled-reopen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let first = sled::open(&dir).unwrap();
        assert!(sled::open(&dir).is_err(), "held by the first handle");
        let closing = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(200));
            drop(first);
        });
        assert!(super::open_sled(&dir).is_ok(), "waited for the lock");
        closing.join().unwrap();
        let _ = std::fs::remove_dir_all(&dir);
    }
}
