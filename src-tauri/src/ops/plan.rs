//! Plans for the selected devices from the audits the user has seen (nothing is
//! written), and apply through the engine's apply task with the same audits, so that
//! what runs is what was shown.

use std::sync::Arc;

use portcullis_core::apply::{Event as ApplyEvent, StepTally};
use portcullis_core::audit::DeviceAudit;
use portcullis_core::inventory::Device;
use portcullis_core::tasks::apply::{self as task, ApplyRequest, RenewRequest};
use portcullis_core::tasks::{plan::from_audits, Event};
use portcullis_core::workspace::SystemClock;

use crate::dto::{ApplySummary, PlanView, Progress};
use crate::error::{IpcError, IpcResult};
use crate::session::Session;

/// The chosen devices (all when `ids` is empty), by address, with their cached audits.
fn chosen(session: &Session, ids: &[String]) -> IpcResult<(Vec<Device>, Vec<DeviceAudit>)> {
    let mut devices = session.ws.store.all()?;
    devices.retain(|d| ids.is_empty() || ids.contains(&d.id));
    portcullis_core::inventory::sort_by_address(&mut devices);
    let cache = session.audits()?;
    let audits = devices.iter().filter_map(|d| cache.get(&d.label()).cloned()).collect();
    Ok((devices, audits))
}

/// What the person chose on the Plan screen; both off unless ticked.
#[derive(Debug, Clone, Copy, Default)]
pub struct Choices {
    /// Rotate every admin password (the handover action).
    pub rotate_passwords: bool,
    /// Delete the accounts the plan lists by name.
    pub delete_accounts: bool,
}

impl Choices {
    /// From the command's optional flags: what is left out is off.
    pub fn from_flags(rotate_passwords: Option<bool>, delete_accounts: Option<bool>) -> Choices {
        Choices {
            rotate_passwords: rotate_passwords.unwrap_or(false),
            delete_accounts: delete_accounts.unwrap_or(false),
        }
    }
}

pub fn plans(session: &Session, ids: &[String], choices: Choices) -> IpcResult<Vec<PlanView>> {
    let (devices, audits) = chosen(session, ids)?;
    let policy = portcullis_core::workspace::SitePolicy {
        rotate_passwords: choices.rotate_passwords,
        delete_accounts: choices.delete_accounts,
        ..session.policy()?
    };
    let planned = from_audits(&session.ws, &policy, &audits)?;
    Ok(devices
        .iter()
        .map(|d| {
            let label = d.label();
            let plan = planned.plans.iter().find(|p| p.device == label);
            let why = planned.not_planned.iter().find(|(l, _)| *l == label).map(|(_, why)| why.clone());
            let (steps, note) = match (plan, why) {
                (Some(p), _) => (p.steps.clone(), p.is_empty().then(|| "nothing to change".into())),
                (None, Some(why)) => (Vec::new(), Some(why)),
                (None, None) => (Vec::new(), Some("not audited yet: audit it first".to_string())),
            };
            PlanView { device_id: d.id.clone(), label, steps, note }
        })
        .collect())
}

/// Apply the plans of the chosen devices; `each` sees every finished step.
pub async fn apply(
    session: Arc<Session>,
    ids: Vec<String>,
    choices: Choices,
    each: impl Fn(Progress) + Send + Sync + 'static,
) -> IpcResult<ApplySummary> {
    let (_, reviewed) = chosen(&session, &ids)?;
    let request = ApplyRequest {
        audit: super::audit::request(&session, &ids, session.settings()?.concurrency)?,
        reviewed: Some(reviewed),
        rotate_passwords: choices.rotate_passwords,
        delete_accounts: choices.delete_accounts,
        ..ApplyRequest::default()
    };
    let cancel = session.new_cancel_flag()?;
    let prepared =
        task::prepare(&session.ws, request, Arc::new(SystemClock), cancel, &portcullis_core::tasks::Quiet).await?;
    if prepared.plans.is_empty() {
        return Err(IpcError::new(
            crate::error::ShellCode::NothingToApply,
            "nothing to change: audit the devices, or only blocked steps remain",
        ));
    }
    run(&session, prepared, "apply", each).await
}

/// Renew the certificates of the devices whose pinned certificate ends within `days`
/// days: the engine's renewal task, with the same progress and summary as apply.
pub async fn renew(
    session: Arc<Session>,
    days: u32,
    each: impl Fn(Progress) + Send + Sync + 'static,
) -> IpcResult<ApplySummary> {
    let settings = session.settings()?;
    let request = RenewRequest {
        within_days: i64::from(days),
        timeout: settings.read_write_timeout(),
        concurrency: settings.concurrency.max(1) as usize,
        operator: None,
    };
    let cancel = session.new_cancel_flag()?;
    let prepared = task::prepare_renewal(&session.ws, &request, Arc::new(SystemClock), cancel).await?;
    if prepared.plans.is_empty() {
        return Err(IpcError::new(
            crate::error::ShellCode::NothingToRenew,
            format!("no device certificate ends within {days} days"),
        ));
    }
    run(&session, prepared, "renew", each).await
}

/// Run what was prepared, reporting each step, and summarise it for the UI.
async fn run(
    session: &Session,
    prepared: task::Prepared,
    job: &'static str,
    each: impl Fn(Progress) + Send + Sync + 'static,
) -> IpcResult<ApplySummary> {
    let tally = StepTally::new(&prepared.plans);
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    let sink = move |e: Event| match e {
        Event::Apply(step) => {
            let now = tally.count(&step);
            let ApplyEvent::StepDone { device, setting, action, result, .. } = step else { return };
            let message = match result.reason() {
                Some(why) => format!("{setting}: {action} ({}: {why})", result.word()),
                None => format!("{setting}: {action}"),
            };
            let (done, total) = (count(now.done), count(now.total));
            each(Progress { job: job.into(), done, total, device, ok: result.ok(), message: Some(message) });
        }
        Event::Canary { device, version, passed, detail, held_back } => {
            let message = match passed {
                true => format!("firmware canary on {version}: {detail}; upgrading the others"),
                false => format!("firmware canary FAILED ({detail}): {held_back} other device(s) not upgraded"),
            };
            let now = tally.now();
            let (done, total) = (count(now.done), count(now.total));
            each(Progress { job: job.into(), done, total, device, ok: passed, message: Some(message) });
        }
        _ => {}
    };
    let outcome = prepared.run(Arc::new(sink)).await?;
    let mut audits = session.audits()?;
    for r in &outcome.reports {
        // The audit no longer describes the device: audit again to see the new score.
        audits.remove(&r.device);
    }
    Ok(ApplySummary { totals: outcome.totals(), results: outcome.reports })
}
