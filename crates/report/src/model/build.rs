//! Building the report's data from core types ([`build`], a pure function) and sealing
//! it with the digest of its canonical JSON ([`ReportData::seal`]).

use std::collections::{BTreeMap, BTreeSet};

use portcullis_core::audit::DeviceAudit;
use portcullis_core::baseline::eval::Status;
use portcullis_core::baseline::Baseline;
use portcullis_core::history::{Entry, Record};
use portcullis_core::posture::Protocol;
use portcullis_core::snapshots::Snapshot;

use super::{
    AdvisoryRef, AuditSpan, BaselineRef, BuildError, ChainRef, DeviceReport, DriftRow, Filters, FirmwareRow,
    FirmwareUpgrade, Inputs, ReportData, SeverityCounts, StandardsRow, Summary, SCHEMA_VERSION,
};

fn matches_device(filters: &Filters, target: &str) -> bool {
    filters.devices.is_empty()
        || filters.devices.iter().any(|d| d == target || target.rsplit_once(':').is_some_and(|(a, _)| a == d))
}

fn matches_site(filters: &Filters, site: Option<&str>) -> bool {
    filters.site.as_deref().is_none_or(|s| site == Some(s))
}

/// Sort key putting 127.1.0.2 before 127.1.0.10.
fn address_key(target: &str) -> (Option<std::net::SocketAddr>, String) {
    (target.parse().ok(), target.to_string())
}

fn mean(scores: impl Iterator<Item = u8>) -> Option<u8> {
    let v: Vec<u32> = scores.map(u32::from).collect();
    (!v.is_empty()).then(|| (v.iter().sum::<u32>() / v.len() as u32) as u8)
}

/// Failing controls by severity over these results.
fn failing_counts<'a>(results: impl IntoIterator<Item = &'a DeviceAudit>) -> SeverityCounts {
    let mut c = SeverityCounts::default();
    for f in results.into_iter().flat_map(|r| &r.findings).filter(|f| f.status == Status::Fail) {
        c.add(f.severity);
    }
    c
}

fn device_report(after: (&Snapshot, &DeviceAudit), before: Option<&DeviceAudit>) -> DeviceReport {
    let (snap, r) = after;
    let id = r.identity.clone().unwrap_or_default();
    let mut findings = r.findings.clone();
    // Failing first, then most severe, then by control id: the order a reader acts in.
    findings.sort_by_key(|f| (f.status != Status::Fail, std::cmp::Reverse(f.severity), f.control.clone()));
    let failing = findings.iter().filter(|f| f.status == Status::Fail).map(|f| f.control.clone()).collect();
    DeviceReport {
        target: r.target.clone(),
        site: r.site.clone(),
        vendor: id.vendor.clone(),
        model: id.model.clone(),
        serial: id.serial.clone(),
        mac: id.mac.clone(),
        firmware: id.firmware(),
        protocol: r.protocol.map(|p| match p {
            Protocol::Isapi => "isapi".to_string(),
            Protocol::Onvif => "onvif".to_string(),
        }),
        baseline: r.baseline.clone(),
        audit_id: snap.id,
        audited_at: snap.time.clone(),
        score: r.score,
        score_before: before.and_then(|b| b.score),
        error: r.error.as_ref().map(|e| format!("{} ({})", e.message, e.code.as_str())),
        failing,
        findings,
    }
}

