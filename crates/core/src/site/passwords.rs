//! The site's password rotation policy: facts no device can tell about itself. Whether
//! a device's admin password is used by another device of the site is decided by
//! comparing the vault's entries (never shown, never written anywhere); how old it is,
//! from the history (the last verified rotation or activation) or else from the day
//! the operator stored it in the vault. They fill the findings of the site's
//! `SITE-PW-UNIQUE` and `SITE-PW-AGE` controls after the devices were read.

use std::collections::HashMap;

use crate::audit::DeviceAudit;
use crate::baseline::eval::{self, Status};
use crate::history::{Outcome, Record};
use crate::posture::Value;
use crate::secret::Credentials;
use crate::setting::Setting;
use crate::vault::{EntryInfo, Scope};

pub const UNIQUE: &str = "SITE-PW-UNIQUE";
pub const AGE: &str = "SITE-PW-AGE";

/// Settings whose verified change set a new admin password.
pub const SETS_A_PASSWORD: [Setting; 6] = [
    Setting::AccountPassword,
    Setting::AccountDefaultPassword,
    Setting::AccountWeakPassword,
    Setting::AccountActivated,
    Setting::AccountPasswordUnique,
    Setting::AccountPasswordRecent,
];

/// What the facts are read from.
pub struct Sources<'a> {
    /// The credentials the vault gives each device of the site (label → credentials),
    /// every device, not only those audited: uniqueness is site-wide.
    pub credentials: &'a HashMap<String, Credentials>,
    /// How many of those devices use each password ([`password_counts`]): counted once
    /// for the site, not by comparing every device with every other.
    pub password_counts: &'a HashMap<&'a str, usize>,
    /// When each device's password was last set by a verified change (label → RFC 3339):
    /// [`rotations`] of a list of records, or the history's index.
    pub rotated: &'a HashMap<String, String>,
    pub vault_index: &'a [EntryInfo],
    /// The site's maximum age, in days, when it sets one.
    pub max_age_days: Option<u32>,
    pub now: chrono::DateTime<chrono::Utc>,
}

impl std::fmt::Debug for Sources<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Credentials are never printed: only how many.
        write!(f, "Sources({} credentials, {} rotations)", self.credentials.len(), self.rotated.len())
    }
}

/// Fill the rotation findings of each audit that has them, and score it again.
pub fn fill(audits: &mut [DeviceAudit], from: &Sources<'_>) {
    for a in audits.iter_mut().filter(|a| a.error.is_none()) {
        let mut touched = false;
        if let Some(f) = a.findings.iter_mut().find(|f| f.control == UNIQUE) {
            let (status, observed, evidence) = uniqueness(&a.target, from);
            (f.status, f.observed, f.evidence) = (status, observed, evidence);
            touched = true;
        }
        if let (Some(f), Some(max)) = (a.findings.iter_mut().find(|f| f.control == AGE), from.max_age_days) {
            let (status, observed, evidence) = age(&a.target, from, max);
            (f.status, f.observed, f.evidence) = (status, observed, evidence);
            touched = true;
        }
        if touched {
            a.score = eval::score(&a.findings);
        }
    }
}

/// How many devices use each password. The keys borrow the vault's own copies: no
/// password is copied.
pub fn password_counts(credentials: &HashMap<String, Credentials>) -> HashMap<&str, usize> {
    let mut counts = HashMap::new();
    for c in credentials.values() {
        *counts.entry(c.password.expose()).or_insert(0) += 1;
    }
    counts
}

fn uniqueness(label: &str, from: &Sources<'_>) -> (Status, Option<Value>, String) {
    let Some(own) = from.credentials.get(label) else {
        return (Status::Unknown, None, "the vault holds no password for this device".into());
    };
    let sharing = from.password_counts.get(own.password.expose()).map_or(0, |n| n.saturating_sub(1));
    if sharing == 0 {
        (
            Status::Pass,
            Some(Value::Bool(true)),
            "no other device of the site has this password (compared in the vault)".into(),
        )
    } else {
        (
            Status::Fail,
            Some(Value::Bool(false)),
            format!("{sharing} other device(s) of the site have the same password (compared in the vault)"),
        )
    }
}

/// When each device's password was last set by a verified rotation or activation that
/// used a vault entry, from a list of records (in order: a later one wins).
pub fn rotations(history: &[Record]) -> HashMap<String, String> {
    let mut out = HashMap::new();
    for r in history.iter().filter(|r| {
        r.change.outcome == Outcome::Verified
            && r.change.vault_entry.is_some()
            && SETS_A_PASSWORD.contains(&r.change.setting)
    }) {
        out.insert(r.change.device.clone(), r.time.clone());
    }
    out
}

