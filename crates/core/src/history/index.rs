//! Indexes derived from the records and kept beside them, in the same database: each
//! device's last verified value of each setting, the time of each device's last
//! change, the intents no outcome followed, and each device's records. An audit compares a device with what was applied to it by reading that
//! device's entries only; reading the whole history for it held 67 MB of sled's pages
//! after one apply of 5,000 cameras (heaptrack), and grew with every apply.
//!
//! They are written in the transaction that appends the record they come from, so they
//! never fall behind a record; a history written before they existed is indexed once,
//! when it is opened. They are not sealed: what a report cites is the chain itself.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};
use sled::transaction::{ConflictableTransactionError, TransactionalTree};

use super::{local, Outcome, Record};
use crate::error::Result;
use crate::files::be_u64;
use crate::posture::Value;
use crate::setting::Setting;

/// The record number the indexes are complete through (`meta` tree).
pub(super) const INDEXED: &[u8] = b"indexed";

/// Which indexes the trees hold (`meta` tree). A history indexed by an older version
/// is indexed again from nothing when it is opened: 2 added each device's records.
const VERSION_KEY: &[u8] = b"index_version";
const VERSION: u64 = 2;

/// Records indexed per batch when a history written before the indexes is first opened.
const CATCH_UP_BATCH: usize = 256;

/// The trees, by what they hold.
#[derive(Debug)]
pub(super) struct Indexes {
    /// `device \x1f setting` → [`AppliedValue`]: the last verified change of that setting.
    pub(super) last_verified: sled::Tree,
    /// `device` → RFC 3339 time of its last recorded change, whatever its outcome.
    pub(super) last_change: sled::Tree,
    /// `device \x1f setting` → the number of an intent no outcome followed (yet).
    pub(super) open_intents: sled::Tree,
    /// `device \x1f seq` → nothing: the numbers of each device's records, in order.
    pub(super) by_device: sled::Tree,
}

/// One setting's last verified value, as indexed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct AppliedValue {
    pub setting: Setting,
    pub after: Option<Value>,
    /// When it was recorded (RFC 3339).
    pub time: String,
    /// The change used a vault entry (a password set, an account made).
    #[serde(default)]
    pub credential: bool,
}

fn verified_key(device: &str, setting: Setting) -> Vec<u8> {
    let mut k = device_prefix(device);
    k.extend_from_slice(setting.key().as_bytes());
    k
}

/// A device's entries: its label, then a separator no label holds (so that `127.0.0.1`
/// does not take in `127.0.0.10`'s).
fn device_prefix(device: &str) -> Vec<u8> {
    let mut k = device.as_bytes().to_vec();
    k.push(0x1f);
    k
}

/// What a record changes in the indexes, encoded.
#[derive(Debug)]
pub(super) struct Entries {
    /// A verified change: its `last_verified` entry.
    verified: Option<(Vec<u8>, Vec<u8>)>,
    /// Its device's `last_change` entry.
    change: (Vec<u8>, Vec<u8>),
    /// Its device and setting (the `open_intents` key), and whether it is an intent:
    /// an intent opens the key, any outcome closes it.
    intent: (Vec<u8>, bool),
    /// Its `by_device` key.
    device_record: Vec<u8>,
}

/// The entries a record makes.
pub(super) fn entries_of(r: &Record) -> Result<Entries> {
    let c = &r.change;
    let verified = match c.outcome {
        Outcome::Verified => {
            let value = AppliedValue {
                setting: c.setting,
                after: c.after.clone(),
                time: r.time.clone(),
                credential: c.vault_entry.is_some(),
            };
            Some((verified_key(&c.device, c.setting), serde_json::to_vec(&value).map_err(local)?))
        }
        _ => None,
    };
    let mut device_record = device_prefix(&c.device);
    device_record.extend_from_slice(&r.seq.to_be_bytes());
    Ok(Entries {
        verified,
        change: (c.device.as_bytes().to_vec(), r.time.as_bytes().to_vec()),
        intent: (verified_key(&c.device, c.setting), c.outcome == Outcome::Intent),
        device_record,
    })
}

/// The trees a record's entries go to, inside its transaction.
pub(super) struct InTransaction<'a> {
    pub last_verified: &'a TransactionalTree,
    pub last_change: &'a TransactionalTree,
    pub open_intents: &'a TransactionalTree,
    pub by_device: &'a TransactionalTree,
    pub meta: &'a TransactionalTree,
}

