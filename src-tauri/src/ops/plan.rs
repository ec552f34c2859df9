//! Plans for the selected devices from this run's audits (pure: nothing is written),
//! and apply, which carries them out through the engine (`portcullis_core::apply`) as
//! the CLI's `apply` does: resolve interrupted rotations, then every device's plan with
//! bounded concurrency, each step reported as it finishes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use portcullis_core::apply::{self, ApplyContext, DeviceJob, DeviceReport, Event, StepResult};
use portcullis_core::driver::ConnectOptions;
use portcullis_core::inventory::Device;
use portcullis_core::plan::{plan_device, DevicePlan, SiteParameters};

use super::views::{label_of, step_view};
use crate::dto::{ApplyDeviceResult, ApplySummary, PlanView, Progress};
use crate::error::{IpcError, IpcResult};
use crate::session::Session;

/// The settings as the engine's site parameters.
fn site_parameters(session: &Session) -> IpcResult<SiteParameters> {
    let section = session.site_section()?;
    SiteParameters::merge(Some(&section), &[], &[]).map_err(IpcError::input)
}

/// Each chosen device with its plan, or why it has none.
fn device_plans(session: &Session, ids: &[String]) -> IpcResult<Vec<(Device, Result<DevicePlan, String>)>> {
    let mut site = site_parameters(session)?;
    let mut devices = session.store.all()?;
    devices.sort_by_key(|d| (d.address.is_none(), d.address, d.id.clone()));
    let audits = session.audits()?;
    // Numbers are given across the whole site, not just the selection, so that a partial
    // run never hands out a name another device already has.
    let labels: Vec<String> = devices.iter().map(label_of).collect();
    let labelled: Vec<(&str, &portcullis_core::audit::DeviceAudit)> =
        labels.iter().filter_map(|l| audits.get(l).map(|a| (l.as_str(), a))).collect();
    site.name_devices(&labelled);
    devices.retain(|d| ids.is_empty() || ids.contains(&d.id));
    Ok(devices
        .into_iter()
        .map(|d| {
            let label = label_of(&d);
            let plan = match audits.get(&label) {
                None => Err("not audited yet: audit it first".to_string()),
                Some(a) if a.findings.is_empty() => {
                    Err(a.error.as_ref().map_or("no findings".into(), |e| e.message.clone()))
                }
                Some(a) => Ok(plan_device(&label, &a.findings, &site)),
            };
            (d, plan)
        })
        .collect())
}

/// The devices with something to change, as jobs.
fn jobs_of(plans: Vec<(Device, Result<DevicePlan, String>)>) -> Vec<DeviceJob> {
    plans
        .into_iter()
        .filter_map(|(d, p)| {
            let plan = p.ok().filter(|p| actionable(p) > 0)?;
            Some(DeviceJob { target: d.target()?, site: d.site, plan })
        })
        .collect()
}

pub fn plans(session: &Session, ids: &[String]) -> IpcResult<Vec<PlanView>> {
    Ok(device_plans(session, ids)?
        .into_iter()
        .map(|(d, plan)| {
            let (steps, note) = match plan {
                Err(why) => (Vec::new(), Some(why)),
                Ok(p) => {
                    let note = p.is_empty().then(|| "nothing to change".to_string());
                    (p.steps.iter().map(step_view).collect(), note)
                }
            };
            PlanView { device_id: d.id.clone(), label: label_of(&d), steps, note }
        })
        .collect())
}

/// Steps that would change something (not blocked).
fn actionable(p: &DevicePlan) -> usize {
    p.steps.iter().filter(|s| s.blocked.is_none()).count()
}

fn operator() -> String {
    std::env::var("USER").ok().filter(|u| !u.is_empty()).unwrap_or_else(|| "desktop".into())
}

