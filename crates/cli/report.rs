//! `portcullis report --format F --out FILE [filters]` and `portcullis report verify FILE`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use portcullis_core::baseline::Baseline;
use portcullis_core::history::{Filter, History};
use portcullis_core::snapshots::{self, Snapshots};
use portcullis_report::model::{Filters, Inputs};
use portcullis_report::{integrity, Format};

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
    let home = portcullis_core::paths::home()?;
    if let Some(Command::Verify { file }) = &args.command {
        return verify(&home, file, out);
    }
    let Some(path) = &args.out else { anyhow::bail!("say where the report goes: --out FILE") };
    let format = format_of(args, path)?;
    let snaps = Snapshots::open(&home)?.between(args.since.as_deref(), args.until.as_deref())?;
    let history = History::open(&home)?;
    let chain = history.verify()?;
    let records = history.query(&Filter {
        device: None,
        site: args.site.clone(),
        since: args.since.clone(),
        until: args.until.clone(),
    })?;
    let baselines = baselines_of(&snaps, &args.baseline)?;
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let inputs = Inputs {
        generated_at: now,
        generator: format!("portcullis {}", env!("CARGO_PKG_VERSION")),
        operator: snapshots::operator_from_env(),
        filters: Filters {
            site: args.site.clone(),
            devices: args.device.clone(),
            since: args.since.clone(),
            until: args.until.clone(),
        },
        snapshots: &snaps,
        history: &records,
        chain: &chain,
        baselines: &baselines,
    };
    let report = portcullis_report::build(&inputs)?.seal()?;
    if args.before_after && report.audits.before.is_empty() {
        anyhow::bail!("--before-after needs two audits of these devices in the period; only one was found");
    }
    let bytes = portcullis_report::render(format, &report)?;
    portcullis_core::vault::write_atomically(path, &bytes)?;
    let file_sha = integrity::file_digest(&bytes);
    let name = path.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_default();
    let mut side = path.as_os_str().to_owned();
    side.push(".sha256");
    portcullis_core::vault::write_atomically(Path::new(&side), format!("{file_sha}  {name}\n").as_bytes())?;
    let report_sha = report.sha256.clone().unwrap_or_default();
    if out.json {
        out.record(
            "report",
            &serde_json::json!({
                "format": format!("{format:?}").to_lowercase(), "file": path, "bytes": bytes.len(),
                "devices": report.summary.devices, "changes": report.summary.changes,
                "file_sha256": file_sha, "report_sha256": report_sha, "history_head": report.history.head,
            }),
        );
    } else {
        println!(
            "Wrote {} ({} device(s), {} change(s), {} bytes)",
            path.display(),
            report.devices.len(),
            report.changes.len(),
            bytes.len()
        );
        println!("  file SHA-256    {file_sha} (also in {})", Path::new(&side).display());
        println!("  report SHA-256  {report_sha}");
        println!("  history head    {} ({} records)", report.history.head, report.history.records);
        if !report.history.intact {
            println!("  WARNING: the local history does not verify; the report says so on its cover");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The baselines named by the audits (built-in ones by name) plus any files given.
fn baselines_of(snaps: &[snapshots::Snapshot], files: &[String]) -> anyhow::Result<Vec<Baseline>> {
    let mut out: Vec<Baseline> = Vec::new();
    for f in files {
        out.push(Baseline::load(f).with_context(|| format!("--baseline {f}"))?);
    }
    let mut names: Vec<&str> = snaps
        .iter()
        .flat_map(|s| s.devices.iter().filter_map(|d| d.baseline.as_deref()))
        .filter_map(|b| b.split_once('@').map(|(n, _)| n))
        .collect();
    names.sort_unstable();
    names.dedup();
    for n in names {
        let builtin = portcullis_core::baseline::BUILTIN.iter().any(|(b, _)| *b == n);
        if builtin && !out.iter().any(|b| b.baseline.name == n) {
            out.push(Baseline::load(n)?);
        }
    }
    Ok(out)
}

fn verify(home: &Path, file: &Path, out: &Output) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(file).with_context(|| format!("{}", file.display()))?;
    let history = History::open(home)?;
    let check = integrity::verify_json(&text, &history.all()?, &history.verify()?);
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