/// Build the report. Pure: the same inputs give the same report, byte for byte.
pub fn build(inp: &Inputs<'_>) -> Result<ReportData, BuildError> {
    let f = &inp.filters;
    // Per device: the first and the last result within the runs given.
    let mut first: BTreeMap<&str, (&Snapshot, &DeviceAudit)> = BTreeMap::new();
    let mut last: BTreeMap<&str, (&Snapshot, &DeviceAudit)> = BTreeMap::new();
    for s in inp.snapshots {
        for r in s.devices.iter().filter(|r| matches_device(f, &r.target) && matches_site(f, r.site.as_deref())) {
            first.entry(r.target.as_str()).or_insert((s, r));
            last.insert(r.target.as_str(), (s, r));
        }
    }
    if last.is_empty() {
        return Err(BuildError::NoAudit);
    }
    let compare = first.iter().any(|(t, (s, _))| last.get(t).is_some_and(|(l, _)| l.id != s.id));
    let before_of = |t: &str| -> Option<&DeviceAudit> {
        let (bs, br) = first.get(t)?;
        let (ls, _) = last.get(t)?;
        (compare && bs.id != ls.id).then_some(*br)
    };

    let mut devices: Vec<DeviceReport> = last.iter().map(|(t, after)| device_report(*after, before_of(t))).collect();
    devices.sort_by_key(|d| address_key(&d.target));

    let failing = failing_counts(last.values().map(|(_, r)| *r));
    let failing_before = compare.then(|| failing_counts(first.values().map(|(_, r)| *r)));
    let targets: BTreeSet<&str> = last.keys().copied().collect();
    let changes: Vec<Entry> = inp
        .history
        .iter()
        .filter(|r| targets.contains(r.change.device.as_str()) || matches_device_explicit(f, &r.change.device))
        .map(Entry::from)
        .collect();

    let summary = Summary {
        devices: devices.len(),
        scored: devices.iter().filter(|d| d.score.is_some()).count(),
        errors: devices.iter().filter(|d| d.error.is_some()).count(),
        score_before: if compare { mean(first.values().filter_map(|(_, r)| r.score)) } else { None },
        score_after: mean(last.values().filter_map(|(_, r)| r.score)),
        failing,
        failing_before,
        unknown: last.values().map(|(_, r)| r.findings.iter().filter(|x| x.status == Status::Unknown).count()).sum(),
        changes: changes.len(),
    };

    let used: BTreeSet<String> = last.values().filter_map(|(_, r)| r.baseline.clone()).collect();
    let baselines: Vec<&Baseline> = inp
        .baselines
        .iter()
        .filter(|b| used.contains(&format!("{}@{}", b.baseline.name, b.baseline.version)))
        .collect();

    let standards = baselines
        .iter()
        .flat_map(|b| {
            b.controls.iter().map(|c| StandardsRow {
                baseline: format!("{}@{}", b.baseline.name, b.baseline.version),
                control: c.id.clone(),
                title: c.title.clone(),
                severity: c.severity,
                etsi_en_303_645: c.mappings.etsi_en_303_645.clone(),
                nist_csf_2: c.mappings.nist_csf_2.clone(),
                iec_62443_4_2: c.mappings.iec_62443_4_2.clone(),
                vendor_guide: c.mappings.vendor_guide.clone(),
                failing_devices: last
                    .values()
                    .filter(|(_, r)| {
                        r.baseline.as_deref() == Some(&format!("{}@{}", b.baseline.name, b.baseline.version))
                            && r.findings.iter().any(|x| x.control == c.id && x.status == Status::Fail)
                    })
                    .count(),
            })
        })
        .collect();

    let mut span = AuditSpan::default();
    let ids = |m: &BTreeMap<&str, (&Snapshot, &DeviceAudit)>| -> Vec<u64> {
        m.values().map(|(s, _)| s.id).collect::<BTreeSet<_>>().into_iter().collect()
    };
    span.after = ids(&last);
    if compare {
        span.before = ids(&first);
    }
    span.first_time = first.values().map(|(s, _)| s.time.clone()).min();
    span.last_time = last.values().map(|(s, _)| s.time.clone()).max();

    Ok(ReportData {
        schema_version: SCHEMA_VERSION,
        title: "Camera security report".into(),
        generated_at: inp.generated_at.clone(),
        generator: inp.generator.clone(),
        site: f.site.clone().unwrap_or_else(|| "all sites".into()),
        operator: inp.operator.clone(),
        filters: f.clone(),
        baselines: baselines
            .iter()
            .map(|b| BaselineRef {
                name: b.baseline.name.clone(),
                version: b.baseline.version.clone(),
                title: b.baseline.title.clone(),
            })
            .collect(),
        history: ChainRef {
            head: inp.chain.head.clone(),
            records: inp.chain.records,
            intact: inp.chain.first_bad.is_none(),
            plaintext_secrets: plaintext_secrets(inp.history),
        },
        audits: span,
        summary,
        firmware: firmware_rows(&last),
        advisory_database: {
            let db = portcullis_core::advisories::active().database;
            format!("version {}, published {}", db.version, db.published)
        },
        firmware_upgrades: firmware_upgrades(inp.history, &last),
        drift: drift_rows(inp.history, &last),
        devices,
        changes,
        standards,
        sha256: None,
    })
}

/// Devices the history shows a secret reached in clear, by the site's choice.
fn plaintext_secrets(history: &[Record]) -> Vec<String> {
    let devices: std::collections::BTreeSet<String> = history
        .iter()
        .filter(|r| r.change.setting == portcullis_core::setting::Setting::SitePlaintextSecrets)
        .map(|r| r.change.device.clone())
        .collect();
    devices.into_iter().collect()
}

/// A device named explicitly keeps its change log even when no audit of it matched.
fn matches_device_explicit(f: &Filters, target: &str) -> bool {
    !f.devices.is_empty() && matches_device(f, target)
}

