//! `portcullis apply` and `portcullis recover`: carry out the plan on the devices, with
//! progress, and resolve password rotations a crash interrupted.

use std::collections::HashMap;
use std::io::{BufRead, IsTerminal, Write};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use portcullis_core::apply::{self, ApplyContext, DeviceJob, DeviceReport, Event, StepResult};
use portcullis_core::driver::{ConnectOptions, Target};
use portcullis_core::history::{Filter, History, Outcome};
use portcullis_core::inventory::store::Store;
use portcullis_core::plan::DevicePlan;
use portcullis_core::vault::Vault;

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
    /// Who is making the changes, for the history (default: $USER).
    #[arg(long)]
    operator: Option<String>,
}

pub(crate) fn operator(given: &Option<String>) -> String {
    given.clone().or_else(|| std::env::var("USER").ok()).filter(|o| !o.is_empty()).unwrap_or_else(|| "unknown".into())
}

/// The shared parts of a run: history, vault, client.
fn context(
    timeout: u64,
    concurrency: usize,
    operator: String,
    site: portcullis_core::plan::SiteParameters,
) -> anyhow::Result<ApplyContext> {
    let home = portcullis_core::paths::home()?;
    let connect = ConnectOptions { timeout: Duration::from_secs(timeout.max(1)) };
    let vault = Arc::new(Vault::from_env(&home)?);
    let ca = portcullis_core::certs::SiteCa::load_or_create(&home, &vault, "site")?;
    let (client, pins) = portcullis_core::driver::http::pinned_client(&home, connect.timeout)?;
    Ok(ApplyContext {
        history: Arc::new(History::open(&home)?),
        vault,
        backups: home.join("backups"),
        operator,
        site,
        passwords: Default::default(),
        client,
        pins,
        connect,
        concurrency: concurrency.max(1),
        ca: Some(Arc::new(ca)),
        home,
        hostnames: HashMap::new(),
        cancel: Default::default(),
    })
}

/// The first Ctrl-C stops the run cleanly: no new device, no new step; the second
/// stops at once (like a crash, which the next run recovers from).
fn stop_on_ctrl_c(runtime: &tokio::runtime::Runtime, ctx: &Arc<ApplyContext>) {
    let cancel = ctx.cancel.clone();
    runtime.spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
            eprintln!("Stopping after the steps in hand (Ctrl-C again stops at once; the next apply recovers).");
            if tokio::signal::ctrl_c().await.is_ok() {
                std::process::exit(130);
            }
        }
    });
}

/// Devices whose latest outcome for some setting is a failure or a rollback.
fn failed_last_time(history: &History) -> anyhow::Result<Vec<String>> {
    let mut last: HashMap<(String, String), Outcome> = HashMap::new();
    for r in history.query(&Filter::default())? {
        if r.change.outcome != Outcome::Intent {
            last.insert((r.change.device.clone(), r.change.setting.clone()), r.change.outcome.clone());
        }
    }
    let mut devices: Vec<String> = last
        .into_iter()
        .filter(|(_, o)| matches!(o, Outcome::Failed { .. } | Outcome::RolledBack { .. }))
        .map(|((d, _), _)| d)
        .collect();
    devices.sort();
    devices.dedup();
    Ok(devices)
}