/// Apply the plans of the chosen devices; `each` sees every finished step.
pub async fn apply(
    session: Arc<Session>,
    ids: Vec<String>,
    each: impl Fn(Progress) + Send + Sync + 'static,
) -> IpcResult<ApplySummary> {
    let settings = session.settings()?;
    let connect = ConnectOptions { timeout: Duration::from_secs(u64::from(settings.timeout_s.max(1))) };
    let (client, pins) = portcullis_core::driver::http::pinned_client(&session.home, connect.timeout)?;
    let ctx = Arc::new(ApplyContext {
        history: session.history.clone(),
        vault: session.vault.clone(),
        backups: session.home.join("backups"),
        operator: operator(),
        site: site_parameters(&session)?,
        passwords: Default::default(),
        client,
        pins,
        connect,
        concurrency: settings.concurrency.max(1) as usize,
        // The site CA, created on first use like the CLI's: certificates are installed and pinned.
        ca: Some(Arc::new(portcullis_core::certs::SiteCa::load_or_create(&session.home, &session.vault, "site")?)),
        home: session.home.clone(),
        hostnames: session.store.hostnames()?,
        cancel: session.new_cancel_flag()?,
    });
    let plans = device_plans(&session, &ids)?;
    let targets: Vec<_> = plans.iter().filter_map(|(d, _)| Some((d.target()?, d.site.clone()))).collect();
    let ids_by_label: HashMap<String, String> = plans.iter().map(|(d, _)| (label_of(d), d.id.clone())).collect();
    // Rotations a crash interrupted come first: until then those passwords are unknown.
    let recovered = apply::recover(&targets, &ctx).await?.len() as u32;
    let jobs = jobs_of(plans);
    if jobs.is_empty() {
        return Err(IpcError::new(
            "nothing_to_apply",
            "nothing to change: audit the devices, or only blocked steps remain",
        ));
    }
    let creds =
        super::credentials_of(&session, jobs.iter().map(|j| (j.plan.device.clone(), j.site.clone())).collect()).await?;
    let total = Arc::new(AtomicU32::new(jobs.iter().map(|j| j.plan.steps.len() as u32).sum()));
    let done = Arc::new(AtomicU32::new(0));
    let by_label: HashMap<String, std::net::IpAddr> =
        jobs.iter().map(|j| (j.plan.device.clone(), j.target.address)).collect();
    let on_event: Arc<dyn Fn(Event) + Send + Sync> = {
        let (session, by_label, total) = (session.clone(), by_label.clone(), total.clone());
        Arc::new(move |e: Event| {
            // The inventory learns the HTTPS port before HTTP goes, so a crash cannot strand the device.
            if let Event::HttpsPort { device, port } = &e {
                if let Some(address) = by_label.get(device) {
                    let _ = session.store.set_https_port(*address, *port);
                }
            }
            if let Event::StepDone { device, setting, action, result, .. } = e {
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                let (ok, why) = match result {
                    StepResult::Verified => (true, None),
                    StepResult::Skipped { reason } => (true, Some(format!("skipped: {reason}"))),
                    StepResult::RolledBack { reason } => (false, Some(format!("rolled back: {reason}"))),
                    StepResult::Failed { reason } => (false, Some(format!("failed: {reason}"))),
                };
                let message = Some(match why {
                    Some(w) => format!("{setting}: {action} ({w})"),
                    None => format!("{setting}: {action}"),
                });
                let total = total.load(Ordering::Relaxed);
                each(Progress { job: "apply".into(), done: n, total, device, ok, message });
            }
        })
    };
    let mut reports: Vec<DeviceReport> =
        apply::apply_many(jobs, |j| creds.get(&j.plan.device).cloned(), ctx.clone(), on_event.clone()).collect().await;
    // Cameras activated just now can be read at last: audit, plan and harden them in the
    // same run, as the CLI does, instead of leaving them at "activated" only.
    let activated: Vec<String> =
        reports.iter().filter(|r| r.activated).filter_map(|r| ids_by_label.get(&r.device).cloned()).collect();
    if !activated.is_empty() && !ctx.cancel.load(Ordering::Relaxed) {
        super::audit::run(session.clone(), activated.clone(), |_| {}).await?;
        let again = jobs_of(device_plans(&session, &activated)?);
        total.fetch_add(again.iter().map(|j| j.plan.steps.len() as u32).sum(), Ordering::Relaxed);
        let creds =
            super::credentials_of(&session, again.iter().map(|j| (j.plan.device.clone(), j.site.clone())).collect())
                .await?;
        let second: Vec<DeviceReport> =
            apply::apply_many(again, |j| creds.get(&j.plan.device).cloned(), ctx, on_event).collect().await;
        for s in second {
            if let Some(first) = reports.iter_mut().find(|r| r.device == s.device) {
                first.absorb(s);
            }
        }
    }
    let mut audits = session.audits()?;
    for r in &reports {
        // The audit no longer describes the device: audit again to see the new score.
        audits.remove(&r.device);
        if let (Some(port), Some(address)) = (r.https_port, by_label.get(&r.device)) {
            session.store.set_https_port(*address, port)?;
        }
    }
    let ok = reports.iter().filter(|r| r.ok()).count() as u32;
    let cancelled = reports.iter().filter(|r| r.cancelled).count() as u32;
    Ok(ApplySummary {
        problems: reports.len() as u32 - ok - cancelled,
        cancelled,
        ok,
        recovered,
        devices: reports
            .iter()
            .map(|r| ApplyDeviceResult {
                device: r.device.clone(),
                verified: r.verified as u32,
                rolled_back: r.rolled_back as u32,
                failed: r.failed as u32,
                skipped: r.skipped as u32,
                error: r.error.as_ref().map(IpcError::from),
                rotation_pending: r.rotation_pending,
                cancelled: r.cancelled,
            })
            .collect(),
    })
}
