//! The apply task, and the two that share its machinery (certificate renewal and
//! recovery). Apply is prepared, then run, so that a shell can show the plan and ask
//! before anything changes:
//!
//! 1. rotations a crash interrupted are resolved first (their passwords are unknown
//!    until then);
//! 2. the devices are read (or the audits the user reviewed are taken) and planned;
//! 3. intents a killed run left open are closed from what the devices now show;
//! 4. every device's plan runs, with bounded concurrency; the inventory learns a
//!    device's HTTPS port before its HTTP goes;
//! 5. cameras activated in the run are read, planned and hardened in the same run.

use crate::setting::Setting;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;

use super::audit::AuditRequest;
use super::plan::{from_audits, Plans};
use super::{Event, Sink};
use crate::apply::{self as engine, ApplyContext, DeviceJob, DeviceReport, Recovered};
use crate::audit::DeviceAudit;
use crate::driver::ConnectOptions;
use crate::error::{Error, Result};
use crate::history::{History, Outcome};
use crate::plan::{DevicePlan, Phase, SiteParameters, Step};
use crate::workspace::{Clock, Selection, SitePolicy, Subject, Workspace};

/// What to apply, and how.
#[derive(Debug, Clone)]
pub struct ApplyRequest {
    /// The devices, the policy, concurrency and time-out.
    pub audit: AuditRequest,
    /// Plan from these audits (the ones the user reviewed) instead of reading the
    /// devices again.
    pub reviewed: Option<Vec<DeviceAudit>>,
    /// Only devices whose last apply left a step failed or rolled back.
    pub retry_failed: bool,
    /// Length of generated passwords.
    pub password_length: usize,
    /// Who is making the changes (default: [`crate::workspace::operator`]).
    pub operator: Option<String>,
    /// Rotate every admin password, even those the audit passed (at handover).
    pub rotate_passwords: bool,
    /// Delete the accounts the plan lists by name (besides admin and the kept ones).
    pub delete_accounts: bool,
    /// Firmware images uploaded at once (after the canary).
    pub upload_concurrency: usize,
}

/// Firmware uploads at once unless asked otherwise: four 100 MB images fill a 100 Mbit/s
/// uplink for about half a minute each, and a site rarely has more headroom than that.
pub const DEFAULT_UPLOADS: usize = 4;

/// Devices changed at once unless asked otherwise: fewer than an audit reads, as each
/// may restart, and a live site's recorder should not see a quarter of its cameras drop
/// together.
pub const APPLY_CONCURRENCY: usize = 32;

impl Default for ApplyRequest {
    fn default() -> Self {
        ApplyRequest {
            audit: AuditRequest { concurrency: APPLY_CONCURRENCY, ..Default::default() },
            reviewed: None,
            retry_failed: false,
            password_length: 16,
            operator: None,
            rotate_passwords: false,
            delete_accounts: false,
            upload_concurrency: DEFAULT_UPLOADS,
        }
    }
}

/// An apply ready to run: the plans it will carry out, and what preparing it did.
#[derive(Debug)]
pub struct Prepared {
    /// Devices with at least one step that would change something.
    pub plans: Vec<DevicePlan>,
    /// Devices that could not be planned (`label`, reason).
    pub not_planned: Vec<(String, String)>,
    pub recovered: Vec<Recovered>,
    /// Intents a killed run left open, now closed.
    pub closed: usize,
    ws: Arc<Workspace>,
    ctx: Arc<ApplyContext>,
    subjects: HashMap<String, Subject>,
    request: AuditRequest,
    policy: SitePolicy,
}

impl Prepared {
    pub fn steps(&self) -> usize {
        self.plans.iter().map(DevicePlan::actionable).sum()
    }

    /// Carry the plans out. Stops between steps when `cancel` (given to `prepare`) is set.
    pub async fn run(self, sink: Arc<dyn Sink>) -> Result<ApplyOutcome> {
        let Prepared { plans, recovered, closed, ws, ctx, subjects, request, policy, .. } = self;
        let outcome = run_plans(&ws, &ctx, &subjects, plans, &request, &policy, &sink).await;
        // What the run's handshakes learnt is kept whether it ended well or not.
        ctx.pins.save(&ws.home, &ctx.clock.stamp_secs())?;
        let reports = outcome?;
        Ok(ApplyOutcome { recovered, closed, reports })
    }
}