/// Write a record's entries inside the transaction that appends it.
pub(super) fn write_in(
    entries: &Entries,
    seq: u64,
    t: &InTransaction<'_>,
) -> std::result::Result<(), ConflictableTransactionError<()>> {
    if let Some((k, v)) = &entries.verified {
        t.last_verified.insert(k.as_slice(), v.as_slice())?;
    }
    t.last_change.insert(entries.change.0.as_slice(), entries.change.1.as_slice())?;
    match &entries.intent {
        (key, true) => t.open_intents.insert(key.as_slice(), &seq.to_be_bytes())?,
        (key, false) => t.open_intents.remove(key.as_slice())?,
    };
    t.by_device.insert(entries.device_record.as_slice(), &[])?;
    t.meta.insert(INDEXED, &seq.to_be_bytes())?;
    Ok(())
}

impl Indexes {
    pub(super) fn open(db: &sled::Db) -> Result<Indexes> {
        Ok(Indexes {
            last_verified: db.open_tree("last_verified").map_err(local)?,
            last_change: db.open_tree("last_change").map_err(local)?,
            open_intents: db.open_tree("open_intents").map_err(local)?,
            by_device: db.open_tree("device_records").map_err(local)?,
        })
    }

    /// Index the records after `indexed` (all of them, for a history kept before the
    /// indexes existed or indexed by an older version), a batch at a time; `meta`
    /// records how far they go, and the version once they are complete.
    pub(super) fn catch_up(&self, records: &sled::Tree, meta: &sled::Tree) -> Result<()> {
        let current = meta.get(VERSION_KEY).map_err(local)?.and_then(|v| be_u64(&v)) == Some(VERSION);
        let indexed = match current {
            true => meta.get(INDEXED).map_err(local)?.and_then(|v| be_u64(&v)).unwrap_or(0),
            false => 0,
        };
        let last = records.last().map_err(local)?.and_then(|(k, _)| be_u64(&k)).unwrap_or(0);
        if indexed == 0 {
            // Built from nothing: whatever the trees hold is not from these records.
            for tree in [&self.last_verified, &self.last_change, &self.open_intents, &self.by_device] {
                tree.clear().map_err(local)?;
            }
        }
        if last > indexed {
            self.index_after(indexed, records, meta)?;
        }
        if !current {
            meta.insert(VERSION_KEY, &VERSION.to_be_bytes()).map_err(local)?;
        }
        Ok(())
    }

    fn index_after(&self, indexed: u64, records: &sled::Tree, meta: &sled::Tree) -> Result<()> {
        let mut pending = Vec::with_capacity(CATCH_UP_BATCH);
        for kv in records.range((indexed + 1).to_be_bytes()..) {
            let (_, v) = kv.map_err(local)?;
            let r: Record = serde_json::from_slice(&v).map_err(local)?;
            pending.push((r.seq, entries_of(&r)?));
            if pending.len() == CATCH_UP_BATCH {
                self.write_batch(&std::mem::take(&mut pending), meta)?;
            }
        }
        self.write_batch(&pending, meta)
    }

    fn write_batch(&self, batch: &[(u64, Entries)], meta: &sled::Tree) -> Result<()> {
        let Some((last, _)) = batch.last() else { return Ok(()) };
        use sled::Transactional;
        (&self.last_verified, &self.last_change, &self.open_intents, &self.by_device, meta)
            .transaction(|(last_verified, last_change, open_intents, by_device, meta)| {
                let t = InTransaction { last_verified, last_change, open_intents, by_device, meta };
                for (seq, e) in batch {
                    write_in(e, *seq, &t)?;
                }
                meta.insert(INDEXED, &last.to_be_bytes())?;
                Ok(())
            })
            .map_err(|e| local(format!("{e:?}")))
    }

    /// A device's last verified value of each setting.
    pub(super) fn applied_to(&self, device: &str) -> Result<BTreeMap<Setting, (Option<Value>, String)>> {
        let mut out = BTreeMap::new();
        for v in self.last_verified.scan_prefix(device_prefix(device)).values() {
            let a: AppliedValue = serde_json::from_slice(&v.map_err(local)?).map_err(local)?;
            out.insert(a.setting, (a.after, a.time));
        }
        Ok(out)
    }

    /// When one of these settings was last changed, verified, with a vault entry, on a
    /// device (RFC 3339).
    pub(super) fn last_credential_change(&self, device: &str, settings: &[Setting]) -> Result<Option<String>> {
        let mut last: Option<String> = None;
        for v in self.last_verified.scan_prefix(device_prefix(device)).values() {
            let a: AppliedValue = serde_json::from_slice(&v.map_err(local)?).map_err(local)?;
            if a.credential && settings.contains(&a.setting) && last.as_ref().is_none_or(|t| a.time > *t) {
                last = Some(a.time);
            }
        }
        Ok(last)
    }

