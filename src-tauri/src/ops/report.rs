//! Reports (`portcullis-report`), as the CLI's `report` writes them: built from this
//! data directory's audit snapshots, the history and its chain check, and written to
//! `<data dir>/reports/` with a `.sha256` beside each file.

use std::path::Path;

use portcullis_core::baseline::{Baseline, BUILTIN};
use portcullis_core::history::Filter;
use portcullis_core::snapshots;
use portcullis_core::vault::write_atomically;
use portcullis_report::model::{Filters, Inputs};
use portcullis_report::{integrity, Format};

use crate::dto::ReportFile;
use crate::error::{IpcError, IpcResult};
use crate::session::Session;

fn report_error(e: impl std::fmt::Display) -> IpcError {
    IpcError::new("report", e.to_string())
}

pub fn export(session: &Session, format: &str) -> IpcResult<ReportFile> {
    let fmt: Format =
        format.parse().map_err(|_| IpcError::new("input", format!("unknown report format {format:?}")))?;
    let snaps = session.snapshots.between(None, None)?;
    if snaps.is_empty() {
        return Err(IpcError::new("nothing_to_report", "no audit yet: audit the site first"));
    }
    let chain = session.history.verify()?;
    let records = session.history.query(&Filter::default())?;
    let baselines = BUILTIN.iter().map(|(n, _)| Baseline::load(n)).collect::<Result<Vec<_>, _>>()?;
    let now = chrono::Utc::now();
    let inputs = Inputs {
        generated_at: now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        generator: format!("portcullis-desktop {}", env!("CARGO_PKG_VERSION")),
        operator: snapshots::operator_from_env(),
        filters: Filters { site: None, devices: Vec::new(), since: None, until: None },
        snapshots: &snaps,
        history: &records,
        chain: &chain,
        baselines: &baselines,
    };
    let report = portcullis_report::build(&inputs).map_err(report_error)?.seal().map_err(report_error)?;
    let bytes = portcullis_report::render(fmt, &report).map_err(report_error)?;
    let ext = format.to_ascii_lowercase();
    let name = format!("portcullis-report-{}.{ext}", now.format("%Y%m%d-%H%M%S"));
    let path = session.home.join("reports").join(&name);
    write_atomically(&path, &bytes)?;
    let file_sha256 = integrity::file_digest(&bytes);
    let side = Path::new(&format!("{}.sha256", path.display())).to_path_buf();
    write_atomically(&side, format!("{file_sha256}  {name}\n").as_bytes())?;
    Ok(ReportFile {
        path: path.display().to_string(),
        format: ext,
        bytes: u32::try_from(bytes.len()).unwrap_or(u32::MAX),
        devices: report.devices.len() as u32,
        changes: report.changes.len() as u32,
        file_sha256,
        history_head: report.history.head.clone(),
        history_intact: report.history.intact,
    })
}