/// Execute the plans; then plan and harden the cameras it activated, in the same run.
async fn run_plans(
    ws: &Arc<Workspace>,
    ctx: &Arc<ApplyContext>,
    subjects: &HashMap<String, Subject>,
    plans: Vec<DevicePlan>,
    request: &AuditRequest,
    policy: &SitePolicy,
    sink: &Arc<dyn Sink>,
) -> Result<Vec<DeviceReport>> {
    // Moves first: a device's address changes before anything that names it.
    let (moves, plans) = super::moves::split(plans, subjects);
    let (moved_reports, moved) = super::moves::run(ws, ctx, subjects, moves, sink).await?;
    // Then firmware: a canary per image, then the rest of the site.
    let (mut reports, main, upgraded) =
        super::upgrade::run_canaries(ws, ctx, subjects, super::upgrade::split(plans), request, policy, sink).await?;
    reports.extend(moved_reports);
    for r in execute(ws, ctx, subjects, main, sink).await? {
        match reports.iter_mut().find(|f| f.device == r.device) {
            Some(first) => first.absorb(r),
            None => reports.push(r),
        }
    }
    // Cameras activated just now can be read at last, and upgraded ones show their new
    // firmware's defaults: plan and harden them in the same run.
    let mut again: Vec<String> = reports.iter().filter(|r| r.activated).map(|r| r.device.clone()).collect();
    for d in upgraded {
        if !again.contains(&d) {
            again.push(d);
        }
    }
    if (!again.is_empty() || !moved.is_empty()) && !ctx.cancel.load(Ordering::Relaxed) {
        let mut chosen: Vec<Subject> = again.iter().filter_map(|l| subjects.get(l).cloned()).collect();
        // Moved devices are read and planned at their new addresses.
        chosen.extend(moved.iter().cloned());
        let mut subjects = subjects.clone();
        subjects.extend(moved.iter().map(|s| (s.label(), s.clone())));
        let subjects = &subjects;
        let audits = super::audit::read(ws, &chosen, policy, request, sink.as_ref(), &ctx.client).await?;
        // Just activated with a fresh password: no rotation on demand on top of it.
        let policy = SitePolicy { rotate_passwords: false, ..policy.clone() };
        let mut plans = from_audits(ws, &policy, &audits)?.plans;
        super::moves::renew_certificates(ws, &moved, &mut plans)?;
        // One upgrade per device per run: a second would start on a device that just
        // failed one, or was activated a minute ago (the next run offers it again).
        for s in plans.iter_mut().flat_map(|p| p.steps.iter_mut()).filter(|s| s.phase == Phase::Firmware) {
            s.blocked = Some("not in this run: the device was activated or upgraded in it; run apply again".into());
        }
        plans.retain(|p| p.actionable() > 0);
        for second in execute(ws, ctx, subjects, plans, sink).await? {
            let label = second.device.clone();
            let first = reports.iter_mut().find(|r| r.device == label || r.moved_to.as_deref() == Some(label.as_str()));
            match first {
                Some(first) => first.absorb(second),
                None => reports.push(second),
            }
        }
    }
    for r in &reports {
        let moved = r.moved_to.as_deref().and_then(|l| l.parse::<std::net::SocketAddr>().ok()).map(|a| a.ip());
        let subject = subjects.get(&r.device);
        let shared = subject.and_then(|s| s.target.shared_port);
        if let (Some(port), Some(address)) = (r.https_port, moved.or(subject.map(|s| s.target.address))) {
            record_https_port(ws, subject.and_then(|s| s.id.as_deref()), address, shared, port)?;
        }
    }
    Ok(reports)
}

/// What an apply did.
#[derive(Debug, Clone, Serialize)]
pub struct ApplyOutcome {
    pub recovered: Vec<Recovered>,
    pub closed: usize,
    pub reports: Vec<DeviceReport>,
}

impl ApplyOutcome {
    pub fn ok(&self) -> bool {
        self.reports.iter().all(DeviceReport::ok)
    }

    pub fn totals(&self) -> ApplyTotals {
        let count = |f: fn(&DeviceReport) -> bool| self.reports.iter().filter(|r| f(r)).count();
        let sum = |f: fn(&DeviceReport) -> usize| self.reports.iter().map(f).sum();
        let (ok, cancelled) = (count(DeviceReport::ok), count(|r| r.cancelled));
        ApplyTotals {
            devices: self.reports.len(),
            ok,
            problems: self.reports.len() - ok - cancelled,
            cancelled,
            verified: sum(|r| r.verified),
            rolled_back: sum(|r| r.rolled_back),
            failed: sum(|r| r.failed),
            skipped: sum(|r| r.skipped),
            rotations_pending: count(|r| r.rotation_pending),
            recovered: self.recovered.len(),
        }
    }
}

