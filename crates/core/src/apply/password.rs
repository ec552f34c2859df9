//! Password rotation, journaled through the vault so that no camera is ever lost:
//!
//! 1. the new password is stored as *pending* in the vault before the device is touched
//!    (after the intent that names it: see [`super::journal`] for the whole order);
//! 2. the device is told;
//! 3. whatever the device answered (a dropped connection may hide a success), the
//!    outcome is decided by logging in, the likelier password first;
//! 4. new works: the old one must now be refused, and the pending entry becomes the
//!    device's own. Old works: the pending entry is dropped. The first one refused:
//!    that is the run's one refused login on this device, so the entry stays pending
//!    for `portcullis recover`, which starts with the other password next time.

use rand::seq::SliceRandom;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::driver::Driver;
use crate::error::Error;
use crate::secret::{Credentials, Secret};

/// What generated passwords look like.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PasswordPolicy {
    /// Hikvision accepts 8–16 characters.
    pub length: usize,
    /// Symbols used; chosen to survive XML, shells and handover spreadsheets.
    pub symbols: String,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        PasswordPolicy { length: 16, symbols: "!#%+-=?@_~".into() }
    }
}

const LOWER: &[u8] = b"abcdefghijkmnopqrstuvwxyz";
const UPPER: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ";
const DIGITS: &[u8] = b"23456789";

impl PasswordPolicy {
    /// A password with every class at least once, no character three times in a row,
    /// and not containing the user name (the firmware's own rules).
    pub fn generate(&self, username: &str) -> Secret {
        let mut rng = rand::thread_rng();
        let symbols = self.symbols.as_bytes();
        let classes: Vec<&[u8]> = [LOWER, UPPER, DIGITS, symbols].into_iter().filter(|c| !c.is_empty()).collect();
        let all: Vec<u8> = classes.iter().flat_map(|c| c.iter().copied()).collect();
        let length = self.length.clamp(classes.len().max(8), 64);
        loop {
            let mut chars: Vec<u8> = classes.iter().filter_map(|c| c.choose(&mut rng).copied()).collect();
            while chars.len() < length {
                if let Some(c) = all.get(rng.gen_range(0..all.len())) {
                    chars.push(*c);
                }
            }
            chars.shuffle(&mut rng);
            let candidate = String::from_utf8_lossy(&chars).into_owned();
            let repeats = chars.windows(3).any(|w| w.iter().all(|c| Some(c) == w.first()));
            let lower = candidate.to_ascii_lowercase();
            if !repeats && (username.is_empty() || !lower.contains(&username.to_ascii_lowercase())) {
                return Secret::new(candidate);
            }
        }
    }
}

/// How a rotation ended, as the logins proved it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// The new password works and the old one is refused.
    NewHolds,
    /// The new password works, but the old one still logs in too (two accounts?).
    NewHoldsOldAlsoWorks,
    /// The old password still works and the new one is refused: nothing changed.
    OldHolds,
    /// Not proven either way in this run (a refusal spent the login budget, or the
    /// device cannot be reached): keep the pending entry. The reason says which
    /// password was refused, so that the next try starts with the other.
    Unresolved(String),
}

/// Which password to try first. One refused login per device per run means the second
/// is tried only when the first logs in; so start with the likelier one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum First {
    New,
    Old,
}

/// Words in an unresolved rotation's recorded reason: the next try starts with the
/// other password.
const NEW_REFUSED: &str = "the new password is refused";
const OLD_REFUSED: &str = "the old password is refused";

impl First {
    /// The order for the next try at `device`'s rotation, from the history: the other
    /// password than the one its last try found refused (new first otherwise). A newer
    /// rotation (a record naming a vault entry) starts afresh.
    pub fn for_device(records: &[crate::history::Record], device: &str) -> First {
        let refused = |r: &crate::history::Record, words: &str| matches!(&r.change.outcome, crate::history::Outcome::Failed { reason } if reason.contains(words));
        let last = records.iter().rfind(|r| {
            r.change.device == device
                && (r.change.vault_entry.is_some() || refused(r, NEW_REFUSED) || refused(r, OLD_REFUSED))
        });
        match last {
            Some(r) if refused(r, NEW_REFUSED) => First::Old,
            _ => First::New,
        }
    }
}

/// Can these credentials log in? `Ok(false)` only for a refusal; anything else
/// (unreachable, locked, the login withheld to stay clear of a lockout) is not an
/// answer about the password.
pub async fn logs_in(device: &dyn Driver, creds: &Credentials) -> Result<bool, Error> {
    match device.with_credentials(creds.clone()).identify().await {
        Ok(_) => Ok(true),
        Err(Error::AuthRefused { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Decide a rotation by logging in, `first` first. When the new one works, the old one
/// is tried once to prove it no longer does; when the first is refused, the run's one
/// refusal is spent and the rotation stays unresolved until the next run tries the other.
pub async fn resolve(base: &dyn Driver, new: &Credentials, old: Option<&Credentials>, first: First) -> Resolution {
    let old = old.filter(|o| o.password != new.password);
    match (first, old) {
        (First::Old, Some(old)) => match logs_in(base, old).await {
            // The old password is proven; dropping the new one loses nothing, and not
            // trying it spares a refused login.
            Ok(true) => Resolution::OldHolds,
            Ok(false) => Resolution::Unresolved(format!("{OLD_REFUSED}; the new one is tried next time")),
            Err(e) => Resolution::Unresolved(e.to_string()),
        },
        (_, old) => match logs_in(base, new).await {
            Ok(true) => match old {
                Some(old) => match logs_in(base, old).await {
                    Ok(true) => Resolution::NewHoldsOldAlsoWorks,
                    // Refused, or not tried: the new one is proven, which is what matters.
                    _ => Resolution::NewHolds,
                },
                None => Resolution::NewHolds,
            },
            Ok(false) if old.is_some() => {
                Resolution::Unresolved(format!("{NEW_REFUSED}; the old one is tried next time"))
            }
            Ok(false) => Resolution::Unresolved(format!("{NEW_REFUSED} and no old one is known")),
            Err(e) => Resolution::Unresolved(e.to_string()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_meet_the_firmware_rules_and_differ() {
        let p = PasswordPolicy::default();
        let a = p.generate("admin");
        let b = p.generate("admin");
        assert_ne!(a.expose(), b.expose());
        for s in [a, b] {
            let t = s.expose();
            assert_eq!(t.len(), 16);
            assert!(t.chars().any(|c| c.is_ascii_lowercase()));
            assert!(t.chars().any(|c| c.is_ascii_uppercase()));
            assert!(t.chars().any(|c| c.is_ascii_digit()));
            assert!(t.chars().any(|c| p.symbols.contains(c)));
            assert!(!t.to_ascii_lowercase().contains("admin"));
        }
        let short = PasswordPolicy { length: 3, symbols: String::new() }.generate("");
        assert_eq!(short.expose().len(), 8, "never shorter than the firmware minimum");
    }
}
