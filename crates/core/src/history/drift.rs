//! Drift: settings that no longer hold what the last verified apply made them, worked
//! out against each device's last verified values: from the history's index for an audit
//! ([`super::History::drift_of`]), or in one pass over a list of records ([`Applied`],
//! what a report has).

use serde::Serialize;

use super::{Outcome, Record};
use crate::posture::Value;
use crate::setting::Setting;

/// A setting that no longer holds what the last successful apply made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct Drift {
    pub device: String,
    pub setting: Setting,
    pub applied: Option<Value>,
    pub now: Option<Value>,
    /// When the apply made it so (RFC 3339).
    pub applied_at: String,
}

/// Drift of one audited device: for each setting the history shows verified, the last
/// value applied, compared with what the device shows now.
/// `records` may be the whole history or only this device's; others' are skipped.
pub fn drift<'a>(
    records: impl IntoIterator<Item = &'a Record>,
    device: &str,
    observed: &[(Setting, Option<Value>)],
) -> Vec<Drift> {
    let mut applied = Applied::default();
    for r in records.into_iter().filter(|r| r.change.device == device) {
        applied.add(r);
    }
    applied.drift(device, observed)
}

/// The last verified change of each device's settings in a history, found in one pass
/// (a site's audit compares thousands of devices with tens of thousands of records), and
/// kept small: the value applied and when, not the records.
#[derive(Debug, Default)]
pub struct Applied {
    last: std::collections::HashMap<String, std::collections::BTreeMap<Setting, (Option<Value>, String)>>,
}

impl Applied {
    pub fn of(records: &[Record]) -> Applied {
        let mut applied = Applied::default();
        for r in records {
            applied.add(r);
        }
        applied
    }

    /// Take a record into account (records come in order: a later one wins).
    pub fn add(&mut self, r: &Record) {
        if matches!(r.change.outcome, Outcome::Verified) {
            let device = match self.last.get_mut(r.change.device.as_str()) {
                Some(d) => d,
                None => self.last.entry(r.change.device.clone()).or_default(),
            };
            device.insert(r.change.setting, (r.change.after.clone(), r.time.clone()));
        }
    }

    /// What differs, on this device, from the last verified change of each setting.
    pub fn drift(&self, device: &str, observed: &[(Setting, Option<Value>)]) -> Vec<Drift> {
        self.last.get(device).map_or_else(Vec::new, |last| drift_from(device, last, observed))
    }
}

/// What differs, on a device, from `last` (its last verified value of each setting).
pub(super) fn drift_from(
    device: &str,
    last: &std::collections::BTreeMap<Setting, (Option<Value>, String)>,
    observed: &[(Setting, Option<Value>)],
) -> Vec<Drift> {
    let mut out = Vec::new();
    for (setting, now) in observed {
        let Some((applied, applied_at)) = last.get(setting) else { continue };
        // Only settings whose value the history states (not backups, certificates by hash, passwords).
        let applied = applied.clone();
        let comparable = matches!(applied, Some(Value::Bool(_)) | Some(Value::List(_)))
            || matches!(&applied, Some(Value::Text(t)) if !t.starts_with("sha256:") && !t.starts_with("site CA") && t != "rotated");
        let same = match (now, &applied) {
            (Some(n), Some(a)) => crate::posture::same_setting(*setting, n, a),
            _ => true,
        };
        if comparable && !same {
            out.push(Drift {
                device: device.to_string(),
                setting: *setting,
                applied,
                now: now.clone(),
                applied_at: applied_at.clone(),
            });
        }
    }
    out
}