/// An apply in numbers, as both shells print it (`apply --json`'s summary line, the
/// app's result). Every device is counted once: `ok + problems + cancelled = devices`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct ApplyTotals {
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub devices: usize,
    /// Every step verified or skipped, nothing pending.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub ok: usize,
    /// Not cancelled, and a step failed or rolled back, the device could not be worked
    /// on, a rotation is pending or the device was lost after a move.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub problems: usize,
    /// Stopped by the person before its plan was done.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub cancelled: usize,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub verified: usize,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub rolled_back: usize,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub failed: usize,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub skipped: usize,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub rotations_pending: usize,
    /// Rotations an interrupted run left open, resolved before this one.
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub recovered: usize,
}

/// Recover, read (or take the reviewed audits), plan and close open intents; nothing
/// is changed on a device until [`Prepared::run`].
pub async fn prepare(
    ws: &Arc<Workspace>,
    req: ApplyRequest,
    clock: Arc<dyn Clock>,
    cancel: Arc<AtomicBool>,
    sink: &dyn Sink,
) -> Result<Prepared> {
    let mut policy = ws.policy(&req.audit.policy)?;
    policy.rotate_passwords = req.rotate_passwords;
    policy.delete_accounts = req.delete_accounts;
    let mut ctx = context(ws, &req.audit, req.operator.as_deref(), policy.parameters()?, clock, cancel)?;
    ctx.passwords.length = req.password_length;
    ctx.uploads = Arc::new(tokio::sync::Semaphore::new(req.upload_concurrency.max(1)));
    let to = backup_recipient(ws).await?;
    crate::backups::seal_legacy(&ws.home, &to)?;
    ctx.backup_to = Some(to);
    let ctx = Arc::new(ctx);
    let chosen = ws.select(&req.audit.selection)?;
    let recovered = recover_with(&ctx, &chosen, sink).await?;
    let audits = match req.reviewed {
        Some(mut audits) => {
            audits.retain(|a| chosen.iter().any(|s| s.label() == a.target));
            audits
        }
        None => {
            let read = super::audit::read(ws, &chosen, &policy, &req.audit, &super::Quiet, &ctx.client).await;
            ctx.pins.save(&ws.home, &ctx.clock.stamp_secs())?;
            read?
        }
    };
    let closed = engine::interrupted::close(&ws.history, &ctx.operator, &audits, &ctx.clock.stamp())?;
    if closed > 0 {
        sink.event(Event::IntentsClosed { count: closed });
    }
    let Plans { mut plans, not_planned } = from_audits(ws, &policy, &audits)?;
    for (device, reason) in &not_planned {
        sink.event(Event::NotPlanned { device: device.clone(), reason: reason.clone() });
    }
    if req.retry_failed {
        let failed = failed_last_time(&ws.history)?;
        plans.retain(|p| failed.contains(&p.device));
    }
    plans.retain(|p| p.actionable() > 0);
    Ok(Prepared {
        plans,
        not_planned,
        recovered,
        closed,
        ws: ws.clone(),
        ctx,
        subjects: chosen.into_iter().map(|s| (s.label(), s)).collect(),
        request: req.audit,
        policy,
    })
}

/// Which certificates to renew.
#[derive(Debug, Clone)]
pub struct RenewRequest {
    /// Devices whose pinned certificate ends within this many days.
    pub within_days: i64,
    /// Reads and writes limited to this, instead of the site's timing.
    pub timeout: Option<Duration>,
    pub concurrency: usize,
    pub operator: Option<String>,
}

/// The devices whose pinned certificate ends within `days` days.
pub fn due_for_renewal(ws: &Workspace, days: i64) -> Result<Vec<String>> {
    Ok(crate::certs::Pins::load(&ws.home)?.expiring_within(days))
}

