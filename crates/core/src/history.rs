//! The change history: append-only, in sled, each record carrying the hash of the one
//! before it, so that `verify` names the first record that was altered, removed or
//! reordered. Records name vault entries, never secrets. The API speaks records, not
//! sled types; there is no update and no delete.
//!
//! A hash chain alone is no proof against someone with file access: they can edit a
//! record and re-hash to the end, or cut the tail. So each record also carries an HMAC
//! of its hash under the site's history key (kept in the vault, never on disk in
//! clear), and a keyed seal states the record count and head. Without the key, an
//! edit, a re-hash or a cut tail fails `verify`; reports print the count and head, so
//! a customer's copy anchors the history as it was.

use crate::setting::Setting;
use std::path::Path;
use std::sync::Mutex;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sled::Transactional;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::posture::Value;

mod drift;
mod entry;
mod index;
pub use drift::{drift, Applied, Drift};
pub use entry::Entry;

/// The hash the first record points back to.
pub const GENESIS: &str = "genesis";

/// What happened to a change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum Outcome {
    /// Recorded before acting: a crash after this leaves a trace to recover from.
    Intent,
    /// Made and read back as intended.
    Verified,
    /// The read-back did not match (or the device failed): undone.
    RolledBack {
        reason: String,
    },
    Failed {
        reason: String,
    },
}

/// How a change ended, without the reason: what the UI branches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub enum OutcomeKind {
    Intent,
    Verified,
    RolledBack,
    Failed,
}

impl OutcomeKind {
    /// `rolled_back`, as files spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeKind::Intent => "intent",
            OutcomeKind::Verified => "verified",
            OutcomeKind::RolledBack => "rolled_back",
            OutcomeKind::Failed => "failed",
        }
    }
}

impl Outcome {
    pub fn kind(&self) -> OutcomeKind {
        match self {
            Outcome::Intent => OutcomeKind::Intent,
            Outcome::Verified => OutcomeKind::Verified,
            Outcome::RolledBack { .. } => OutcomeKind::RolledBack,
            Outcome::Failed { .. } => OutcomeKind::Failed,
        }
    }

    /// Why it was rolled back or failed.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Outcome::RolledBack { reason } | Outcome::Failed { reason } => Some(reason),
            Outcome::Intent | Outcome::Verified => None,
        }
    }
}

/// A change as the engine reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Change {
    pub operator: String,
    pub device: String,
    pub site: Option<String>,
    pub control: Option<String>,
    pub setting: Setting,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub outcome: Outcome,
    /// The vault entry a credential change used (its name, never its value).
    pub vault_entry: Option<String>,
}

#[cfg(test)]
impl Change {
    /// A change without values or site, by operator `t`: what tests record.
    pub(crate) fn bare(device: &str, setting: Setting, outcome: Outcome, vault_entry: Option<&str>) -> Change {
        Change {
            operator: "t".into(),
            device: device.into(),
            site: None,
            control: None,
            setting,
            before: None,
            after: None,
            outcome,
            vault_entry: vault_entry.map(String::from),
        }
    }
}

/// A change as stored: numbered, stamped and chained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub seq: u64,
    /// RFC 3339, UTC.
    pub time: String,
    #[serde(flatten)]
    pub change: Change,
    pub prev_hash: String,
    pub hash: String,
    /// HMAC-SHA-256 of `hash` under the history key: who lacks the key cannot re-hash.
    #[serde(default)]
    pub mac: String,
}

/// The key that seals the history: 32 random bytes, kept in the vault.
pub struct HistoryKey(Zeroizing<[u8; 32]>);

impl std::fmt::Debug for HistoryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HistoryKey(…)")
    }
}

impl HistoryKey {
    pub fn new(bytes: [u8; 32]) -> HistoryKey {
        HistoryKey(Zeroizing::new(bytes))
    }

    /// A fresh random key.
    pub fn generate() -> HistoryKey {
        let mut bytes = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut bytes);
        HistoryKey::new(bytes)
    }

    pub fn bytes(&self) -> &[u8; 32] {
        &self.0
    }

    fn mac(&self, text: &str) -> String {
        hex::encode(self.hmac(text).finalize().into_bytes())
    }

    fn checks(&self, text: &str, mac: &str) -> bool {
        hex::decode(mac).is_ok_and(|m| self.hmac(text).verify_slice(&m).is_ok())
    }

    fn hmac(&self, text: &str) -> Hmac<Sha256> {
        // HMAC takes a key of any length: this cannot fail.
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(self.0.as_ref()).unwrap_or_else(|_| unreachable!());
        m.update(text.as_bytes());
        m
    }
}

/// The keyed statement of how long the history is and where it ends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Seal {
    records: u64,
    head: String,
    mac: String,
}

impl Seal {
    fn text(records: u64, head: &str) -> String {
        format!("portcullis history: {records} records, head {head}")
    }
}

const SEAL: &[u8] = b"seal";