fn confirm(steps: usize, devices: usize) -> anyhow::Result<bool> {
    eprint!("Apply {steps} change(s) to {devices} device(s)? [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// Steps that would change something (not blocked, not manual).
fn actionable(p: &DevicePlan) -> usize {
    p.steps.iter().filter(|s| s.blocked.is_none()).count()
}

pub fn run(args: &Args, out: &Output) -> anyhow::Result<ExitCode> {
    let audit = &args.plan.audit;
    let mut ctx = context(audit.timeout, audit.concurrency, operator(&args.operator), args.plan.site()?)?;
    ctx.passwords.length = args.password_length;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let home = portcullis_core::paths::home()?;
    // sled allows one opener per process: the audit below opens the inventory again.
    let targets = {
        let store = Store::open(&home)?;
        ctx.hostnames = store.hostnames()?;
        crate::audit::targets(audit, &store)?
    };
    // Rotations a crash interrupted come first: their devices' passwords are unknown until then.
    for r in runtime.block_on(apply::recover(&targets, &ctx))? {
        report_recovered(&r, out);
    }
    let (mut plans, audits) = crate::plan::build_with_audits(&args.plan, out)?;
    // A run killed between a change and its record: the devices now say how it ended.
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let closed = apply::interrupted::close(&ctx.history, &ctx.operator, &audits, &now)?;
    if closed > 0 && !out.json {
        println!("Recorded the outcome of {closed} change(s) an interrupted run left open.");
    }
    if args.retry_failed {
        let failed = failed_last_time(&ctx.history)?;
        plans.retain(|p| failed.contains(&p.device));
    }
    plans.retain(|p| actionable(p) > 0);
    let steps: usize = plans.iter().map(actionable).sum();
    if plans.is_empty() {
        if out.json {
            out.record("summary", &serde_json::json!({ "devices": 0, "steps": 0, "ok": 0, "problems": 0 }));
        } else {
            println!("Nothing to change: every device already meets the baseline (or only blocked steps remain).");
        }
        return Ok(ExitCode::SUCCESS);
    }
    if !out.json {
        crate::plan::print(&plans);
    }
    if !args.yes {
        if out.json || !std::io::stdin().is_terminal() {
            anyhow::bail!("apply changes devices: confirm with --yes when not running interactively");
        }
        if !confirm(steps, plans.len())? {
            println!("Nothing was changed.");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let by_label: HashMap<String, (Target, Option<String>)> =
        targets.into_iter().map(|(t, s)| (t.label(), (t, s))).collect();
    let ctx = Arc::new(ctx);
    stop_on_ctrl_c(&runtime, &ctx);
    let mut reports = execute(plans, &by_label, &ctx, &runtime, out)?;
    // Cameras activated just now can be read at last: plan and harden them in the same run.
    let activated: Vec<String> = reports.iter().filter(|r| r.activated).map(|r| r.device.clone()).collect();
    if !activated.is_empty() {
        let mut again = args.plan.clone();
        again.audit.device = activated;
        let plans: Vec<DevicePlan> =
            crate::plan::build(&again, out)?.into_iter().filter(|p| actionable(p) > 0).collect();
        for second in execute(plans, &by_label, &ctx, &runtime, out)? {
            if let Some(first) = reports.iter_mut().find(|r| r.device == second.device) {
                first.absorb(second);
            }
        }
    }
    summarise(&reports, out);
    Ok(if reports.iter().all(DeviceReport::ok) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// Run the plans with progress; reports arrive as devices finish.
fn execute(
    plans: Vec<DevicePlan>,
    by_label: &HashMap<String, (Target, Option<String>)>,
    ctx: &Arc<ApplyContext>,
    runtime: &tokio::runtime::Runtime,
    out: &Output,
) -> anyhow::Result<Vec<DeviceReport>> {
    let steps: usize = plans.iter().map(actionable).sum();
    let mut creds = HashMap::new();
    let mut jobs = Vec::new();
    for plan in plans {
        let Some((target, site)) = by_label.get(&plan.device).cloned() else { continue };
        if let Some(c) = ctx.vault.lookup(&plan.device, site.as_deref())? {
            creds.insert(plan.device.clone(), c);
        }
        jobs.push(DeviceJob { target, site, plan });
    }
    let progress = Progress::new(out, jobs.len(), steps);
    // The inventory learns a device's HTTPS port the moment HTTP is about to go.
    let store = Arc::new(Store::open(&portcullis_core::paths::home()?)?);
    let addresses: HashMap<String, std::net::IpAddr> =
        by_label.iter().map(|(label, (t, _))| (label.clone(), t.address)).collect();
    let store_error: Arc<Mutex<Option<String>>> = Arc::new(Mutex::new(None));
    let on_event: Arc<dyn Fn(Event) + Send + Sync> = {
        let (progress, store, store_error) = (progress.clone(), store, store_error.clone());
        Arc::new(move |e: Event| {
            if let Event::HttpsPort { device, port } = &e {
                if let Some(address) = addresses.get(device) {
                    if let Err(err) = store.set_https_port(*address, *port) {
                        if let Ok(mut slot) = store_error.lock() {
                            *slot = Some(err.to_string());
                        }
                    }
                }
            }
            progress.event(&e)
        })
    };
    let reports = runtime.block_on(async {
        use futures::StreamExt;
        apply::apply_many(jobs, |j| creds.get(&j.plan.device).cloned(), ctx.clone(), on_event).collect().await
    });
    progress.finish();
    if let Some(e) = store_error.lock().ok().and_then(|mut s| s.take()) {
        anyhow::bail!("the inventory could not record an HTTPS port: {e}");
    }
    Ok(reports)
}

fn summarise(reports: &[DeviceReport], out: &Output) {
    let ok = reports.iter().filter(|r| r.ok()).count();
    let pending = reports.iter().filter(|r| r.rotation_pending).count();
    let cancelled = reports.iter().filter(|r| r.cancelled).count();
    if out.json {
        out.record(
            "summary",
            &serde_json::json!({
                "devices": reports.len(),
                "ok": ok,
                "problems": reports.len() - ok,
                "verified": reports.iter().map(|r| r.verified).sum::<usize>(),
                "rolled_back": reports.iter().map(|r| r.rolled_back).sum::<usize>(),
                "failed": reports.iter().map(|r| r.failed).sum::<usize>(),
                "skipped": reports.iter().map(|r| r.skipped).sum::<usize>(),
                "rotations_pending": pending,
                "cancelled": cancelled,
            }),
        );
        return;
    }
    let mut sorted: Vec<&DeviceReport> = reports.iter().collect();
    sorted.sort_by_key(|r| r.device.parse::<std::net::SocketAddr>().map_err(|_| r.device.clone()));
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
    println!("{ok} of {} device(s) done without problems. Every change is in `portcullis history`.", reports.len());
    if ok < reports.len() {
        println!("Retry the others with `portcullis apply --retry-failed`.");
    }
}

/// Progress: bars on a terminal, one JSON line per event with --json, nothing otherwise.
#[derive(Clone)]
struct Progress {
    json: bool,
    bars: Option<(indicatif::MultiProgress, indicatif::ProgressBar)>,
    per_device: Arc<Mutex<HashMap<String, indicatif::ProgressBar>>>,
}

impl Progress {
    fn new(out: &Output, devices: usize, steps: usize) -> Progress {
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
        Progress { json: out.json, bars, per_device: Arc::new(Mutex::new(HashMap::new())) }
    }

    fn event(&self, e: &Event) {
        if self.json {
            Output { json: true }.record("progress", e);
            return;
        }
        let Some((multi, overall)) = &self.bars else { return };
        let Ok(mut devices) = self.per_device.lock() else { return };
        match e {
            Event::DeviceStarted { device, steps } => {
                let bar = multi.add(indicatif::ProgressBar::new(*steps as u64));
                if let Ok(style) = indicatif::ProgressStyle::with_template("{prefix:>22} [{bar:20}] {pos}/{len} {msg}")
                {
                    bar.set_style(style.progress_chars("=> "));
                }
                bar.set_prefix(device.clone());
                devices.insert(device.clone(), bar);
            }
            Event::StepDone { device, setting, result, .. } => {
                if let Some(bar) = devices.get(device) {
                    bar.inc(1);
                    let word = match result {
                        StepResult::Verified => "ok",
                        StepResult::RolledBack { .. } => "rolled back",
                        StepResult::Failed { .. } => "FAILED",
                        StepResult::Skipped { .. } => "skipped",
                    };
                    bar.set_message(format!("{setting}: {word}"));
                }
                overall.inc(1);
            }
            Event::HttpsPort { .. } => {}
            Event::DeviceDone(r) => {
                if let Some(bar) = devices.remove(&r.device) {
                    let msg = if r.ok() { "done".to_string() } else { "needs attention".to_string() };
                    bar.finish_with_message(msg);
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

fn report_recovered(r: &apply::Recovered, out: &Output) {
    if out.json {
        out.record("recovered", r);
        return;
    }
    match r.kept.as_str() {
        "new" => println!("{}: the interrupted rotation took effect; the new password is now current", r.device),
        "old" => println!("{}: the interrupted rotation did not take effect; the old password stays", r.device),
        _ => println!(
            "{}: rotation still unresolved ({}); left alone to avoid a lockout",
            r.device,
            r.detail.as_deref().unwrap_or("no answer")
        ),
    }
}

#[derive(Debug, clap::Args)]
pub struct RecoverArgs {
    /// Seconds to wait for each device's answers.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
    #[arg(long)]
    operator: Option<String>,
}

pub fn recover(args: &RecoverArgs, out: &Output) -> anyhow::Result<ExitCode> {
    let home = portcullis_core::paths::home()?;
    let store = Store::open(&home)?;
    let targets: Vec<(Target, Option<String>)> =
        store.all()?.iter().filter_map(|d| Some((d.target()?, d.site.clone()))).collect();
    let ctx = context(args.timeout, 1, operator(&args.operator), Default::default())?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let done = runtime.block_on(apply::recover(&targets, &ctx))?;
    if done.is_empty() && !out.json {
        println!("No interrupted password rotation: nothing to recover.");
    }
    for r in &done {
        report_recovered(r, out);
    }
    Ok(if done.iter().all(|r| r.kept != "pending") { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// `certs renew`: a new certificate from the site CA for each device, installed and
/// proven like any other step, pinned anew.
pub(crate) fn renew(addresses: &[String], yes: bool, out: &Output) -> anyhow::Result<ExitCode> {
    if !yes {
        if out.json || !std::io::stdin().is_terminal() {
            anyhow::bail!("renewing changes devices: confirm with --yes when not running interactively");
        }
        if !confirm(addresses.len(), addresses.len())? {
            println!("Nothing was changed.");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let home = portcullis_core::paths::home()?;
    let store = Store::open(&home)?;
    let hostnames = store.hostnames()?;
    let targets: Vec<(Target, Option<String>)> = store
        .all()?
        .iter()
        .filter(|d| d.address.is_some_and(|a| addresses.contains(&a.to_string())))
        .filter_map(|d| Some((d.target()?, d.site.clone())))
        .collect();
    drop(store);
    let mut ctx = context(10, 8, operator(&None), Default::default())?;
    ctx.hostnames = hostnames;
    let ctx = Arc::new(ctx);
    let plans: Vec<DevicePlan> = targets
        .iter()
        .map(|(t, _)| DevicePlan {
            device: t.label(),
            steps: vec![portcullis_core::plan::Step {
                phase: portcullis_core::plan::Phase::Tls,
                control: None,
                setting: "tls.certificate.self_signed".into(),
                from: None,
                to: portcullis_core::posture::Value::Bool(false),
                action: "renew the certificate from the site CA".into(),
                blocked: None,
            }],
        })
        .collect();
    let by_label: HashMap<String, (Target, Option<String>)> =
        targets.into_iter().map(|(t, s)| (t.label(), (t, s))).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let reports = execute(plans, &by_label, &ctx, &runtime, out)?;
    summarise(&reports, out);
    Ok(if reports.iter().all(DeviceReport::ok) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}