/// A new certificate from the site CA for each device due, installed and proven like
/// any other step, pinned anew.
pub async fn prepare_renewal(
    ws: &Arc<Workspace>,
    req: &RenewRequest,
    clock: Arc<dyn Clock>,
    cancel: Arc<AtomicBool>,
) -> Result<Prepared> {
    let due = due_for_renewal(ws, req.within_days)?;
    let chosen: Vec<Subject> =
        ws.select(&Selection::All)?.into_iter().filter(|s| due.contains(&s.target.address.to_string())).collect();
    let audit = AuditRequest { timeout: req.timeout, concurrency: req.concurrency, ..Default::default() };
    let ctx = context(ws, &audit, req.operator.as_deref(), site_timings(ws)?, clock, cancel)?;
    let plans = chosen
        .iter()
        .map(|s| DevicePlan {
            device: s.label(),
            steps: vec![Step {
                phase: Phase::Tls,
                control: None,
                setting: Setting::TlsCertificateSelfSigned,
                from: None,
                to: crate::posture::Value::Bool(false),
                action: "renew the certificate from the site CA".into(),
                blocked: None,
            }],
        })
        .collect();
    Ok(Prepared {
        plans,
        not_planned: Vec::new(),
        recovered: Vec::new(),
        closed: 0,
        ws: ws.clone(),
        ctx: Arc::new(ctx),
        subjects: chosen.into_iter().map(|s| (s.label(), s)).collect(),
        policy: ws.policy(&Default::default())?,
        request: audit,
    })
}

/// Resolve every password rotation a crash interrupted (also done first by apply).
pub async fn recover(
    ws: &Arc<Workspace>,
    timeout: Option<Duration>,
    operator: Option<&str>,
    clock: Arc<dyn Clock>,
    sink: &dyn Sink,
) -> Result<Vec<Recovered>> {
    let audit = AuditRequest { timeout, concurrency: 1, ..Default::default() };
    let ctx = context(ws, &audit, operator, site_timings(ws)?, clock, Arc::default())?;
    let recovered = recover_with(&ctx, &ws.select(&Selection::All)?, sink).await;
    ctx.pins.save(&ws.home, &ctx.clock.stamp_secs())?;
    recovered
}

async fn recover_with(ctx: &ApplyContext, subjects: &[Subject], sink: &dyn Sink) -> Result<Vec<Recovered>> {
    let targets: Vec<_> = subjects.iter().map(|s| (s.target.clone(), s.site.clone())).collect();
    let recovered = engine::recover(&targets, ctx).await?;
    for r in &recovered {
        sink.event(Event::Recovered(r.clone()));
    }
    Ok(recovered)
}

/// The key backups are sealed to, from the vault off the async threads (the keyring
/// may block, or start a runtime of its own).
async fn backup_recipient(ws: &Arc<Workspace>) -> Result<crate::backups::BackupRecipient> {
    let ws = ws.clone();
    tokio::task::spawn_blocking(move || ws.vault.backup_key().map(|k| k.recipient()))
        .await
        .map_err(|e| crate::error::Error::Local(format!("vault: {e}")))?
}

/// Only the site's timing, for work that changes nothing the site parameters decide
/// (recovery, renewal).
fn site_timings(ws: &Workspace) -> Result<SiteParameters> {
    Ok(SiteParameters { timings: ws.policy(&Default::default())?.site.timing, ..Default::default() })
}

/// The shared parts of a run: history, vault, pinned client, site CA.
fn context(
    ws: &Workspace,
    req: &AuditRequest,
    operator: Option<&str>,
    site: SiteParameters,
    clock: Arc<dyn Clock>,
    cancel: Arc<AtomicBool>,
) -> Result<ApplyContext> {
    let connect = ConnectOptions { timings: site.timings.with_override(req.timeout) };
    let (client, pins) = crate::driver::http::pinned_client(&ws.home, &connect.timings)?;
    let ca_scope = site.ca_scope.clone();
    Ok(ApplyContext {
        history: ws.history.clone(),
        vault: ws.vault.clone(),
        backups: ws.home.join("backups"),
        backup_to: None,
        operator: crate::workspace::operator(operator),
        site,
        passwords: Default::default(),
        client,
        pins,
        connect,
        concurrency: crate::driver::descriptors::fit(req.concurrency),
        ca: Some(ws.site_ca_within(&ca_scope)?),
        ca_scope: crate::certs::CaScope::parse(&ca_scope).map_err(crate::error::Error::Input)?,
        home: ws.home.clone(),
        hostnames: ws.store.hostnames()?,
        cancel,
        clock,
        firmware: Arc::new(crate::firmware::Library::at(&ws.home)),
        uploads: Arc::new(tokio::sync::Semaphore::new(DEFAULT_UPLOADS)),
        images: Default::default(),
    })
}

