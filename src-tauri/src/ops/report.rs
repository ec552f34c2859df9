//! Reports (`portcullis-report`), as the CLI's `report` writes them: built from this
//! data directory's audit snapshots, the history and its chain check, and written to
//! `<data dir>/reports/` with a `.sha256` beside each file.

use portcullis_core::workspace::SystemClock;
use portcullis_report::workspace::{self as report_ws, ReportError, ReportRequest};
use portcullis_report::Format;

use portcullis_core::handover::Recipients;
use zeroize::Zeroizing;

use crate::dto::{HandoverFile, HandoverRequest, PreviewDevice, ReportCheck, ReportExport, ReportFile, ReportPreview};
use crate::error::{IpcError, IpcResult, ShellCode};
use crate::picker::{FilePicker, Pick, Save};
use crate::session::Session;

fn cancelled() -> IpcError {
    IpcError::new(ShellCode::Cancelled, "cancelled: no place was chosen, nothing was written")
}

fn report_error(e: ReportError) -> IpcError {
    match e {
        ReportError::Core(e) => e.into(),
        ReportError::Build(portcullis_report::model::BuildError::NoAudit) => {
            IpcError::new(crate::error::ShellCode::NothingToReport, "no audit yet: audit the site first")
        }
        other => IpcError::new(crate::error::ShellCode::Report, other.to_string()),
    }
}

/// The sealed report of everything this data directory knows.
fn build(session: &Session) -> IpcResult<portcullis_report::model::ReportData> {
    let request = ReportRequest {
        generator: format!("portcullis-desktop {}", env!("CARGO_PKG_VERSION")),
        ..ReportRequest::default()
    };
    report_ws::build(&session.ws, &request, &SystemClock).map_err(report_error)
}

/// Write the report: to the reports folder, or where the person chooses (then opened
/// with the system's viewer when asked). A `.sha256` goes beside it either way.
pub fn export(session: &Session, picker: &dyn FilePicker, request: &ReportExport) -> IpcResult<ReportFile> {
    let format = request.format.as_str();
    let fmt: Format = format.parse().map_err(|_| IpcError::input(format!("unknown report format {format:?}")))?;
    let report = build(session)?;
    let ext = format.to_ascii_lowercase();
    let name = format!("portcullis-report-{}.{ext}", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    let path = if request.choose_location {
        picker.save(&Save::Report(ext.clone()), &name)?.ok_or_else(cancelled)?
    } else {
        session.ws.home.join("reports").join(&name)
    };
    let written = report_ws::write(&report, fmt, &path).map_err(report_error)?;
    if request.choose_location && request.open_after {
        picker.open(&path)?;
    }
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(ReportFile {
        path: path.display().to_string(),
        format: ext,
        bytes: count(written.bytes),
        devices: count(written.devices),
        changes: count(written.changes),
        file_sha256: written.file_sha256,
        history_head: written.history_head,
        history_intact: written.history_intact,
    })
}

/// Check a JSON report the person chooses against this data directory's history
/// (`portcullis report verify`).
pub fn verify(session: &Session, picker: &dyn FilePicker) -> IpcResult<ReportCheck> {
    let path = picker.pick(Pick::ReportJson)?.ok_or_else(cancelled)?;
    let (_, text) = portcullis_core::tasks::import::read_chosen(&path)?;
    let check = report_ws::verify_file(&session.ws, &text).map_err(report_error)?;
    Ok(ReportCheck {
        path: path.display().to_string(),
        ok: check.ok(),
        digest_ok: check.digest_ok,
        head_found: check.head_found,
        changes_matched: u32::try_from(check.changes_matched).unwrap_or(u32::MAX),
        problems: check.problems,
    })
}

pub fn preview(session: &Session) -> IpcResult<ReportPreview> {
    let r = build(session)?;
    let mut worst: Vec<&portcullis_report::model::DeviceReport> = r.devices.iter().collect();
    // Unscored devices (not audited) first, then the lowest scores.
    worst.sort_by_key(|d| (d.score.map_or(-1, i16::from), d.target.clone()));
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(ReportPreview {
        title: r.title.clone(),
        site: r.site.clone(),
        devices: count(r.summary.devices),
        errors: count(r.summary.errors),
        score_before: r.summary.score_before,
        score_after: r.summary.score_after,
        failing: r.summary.failing.rows().iter().map(|(_, n)| count(*n)).collect(),
        changes: count(r.summary.changes),
        history_intact: r.history.intact,
        history_head: r.history.head.clone(),
        baselines: r.baselines.iter().map(|b| format!("{} {}", b.name, b.version)).collect(),
        worst: worst
            .into_iter()
            .take(10)
            .map(|d| PreviewDevice {
                target: d.target.clone(),
                model: d.model.clone(),
                score_before: d.score_before,
                score: d.score,
                failing: count(d.failing.len()),
            })
            .collect(),
    })
}

/// The credential handover, encrypted to the passphrase, in the reports folder.
pub fn handover(session: &Session, picker: &dyn FilePicker, request: HandoverRequest) -> IpcResult<HandoverFile> {
    let site = request.site.filter(|s| !s.trim().is_empty());
    let to = Recipients::Passphrase(Zeroizing::new(request.passphrase.expose().to_string()));
    let contents = match request.service_accounts_only {
        true => portcullis_core::handover::Contents::ServiceAccounts,
        false => portcullis_core::handover::Contents::Everything,
    };
    // Built first: what cannot be handed over says so before the save dialog.
    let handover = portcullis_core::handover::for_workspace(&session.ws, site.as_deref(), &to, contents)?;
    let name = format!("portcullis-handover-{}.age", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    let path = if request.choose_location {
        picker.save(&Save::Handover, &name)?.ok_or_else(cancelled)?
    } else {
        session.ws.home.join("reports").join(name)
    };
    Ok(HandoverFile { path: path.display().to_string(), counts: handover.write(&path)? })
}
