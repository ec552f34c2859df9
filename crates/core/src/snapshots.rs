//! Audit snapshots: every `portcullis audit` run kept as it was scored, so that a report
//! can show a site's score before and after hardening, and so that plans and the app start
//! from each device's last audit. Kept in sled in its own database (`snapshots.sled`):
//! sled allows one opener per path per process; each device's audit is kept deflated
//! ([`Deflater`]). Snapshots hold findings and identities, never a secret. The API speaks
//! snapshots, not sled types; there is no update.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sled::Transactional;

use crate::audit::DeviceAudit;
use crate::error::{Error, Result};
use crate::files::be_u64;

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
    /// In the order they were saved.
    pub devices: Vec<DeviceAudit>,
}

/// A run without its devices: what the `runs` tree holds.
#[derive(Serialize, Deserialize)]
struct Header<'a> {
    id: u64,
    #[serde(borrow)]
    time: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    operator: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    baseline: std::borrow::Cow<'a, str>,
    devices: u32,
}

/// Where one device's audit of one run is kept: the run's id, then its place in the run
/// (both big-endian, so a run's devices are one key range, in the order they were saved).
fn device_key(id: u64, seq: u32) -> [u8; 12] {
    let mut k = [0u8; 12];
    k[..8].copy_from_slice(&id.to_be_bytes());
    k[8..].copy_from_slice(&seq.to_be_bytes());
    k
}

/// Deflates the device audits of one run: each is kept as its JSON, zlib-deflated. A
/// camera's findings repeat the same keys and wording, so a Hikvision camera's 3.7 KB keep
/// in a few hundred bytes; sled holds what a run writes in memory until the process ends,
/// so at 5,000 cameras this was 30 MB of an audit's peak. One compressor serves the whole
/// run: a new one zeroes its tables first (76 µs per 5 KB record against 12 reused).
/// Level 1: the fastest, for nearly all the gain on text this repetitive.
#[derive(Debug)]
struct Deflater(flate2::write::ZlibEncoder<Vec<u8>>);

impl Deflater {
    fn new() -> Deflater {
        Deflater(flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast()))
    }

    fn encode(&mut self, device: &DeviceAudit) -> Result<Vec<u8>> {
        use std::io::Write;
        // Serialised first, then deflated in one write: fed token by token, the
        // deflater's per-call cost made an audit about 0.5 ms of CPU per camera dearer.
        let json = serde_json::to_vec(device).map_err(local)?;
        self.0.write_all(&json).map_err(local)?;
        // `reset` finishes the stream, hands back its bytes and readies the same
        // compressor for the next device.
        self.0.reset(Vec::with_capacity(json.len() / 4)).map_err(local)
    }
}

/// A kept device audit: deflated ([`Deflater`]), or plain JSON as earlier versions kept it
/// (a zlib stream never starts with `{`).
fn decode(value: &[u8]) -> Result<DeviceAudit> {
    if value.first() == Some(&b'{') {
        return serde_json::from_slice(value).map_err(local);
    }
    // Inflated whole, then parsed: serde_json reads a `Read` a byte at a time.
    let mut json = Vec::with_capacity(value.len() * 8);
    std::io::Read::read_to_end(&mut flate2::read::ZlibDecoder::new(value), &mut json).map_err(local)?;
    serde_json::from_slice(&json).map_err(local)
}

/// Devices written per sled batch when a run is saved: a batch holds copies of its
/// values, so one batch for a run of thousands of devices would hold the whole run twice.
const SAVE_BATCH: usize = 64;

/// The audit runs, kept as one header per run and one value per device and run: a run of
/// 5,000 cameras was one 125 MB value, built in memory whole when it was saved and read
/// whole when one device's last audit was wanted.
#[derive(Debug)]
pub struct Snapshots {
    /// Each run's [`Header`], by id. A run exists once its header does: its devices are
    /// written first, so a run cut short by a crash is never half-read.
    runs: sled::Tree,
    /// Each device's audit in each run, by [`device_key`].
    devices: sled::Tree,
    /// Each device's last audit (its [`device_key`]), by target: what plans and the app
    /// start from is read from those values only.
    latest: sled::Tree,
    db: sled::Db,
}

fn local(e: impl std::fmt::Display) -> Error {
    Error::Local(format!("audit snapshots: {e}"))
}

