//! `portcullis audit`: score devices against a baseline; nothing is changed.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use portcullis_core::site::SiteSection;
use portcullis_core::tasks::audit::{AuditLine, AuditRequest};
use portcullis_core::tasks::{self, Event};
use portcullis_core::workspace::{PolicyInput, Selection, SystemClock, Workspace};

use crate::output::{show, Output};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Audit only these devices (ADDR or ADDR:PORT); default: the whole inventory.
    #[arg(long)]
    pub(crate) device: Vec<String>,
    /// A built-in baseline (hikvision-hardening, onvif-baseline) or a TOML file.
    /// Default: the site's own (site-baseline.toml in the data directory), else
    /// hikvision-hardening for ISAPI devices and onvif-baseline for the rest.
    #[arg(long)]
    pub(crate) baseline: Option<String>,
    /// Devices read (or changed, by apply) at once; default 512 for an audit or a
    /// plan, 32 for an apply (fewer if the process may not open enough files).
    #[arg(long)]
    pub(crate) concurrency: Option<usize>,
    /// Connections in use at once, shared out among the devices read: one each at an
    /// audit's default concurrency (one each at least), two each when up to 384 devices
    /// are read, up to eight each (parallel reads) when fewer, as in an apply.
    #[arg(long, default_value_t = portcullis_core::audit::CONNECTIONS_AT_ONCE as u32,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub(crate) connections: u32,
    /// Seconds a read or a write may take (default: the site's [site.timing]; key
    /// generation, uploads and reboots keep theirs).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub(crate) timeout: Option<u64>,
    /// The site's address plan as CSV (a header naming mac or serial, address, mask, and
    /// optionally gateway, dns, hostname), where the site baseline has no [[site.addresses]].
    #[arg(long, value_name = "FILE.csv")]
    pub(crate) address_plan: Option<std::path::PathBuf>,
}

/// `portcullis audit`: the device selection and, for scheduled jobs, drift as a failure.
#[derive(Debug, Clone, clap::Args)]
pub struct Command {
    #[command(flatten)]
    pub(crate) args: Args,
    /// Exit with status 3 when a setting no longer holds what the last verified apply
    /// left (drift), so that a scheduled audit can alert.
    #[arg(long)]
    pub(crate) fail_on_drift: bool,
}

/// The exit status of `audit --fail-on-drift` when something drifted.
const DRIFTED: u8 = 3;

impl Args {
    /// The task's request, with site values given outside the baseline.
    pub(crate) fn request(&self, mut site: SiteSection) -> anyhow::Result<AuditRequest> {
        if let Some(file) = &self.address_plan {
            let text = portcullis_core::files::read_chosen_text(file)?;
            site.addresses = portcullis_core::site::addresses::read_csv(&text)
                .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
        }
        Ok(AuditRequest {
            selection: Selection::specs(&self.device),
            policy: PolicyInput { baseline: self.baseline.clone(), site, site_is_default: false },
            concurrency: self.concurrency.unwrap_or(portcullis_core::tasks::audit::AUDIT_CONCURRENCY),
            connections: self.connections as usize,
            timeout: self.timeout.map(Duration::from_secs),
        })
    }
}

/// One thread: every device's audit is a future polled here, and waits on the network;
/// worker threads only added wake-ups (about 40% more CPU for the same wall time in
/// `scripts/bench-audit.sh`).
pub(crate) fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread().enable_all().build()?)
}

pub fn run(command: &Command, out: &Output) -> anyhow::Result<ExitCode> {
    let args = &command.args;
    let ws = Arc::new(Workspace::from_env()?);
    let sink = |e: Event| {
        if let (true, Event::Audited(a)) = (out.json, e) {
            out.record("device", &a);
        }
    };
    let run =
        runtime()?.block_on(tasks::audit::run(&ws, &args.request(SiteSection::default())?, &SystemClock, &sink))?;
    if out.json {
        for d in &run.drift {
            out.record("drift", d);
        }
        out.record("summary", &run.summary());
        return Ok(status(command, run.drift.len()));
    }
    print_table(&run.devices, run.site_score);
    if !run.drift.is_empty() {
        println!();
        println!("Changed since the last apply:");
        for d in &run.drift {
            println!(
                "  {:<22} {:<30} applied {} ({}), now {}",
                d.device,
                d.setting,
                show(&d.applied),
                d.applied_at,
                show(&d.now)
            );
        }
    }
    Ok(status(command, run.drift.len()))
}

fn status(command: &Command, drifted: usize) -> ExitCode {
    if command.fail_on_drift && drifted > 0 {
        ExitCode::from(DRIFTED)
    } else {
        ExitCode::SUCCESS
    }
}

fn print_table(audits: &[AuditLine], site: Option<u8>) {
    let mut audits: Vec<&AuditLine> = audits.iter().collect();
    audits.sort_by_key(|a| tasks::plan::by_address(&a.target));
    println!("{:<22} {:<6} {:<18} {:<22} {:>5}  FAILING CONTROLS", "DEVICE", "VIA", "MODEL", "FIRMWARE", "SCORE");
    for a in &audits {
        let id = a.identity.as_ref();
        let model = id.map(|i| i.model.clone()).unwrap_or_else(|| "-".into());
        let fw = id.map(|i| i.firmware()).unwrap_or_else(|| "-".into());
        let via = a.protocol.map_or("-", |p| p.name());
        let score = a.score.map_or("-".to_string(), |s| s.to_string());
        let failing = a.failing.join(" ");
        println!("{:<22} {:<6} {:<18} {:<22} {:>5}  {}", a.target, via, model, fw, score, failing);
        if let Some(e) = &a.error {
            println!("{:<22} ! {}", "", e.message);
        }
    }
    let errors = audits.iter().filter(|a| a.error.is_some()).count();
    println!(
        "{} device(s), {} with errors; site score {}",
        audits.len(),
        errors,
        site.map_or("-".to_string(), |s| format!("{s}/100"))
    );
}
