//! Audit snapshots: every `portcullis audit` run kept as it was scored, so that a report
//! can show a site's score before and after hardening. Kept in sled in its own database
//! (`snapshots.sled`): sled allows one opener per path per process, and a report opens
//! the history and the inventory at the same time. Snapshots hold findings and identities,
//! never a secret. The API speaks snapshots, not sled types; there is no update.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::audit::DeviceAudit;
use crate::error::{Error, Result};

/// Each device's most recent audit that is still current: none of the changes in
/// `last_change` came after it (a changed device must be audited again). `latest` holds
/// each device's last audit with the time of its run ([`Snapshots::latest`]);
/// `last_change` when each device's last change was recorded
/// ([`crate::history::History::last_changes`]).
pub fn current_audits(
    latest: Vec<(String, DeviceAudit)>,
    last_change: &std::collections::HashMap<String, String>,
) -> std::collections::BTreeMap<String, (String, DeviceAudit)> {
    let mut latest: std::collections::BTreeMap<String, (String, DeviceAudit)> =
        latest.into_iter().map(|(time, d)| (d.target.clone(), (time, d))).collect();
    let at = |t: &str| chrono::DateTime::parse_from_rfc3339(t).ok();
    latest.retain(|target, (time, _)| {
        last_change.get(target.as_str()).is_none_or(|changed| match (at(changed), at(time)) {
            (Some(c), Some(t)) => c <= t,
            _ => changed.as_str() <= time.as_str(),
        })
    });
    latest
}

/// One audit run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// 1, 2, 3… in the order the runs were saved.
    pub id: u64,
    /// RFC 3339, UTC: when the run finished.
    pub time: String,
    pub operator: String,
    /// What the run was scored against, as the user chose it (`builtin` for the default
    /// pair, a built-in name, or a file path).
    pub baseline: String,
    pub devices: Vec<DeviceAudit>,
}

#[derive(Debug)]
pub struct Snapshots {
    /// Every run, by id.
    tree: sled::Tree,
    /// Each device's last run (its id), by target: what plans and the app start from
    /// is read from those runs only, not from every run ever kept. (Ids, not the audits:
    /// sled rewrites whole pages, and pages of thousands of audits cost it tens of
    /// megabytes per save.)
    latest: sled::Tree,
    db: sled::Db,
}

fn local(e: impl std::fmt::Display) -> Error {
    Error::Local(format!("audit snapshots: {e}"))
}

impl Snapshots {
    pub fn open(home: &Path) -> Result<Snapshots> {
        let db = crate::files::open_sled(&home.join("snapshots.sled")).map_err(local)?;
        let tree = db.open_tree("audits").map_err(local)?;
        let latest = db.open_tree("latest").map_err(local)?;
        let s = Snapshots { tree, latest, db };
        if s.latest.is_empty() && !s.tree.is_empty() {
            // Kept before the index existed: build it once from every run.
            for run in s.all()? {
                s.index(run.id, &run.devices)?;
            }
            s.db.flush().map_err(local)?;
        }
        Ok(s)
    }

    /// Make this run its devices' latest.
    fn index(&self, id: u64, devices: &[DeviceAudit]) -> Result<()> {
        let mut batch = sled::Batch::default();
        for d in devices {
            batch.insert(d.target.as_bytes(), &id.to_be_bytes());
        }
        self.latest.apply_batch(batch).map_err(local)
    }

    /// Each device's last audit, with the time of its run.
    pub fn latest(&self) -> Result<Vec<(String, DeviceAudit)>> {
        let mut wanted: std::collections::BTreeMap<u64, std::collections::HashSet<String>> = Default::default();
        for kv in self.latest.iter() {
            let (target, id) = kv.map_err(local)?;
            let id = <[u8; 8]>::try_from(id.as_ref()).map_err(|_| local("a malformed run id"))?;
            wanted.entry(u64::from_be_bytes(id)).or_default().insert(String::from_utf8_lossy(&target).into_owned());
        }
        let mut out = Vec::new();
        for (id, targets) in wanted {
            let Some(run) = self.get(id)? else { continue };
            out.extend(run.devices.into_iter().filter(|d| targets.contains(&d.target)).map(|d| (run.time.clone(), d)));
        }
        Ok(out)
    }

