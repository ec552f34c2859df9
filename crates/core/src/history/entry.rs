//! A record as people read it: what reports list as changes, what the app's history
//! screen and a device's page show. The chain's internals (previous hash, MAC) and the
//! vault entry's name stay in the history; the record's hash is kept, so that a report's
//! row can be checked against the history (`report verify`).

use serde::{Deserialize, Serialize};

use super::{OutcomeKind, Record};
use crate::posture::Value;
use crate::setting::Setting;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct Entry {
    /// Sequence numbers stay far below 2^53: a JavaScript number holds them exactly.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub seq: u64,
    /// RFC 3339, UTC.
    pub time: String,
    pub operator: String,
    pub device: String,
    pub site: Option<String>,
    pub control: Option<String>,
    pub setting: Setting,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub outcome: OutcomeKind,
    /// Why it was rolled back or failed.
    pub reason: Option<String>,
    /// The record's hash in the history chain.
    pub hash: String,
}

impl From<&Record> for Entry {
    fn from(r: &Record) -> Entry {
        let c = &r.change;
        Entry {
            seq: r.seq,
            time: r.time.clone(),
            operator: c.operator.clone(),
            device: c.device.clone(),
            site: c.site.clone(),
            control: c.control.clone(),
            setting: c.setting,
            before: c.before.clone(),
            after: c.after.clone(),
            outcome: c.outcome.kind(),
            reason: c.outcome.reason().map(String::from),
            hash: r.hash.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::{Change, Outcome};

    #[test]
    fn an_entry_keeps_the_hash_and_reason_and_drops_the_vault_entry_and_mac() {
        let change = Change::bare(
            "10.0.0.5:80",
            Setting::ServiceTelnetEnabled,
            Outcome::RolledBack { reason: "read back true".into() },
            Some("device/10.0.0.5"),
        );
        let record = Record {
            seq: 7,
            time: "2026-12-05T08:00:00Z".into(),
            change,
            prev_hash: "p".into(),
            hash: "h".into(),
            mac: "m".into(),
        };
        let entry = Entry::from(&record);
        assert_eq!(
            (entry.seq, entry.outcome, entry.reason.as_deref(), entry.hash.as_str()),
            (7, OutcomeKind::RolledBack, Some("read back true"), "h")
        );
        let json = serde_json::to_string(&entry).unwrap();
        for hidden in ["device/10.0.0.5", "prev_hash", "\"mac\"", "vault_entry"] {
            assert!(!json.contains(hidden), "{hidden} in {json}");
        }
    }
}