fn tx_local(e: sled::transaction::TransactionError<Error>) -> Error {
    match e {
        sled::transaction::TransactionError::Abort(e) => e,
        sled::transaction::TransactionError::Storage(e) => local(e),
    }
}

impl Snapshots {
    pub fn open(home: &Path) -> Result<Snapshots> {
        let db = crate::files::open_sled(&home.join("snapshots.sled")).map_err(local)?;
        let s = Snapshots {
            runs: db.open_tree("runs").map_err(local)?,
            devices: db.open_tree("devices").map_err(local)?,
            latest: db.open_tree("latest").map_err(local)?,
            db,
        };
        s.migrate_whole_runs()?;
        Ok(s)
    }

    /// Runs kept by earlier versions, one value per run in the `audits` tree, are moved to
    /// the per-device layout (and indexed) once. Safe to repeat if cut short: a run is
    /// rewritten under the same id, and the old tree is dropped only after a flush.
    fn migrate_whole_runs(&self) -> Result<()> {
        if !self.db.tree_names().iter().any(|n| n.as_ref() == b"audits") {
            return Ok(());
        }
        let old = self.db.open_tree("audits").map_err(local)?;
        for v in old.iter().values() {
            let run: Snapshot = serde_json::from_slice(&v.map_err(local)?).map_err(local)?;
            self.write(run.id, &run.time, &run.operator, &run.baseline, &run.devices)?;
        }
        self.db.flush().map_err(local)?;
        self.db.drop_tree("audits").map_err(local)?;
        self.db.flush().map_err(local)?;
        Ok(())
    }

    /// Each device's last audit, with the time of its run.
    pub fn latest(&self) -> Result<Vec<(String, DeviceAudit)>> {
        let mut times: std::collections::HashMap<u64, Option<String>> = Default::default();
        let mut out = Vec::new();
        for kv in self.latest.iter() {
            let (_, key) = kv.map_err(local)?;
            let id = key.get(..8).and_then(be_u64).ok_or_else(|| local("a malformed index entry"))?;
            let time = match times.entry(id) {
                std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                std::collections::hash_map::Entry::Vacant(e) => e.insert(self.header(id)?.map(|h| h.0)),
            };
            // An index entry whose run is gone (it never finished) is skipped.
            let (Some(time), Some(value)) = (time.as_ref(), self.devices.get(&key).map_err(local)?) else { continue };
            out.push((time.clone(), decode(&value)?));
        }
        Ok(out)
    }

    /// Save a run; its `id` is assigned here. Flushed before returning.
    pub fn save(&self, time: &str, operator: &str, baseline: &str, devices: &[DeviceAudit]) -> Result<u64> {
        let id = self.next_id()?;
        self.write(id, time, operator, baseline, devices)?;
        self.db.flush().map_err(local)?;
        Ok(id)
    }

    /// Start a run that is written as its devices are audited ([`RunWriter::add`]): a
    /// site's audit need not hold every device's findings to save them.
    pub fn begin(&self) -> Result<RunWriter<'_>> {
        Ok(RunWriter::new(self, self.next_id()?))
    }

    /// The id of the next run: past the last run, and past any devices a run cut short
    /// left behind.
    fn next_id(&self) -> Result<u64> {
        // One writer at a time is enough here: audits are run by hand, one after another.
        let last = |t: &sled::Tree| -> Result<u64> {
            Ok(t.last().map_err(local)?.and_then(|(k, _)| k.get(..8).and_then(be_u64)).unwrap_or(0))
        };
        Ok(last(&self.runs)?.max(last(&self.devices)?) + 1)
    }

    /// Write a whole run under this id (not flushed).
    fn write(&self, id: u64, time: &str, operator: &str, baseline: &str, devices: &[DeviceAudit]) -> Result<()> {
        let mut run = RunWriter::new(self, id);
        for d in devices {
            run.add(d)?;
        }
        run.commit(time, operator, baseline)
    }

    /// A run's time, operator and baseline.
    fn header(&self, id: u64) -> Result<Option<(String, String, String)>> {
        let Some(v) = self.runs.get(id.to_be_bytes()).map_err(local)? else { return Ok(None) };
        let h: Header<'_> = serde_json::from_slice(&v).map_err(local)?;
        Ok(Some((h.time.into_owned(), h.operator.into_owned(), h.baseline.into_owned())))
    }

    /// A run with its devices.
    fn read_run(&self, id: u64) -> Result<Option<Snapshot>> {
        let Some((time, operator, baseline)) = self.header(id)? else { return Ok(None) };
        let devices = self
            .devices
            .scan_prefix(id.to_be_bytes())
            .values()
            .map(|v| decode(&v.map_err(local)?))
            .collect::<Result<_>>()?;
        Ok(Some(Snapshot { id, time, operator, baseline, devices }))
    }

    /// Every run, oldest first.
    pub fn all(&self) -> Result<Vec<Snapshot>> {
        self.between(None, None)
    }

    /// The runs whose time lies within the RFC 3339 bounds (inclusive), oldest first.
    /// Only those runs' devices are read.
    pub fn between(&self, since: Option<&str>, until: Option<&str>) -> Result<Vec<Snapshot>> {
        let mut out = Vec::new();
        for v in self.runs.iter().values() {
            let v = v.map_err(local)?;
            let h: Header<'_> = serde_json::from_slice(&v).map_err(local)?;
            let t = h.time.as_ref();
            if since.is_none_or(|s| t >= s) && until.is_none_or(|u| t <= u) {
                out.extend(self.read_run(h.id)?);
            }
        }
        Ok(out)
    }

    pub fn get(&self, id: u64) -> Result<Option<Snapshot>> {
        self.read_run(id)
    }
}

