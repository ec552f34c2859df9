//! The report's data: everything any format shows, built from core types by a pure
//! function. Every renderer reads this and nothing else, so the four formats cannot
//! disagree. The serialised form is the JSON report (docs/report-schema.md).
//!
//! The types are here; `build` builds them from core types and seals the result with its
//! digest.

use portcullis_core::baseline::eval::{Finding, Status};
use portcullis_core::baseline::{Baseline, Severity};
use portcullis_core::history::{Entry, Record, Verification};
use portcullis_core::posture::Value;
use portcullis_core::snapshots::Snapshot;
use serde::{Deserialize, Serialize};

mod build;
pub use build::build;

/// Bumped when a field is removed or changes meaning; new fields do not bump it.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportData {
    pub schema_version: u32,
    pub title: String,
    /// RFC 3339, UTC.
    pub generated_at: String,
    /// `portcullis <version>`.
    pub generator: String,
    /// The site filter, or `all sites`.
    pub site: String,
    pub operator: String,
    pub filters: Filters,
    pub baselines: Vec<BaselineRef>,
    pub history: ChainRef,
    pub audits: AuditSpan,
    pub summary: Summary,
    pub devices: Vec<DeviceReport>,
    /// The history's records in the report's span, as core shows them to people.
    pub changes: Vec<Entry>,
    pub firmware: Vec<FirmwareRow>,
    /// The advisory database the firmware rows were matched against
    /// (`version 2026120401, published 2026-12-04`).
    #[serde(default)]
    pub advisory_database: String,
    /// Firmware upgrades the history records as verified, before and after. Absent from
    /// reports without one, so that reports made before it still verify.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub firmware_upgrades: Vec<FirmwareUpgrade>,
    /// Settings that no longer hold what the last verified apply left, as the latest
    /// audit read them. Absent when nothing drifted (and from reports made before it).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drift: Vec<DriftRow>,
    pub standards: Vec<StandardsRow>,
    /// SHA-256 (hex) of the canonical JSON of this report without this field
    /// ([`digest`]). Absent only while the report is being built.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filters {
    pub site: Option<String>,
    pub devices: Vec<String>,
    pub since: Option<String>,
    pub until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaselineRef {
    pub name: String,
    pub version: String,
    pub title: String,
}

/// The history the report was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChainRef {
    /// Hash of the last record of the whole chain (`genesis` when empty).
    pub head: String,
    pub records: u64,
    /// `false` when `history verify` found a bad record; the report says so on its cover.
    pub intact: bool,
    /// Devices a secret reached over plain HTTP because the site baseline allowed it
    /// (`allow_plaintext_secrets`); the report says so on its cover.
    #[serde(default)]
    pub plaintext_secrets: Vec<String>,
}

/// Which audit runs the report compares.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditSpan {
    /// Snapshot ids the "before" results come from (empty: no comparison).
    pub before: Vec<u64>,
    pub after: Vec<u64>,
    pub first_time: Option<String>,
    pub last_time: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeverityCounts {
    pub critical: usize,
    pub high: usize,
    pub medium: usize,
    pub low: usize,
}

impl SeverityCounts {
    fn add(&mut self, s: Severity) {
        match s {
            Severity::Critical => self.critical += 1,
            Severity::High => self.high += 1,
            Severity::Medium => self.medium += 1,
            Severity::Low => self.low += 1,
        }
    }

    pub fn total(&self) -> usize {
        self.critical + self.high + self.medium + self.low
    }