    /// The numbers of one device's records, in order.
    pub(super) fn records_of(&self, device: &str) -> impl Iterator<Item = Result<u64>> {
        let prefix = device_prefix(device);
        let at = prefix.len();
        self.by_device.scan_prefix(prefix).keys().map(move |k| {
            let k = k.map_err(local)?;
            k.get(at..).and_then(be_u64).ok_or_else(|| local("a malformed device-record entry"))
        })
    }

    /// The numbers of the intents no outcome followed.
    pub(super) fn open_intents(&self) -> Result<Vec<u64>> {
        self.open_intents
            .iter()
            .values()
            .map(|v| be_u64(&v.map_err(local)?).ok_or_else(|| local("a malformed intent entry")))
            .collect()
    }

    /// Each device's last change, by device.
    pub(super) fn last_changes(&self) -> Result<HashMap<String, String>> {
        self.last_change
            .iter()
            .map(|kv| {
                let (k, v) = kv.map_err(local)?;
                Ok((String::from_utf8_lossy(&k).into_owned(), String::from_utf8_lossy(&v).into_owned()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Change, History, HistoryKey};
    use super::*;
    use crate::audit::DeviceAudit;
    use crate::baseline::eval::{Finding, Status};
    use crate::baseline::Severity;

    fn temp(tag: &str) -> std::path::PathBuf {
        let d = std::env::temp_dir().join(format!("pc-history-index-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    fn change(device: &str, setting: Setting, after: bool, outcome: Outcome) -> Change {
        Change { after: Some(Value::Bool(after)), ..Change::bare(device, setting, outcome, None) }
    }

    /// An audit that reads these values.
    fn audit(device: &str, observed: &[(Setting, bool)]) -> DeviceAudit {
        let finding = |(setting, v): &(Setting, bool)| Finding {
            control: "X".into(),
            title: "x".into(),
            severity: Severity::High,
            status: Status::Pass,
            setting: *setting,
            observed: Some(Value::Bool(*v)),
            expected: String::new(),
            evidence: String::new(),
        };
        DeviceAudit {
            target: device.into(),
            site: None,
            protocol: None,
            baseline: None,
            identity: None,
            findings: observed.iter().map(finding).collect(),
            score: None,
            error: None,
        }
    }

    fn fill(h: &History) {
        let (telnet, ssh) = (Setting::ServiceTelnetEnabled, Setting::ServiceSshEnabled);
        let rows = [
            ("127.0.0.1:80", telnet, false, Outcome::Verified, "2026-12-01T10:00:00Z"),
            ("127.0.0.1:80", ssh, false, Outcome::Verified, "2026-12-01T10:00:01Z"),
            // A later failed change is not what the device was left with.
            ("127.0.0.1:80", ssh, true, Outcome::Failed { reason: "x".into() }, "2026-12-01T10:00:02Z"),
            ("127.0.0.10:80", telnet, true, Outcome::Verified, "2026-12-01T10:00:03Z"),
            ("127.0.0.10:80", telnet, false, Outcome::Verified, "2026-12-01T10:00:04Z"),
        ];
        for (device, setting, after, outcome, time) in rows {
            h.append(change(device, setting, after, outcome), time).unwrap();
        }
    }

    #[test]
    fn drift_from_the_index_is_drift_from_the_records() {
        let h = History::open(&temp("same"), HistoryKey::new([3; 32])).unwrap();
        fill(&h);
        let records = h.all().unwrap();
        let read = [(Setting::ServiceTelnetEnabled, true), (Setting::ServiceSshEnabled, true)];
        for device in ["127.0.0.1:80", "127.0.0.10:80", "127.0.0.2:80"] {
            let a = audit(device, &read);
            let observed = a.observed();
            assert_eq!(h.drift_of(&a).unwrap(), crate::history::drift(&records, device, &observed), "{device}");
        }
        let one = h.drift_of(&audit("127.0.0.1:80", &read)).unwrap();
        let settings: Vec<Setting> = one.iter().map(|d| d.setting).collect();
        assert_eq!(
            settings,
            [Setting::ServiceTelnetEnabled, Setting::ServiceSshEnabled],
            "its own, in the audit's order"
        );
        assert_eq!(one[0].applied_at, "2026-12-01T10:00:00Z", "not 127.0.0.10's later telnet change");
        assert_eq!(one[1].applied_at, "2026-12-01T10:00:01Z", "the verified change, not the failed one after it");
        let last = h.last_changes().unwrap();
        assert_eq!(last.get("127.0.0.1:80").map(String::as_str), Some("2026-12-01T10:00:02Z"));
        assert_eq!(last.len(), 2);
    }

    #[test]
    fn a_history_kept_before_the_indexes_is_indexed_when_opened() {
        let dir = temp("old");
        let key = || HistoryKey::new([4; 32]);
        let read = [(Setting::ServiceTelnetEnabled, true), (Setting::ServiceSshEnabled, true)];
        let expected = {
            let h = History::open(&dir, key()).unwrap();
            fill(&h);
            let expected = h.drift_of(&audit("127.0.0.1:80", &read)).unwrap();
            // As an earlier version left it: records and seal only (and, here, an entry
            // that no record made, which a rebuild must not keep).
            h.index.last_verified.clear().unwrap();
            h.index.last_change.clear().unwrap();
            h.index.last_change.insert("10.9.9.9:80", "2026-12-01T00:00:00Z").unwrap();
            h.meta.remove(INDEXED).unwrap();
            h.db.flush().unwrap();
            assert!(h.drift_of(&audit("127.0.0.1:80", &read)).unwrap().is_empty());
            expected
        };
        let h = History::open(&dir, key()).unwrap();
        assert_eq!(h.drift_of(&audit("127.0.0.1:80", &read)).unwrap(), expected);
        assert_eq!(h.last_changes().unwrap().len(), 2);
        assert_eq!(h.verify().unwrap().first_bad, None, "the chain is untouched");
        // New records are indexed as they are appended, after the caught-up ones.
        h.append(change("127.0.0.1:80", Setting::ServiceSshEnabled, true, Outcome::Verified), "2026-12-01T11:00:00Z")
            .unwrap();
        assert_eq!(h.drift_of(&audit("127.0.0.1:80", &read)).unwrap().len(), 1, "ssh now as applied");
    }

    /// What a query for one device must return: every record of it, in order, and no other's.
    fn by_hand(h: &History, device: &str) -> Vec<u64> {
        h.all().unwrap().into_iter().filter(|r| r.change.device == device).map(|r| r.seq).collect()
    }

    fn query(h: &History, device: &str) -> Vec<u64> {
        let filter = crate::history::Filter { device: Some(device.into()), ..Default::default() };
        h.query(&filter).unwrap().into_iter().map(|r| r.seq).collect()
    }

    #[test]
    fn a_devices_records_come_from_its_index_and_are_exactly_its_own() {
        let h = History::open(&temp("by-device"), HistoryKey::new([5; 32])).unwrap();
        fill(&h);
        assert_eq!(query(&h, "127.0.0.1:80"), [1, 2, 3], "not 127.0.0.10's, whose label it begins");
        assert_eq!(query(&h, "127.0.0.10:80"), by_hand(&h, "127.0.0.10:80"));
        assert!(query(&h, "127.0.0.2:80").is_empty());
        // The other filters still apply within the device's records.
        let since = crate::history::Filter {
            device: Some("127.0.0.1:80".into()),
            since: Some("2026-12-01T10:00:01Z".into()),
            ..Default::default()
        };
        assert_eq!(h.query(&since).unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(), [2, 3]);
    }

    #[test]
    fn an_index_of_an_older_version_is_built_again_when_opened() {
        let dir = temp("version");
        let key = || HistoryKey::new([6; 32]);
        {
            let h = History::open(&dir, key()).unwrap();
            fill(&h);
            // As version 1 left it: indexed to the end, but without each device's records.
            h.index.by_device.clear().unwrap();
            h.meta.remove(VERSION_KEY).unwrap();
            h.db.flush().unwrap();
            assert!(query(&h, "127.0.0.1:80").is_empty());
        }
        let h = History::open(&dir, key()).unwrap();
        assert_eq!(query(&h, "127.0.0.1:80"), by_hand(&h, "127.0.0.1:80"));
        assert_eq!(query(&h, "127.0.0.10:80"), [4, 5]);
        assert_eq!(h.last_changes().unwrap().len(), 2, "the other indexes rebuilt alike");
        // Opened again, it is current: not rebuilt (an entry only a rebuild would drop stays).
        drop(h);
        {
            let h = History::open(&dir, key()).unwrap();
            h.index.last_change.insert("10.9.9.9:80", "2026-12-01T00:00:00Z").unwrap();
            h.db.flush().unwrap();
        }
        let h = History::open(&dir, key()).unwrap();
        assert_eq!(h.last_changes().unwrap().len(), 3, "a current index is not built again");
    }
}

#[cfg(test)]
mod credential_tests {
    use super::super::{Change, History, HistoryKey};
    use super::*;

    #[test]
    fn the_last_password_set_is_the_records_last_verified_change_with_a_vault_entry() {
        let dir = std::env::temp_dir().join(format!("pc-history-index-cred-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let h = History::open(&dir, HistoryKey::new([5; 32])).unwrap();
        let change = Change::bare;
        let sets = crate::site::passwords::SETS_A_PASSWORD;
        let rows = [
            (
                "127.0.0.1:80",
                Setting::AccountActivated,
                Outcome::Verified,
                Some("device/127.0.0.1/admin"),
                "2026-01-01T00:00:00Z",
            ),
            (
                "127.0.0.1:80",
                Setting::AccountPassword,
                Outcome::Verified,
                Some("device/127.0.0.1/admin"),
                "2026-06-01T00:00:00Z",
            ),
            // Not a password set: failed, or without a vault entry, or another setting.
            (
                "127.0.0.1:80",
                Setting::AccountPassword,
                Outcome::Failed { reason: "x".into() },
                Some("e"),
                "2026-07-01T00:00:00Z",
            ),
            ("127.0.0.1:80", Setting::ServiceSshEnabled, Outcome::Verified, Some("e"), "2026-08-01T00:00:00Z"),
            ("127.0.0.2:80", Setting::AccountPassword, Outcome::Verified, None, "2026-09-01T00:00:00Z"),
        ];
        for (device, setting, outcome, entry, time) in rows {
            h.append(change(device, setting, outcome, entry), time).unwrap();
        }
        let from_records = crate::site::passwords::rotations(&h.all().unwrap());
        for device in ["127.0.0.1:80", "127.0.0.2:80"] {
            assert_eq!(h.last_credential_change(device, &sets).unwrap().as_ref(), from_records.get(device), "{device}");
        }
        assert_eq!(h.last_credential_change("127.0.0.1:80", &sets).unwrap().as_deref(), Some("2026-06-01T00:00:00Z"));
        assert_eq!(h.last_credential_change("127.0.0.2:80", &sets).unwrap(), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

#[cfg(test)]
mod intent_tests {
    use super::super::{Change, History, HistoryKey};
    use super::*;

    /// What the index replaces: a pass over every record.
    fn open_by_scan(h: &History) -> Vec<u64> {
        let mut open: HashMap<(String, Setting), u64> = HashMap::new();
        for r in h.all().unwrap() {
            let key = (r.change.device.clone(), r.change.setting);
            if r.change.outcome == Outcome::Intent {
                open.insert(key, r.seq);
            } else {
                open.remove(&key);
            }
        }
        let mut seqs: Vec<u64> = open.into_values().collect();
        seqs.sort_unstable();
        seqs
    }

    #[test]
    fn open_intents_are_those_no_outcome_followed_and_survive_a_rebuild() {
        let dir = std::env::temp_dir().join(format!("pc-history-index-intents-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let key = || HistoryKey::new([6; 32]);
        let change = |device, setting, outcome| Change::bare(device, setting, outcome, None);
        let (telnet, ssh) = (Setting::ServiceTelnetEnabled, Setting::ServiceSshEnabled);
        {
            let h = History::open(&dir, key()).unwrap();
            let rows = [
                ("127.0.0.1:80", telnet, Outcome::Intent),
                ("127.0.0.1:80", telnet, Outcome::Verified),
                ("127.0.0.1:80", ssh, Outcome::Intent), // left open
                ("127.0.0.2:80", telnet, Outcome::Intent),
                ("127.0.0.2:80", telnet, Outcome::Intent), // a second try: the later one is open
                ("127.0.0.3:80", telnet, Outcome::Intent),
                ("127.0.0.3:80", telnet, Outcome::RolledBack { reason: "x".into() }),
            ];
            for (device, setting, outcome) in rows {
                h.append(change(device, setting, outcome), "2026-12-01T10:00:00Z").unwrap();
            }
            let open: Vec<u64> = h.open_intents().unwrap().iter().map(|r| r.seq).collect();
            assert_eq!(open, [3, 5]);
            assert_eq!(open, open_by_scan(&h));
            h.meta.remove(INDEXED).unwrap();
            h.db.flush().unwrap();
        }
        let h = History::open(&dir, key()).unwrap();
        assert_eq!(h.open_intents().unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(), [3, 5], "rebuilt the same");
        h.append(change("127.0.0.1:80", ssh, Outcome::Verified), "2026-12-01T11:00:00Z").unwrap();
        assert_eq!(h.open_intents().unwrap().iter().map(|r| r.seq).collect::<Vec<_>>(), [5]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
