//! The order a password change follows so that a crash between any two of its steps
//! loses no camera and leaves no change without an outcome. The history is the
//! commit point; the vault follows what it says:
//!
//! 1. the intent is recorded, naming the pending vault entry;
//! 2. the new password is stored as pending (before the device hears of it);
//! 3. the device is told, and logins decide what it holds;
//! 4. the decision is recorded (verified: the entry it becomes; rolled back);
//! 5. the vault follows the decision (the pending entry is promoted or dropped).
//!
//! [`read`] tells, for each pending entry an intent named, how far its change got, so
//! that `recover` can finish it: a decided change needs only its vault step (a
//! promotion is still proven by a login first, which costs nothing when it holds), an
//! undecided one is decided by logins, and an intent whose pending entry was never
//! stored never reached the device.

use std::collections::HashMap;

use crate::error::Result;
use crate::history::{History, Outcome, Record};
use crate::setting::Setting;
use crate::vault::Scope;

/// How far the last change that named a pending entry got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Its intent has no outcome after it: the run stopped between steps 1 and 4.
    Open,
    /// Its outcome left the password pending (no login could decide it).
    Undecided,
    /// The new password was proven: the pending entry is to become current.
    Promote,
    /// The device kept what it had: the pending entry is to go.
    Drop,
}

/// One change's journal: its intent and how far it got.
#[derive(Debug, Clone)]
pub struct Entry {
    pub intent: Record,
    pub stage: Stage,
}

impl Entry {
    /// The pending entry's scope and user name, as the intent named it.
    pub fn pending(&self) -> Option<(Scope, String)> {
        self.intent.change.vault_entry.as_deref().and_then(Scope::of_pending_entry)
    }
}

/// The stage of each pending entry's last change, by the entry's name, read a record at
/// a time. An outcome belongs to the last intent of its device and setting.
pub fn read(history: &History) -> Result<HashMap<String, Entry>> {
    let mut by_entry: HashMap<String, Entry> = HashMap::new();
    let mut last_intent: HashMap<(String, Setting), String> = HashMap::new();
    for r in history.records() {
        let r = r?;
        let key = (r.change.device.clone(), r.change.setting);
        if r.change.outcome == Outcome::Intent {
            match r.change.vault_entry.clone().filter(|e| Scope::of_pending_entry(e).is_some()) {
                Some(name) => {
                    last_intent.insert(key, name.clone());
                    by_entry.insert(name, Entry { intent: r, stage: Stage::Open });
                }
                // Another intent on this setting: any later outcome is that one's.
                None => {
                    last_intent.remove(&key);
                }
            }
            continue;
        }
        let Some(entry) = last_intent.get(&key).and_then(|name| by_entry.get_mut(name)) else { continue };
        entry.stage = stage_of(&r);
    }
    Ok(by_entry)
}

/// What an outcome decided for the pending entry of its change.
fn stage_of(outcome: &Record) -> Stage {
    let names_current = outcome.change.vault_entry.as_deref().is_some_and(|e| Scope::of_pending_entry(e).is_none());
    match &outcome.change.outcome {
        Outcome::Verified => Stage::Promote,
        // Proven, with a part of the change refused (a service account's ONVIF twin).
        Outcome::Failed { .. } if names_current => Stage::Promote,
        Outcome::RolledBack { .. } => Stage::Drop,
        Outcome::Failed { .. } | Outcome::Intent => Stage::Undecided,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Change, HistoryKey};

    fn change(device: &str, setting: Setting, outcome: Outcome, entry: Option<&str>) -> Change {
        Change::bare(device, setting, outcome, entry)
    }

    #[test]
    fn each_pending_entry_shows_how_far_its_change_got() {
        let dir = tempfile::tempdir().unwrap();
        let h = History::open(dir.path(), HistoryKey::generate()).unwrap();
        let now = "2026-12-04T00:00:00Z";
        let failed = |r: &str| Outcome::Failed { reason: r.into() };
        let rolled = Outcome::RolledBack { reason: "kept".into() };
        let p = Setting::AccountPassword;
        for c in [
            // a: decided and recorded, the vault step may not have followed
            change("a", p, Outcome::Intent, Some("pending/a/admin")),
            change("a", p, Outcome::Verified, Some("device/a/admin")),
            // b: rolled back
            change("b", p, Outcome::Intent, Some("pending/b/admin")),
            change("b", p, rolled, None),
            // c: left pending, then an unrelated setting's intent on the same device
            change("c", p, Outcome::Intent, Some("pending/c/admin")),
            change("c", p, failed("unreachable"), None),
            change("c", Setting::ServiceUpnpEnabled, Outcome::Intent, None),
            // d: stopped after its intent
            change("d", p, Outcome::Intent, Some("pending/d/admin")),
            // e: a service account proven, its ONVIF twin refused
            change("e", Setting::AccountService, Outcome::Intent, Some("service-pending/e/nvr")),
            change("e", Setting::AccountService, failed("twin refused"), Some("service/e/nvr")),
        ] {
            h.append(c, now).unwrap();
        }
        let j = read(&h).unwrap();
        let stage = |e: &str| j.get(e).map(|e| e.stage.clone());
        assert_eq!(stage("pending/a/admin"), Some(Stage::Promote));
        assert_eq!(stage("pending/b/admin"), Some(Stage::Drop));
        assert_eq!(stage("pending/c/admin"), Some(Stage::Undecided));
        assert_eq!(stage("pending/d/admin"), Some(Stage::Open));
        assert_eq!(stage("service-pending/e/nvr"), Some(Stage::Promote));
        assert_eq!(j.len(), 5);
        let (scope, user) = j["service-pending/e/nvr"].pending().unwrap();
        assert_eq!((scope, user.as_str()), (Scope::ServicePending("e".into()), "nvr"));
    }
}