    /// `(label, count)` from the most severe down.
    pub fn rows(&self) -> [(&'static str, usize); 4] {
        [("critical", self.critical), ("high", self.high), ("medium", self.medium), ("low", self.low)]
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub devices: usize,
    /// Devices with a score (the rest could not be audited).
    pub scored: usize,
    pub errors: usize,
    pub score_before: Option<u8>,
    pub score_after: Option<u8>,
    /// Failing controls by severity, now.
    pub failing: SeverityCounts,
    /// The same at the "before" audit, when there is one.
    pub failing_before: Option<SeverityCounts>,
    /// Findings that could not be decided (they count against the score).
    pub unknown: usize,
    pub changes: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceReport {
    pub target: String,
    pub site: Option<String>,
    pub vendor: String,
    pub model: String,
    pub serial: String,
    pub mac: String,
    pub firmware: String,
    pub protocol: Option<String>,
    pub baseline: Option<String>,
    pub audit_id: u64,
    pub audited_at: String,
    pub score: Option<u8>,
    pub score_before: Option<u8>,
    pub error: Option<String>,
    /// Ids of the failing controls, most severe first.
    pub failing: Vec<String>,
    /// Core's findings as the audit made them (failing and most severe first).
    pub findings: Vec<Finding>,
}

/// A verified firmware upgrade: what the device ran, what it runs, and the published
/// advisories the old firmware was inside (each with its source).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareUpgrade {
    pub device: String,
    pub model: String,
    pub before: String,
    pub after: String,
    /// When the upgrade was verified (RFC 3339).
    pub time: String,
    /// The advisories whose range held the old firmware.
    pub left: Vec<AdvisoryRef>,
}

/// A setting that drifted: what the last verified apply left, and what the device shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DriftRow {
    pub device: String,
    /// The control that checks the setting, when the audit has one.
    pub control: Option<String>,
    pub setting: portcullis_core::setting::Setting,
    pub applied: Option<Value>,
    pub now: Option<Value>,
    /// When an apply last verified the applied value (RFC 3339).
    pub verified_at: String,
    /// When the audit read the value it shows now (RFC 3339).
    pub read_at: String,
}

/// One firmware found on the site, and what is published against it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FirmwareRow {
    pub vendor: String,
    pub model: String,
    pub firmware: String,
    pub devices: Vec<String>,
    pub advisories: Vec<AdvisoryRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvisoryRef {
    /// The advisory's CVE ids, comma separated.
    pub cve: String,
    pub title: String,
    /// The source that publishes the range the firmware is in, and where to read it.
    pub source: String,
    #[serde(default)]
    pub url: String,
    /// That range, as published.
    #[serde(default)]
    pub range: String,
    #[serde(default)]
    pub fixed: Option<String>,
    /// In CISA's Known Exploited Vulnerabilities catalogue.
    #[serde(default)]
    pub kev: bool,
}

/// A control and the standards it serves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StandardsRow {
    pub baseline: String,
    pub control: String,
    pub title: String,
    pub severity: Severity,
    pub etsi_en_303_645: Vec<String>,
    pub nist_csf_2: Vec<String>,
    pub iec_62443_4_2: Vec<String>,
    pub vendor_guide: Option<String>,
    /// Devices failing this control now.
    pub failing_devices: usize,
}

/// What the caller read from disk, already narrowed by time.
#[derive(Debug)]
pub struct Inputs<'a> {
    pub generated_at: String,
    pub generator: String,
    pub operator: String,
    pub filters: Filters,
    /// Audit runs, oldest first. The latest result for each device is "after", the
    /// earliest "before" (when it comes from an earlier run).
    pub snapshots: &'a [Snapshot],
    /// Change records already narrowed by site and time.
    pub history: &'a [Record],
    pub chain: &'a Verification,
    /// The baselines the audits used (for titles and the standards mapping).
    pub baselines: &'a [Baseline],
}

/// Why a report cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    #[error("no audit matches the filters: run `portcullis audit` first")]
    NoAudit,
    #[error("report serialisation: {0}")]
    Serialise(#[from] serde_json::Error),
}

fn value_text(v: Option<&Value>) -> String {
    v.map_or_else(|| "-".to_string(), ToString::to_string)
}

/// Text for a value in a table cell.
pub fn show(v: Option<&Value>) -> String {
    value_text(v)
}

/// `pass`, `fail`, … as a reader sees them.
pub fn status_text(s: Status) -> &'static str {
    s.as_str()
}

pub fn severity_text(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
    }
}
