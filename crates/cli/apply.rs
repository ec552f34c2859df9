//! `portcullis apply`, `portcullis recover` and `certs renew`: the engine's apply task
//! with a confirmation, progress bars (or JSON lines) and a summary table.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_core::apply::{DeviceReport, Event as ApplyEvent, Kept, Recovered, StepTally};
use portcullis_core::tasks::apply::{self as task, ApplyOutcome, ApplyRequest, Prepared, RenewRequest};
use portcullis_core::tasks::Event;
use portcullis_core::workspace::{SystemClock, Workspace};

use crate::output::Output;

#[derive(Debug, clap::Args)]
#[group(id = "apply_args")]
pub struct Args {
    #[command(flatten)]
    plan: crate::plan::Args,
    /// Apply without asking (for scripts).
    #[arg(long)]
    yes: bool,
    /// Only the devices whose last apply left a step failed or rolled back.
    #[arg(long)]
    retry_failed: bool,
    /// Length of generated passwords (8–64; Hikvision firmware accepts up to 16).
    #[arg(long, default_value_t = 16)]
    password_length: usize,
    /// Who is making the changes, for the history (default: $PORTCULLIS_OPERATOR, else $USER).
    #[arg(long)]
    operator: Option<String>,
    /// Rotate every admin password now, even those the audit passes (a site's shared
    /// installer password, or at handover), and the site's service accounts' (their
    /// recorder then needs the new ones: `handover --service-accounts`): vault first,
    /// verified, journaled like any rotation.
    #[arg(long)]
    rotate_passwords: bool,
    /// Delete the accounts the plan lists by name (besides admin and the site's
    /// `keep_accounts`). Without it those steps are blocked: a recorder may use one.
    #[arg(long)]
    delete_accounts: bool,
    /// Firmware images uploaded at once, after each image's canary (1–64).
    #[arg(long, default_value_t = portcullis_core::tasks::apply::DEFAULT_UPLOADS as u16,
          value_parser = clap::value_parser!(u16).range(1..=64))]
    upload_concurrency: u16,
}

/// The first Ctrl-C stops the run cleanly: no new device, no new step; the second
/// stops at once (like a crash, which the next run recovers from).
fn stop_on_ctrl_c(runtime: &tokio::runtime::Runtime) -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            flag.store(true, std::sync::atomic::Ordering::Relaxed);
            eprintln!("Stopping after the steps in hand (Ctrl-C again stops at once; the next apply recovers).");
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
    cancel
}