/// Run the plans; the inventory learns a device's HTTPS port the moment its HTTP is
/// about to go, so that a crash in the next moment cannot strand the device.
pub(super) async fn execute(
    ws: &Arc<Workspace>,
    ctx: &Arc<ApplyContext>,
    subjects: &HashMap<String, Subject>,
    plans: Vec<DevicePlan>,
    sink: &Arc<dyn Sink>,
) -> Result<Vec<DeviceReport>> {
    let jobs: Vec<DeviceJob> = plans
        .into_iter()
        .filter_map(|plan| {
            let s = subjects.get(&plan.device)?;
            Some(DeviceJob { target: s.target.clone(), site: s.site.clone(), plan })
        })
        .collect();
    let chosen: Vec<Subject> = jobs.iter().filter_map(|j| subjects.get(&j.plan.device).cloned()).collect();
    let creds = super::credentials_of(ws, &chosen).await?;
    let store_error: Arc<Mutex<Option<Error>>> = Arc::default();
    let on_event: Arc<dyn Fn(engine::Event) + Send + Sync> = {
        let (ws, sink, store_error) = (ws.clone(), sink.clone(), store_error.clone());
        type Known = (Option<String>, std::net::IpAddr, Option<u16>);
        let addresses: HashMap<String, Known> =
            subjects.iter().map(|(l, s)| (l.clone(), (s.id.clone(), s.target.address, s.target.shared_port))).collect();
        Arc::new(move |e: engine::Event| {
            if let engine::Event::HttpsPort { device, port } = &e {
                if let Some((id, address, shared)) = addresses.get(device) {
                    if let Err(err) = record_https_port(&ws, id.as_deref(), *address, *shared, *port) {
                        if let Ok(mut slot) = store_error.lock() {
                            *slot = Some(err);
                        }
                    }
                }
            }
            sink.event(Event::Apply(e));
        })
    };
    let reports = engine::apply_many(jobs, |j| creds.get(&j.plan.device).cloned(), ctx.clone(), on_event)
        .collect::<Vec<_>>()
        .await;
    if let Some(e) = store_error.lock().ok().and_then(|mut s| s.take()) {
        return Err(Error::Local(format!("the inventory could not record an HTTPS port: {e}")));
    }
    Ok(reports)
}

/// The HTTPS port a device now serves, in the inventory: by its id when the inventory
/// knows it (one record), else every device at its address (a scan).
fn record_https_port(
    ws: &Workspace,
    id: Option<&str>,
    address: std::net::IpAddr,
    shared: Option<u16>,
    port: u16,
) -> Result<()> {
    if let Some(id) = id {
        if ws.store.set_https_port_of(id, port)? {
            return Ok(());
        }
    }
    ws.store.set_https_port(address, shared, port)
}

/// Devices whose latest outcome for some setting is a failure or a rollback.
pub fn failed_last_time(history: &History) -> Result<Vec<String>> {
    let mut last: HashMap<(String, Setting), Outcome> = HashMap::new();
    // A record at a time: only each setting's last outcome is kept.
    for r in history.records() {
        let r = r?;
        if r.change.outcome != Outcome::Intent {
            last.insert((r.change.device.clone(), r.change.setting), r.change.outcome.clone());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::Problem;

    #[test]
    fn totals_count_each_device_once_and_a_cancelled_one_is_not_a_problem() {
        let report =
            |device: &str| DeviceReport { device: device.into(), verified: 2, skipped: 1, ..Default::default() };
        let outcome = ApplyOutcome {
            recovered: Vec::new(),
            closed: 0,
            reports: vec![
                report("a"),
                DeviceReport { failed: 1, ..report("b") },
                DeviceReport { cancelled: true, ..report("c") },
                DeviceReport {
                    error: Some(Problem { code: crate::error::ErrorCode::Unreachable, message: "no".into() }),
                    ..report("d")
                },
                DeviceReport { rotation_pending: true, ..report("e") },
            ],
        };
        let t = outcome.totals();
        assert_eq!((t.devices, t.ok, t.problems, t.cancelled), (5, 1, 3, 1), "{t:?}");
        assert_eq!((t.verified, t.skipped, t.failed, t.rotations_pending), (10, 5, 1, 1), "{t:?}");
        assert!(!outcome.ok());
    }
}