impl Record {
    /// SHA-256 over everything but the hash itself, in a fixed serialisation.
    fn compute_hash(&self) -> String {
        let body = serde_json::json!({
            "seq": self.seq,
            "time": self.time,
            "change": self.change,
            "prev_hash": self.prev_hash,
        });
        // Canonical, not `to_string`: the key order must not depend on serde_json's features.
        hex::encode(Sha256::digest(crate::canonical::to_string(&body).as_bytes()))
    }
}

/// The result of checking the chain (`history verify --json`, the app's chain status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ChainCheck", export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct Verification {
    /// How many records the chain holds, as verified (what a report cites with the head).
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub records: u64,
    /// Hash of the last record (what a report cites).
    pub head: String,
    /// The first record that does not fit the chain, and why.
    #[cfg_attr(feature = "ts", ts(type = "[number, string] | null"))]
    pub first_bad: Option<(u64, String)>,
}

/// Which records to list.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub device: Option<String>,
    pub site: Option<String>,
    /// RFC 3339 bounds, inclusive.
    pub since: Option<String>,
    pub until: Option<String>,
}

#[derive(Debug)]
pub struct History {
    tree: sled::Tree,
    /// The seal (count and head, keyed), and how far the indexes go.
    meta: sled::Tree,
    /// Derived from the records, written with each ([`index`]).
    index: index::Indexes,
    db: sled::Db,
    key: HistoryKey,
    append_lock: Mutex<()>,
    /// The highest record number known to be on disk. Appends share flushes (a group
    /// commit): while one flush runs, others append, and the next flush covers them
    /// all. One flush per record made 500 devices' apply wait on the disk in turn.
    flushed: Mutex<u64>,
}

fn local(e: impl std::fmt::Display) -> Error {
    Error::Local(format!("history: {e}"))
}

impl History {
    /// Open the history under `home`, sealed with `key` (the vault's history key).
    pub fn open(home: &Path, key: HistoryKey) -> Result<History> {
        let db = crate::files::open_sled(&home.join("history.sled")).map_err(local)?;
        let tree = db.open_tree("records").map_err(local)?;
        let meta = db.open_tree("meta").map_err(local)?;
        let index = index::Indexes::open(&db)?;
        index.catch_up(&tree, &meta)?;
        Ok(History { tree, meta, index, db, key, append_lock: Mutex::new(()), flushed: Mutex::new(0) })
    }

    fn last(&self) -> Result<Option<Record>> {
        match self.tree.last().map_err(local)? {
            Some((_, v)) => Ok(Some(serde_json::from_slice(&v).map_err(local)?)),
            None => Ok(None),
        }
    }

    /// Append a change; `now` is passed in (RFC 3339), never read here. Flushed to disk
    /// before returning, so a crash after this call keeps the record.
    pub fn append(&self, change: Change, now: &str) -> Result<Record> {
        let r = self.insert(change, now)?;
        // On disk before returning: by our flush, or by one that began after our insert.
        let mut flushed = self.flushed.lock().map_err(|_| local("lock poisoned"))?;
        if *flushed < r.seq {
            let newest = self.last()?.map_or(r.seq, |l| l.seq);
            self.db.flush().map_err(local)?;
            *flushed = newest;
        }
        Ok(r)
    }

    /// Chain and insert a record (in memory, not yet flushed).
    fn insert(&self, change: Change, now: &str) -> Result<Record> {
        let _g = self.append_lock.lock().map_err(|_| local("lock poisoned"))?;
        let last = self.last()?;
        let mut r = Record {
            seq: last.as_ref().map_or(1, |l| l.seq + 1),
            time: now.to_string(),
            change,
            prev_hash: last.map_or_else(|| GENESIS.to_string(), |l| l.hash),
            hash: String::new(),
            mac: String::new(),
        };
        r.hash = r.compute_hash();
        r.mac = self.key.mac(&r.hash);
        let seal = Seal { records: r.seq, head: r.hash.clone(), mac: self.key.mac(&Seal::text(r.seq, &r.hash)) };
        // The record and the seal that counts it land together, or neither does.
        let record = serde_json::to_vec(&r).map_err(local)?;
        let seal = serde_json::to_vec(&seal).map_err(local)?;
        let entries = index::entries_of(&r)?;
        let i = &self.index;
        (&self.tree, &self.meta, &i.last_verified, &i.last_change, &i.open_intents, &i.by_device)
            .transaction(|(records, meta, last_verified, last_change, open_intents, by_device)| {
                records.insert(&r.seq.to_be_bytes(), record.as_slice())?;
                meta.insert(SEAL, seal.as_slice())?;
                index::write_in(
                    &entries,
                    r.seq,
                    &index::InTransaction { last_verified, last_change, open_intents, by_device, meta },
                )
            })
            .map_err(|e| local(format!("{e:?}")))?;
        Ok(r)
    }

    /// Every record in order; an unreadable one is an error naming its key.
    pub fn all(&self) -> Result<Vec<Record>> {
        self.records().collect()
    }