/// When the device's password was last set: a verified rotation or activation in the
/// history (`rotated`, from [`rotations`]), else the day its own vault entry was stored
/// (`stored in the vault`). The handover says it too.
pub fn last_set(
    label: &str,
    rotated: &HashMap<String, String>,
    vault_index: &[EntryInfo],
) -> Option<(chrono::DateTime<chrono::Utc>, &'static str)> {
    let address = label.split(':').next().unwrap_or(label);
    let parse = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok().map(|t| t.with_timezone(&chrono::Utc));
    if let Some(t) = rotated.get(label).and_then(|t| parse(t)) {
        return Some((t, "rotated"));
    }
    vault_index
        .iter()
        .filter(|e| matches!(&e.scope, Scope::Device(d) if d == label || d == address))
        .filter_map(|e| parse(&e.updated))
        .max()
        .map(|t| (t, "stored in the vault"))
}

fn age(label: &str, from: &Sources<'_>, max_days: u32) -> (Status, Option<Value>, String) {
    let Some((when, how)) = last_set(label, from.rotated, from.vault_index) else {
        return (
            Status::Unknown,
            None,
            "no rotation recorded and no password of its own in the vault: its age is unknown".into(),
        );
    };
    let days = (from.now - when).num_days().max(0);
    let within = days <= i64::from(max_days);
    let evidence = format!("{how} {days} day(s) ago, on {}; the site allows {max_days}", when.format("%Y-%m-%d"));
    (if within { Status::Pass } else { Status::Fail }, Some(Value::Bool(within)), evidence)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::eval::Finding;
    use crate::baseline::Severity;

    fn audit(label: &str) -> DeviceAudit {
        let finding = |control: &str, setting| Finding {
            control: control.into(),
            title: String::new(),
            severity: Severity::High,
            status: Status::Unknown,
            setting,
            observed: None,
            expected: "true".into(),
            evidence: "could not be read".into(),
        };
        DeviceAudit {
            target: label.into(),
            site: None,
            protocol: None,
            baseline: None,
            identity: None,
            findings: vec![
                finding(UNIQUE, Setting::AccountPasswordUnique),
                finding(AGE, Setting::AccountPasswordRecent),
            ],
            score: None,
            error: None,
        }
    }

    fn record(device: &str, time: &str, setting: Setting) -> Record {
        Record {
            seq: 1,
            time: time.into(),
            change: crate::history::Change::bare(
                device,
                setting,
                Outcome::Verified,
                Some(&format!("device/{device}/admin")),
            ),
            prev_hash: String::new(),
            hash: String::new(),
            mac: String::new(),
        }
    }

    #[test]
    fn a_shared_password_fails_and_an_old_one_fails_without_either_being_shown() {
        let creds: HashMap<String, Credentials> =
            [("10.0.0.1:80", "shared-Canary-1"), ("10.0.0.2:80", "shared-Canary-1"), ("10.0.0.3:80", "own-Canary-3")]
                .into_iter()
                .map(|(l, p)| (l.to_string(), Credentials::new("admin", p)))
                .collect();
        let history = [record("10.0.0.3:80", "2026-11-30T10:00:00Z", Setting::AccountPassword)];
        let index = [EntryInfo {
            scope: Scope::Device("10.0.0.1".into()),
            username: "admin".into(),
            updated: "2026-01-02T00:00:00Z".into(),
        }];
        let now = chrono::DateTime::parse_from_rfc3339("2026-12-04T00:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let rotated = rotations(&history);
        let counts = password_counts(&creds);
        let from = Sources {
            credentials: &creds,
            password_counts: &counts,
            rotated: &rotated,
            vault_index: &index,
            max_age_days: Some(90),
            now,
        };
        let mut audits = vec![audit("10.0.0.1:80"), audit("10.0.0.3:80"), audit("10.0.0.9:80")];
        fill(&mut audits, &from);
        let status = |a: &DeviceAudit, c: &str| a.findings.iter().find(|f| f.control == c).map(|f| f.status);
        assert_eq!(status(&audits[0], UNIQUE), Some(Status::Fail));
        let evidence = audits[0].findings.iter().find(|f| f.control == UNIQUE).map(|f| f.evidence.as_str());
        assert_eq!(evidence, Some("1 other device(s) of the site have the same password (compared in the vault)"));
        assert_eq!(status(&audits[0], AGE), Some(Status::Fail), "stored 336 days ago");
        assert_eq!(status(&audits[1], UNIQUE), Some(Status::Pass));
        assert_eq!(status(&audits[1], AGE), Some(Status::Pass), "rotated 4 days ago");
        assert_eq!(status(&audits[2], UNIQUE), Some(Status::Unknown), "nothing in the vault");
        assert_eq!(status(&audits[2], AGE), Some(Status::Unknown));
        let text = serde_json::to_string(&audits).unwrap();
        assert!(!text.contains("Canary"), "no password in any finding: {text}");
        assert!(audits[0].score.is_some());
    }
}