/// What preparing says: rotations recovered, intents closed, devices not planned.
fn preparing(out: Output) -> impl Fn(Event) + Send + Sync {
    move |e| match e {
        Event::Recovered(r) => report_recovered(&r, &out),
        Event::IntentsClosed { count } if !out.json => {
            println!("Recorded the outcome of {count} change(s) an interrupted run left open.")
        }
        Event::NotPlanned { device, reason } if !out.json => println!("{device}: not planned: {reason}"),
        Event::NotPlanned { device, reason } => {
            out.record("not_planned", &serde_json::json!({ "device": device, "reason": reason }))
        }
        _ => {}
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

/// Confirmation, unless `--yes`; never a prompt without a terminal.
fn agreed(yes: bool, out: &Output, what: &str, question: &str) -> anyhow::Result<bool> {
    if yes {
        return Ok(true);
    }
    if out.json || !std::io::stdin().is_terminal() {
        anyhow::bail!("{what} changes devices: confirm with --yes when not running interactively");
    }
    crate::output::confirm(question)
}

pub fn run(args: &Args, out: &Output) -> anyhow::Result<ExitCode> {
    let ws = Arc::new(Workspace::from_env()?);
    let runtime = runtime()?;
    let cancel = stop_on_ctrl_c(&runtime);
    let mut audit = args.plan.request()?;
    if args.plan.audit.concurrency.is_none() {
        audit.concurrency = task::APPLY_CONCURRENCY;
    }
    let request = ApplyRequest {
        audit,
        reviewed: None,
        retry_failed: args.retry_failed,
        password_length: args.password_length,
        operator: args.operator.clone(),
        rotate_passwords: args.rotate_passwords,
        delete_accounts: args.delete_accounts,
        upload_concurrency: usize::from(args.upload_concurrency),
    };
    let prepared = runtime.block_on(task::prepare(&ws, request, Arc::new(SystemClock), cancel, &preparing(*out)))?;
    if prepared.plans.is_empty() {
        if out.json {
            out.record("summary", &NothingToChange::default());
        } else {
            println!("Nothing to change: every device already meets the baseline (or only blocked steps remain).");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !out.json {
        crate::plan::print(&prepared.plans);
    }
    let question = format!("Apply {} change(s) to {} device(s)?", prepared.steps(), prepared.plans.len());
    if !agreed(args.yes, out, "apply", &question)? {
        println!("Nothing was changed.");
        return Ok(ExitCode::SUCCESS);
    }
    finish(&runtime, prepared, out)
}

/// Run what was prepared, with progress, and print the summary.
fn finish(runtime: &tokio::runtime::Runtime, prepared: Prepared, out: &Output) -> anyhow::Result<ExitCode> {
    let progress = Progress::new(out, &prepared.plans);
    let sink = progress.clone();
    let outcome = runtime.block_on(prepared.run(Arc::new(move |e: Event| sink.event(e))))?;
    progress.finish();
    summarise(&outcome, out);
    Ok(if outcome.ok() { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn summarise(outcome: &ApplyOutcome, out: &Output) {
    let reports = &outcome.reports;
    let totals = outcome.totals();
    if out.json {
        out.record("summary", &totals);
        return;
    }
    let mut sorted: Vec<&DeviceReport> = reports.iter().collect();
    sorted.sort_by_key(|r| portcullis_core::tasks::plan::by_address(&r.device));
    println!();
    println!("{:<22} {:>8} {:>11} {:>6} {:>7}  NOTE", "DEVICE", "VERIFIED", "ROLLED BACK", "FAILED", "SKIPPED");
    for r in sorted {
        let note = match (&r.error, r.rotation_pending) {
            (Some(e), _) => e.message.clone(),
            (None, true) => "password rotation pending: run portcullis recover".into(),
            (None, false) if r.cancelled => "cancelled: the rest of its plan was not started".into(),
            (None, false) if r.ok() => "ok".into(),
            _ => "see portcullis history --device".into(),
        };
        println!("{:<22} {:>8} {:>11} {:>6} {:>7}  {note}", r.device, r.verified, r.rolled_back, r.failed, r.skipped);
    }
    println!(
        "{} of {} device(s) done without problems. Every change is in `portcullis history`.",
        totals.ok, totals.devices
    );
    if totals.ok < totals.devices {
        println!("Retry the others with `portcullis apply --retry-failed`.");
    }
}

/// `apply --json`'s summary when nothing is left to change: a run's (every count 0),
/// and the steps there were (docs/cli-json.md).
#[derive(Debug, Default, serde::Serialize)]
struct NothingToChange {
    #[serde(flatten)]
    totals: task::ApplyTotals,
    steps: usize,
}

/// Progress: bars on a terminal, one JSON line per event with --json, nothing otherwise.
#[derive(Clone)]
struct Progress {
    json: bool,
    bars: Option<(indicatif::MultiProgress, indicatif::ProgressBar)>,
    per_device: Arc<Mutex<HashMap<String, indicatif::ProgressBar>>>,
    /// The overall bar's steps: a device activated in the run adds its hardening.
    tally: Arc<StepTally>,
}

impl Progress {
    /// A line above the bars (or on its own without a terminal).
    fn say(&self, line: String) {
        match &self.bars {
            Some((multi, _)) => {
                let _ = multi.println(line);
            }
            None => println!("{line}"),
        }
    }

    fn new(out: &Output, plans: &[portcullis_core::plan::DevicePlan]) -> Progress {
        let tally = Arc::new(StepTally::new(plans));
        let (devices, steps) = (plans.len(), tally.now().total);
        let bars = (!out.json && std::io::stderr().is_terminal()).then(|| {
            let multi = indicatif::MultiProgress::new();
            let overall = multi.add(indicatif::ProgressBar::new(steps as u64));
            if let Ok(style) =
                indicatif::ProgressStyle::with_template("{prefix:>12} [{bar:40}] {pos}/{len} steps  {elapsed_precise}")
            {
                overall.set_style(style.progress_chars("=> "));
            }
            overall.set_prefix(format!("{devices} devices"));
            (multi, overall)
        });
        Progress { json: out.json, bars, per_device: Arc::new(Mutex::new(HashMap::new())), tally }
    }

    fn event(&self, e: Event) {
        if let Event::Canary { device, version, passed, detail, held_back } = &e {
            if self.json {
                Output { json: true }.record("canary", &e);
            } else if *passed {
                self.say(format!("Firmware canary {device}: on {version}, {detail}; upgrading the others."));
            } else {
                self.say(format!(
                    "Firmware canary {device} FAILED ({detail}): {held_back} other device(s) not upgraded."
                ));
            }
            return;
        }
        let Event::Apply(e) = e else { return };
        if self.json {
            Output { json: true }.record("progress", &e);
            return;
        }
        let Some((multi, overall)) = &self.bars else { return };
        let steps = self.tally.count(&e);
        overall.set_length(steps.total as u64);
        overall.set_position(steps.done as u64);
        let Ok(mut devices) = self.per_device.lock() else { return };
        match e {
            ApplyEvent::DeviceStarted { device, steps } => {
                let bar = multi.add(indicatif::ProgressBar::new(steps as u64));
                if let Ok(style) = indicatif::ProgressStyle::with_template("{prefix:>22} [{bar:20}] {pos}/{len} {msg}")
                {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(device.clone());
                devices.insert(device, bar);
            }
            ApplyEvent::StepDone { device, setting, result, .. } => {
                if let Some(bar) = devices.get(&device) {
                    bar.inc(1);
                    bar.set_message(format!("{setting}: {}", result.word()));
                }
            }
            ApplyEvent::HttpsPort { .. } => {}
            ApplyEvent::DeviceDone(r) => {
                if let Some(bar) = devices.remove(&r.device) {
                    bar.finish_with_message(if r.ok() { "done" } else { "needs attention" });
                }
            }
        }
    }

    fn finish(&self) {
        if let Some((_, overall)) = &self.bars {
            overall.finish();
        }
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

fn report_recovered(r: &Recovered, out: &Output) {
    if out.json {
        out.record("recovered", r);
        return;
    }
    match r.kept {
        Kept::New => println!("{}: the interrupted rotation took effect; the new password is now current", r.device),
        Kept::Old => println!("{}: the interrupted rotation did not take effect; the old password stays", r.device),
        Kept::Pending => println!(
            "{}: rotation still unresolved ({}); left alone to avoid a lockout",
            r.device,
            r.detail.as_deref().unwrap_or("no answer")
        ),
    }
}

#[derive(Debug, clap::Args)]
pub struct RecoverArgs {
    /// Seconds a read or a write may take (default: the site's [site.timing]).
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: Option<u64>,
    #[arg(long)]
    operator: Option<String>,
}

pub fn recover(args: &RecoverArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let ws = Arc::new(Workspace::from_env()?);
    let timeout = args.timeout.map(Duration::from_secs);
    let say = preparing(*out);
    let done =
        runtime()?.block_on(task::recover(&ws, timeout, args.operator.as_deref(), Arc::new(SystemClock), &say))?;
    if done.is_empty() && !out.json {
        println!("No interrupted password rotation: nothing to recover.");
    }
    Ok(if done.iter().all(|r| r.kept != Kept::Pending) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `certs renew`: a new certificate from the site CA for each device whose pinned
/// certificate ends within `within` days, installed and proven like any other step.
pub(crate) fn renew(within: i64, yes: bool, out: &Output) -> anyhow::Result<ExitCode> {
    let ws = Arc::new(Workspace::from_env()?);
    let due = task::due_for_renewal(&ws, within)?;
    if due.is_empty() {
        if !out.json {
            println!("No device certificate ends within {within} days.");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let question = format!("Renew the certificates of {} device(s)?", due.len());
    if !agreed(yes, out, "renewing", &question)? {
        println!("Nothing was changed.");
        return Ok(ExitCode::SUCCESS);
    }
    let runtime = runtime()?;
    let cancel = stop_on_ctrl_c(&runtime);
    let request = RenewRequest { within_days: within, timeout: None, concurrency: 8, operator: None };
    let prepared = runtime.block_on(task::prepare_renewal(&ws, &request, Arc::new(SystemClock), cancel))?;
    finish(&runtime, prepared, out)
}