    /// The records in order, read one at a time.
    pub fn records(&self) -> impl Iterator<Item = Result<Record>> + '_ {
        self.tree.iter().map(|kv| {
            let (k, v) = kv.map_err(local)?;
            serde_json::from_slice(&v).map_err(|e| local(format!("record {}: {e}", hex::encode(&k))))
        })
    }

    /// When each device's last change was recorded, by device (from the index).
    pub fn last_changes(&self) -> Result<std::collections::HashMap<String, String>> {
        self.index.last_changes()
    }

    /// The intents no outcome followed, oldest first (from the index: what a crash left
    /// open, usually nothing).
    pub fn open_intents(&self) -> Result<Vec<Record>> {
        let mut out = Vec::new();
        for seq in self.index.open_intents()? {
            out.push(self.record(seq)?);
        }
        out.sort_by_key(|r: &Record| r.seq);
        Ok(out)
    }

    /// When a verified change of one of these settings last used a vault entry on this
    /// device (a password set): from the index.
    pub fn last_credential_change(&self, device: &str, settings: &[Setting]) -> Result<Option<String>> {
        self.index.last_credential_change(device, settings)
    }

    /// What an audit of a device shows that differs from the last verified value of each
    /// setting (from the index: only this device's entries are read).
    pub fn drift_of(&self, audit: &crate::audit::DeviceAudit) -> Result<Vec<Drift>> {
        if audit.error.is_some() {
            return Ok(Vec::new());
        }
        Ok(drift::drift_from(&audit.target, &self.index.applied_to(&audit.target)?, &audit.observed()))
    }

    /// The records the filter lets through, in order: one device's from the index (only
    /// its records are read), the others read a record at a time and kept only if they pass.
    pub fn query(&self, f: &Filter) -> Result<Vec<Record>> {
        let passes = |r: &Record| {
            f.device.as_ref().is_none_or(|d| &r.change.device == d)
                && f.site.as_ref().is_none_or(|s| r.change.site.as_ref() == Some(s))
                && f.since.as_ref().is_none_or(|s| r.time.as_str() >= s.as_str())
                && f.until.as_ref().is_none_or(|u| r.time.as_str() <= u.as_str())
        };
        let mut out = Vec::new();
        match &f.device {
            Some(device) => {
                for seq in self.index.records_of(device) {
                    let r = self.record(seq?)?;
                    if passes(&r) {
                        out.push(r);
                    }
                }
            }
            None => {
                for r in self.records() {
                    let r = r?;
                    if passes(&r) {
                        out.push(r);
                    }
                }
            }
        }
        Ok(out)
    }

    /// One record by its number.
    fn record(&self, seq: u64) -> Result<Record> {
        let v = self
            .tree
            .get(seq.to_be_bytes())
            .map_err(local)?
            .ok_or_else(|| local(format!("record {seq} is missing")))?;
        serde_json::from_slice(&v).map_err(|e| local(format!("record {seq}: {e}")))
    }

    /// Recompute the chain from the start.
    pub fn verify(&self) -> Result<Verification> {
        let mut prev = GENESIS.to_string();
        let mut count = 0;
        for (expected_seq, kv) in (1u64..).zip(self.tree.iter()) {
            let (k, v) = kv.map_err(local)?;
            let key_seq = <[u8; 8]>::try_from(k.as_ref()).map(u64::from_be_bytes).unwrap_or(0);
            let r: Record = match serde_json::from_slice(&v) {
                Ok(r) => r,
                Err(e) => return Ok(bad(count, &prev, key_seq, format!("unreadable: {e}"))),
            };
            let problem = if r.seq != expected_seq || r.seq != key_seq {
                Some(format!("sequence {} where {expected_seq} was expected (a record is missing or moved)", r.seq))
            } else if r.prev_hash != prev {
                Some("does not point to the record before it".into())
            } else if r.compute_hash() != r.hash {
                Some("its content does not match its hash (altered)".into())
            } else if !self.key.checks(&r.hash, &r.mac) {
                Some("its seal does not match this site's history key (altered and re-hashed, or not ours)".into())
            } else {
                None
            };
            if let Some(reason) = problem {
                return Ok(bad(count, &prev, key_seq.max(r.seq), reason));
            }
            prev = r.hash;
            count = expected_seq;
        }
        // The seal says how many records there were: a cut tail leaves a valid chain.
        let seal: Option<Seal> = match self.meta.get(SEAL).map_err(local)? {
            Some(v) => serde_json::from_slice(&v).ok(),
            None => None,
        };
        let sealed = match &seal {
            None if count == 0 => Ok(()),
            None => Err("the history's seal is missing".to_string()),
            Some(s) if !self.key.checks(&Seal::text(s.records, &s.head), &s.mac) => {
                Err("the history's seal does not match this site's history key".to_string())
            }
            Some(s) if s.records != count || s.head != prev => Err(format!(
                "the history was sealed at {} records but holds {count} (records cut from the end)",
                s.records
            )),
            Some(_) => Ok(()),
        };
        if let Err(reason) = sealed {
            return Ok(bad(count, &prev, count + 1, reason));
        }
        Ok(Verification { records: count, head: prev, first_bad: None })
    }
}

fn bad(count: u64, head: &str, seq: u64, reason: String) -> Verification {
    Verification { records: count, head: head.to_string(), first_bad: Some((seq, reason)) }
}

#[cfg(test)]
mod tests;