/// A run being saved: its devices are written as they come (a few dozen per sled batch),
/// and the run exists once [`RunWriter::finish`] writes its header. Dropped unfinished,
/// the devices written are never read, and the next run's id is past them.
#[derive(Debug)]
pub struct RunWriter<'a> {
    snapshots: &'a Snapshots,
    id: u64,
    /// Each device's target, in the order added: the index entries written at the end.
    targets: Vec<String>,
    /// Devices added since the last batch was written.
    batch: sled::Batch,
    deflater: Deflater,
}

impl<'a> RunWriter<'a> {
    fn new(snapshots: &'a Snapshots, id: u64) -> RunWriter<'a> {
        RunWriter { snapshots, id, targets: Vec::new(), batch: sled::Batch::default(), deflater: Deflater::new() }
    }

    pub fn add(&mut self, device: &DeviceAudit) -> Result<()> {
        let seq = u32::try_from(self.targets.len()).map_err(|_| local("too many devices in one run"))?;
        self.batch.insert(&device_key(self.id, seq), self.deflater.encode(device)?);
        self.targets.push(device.target.clone());
        if self.targets.len().is_multiple_of(SAVE_BATCH) {
            self.write_pending()?;
        }
        Ok(())
    }

    fn write_pending(&mut self) -> Result<()> {
        self.snapshots.devices.apply_batch(std::mem::take(&mut self.batch)).map_err(local)
    }

    /// The run's header and its devices' index entries, in one transaction; flushed
    /// before returning. `time` is when the run finished.
    pub fn finish(self, time: &str, operator: &str, baseline: &str) -> Result<u64> {
        let (snapshots, id) = (self.snapshots, self.id);
        self.commit(time, operator, baseline)?;
        snapshots.db.flush().map_err(local)?;
        Ok(id)
    }

    fn commit(mut self, time: &str, operator: &str, baseline: &str) -> Result<()> {
        self.write_pending()?;
        let count = u32::try_from(self.targets.len()).map_err(|_| local("too many devices in one run"))?;
        let header = Header {
            id: self.id,
            time: time.into(),
            operator: operator.into(),
            baseline: baseline.into(),
            devices: count,
        };
        let header = serde_json::to_vec(&header).map_err(local)?;
        let s = self.snapshots;
        (&s.runs, &s.latest)
            .transaction(|(runs, latest)| {
                runs.insert(&self.id.to_be_bytes(), header.as_slice())?;
                for (seq, target) in self.targets.iter().enumerate() {
                    latest.insert(target.as_bytes(), &device_key(self.id, seq as u32))?;
                }
                Ok::<_, sled::transaction::ConflictableTransactionError<Error>>(())
            })
            .map_err(tx_local)
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
            error: Some(Problem { code: crate::error::ErrorCode::Locked, message: "y".into() }),
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
        let all = s.all().unwrap();
        assert_eq!(all.iter().map(|r| (r.id, r.devices.len())).collect::<Vec<_>>(), [(1, 1), (2, 1), (3, 1)]);
        assert_eq!(all[1].devices[0].score, Some(20));
        assert!(!s.db.tree_names().iter().any(|n| n.as_ref() == b"audits"), "moved once, then dropped");
        assert_eq!(s.save("2026-11-28T12:00:00Z", "t", "builtin", &[audit(40)]).unwrap(), 4);
        drop(s);
        assert_eq!(Snapshots::open(&dir).unwrap().all().unwrap().len(), 4, "reopened: nothing moved twice");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_large_run_keeps_its_order_and_a_run_cut_short_is_never_read() {
        let dir = std::env::temp_dir().join(format!("pc-snapshots-large-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Snapshots::open(&dir).unwrap();
        let run: Vec<DeviceAudit> = (0..(2 * SAVE_BATCH + 5) as u8)
            .map(|i| DeviceAudit { target: format!("127.1.0.{i}:80"), ..audit(i) })
            .collect();
        let id = s.save("2026-11-28T10:00:00Z", "t", "builtin", &run).unwrap();
        assert_eq!(s.get(id).unwrap().unwrap().devices, run, "every device, in the order saved");
        // A run whose devices were written but whose header was not (the process died).
        let orphan = DeviceAudit { site: Some("orphan".into()), ..audit(1) };
        s.devices.insert(device_key(id + 1, 0), serde_json::to_vec(&orphan).unwrap()).unwrap();
        assert_eq!(s.all().unwrap().len(), 1);
        assert!(s.latest().unwrap().iter().all(|(_, d)| d.site.is_none()));
        let next = s.save("2026-11-28T11:00:00Z", "t", "builtin", &[audit(7)]).unwrap();
        assert_eq!(next, id + 2, "past the devices left behind, so none is read as this run's");
        assert_eq!(s.get(next).unwrap().unwrap().devices.len(), 1);
        let latest = s.latest().unwrap();
        assert_eq!(latest.len(), run.len(), "one entry per device");
        let one = latest.iter().find(|(_, d)| d.target == "127.1.0.1:80").unwrap();
        assert_eq!((one.0.as_str(), one.1.score), ("2026-11-28T11:00:00Z", Some(7)), "the later run's");
        drop(s);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_device_is_kept_deflated_and_plain_json_from_earlier_versions_still_reads() {
        let dir = std::env::temp_dir().join(format!("pc-snapshots-deflated-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let s = Snapshots::open(&dir).unwrap();
        let mut device = audit(55);
        let one = device.findings[0].clone();
        device.findings = (0..20).map(|i| Finding { control: format!("HIK-{i}"), ..one.clone() }).collect();
        let id = s.save("2026-11-28T10:00:00Z", "t", "builtin", std::slice::from_ref(&device)).unwrap();
        let kept = s.devices.get(device_key(id, 0)).unwrap().unwrap();
        let json = serde_json::to_vec(&device).unwrap();
        assert!(kept.len() * 3 < json.len(), "{} bytes kept for {} of JSON", kept.len(), json.len());
        assert_eq!(s.get(id).unwrap().unwrap().devices, [device.clone()]);
        // Words that do not deflate (more out than the first guess), then the next device
        // of the same run through the same compressor.
        let mut noisy = audit(3);
        noisy.findings[0].evidence =
            (0..4000u32).map(|i| char::from(b'!' + (i.wrapping_mul(2654435761) >> 25) as u8)).collect();
        let id = s.save("2026-11-28T10:30:00Z", "t", "builtin", &[noisy.clone(), device.clone()]).unwrap();
        assert_eq!(s.get(id).unwrap().unwrap().devices, [noisy, device]);
        // A run an earlier version kept, its devices as plain JSON.
        let old = DeviceAudit { target: "127.1.0.2:80".into(), ..audit(9) };
        s.devices.insert(device_key(id + 1, 0), serde_json::to_vec(&old).unwrap()).unwrap();
        s.runs
            .insert(
                (id + 1).to_be_bytes(),
                br#"{"id":2,"time":"2026-11-28T11:00:00Z","operator":"t","baseline":"b","devices":1}"#.as_slice(),
            )
            .unwrap();
        assert_eq!(s.get(id + 1).unwrap().unwrap().devices, [old]);
        // A value that is neither reads as an error, not a panic.
        s.devices.insert(device_key(id + 1, 0), &b"\x78\x01garbage"[..]).unwrap();
        assert!(matches!(s.get(id + 1), Err(Error::Local(m)) if m.starts_with("audit snapshots:")));
        drop(s);
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
        assert_eq!((a.score, a.error.map(|e| e.code)), (Some(20), Some(crate::error::ErrorCode::Locked)));
    }
}
