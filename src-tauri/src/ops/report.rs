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

use portcullis_core::handover::Recipients;
use zeroize::Zeroizing;

use crate::dto::{HandoverFile, HandoverRequest, PreviewDevice, ReportFile, ReportPreview};
use crate::error::{IpcError, IpcResult};
use crate::session::Session;

fn report_error(e: impl std::fmt::Display) -> IpcError {
    IpcError::new("report", e.to_string())
}

/// The sealed report of everything this data directory knows.
fn build(session: &Session) -> IpcResult<portcullis_report::model::ReportData> {
    let snaps = session.snapshots.between(None, None)?;
    if snaps.is_empty() {
        return Err(IpcError::new("nothing_to_report", "no audit yet: audit the site first"));
    }
    let chain = session.history.verify()?;
    let records = session.history.query(&Filter::default())?;
    // The profiles the audits used: the built-in ones with the site's SITE-* controls.
    let site = session.site_section()?;
    let mut baselines = Vec::new();
    if let Some(b) = session.site_baseline()? {
        baselines.push((*b).clone().with_site(site.clone()).map_err(IpcError::input)?);
    }
    for (name, _) in BUILTIN {
        baselines.push(Baseline::load(name)?.with_site(site.clone()).map_err(IpcError::input)?);
    }
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
    portcullis_report::build(&inputs).map_err(report_error)?.seal().map_err(report_error)
}

pub fn export(session: &Session, format: &str) -> IpcResult<ReportFile> {
    let fmt: Format =
        format.parse().map_err(|_| IpcError::new("input", format!("unknown report format {format:?}")))?;
    let report = build(session)?;
    let now = chrono::Utc::now();
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
pub fn handover(session: &Session, request: HandoverRequest) -> IpcResult<HandoverFile> {
    let site = request.site.filter(|s| !s.trim().is_empty());
    let to = Recipients::Passphrase(Zeroizing::new(request.passphrase));
    let h = portcullis_core::handover::build(
        &session.store,
        &session.vault,
        site.as_deref(),
        &snapshots::operator_from_env(),
        &to,
    )?;
    let name = format!("portcullis-handover-{}.age", chrono::Utc::now().format("%Y%m%d-%H%M%S"));
    let path = session.home.join("reports").join(name);
    write_atomically(&path, &h.ciphertext)?;
    Ok(HandoverFile {
        path: path.display().to_string(),
        devices: u32::try_from(h.devices).unwrap_or(u32::MAX),
        with_password: u32::try_from(h.with_password).unwrap_or(u32::MAX),
    })
}
