//! A report of what a workspace knows, built and written the same way for both shells:
//! the audit snapshots and change records the filters select, the history's chain
//! check, and the baselines the audits used (the site's, with its parameters).

use std::path::Path;

use portcullis_core::baseline::Baseline;
use portcullis_core::history::Filter;
use portcullis_core::workspace::{Clock, Workspace};

use crate::model::{BuildError, Filters, Inputs};
use crate::{integrity, Format, RenderError, ReportData};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Core(#[from] portcullis_core::error::Error),
    #[error(transparent)]
    Build(#[from] BuildError),
    #[error(transparent)]
    Render(#[from] RenderError),
}

/// What to report on.
#[derive(Debug, Clone, Default)]
pub struct ReportRequest {
    pub filters: Filters,
    /// Baseline files the audits used besides the site's and the built-in ones.
    pub baseline_files: Vec<String>,
    /// The program and version that writes the report.
    pub generator: String,
}

/// The sealed report (its SHA-256 set).
pub fn build(ws: &Workspace, req: &ReportRequest, clock: &dyn Clock) -> Result<ReportData, ReportError> {
    let f = &req.filters;
    let snaps = ws.snapshots.between(f.since.as_deref(), f.until.as_deref())?;
    let chain = ws.history.verify()?;
    let records = ws.history.query(&Filter {
        device: None,
        site: f.site.clone(),
        since: f.since.clone(),
        until: f.until.clone(),
    })?;
    let mut baselines: Vec<Baseline> = Vec::new();
    for file in &req.baseline_files {
        baselines.push(Baseline::load(file).map_err(portcullis_core::error::Error::from)?);
    }
    for b in ws.policy(&Default::default())?.baselines()? {
        if !baselines.iter().any(|x| x.baseline.name == b.baseline.name) {
            baselines.push(b);
        }
    }
    let inputs = Inputs {
        generated_at: clock.stamp_secs(),
        generator: req.generator.clone(),
        operator: portcullis_core::workspace::operator(None),
        filters: f.clone(),
        snapshots: &snaps,
        history: &records,
        chain: &chain,
        baselines: &baselines,
    };
    Ok(crate::build(&inputs)?.seal()?)
}

/// A report written to disk.
#[derive(Debug, Clone)]
pub struct Written {
    pub bytes: usize,
    /// SHA-256 of the file, also written to `FILE.sha256`.
    pub file_sha256: String,
    /// The report's own digest (its canonical JSON), the same in every format.
    pub report_sha256: String,
    pub devices: usize,
    pub changes: usize,
    /// The history's head and record count the report cites, and whether its chain verified.
    pub history_head: String,
    pub history_records: u64,
    pub history_intact: bool,
}

/// Render `report` as `format` into `path`, with `path.sha256` beside it.
pub fn write(report: &ReportData, format: Format, path: &Path) -> Result<Written, ReportError> {
    let bytes = crate::render(format, report)?;
    portcullis_core::files::write_private(path, &bytes)?;
    let file_sha256 = integrity::file_digest(&bytes);
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let mut side = path.as_os_str().to_owned();
    side.push(".sha256");
    portcullis_core::files::write_private(Path::new(&side), format!("{file_sha256}  {name}\n").as_bytes())?;
    Ok(Written {
        bytes: bytes.len(),
        file_sha256,
        report_sha256: report.sha256.clone().unwrap_or_default(),
        devices: report.devices.len(),
        changes: report.changes.len(),
        history_head: report.history.head.clone(),
        history_records: report.history.records,
        history_intact: report.history.intact,
    })
}

/// Check a JSON report against its own digest and this workspace's history.
pub fn verify_file(ws: &Workspace, text: &str) -> Result<integrity::Check, ReportError> {
    Ok(integrity::verify_json(text, &ws.history.all()?, &ws.history.verify()?))
}
