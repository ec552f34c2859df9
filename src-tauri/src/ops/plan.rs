//! Plans for the selected devices from this run's audits (pure: nothing is written),
//! and apply, which needs the engine's apply (#4).

use portcullis_core::plan::{plan_device, SiteParameters};

use super::views::{label_of, step_view};
use crate::dto::{PlanView, Progress};
use crate::error::{IpcError, IpcResult};
use crate::session::Session;

pub fn plans(session: &Session, ids: &[String]) -> IpcResult<Vec<PlanView>> {
    let settings = session.settings()?;
    let site = SiteParameters { ntp_servers: settings.ntp_servers, management_hosts: settings.management_hosts };
    let mut devices = session.store.all()?;
    devices.retain(|d| ids.is_empty() || ids.contains(&d.id));
    devices.sort_by_key(|d| (d.address.is_none(), d.address, d.id.clone()));
    let audits = session.audits()?;
    Ok(devices
        .iter()
        .map(|d| {
            let label = label_of(d);
            let (steps, note) = match audits.get(&label) {
                None => (Vec::new(), Some("not audited yet: audit it first".to_string())),
                Some(a) if a.findings.is_empty() => {
                    (Vec::new(), Some(a.error.as_ref().map_or("no findings".into(), |e| e.message.clone())))
                }
                Some(a) => {
                    let p = plan_device(&label, &a.findings, &site);
                    let note = p.is_empty().then(|| "nothing to change".to_string());
                    (p.steps.iter().map(step_view).collect(), note)
                }
            };
            PlanView { device_id: d.id.clone(), label, steps, note }
        })
        .collect())
}

/// Apply the plans. The engine has no apply yet (issue #4): say so, change nothing.
pub async fn apply(_session: &Session, _ids: &[String], _each: impl Fn(Progress)) -> IpcResult<()> {
    Err(IpcError::new(
        "not_available",
        "Applying plans arrives with the hardening engine (issue #4). Nothing was changed on any device.",
    ))
}
