//! Intents a crash left without an outcome. A killed run may stop between changing a
//! device and recording that it did; the next run reads the device, and this closes
//! each such intent with what the device now shows, so that every change is in the
//! history exactly once.

use crate::setting::Setting;
use std::collections::HashMap;

use crate::audit::DeviceAudit;
use crate::error::Result;
use crate::history::{Change, History, Outcome, Record};

/// Intents with no outcome after them, by (device, setting): from the history's index,
/// not its every record.
pub fn open_intents(history: &History) -> Result<HashMap<(String, Setting), Record>> {
    Ok(history.open_intents()?.into_iter().map(|r| ((r.change.device.clone(), r.change.setting), r)).collect())
}

/// Close the open intents of the audited devices; password intents are left to
/// `recover`, which proves them by logging in. Returns how many were closed.
pub fn close(history: &History, operator: &str, audits: &[DeviceAudit], now: &str) -> Result<usize> {
    let mut closed = 0;
    for ((device, setting), intent) in open_intents(history)? {
        if intent.change.vault_entry.is_some() {
            continue;
        }
        let Some(audit) = audits.iter().find(|a| a.target == device && a.error.is_none()) else { continue };
        let Some(finding) = audit.findings.iter().find(|f| f.setting == setting) else { continue };
        let held = match (&finding.observed, &intent.change.after) {
            (Some(seen), Some(wanted)) => crate::posture::same_setting(setting, seen, wanted),
            _ => false,
        };
        let outcome = if held {
            Outcome::Verified
        } else {
            Outcome::Failed { reason: "interrupted before it took effect (read back after a restart)".into() }
        };
        let change = Change {
            operator: operator.to_string(),
            outcome,
            after: if held { intent.change.after.clone() } else { finding.observed.clone() },
            ..intent.change.clone()
        };
        history.append(change, now)?;
        closed += 1;
    }
    Ok(closed)
}