/// Every verified firmware upgrade of the reported devices, with the advisories the
/// version before it was inside.
fn firmware_upgrades(history: &[Record], last: &BTreeMap<&str, (&Snapshot, &DeviceAudit)>) -> Vec<FirmwareUpgrade> {
    use portcullis_core::history::OutcomeKind;
    use portcullis_core::posture::Value;
    let text = |v: &Option<Value>| match v {
        Some(Value::Text(t)) => t.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    history
        .iter()
        .filter(|r| r.change.setting == portcullis_core::setting::Setting::FirmwareVersion)
        .filter(|r| r.change.outcome.kind() == OutcomeKind::Verified)
        .filter_map(|r| {
            let (_, audit) = last.get(r.change.device.as_str())?;
            let id = audit.identity.clone().unwrap_or_default();
            let before = text(&r.change.before);
            let model = id.model.clone();
            let was =
                portcullis_core::posture::Identity { firmware_version: before.clone(), firmware_build: None, ..id };
            Some(FirmwareUpgrade {
                device: r.change.device.clone(),
                model,
                after: text(&r.change.after),
                before,
                time: r.time.clone(),
                left: portcullis_core::advisories::matching(&was).into_iter().map(advisory_ref).collect(),
            })
        })
        .collect()
}

/// What drifted on each reported device by its latest audit: the history's verified
/// values up to that audit (an apply after it is no drift the audit could see), against
/// what the audit read.
fn drift_rows(history: &[Record], last: &BTreeMap<&str, (&Snapshot, &DeviceAudit)>) -> Vec<DriftRow> {
    // Each device's records, in the order they were written (one pass: a site's report
    // holds thousands of devices and tens of thousands of records).
    let mut by_device: std::collections::HashMap<&str, Vec<&Record>> = Default::default();
    for r in history {
        by_device.entry(r.change.device.as_str()).or_default().push(r);
    }
    let mut rows = Vec::new();
    for (snap, audit) in last.values().filter(|(_, a)| a.error.is_none()) {
        let records = by_device.get(audit.target.as_str()).map_or(&[][..], Vec::as_slice);
        // Those up to the audit are a prefix.
        let until = records.get(..records.partition_point(|r| r.time <= snap.time)).unwrap_or_default();
        let observed = audit.observed();
        for d in portcullis_core::history::drift(until.iter().copied(), &audit.target, &observed) {
            rows.push(DriftRow {
                control: audit.findings.iter().find(|f| f.setting == d.setting).map(|f| f.control.clone()),
                device: d.device,
                setting: d.setting,
                applied: d.applied,
                now: d.now,
                verified_at: d.applied_at,
                read_at: snap.time.clone(),
            });
        }
    }
    rows.sort_by_key(|a| (address_key(&a.device), a.setting));
    rows
}

fn advisory_ref(a: portcullis_core::advisories::Match) -> AdvisoryRef {
    AdvisoryRef {
        cve: a.cves.join(", "),
        title: a.title,
        source: a.source.name,
        url: a.source.url,
        range: a.range,
        fixed: a.fixed,
        kev: a.kev,
    }
}

fn firmware_rows(last: &BTreeMap<&str, (&Snapshot, &DeviceAudit)>) -> Vec<FirmwareRow> {
    let mut rows: BTreeMap<(String, String, String), FirmwareRow> = BTreeMap::new();
    for (target, (_, r)) in last {
        let Some(id) = &r.identity else { continue };
        if id.model.is_empty() && id.firmware_version.is_empty() {
            continue;
        }
        let fw = id.firmware();
        let row = rows.entry((id.vendor.clone(), id.model.clone(), fw.clone())).or_insert_with(|| FirmwareRow {
            vendor: id.vendor.clone(),
            model: id.model.clone(),
            firmware: fw,
            devices: Vec::new(),
            advisories: portcullis_core::advisories::matching(id).into_iter().map(advisory_ref).collect(),
        });
        row.devices.push((*target).to_string());
    }
    let mut out: Vec<FirmwareRow> = rows.into_values().collect();
    for r in &mut out {
        r.devices.sort_by_key(|t| address_key(t));
    }
    // Affected firmware first.
    out.sort_by_key(|r| (r.advisories.is_empty(), r.vendor.clone(), r.model.clone(), r.firmware.clone()));
    out
}

impl ReportData {
    /// Fill in [`ReportData::sha256`].
    pub fn seal(mut self) -> Result<ReportData, BuildError> {
        self.sha256 = None;
        self.sha256 = Some(crate::integrity::digest_of(&serde_json::to_value(&self)?));
        Ok(self)
    }
}