    /// Save a run; its `id` is assigned here. Flushed before returning.
    pub fn save(&self, time: &str, operator: &str, baseline: &str, devices: &[DeviceAudit]) -> Result<u64> {
        // One writer at a time is enough here: audits are run by hand, one after another.
        let last = self.tree.last().map_err(local)?;
        let id = last.and_then(|(k, _)| <[u8; 8]>::try_from(k.as_ref()).ok()).map_or(1, |k| u64::from_be_bytes(k) + 1);
        /// A [`Snapshot`] as written: the devices borrowed, not copied.
        #[derive(Serialize)]
        struct Written<'a> {
            id: u64,
            time: &'a str,
            operator: &'a str,
            baseline: &'a str,
            devices: &'a [DeviceAudit],
        }
        let run = Written { id, time, operator, baseline, devices };
        self.tree.insert(id.to_be_bytes(), serde_json::to_vec(&run).map_err(local)?).map_err(local)?;
        self.index(id, devices)?;
        self.db.flush().map_err(local)?;
        Ok(id)
    }

    /// Every run, oldest first.
    pub fn all(&self) -> Result<Vec<Snapshot>> {
        self.tree.iter().values().map(|v| serde_json::from_slice(&v.map_err(local)?).map_err(local)).collect()
    }

    /// The runs whose time lies within the RFC 3339 bounds (inclusive), oldest first.
    pub fn between(&self, since: Option<&str>, until: Option<&str>) -> Result<Vec<Snapshot>> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|s| since.is_none_or(|t| s.time.as_str() >= t) && until.is_none_or(|t| s.time.as_str() <= t))
            .collect())
    }

    pub fn get(&self, id: u64) -> Result<Option<Snapshot>> {
        match self.tree.get(id.to_be_bytes()).map_err(local)? {
            Some(v) => Ok(Some(serde_json::from_slice(&v).map_err(local)?)),
            None => Ok(None),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Problem;
    use crate::baseline::eval::Finding;
    use crate::baseline::eval::Status;
    use crate::baseline::Severity;
    use crate::posture::{Identity, Protocol};

    fn audit(score: u8) -> DeviceAudit {
        DeviceAudit {
            target: "127.1.0.1:80".into(),
            site: None,
            protocol: Some(Protocol::Isapi),
            baseline: Some("hikvision-hardening@1.0.0".into()),
            identity: Some(Identity { model: "DS-2CD2143G2-I".into(), ..Default::default() }),
            findings: vec![Finding {
                control: "HIK-12".into(),
                title: "Telnet off".into(),
                severity: Severity::High,
                status: Status::Fail,
                setting: crate::setting::Setting::ServiceTelnetEnabled,
                observed: None,
                expected: "false".into(),
                evidence: "read true".into(),
            }],
            score: Some(score),
            error: Some(Problem { code: "x".into(), message: "y".into() }),
        }
    }

    #[test]
    fn runs_round_trip_in_order_and_survive_reopening() {
        let dir = std::env::temp_dir().join(format!("pc-snapshots-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let s = Snapshots::open(&dir).unwrap();
            for (i, t) in ["2026-11-28T10:00:00Z", "2026-11-28T11:00:00Z", "2026-11-28T12:00:00Z"].iter().enumerate() {
                let d = DeviceAudit { site: Some("hq".into()), ..audit(10 * i as u8) };
                s.save(t, "tester", "builtin", &[d]).unwrap();
            }
        }
        let s = Snapshots::open(&dir).unwrap();
        let all = s.all().unwrap();
        assert_eq!(all.len(), 3);
        assert!(all.windows(2).all(|w| w[0].id < w[1].id));
        assert_eq!(all[2].devices[0].score, Some(20));
        assert_eq!(all[0].devices[0].site.as_deref(), Some("hq"));
        assert_eq!(s.between(Some("2026-11-28T11:00:00Z"), None).unwrap().len(), 2);
        assert_eq!(s.between(None, Some("2026-11-28T10:30:00Z")).unwrap().len(), 1);
        assert_eq!(s.get(all[1].id).unwrap().unwrap(), all[1]);
        let latest = s.latest().unwrap();
        assert_eq!(latest.len(), 1, "one device, audited three times");
        assert_eq!((latest[0].0.as_str(), latest[0].1.score), ("2026-11-28T12:00:00Z", Some(20)));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn runs_kept_before_the_latest_index_existed_are_indexed_when_opened() {
        let dir = std::env::temp_dir().join(format!("pc-snapshots-old-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            // As an earlier version kept them: runs only.
            let db = crate::files::open_sled(&dir.join("snapshots.sled")).unwrap();
            let tree = db.open_tree("audits").unwrap();
            for (id, (time, target, score)) in [
                ("2026-11-28T10:00:00Z", "a:80", 10),
                ("2026-11-28T11:00:00Z", "a:80", 20),
                ("2026-11-28T11:00:00Z", "b:80", 30),
            ]
            .into_iter()
            .enumerate()
            {
                let run = Snapshot {
                    id: id as u64 + 1,
                    time: time.into(),
                    operator: "t".into(),
                    baseline: "builtin".into(),
                    devices: vec![DeviceAudit { target: target.into(), ..audit(score) }],
                };
                tree.insert((id as u64 + 1).to_be_bytes(), serde_json::to_vec(&run).unwrap()).unwrap();
            }
            db.flush().unwrap();
        }
        let s = Snapshots::open(&dir).unwrap();
        let latest: Vec<(String, Option<u8>)> =
            s.latest().unwrap().into_iter().map(|(_, d)| (d.target, d.score)).collect();
        assert_eq!(latest, [("a:80".to_string(), Some(20)), ("b:80".to_string(), Some(30))]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn current_audits_are_the_latest_not_outdated_by_a_change() {
        let snap = |id: u64, time: &str, target: &str, score: u8| Snapshot {
            id,
            time: time.into(),
            operator: "t".into(),
            baseline: "builtin".into(),
            devices: vec![DeviceAudit { target: target.into(), ..audit(score) }],
        };
        let snaps = [
            snap(1, "2026-11-28T10:00:00Z", "a:80", 10),
            snap(2, "2026-11-28T11:00:00Z", "a:80", 20),
            snap(3, "2026-11-28T11:00:00Z", "b:80", 30),
        ];
        let record = |device: &str, time: &str| crate::history::Record {
            seq: 1,
            time: time.into(),
            change: crate::history::Change {
                operator: "t".into(),
                device: device.into(),
                site: None,
                control: None,
                setting: crate::setting::Setting::ServiceTelnetEnabled,
                before: None,
                after: None,
                outcome: crate::history::Outcome::Verified,
                vault_entry: None,
            },
            prev_hash: String::new(),
            hash: String::new(),
            mac: String::new(),
        };
        // b changed after its audit (a millisecond-stamped record in the same minute).
        let history = [record("a:80", "2026-11-28T10:30:00.000Z"), record("b:80", "2026-11-28T11:00:00.500Z")];
        let latest = snaps.iter().flat_map(|s| s.devices.iter().map(|d| (s.time.clone(), d.clone()))).collect();
        let last_change = history.iter().map(|r| (r.change.device.clone(), r.time.clone())).collect();
        let current = current_audits(latest, &last_change);
        assert_eq!(current.keys().collect::<Vec<_>>(), ["a:80"]);
        let a = current["a:80"].1.clone();
        assert_eq!((a.score, a.error.map(|e| e.code)), (Some(20), Some("x".to_string())));
    }
}
