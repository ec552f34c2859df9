//! Unlock once (issue #19): the file vault's own key, once unsealed with the passphrase
//! (scrypt: about a second and a quarter of a gigabyte, by design), is kept for a while in
//! the kernel's keyring, so the commands a script runs one after another start in
//! milliseconds. The file at rest keeps scrypt's full strength; only the unsealed key is
//! cached, never the passphrase, in kernel memory (never on disk, never in swap), readable
//! by this user's processes only, and gone after `PORTCULLIS_VAULT_UNLOCK_SECONDS`
//! (default 900; 0: never cached), at logout or reboot, or at `portcullis creds lock`.
//! It is named after the sealed key file and the passphrase given (an HMAC of one under
//! the other): another vault, a new key file or a wrong passphrase never meets it, so a
//! wrong passphrase fails within the window as it does after.

use sha2::Digest;

/// How long an unsealed key stays: the environment's choice, else 15 minutes.
fn window_seconds() -> usize {
    std::env::var("PORTCULLIS_VAULT_UNLOCK_SECONDS").ok().and_then(|v| v.trim().parse().ok()).unwrap_or(900)
}

/// The kernel keyring's name for the key sealed in this file, opened with this passphrase.
fn description(sealed: &[u8], passphrase: &str) -> String {
    use hmac::Mac;
    let file = sha2::Sha256::digest(sealed);
    let tag = match hmac::Hmac::<sha2::Sha256>::new_from_slice(&file) {
        Ok(mut m) => {
            m.update(passphrase.as_bytes());
            hex::encode(m.finalize().into_bytes())
        }
        Err(_) => hex::encode(file),
    };
    format!("portcullis:vault-key:{}", tag.chars().take(32).collect::<String>())
}

#[cfg(target_os = "linux")]
mod kernel {
    use linux_keyutils::{KeyPermissionsBuilder, KeyRing, KeyRingIdentifier, Permission};
    use zeroize::Zeroizing;

    /// The user's keyring: shared by this user's sessions (a script's commands, a second
    /// terminal), no one else's.
    fn ring() -> Option<KeyRing> {
        KeyRing::from_special_id(KeyRingIdentifier::User, true).ok()
    }

    pub fn recall(description: &str) -> Option<Zeroizing<String>> {
        let key = ring()?.search(description).ok()?;
        let bytes = Zeroizing::new(key.read_to_vec().ok()?);
        std::str::from_utf8(&bytes).ok().map(|s| Zeroizing::new(s.to_string()))
    }

    pub fn remember(description: &str, identity: &str, seconds: usize) {
        let Some(ring) = ring() else { return };
        let Ok(key) = ring.add_key(description, identity.as_bytes()) else { return };
        // This user's processes may find and read it; nobody else may see it at all.
        let perms = KeyPermissionsBuilder::builder()
            .posessor(Permission::ALL)
            .user(Permission::VIEW | Permission::READ | Permission::SEARCH | Permission::SETATTR)
            .build();
        if key.set_perms(perms).is_err() || key.set_timeout(seconds).is_err() {
            // A key that cannot be limited is not left behind.
            let _ = key.invalidate();
        }
    }

    pub fn forget(description: &str) -> bool {
        match ring().and_then(|r| r.search(description).ok()) {
            Some(key) => key.invalidate().is_ok(),
            None => false,
        }
    }
}

/// Elsewhere there is no kernel keyring to hold it: the file vault unseals its key with
/// the passphrase in every process (Windows and macOS use the OS keyring vault by default).
#[cfg(not(target_os = "linux"))]
mod kernel {
    use zeroize::Zeroizing;

    pub fn recall(_description: &str) -> Option<Zeroizing<String>> {
        None
    }

    pub fn remember(_description: &str, _identity: &str, _seconds: usize) {}

    pub fn forget(_description: &str) -> bool {
        false
    }
}

/// The unsealed key for this sealed key file and passphrase, if it was unsealed within
/// the window.
pub fn recall(sealed: &[u8], passphrase: &str) -> Option<zeroize::Zeroizing<String>> {
    if window_seconds() == 0 {
        return None;
    }
    kernel::recall(&description(sealed, passphrase))
}

/// Keep the unsealed key for the window (nothing when the window is 0).
pub fn remember(sealed: &[u8], passphrase: &str, identity: &str) {
    let seconds = window_seconds();
    if seconds > 0 {
        kernel::remember(&description(sealed, passphrase), identity, seconds);
    }
}

/// Forget it now (`portcullis creds lock`): whether one was held.
pub fn forget(sealed: &[u8], passphrase: &str) -> bool {
    kernel::forget(&description(sealed, passphrase))
}

#[cfg(test)]
mod tests {
    use crate::secret::{Credentials, Secret};
    use crate::vault::{FileVault, Scope, Vault};

    /// Issue #19: once unsealed, the key is held for the next process (a fresh handle),
    /// only for the same key file and passphrase, and `lock` ends it.
    #[test]
    #[cfg(target_os = "linux")]
    fn an_unsealed_key_is_held_for_the_next_command_until_locked() {
        let home = std::env::temp_dir().join(format!("pc-unlock-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let handle = |pass: &str| {
            let store = FileVault::new(home.join("vault.age"), Secret::new(pass)).with_work_factor(4);
            Vault::new(Box::new(store), &home)
        };
        let first = handle("correct horse battery");
        first.set(Scope::Site("default".into()), &Credentials::new("admin", "kept-secret")).unwrap();
        let sealed = std::fs::read(home.join("vault-key.age")).unwrap();
        // Written with a new key: held from the next open on.
        let second = handle("correct horse battery");
        assert!(second.lookup("192.0.2.1", None).unwrap().is_some());
        assert!(super::recall(&sealed, "correct horse battery").is_some(), "held after unsealing");
        assert!(super::recall(&sealed, "another passphrase!").is_none(), "not for another passphrase");
        let wrong = handle("another passphrase!");
        assert!(wrong.lookup("192.0.2.1", None).is_err(), "a wrong passphrase still fails in the window");
        // A fresh process opens it from the held key, and reads the same secret.
        let third = handle("correct horse battery");
        assert_eq!(third.lookup("192.0.2.1", None).unwrap().unwrap().password.expose(), "kept-secret");
        assert!(third.lock().unwrap(), "one was held");
        assert!(super::recall(&sealed, "correct horse battery").is_none(), "forgotten at lock");
        assert!(!handle("correct horse battery").lock().unwrap());
        let _ = std::fs::remove_dir_all(&home);
    }
}
