//! `portcullis report --format F --out FILE [filters]` and `portcullis report verify FILE`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Subcommand;
use portcullis_core::workspace::{SystemClock, Workspace};
use portcullis_report::model::Filters;
use portcullis_report::workspace::{self as report_ws, ReportRequest};
use portcullis_report::Format;

use crate::output::Output;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// pdf, html, csv or json (default: from the --out extension).
    #[arg(long)]
    format: Option<Format>,
    /// Where to write the report; FILE.sha256 is written beside it.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Only devices of this site.
    #[arg(long)]
    site: Option<String>,
    /// Only these devices (ADDR or ADDR:PORT); repeatable.
    #[arg(long)]
    device: Vec<String>,
    /// Only audits and changes from this time on (RFC 3339).
    #[arg(long)]
    since: Option<String>,
    /// Only audits and changes up to this time (RFC 3339).
    #[arg(long)]
    until: Option<String>,
    /// Compare the first and the last audit of each device in the period; fails if
    /// there is only one.
    #[arg(long)]
    before_after: bool,
    /// A baseline file the audits used (for the standards mapping); built-in ones are found by name.
    #[arg(long)]
    baseline: Vec<String>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Check a JSON report: its SHA-256, and its chain head and change records against
    /// the local history. Exit status 1 if anything does not hold.
    Verify { file: PathBuf },
}

fn format_of(args: &Args, out: &Path) -> anyhow::Result<Format> {
    if let Some(f) = args.format {
        return Ok(f);
    }
    let ext = out.extension().and_then(|e| e.to_str()).unwrap_or("");
    ext.parse().map_err(|_| anyhow::anyhow!("say --format pdf|html|csv|json (the --out name does not tell)"))
}

pub fn run(args: &Args, out: &Output) -> anyhow::Result<ExitCode> {
    let ws = Workspace::from_env()?;
    if let Some(Command::Verify { file }) = &args.command {
        return verify(&ws, file, out);
    }
    let Some(path) = &args.out else { anyhow::bail!("say where the report goes: --out FILE") };
    let format = format_of(args, path)?;
    let request = ReportRequest {
        filters: Filters {
            site: args.site.clone(),
            devices: args.device.clone(),
            since: args.since.clone(),
            until: args.until.clone(),
        },
        baseline_files: args.baseline.clone(),
        generator: format!("portcullis {}", env!("CARGO_PKG_VERSION")),
    };
    let report = report_ws::build(&ws, &request, &SystemClock)?;
    if args.before_after && report.audits.before.is_empty() {
        anyhow::bail!("--before-after needs two audits of these devices in the period; only one was found");
    }
    let w = report_ws::write(&report, format, path)?;
    if out.json {
        out.record(
            "report",
            &serde_json::json!({
                "format": format!("{format:?}").to_lowercase(), "file": path, "bytes": w.bytes,
                "devices": w.devices, "changes": w.changes,
                "file_sha256": w.file_sha256, "report_sha256": w.report_sha256, "history_head": w.history_head,
            }),
        );
    } else {
        println!("Wrote {} ({} device(s), {} change(s), {} bytes)", path.display(), w.devices, w.changes, w.bytes);
        println!("  file SHA-256    {} (also in {}.sha256)", w.file_sha256, path.display());
        println!("  report SHA-256  {}", w.report_sha256);
        println!("  history head    {} ({} records)", w.history_head, w.history_records);
        if !w.history_intact {
            println!("  WARNING: the local history does not verify; the report says so on its cover");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn verify(ws: &Workspace, file: &Path, out: &Output) -> anyhow::Result<ExitCode> {
    let text = portcullis_core::files::read_chosen_text(file)?;
    let check = report_ws::verify_file(ws, &text)?;
    if out.json {
        out.record("report_verification", &check);
    } else if check.ok() {
        println!(
            "OK: {} — its SHA-256 matches its content, its chain head is in the local history, and {} change record(s) match",
            file.display(),
            check.changes_matched
        );
    } else {
        println!("FAILED: {}", file.display());
        for p in &check.problems {
            println!("  - {p}");
        }
    }
    Ok(if check.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
