//! The plan task: the ordered changes each device needs, from audits. Pure apart from
//! reading the devices: nothing is written anywhere.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;

use super::audit::AuditRequest;
use super::{Event, Sink};
use crate::audit::DeviceAudit;
use crate::error::Result;
use crate::plan::{plan_device, DevicePlan};
use crate::workspace::{SitePolicy, Workspace};

/// Each device's plan, or why it has none.
#[derive(Debug, Clone, Serialize)]
pub struct Plans {
    pub plans: Vec<DevicePlan>,
    /// Devices that could not be planned (`label`, reason).
    pub not_planned: Vec<(String, String)>,
}

impl Plans {
    /// Every step that would change something.
    pub fn actionable_steps(&self) -> usize {
        self.plans.iter().map(DevicePlan::actionable).sum()
    }
}

/// Read the chosen devices now and plan each one that could be read.
pub async fn run(ws: &Arc<Workspace>, req: &AuditRequest, sink: &dyn Sink) -> Result<(Plans, Vec<DeviceAudit>)> {
    let policy = ws.policy(&req.policy)?;
    let subjects = ws.select(&req.selection)?;
    let (client, pins) = super::audit::run_client(ws, &policy, req)?;
    let audits = super::audit::read(ws, &subjects, &policy, req, &super::Quiet, &client).await;
    pins.save(&ws.home, &crate::workspace::Clock::stamp_secs(&crate::workspace::SystemClock))?;
    let audits = audits?;
    let plans = from_audits(ws, &policy, &audits)?;
    for (device, reason) in &plans.not_planned {
        sink.event(Event::NotPlanned { device: device.clone(), reason: reason.clone() });
    }
    Ok((plans, audits))
}

/// Plan these audits under the policy. Device names are numbered across the whole site
/// (its latest audits, overlaid with these), so that planning part of a site never
/// hands out a name another device already has, whichever shell asks.
pub fn from_audits(ws: &Workspace, policy: &SitePolicy, audits: &[DeviceAudit]) -> Result<Plans> {
    let mut site = policy.parameters()?;
    if site.name_pattern.is_some() {
        let mut everyone: BTreeMap<String, DeviceAudit> = ws.current_audits()?;
        for a in audits {
            everyone.insert(a.target.clone(), a.clone());
        }
        let mut labelled: Vec<(&str, &DeviceAudit)> = everyone.iter().map(|(l, a)| (l.as_str(), a)).collect();
        labelled.sort_by_key(|(l, _)| by_address(l));
        site.name_devices(&labelled);
    }
    let images = crate::firmware::Library::at(&ws.home).list()?;
    let advisories = crate::advisories::active().database;
    for a in audits {
        if let Some(id) = &a.identity {
            let decision = crate::firmware::decide(id, &advisories, &policy.site.firmware_minimum, &images);
            if decision != crate::firmware::Decision::Current {
                site.firmware.insert(a.target.clone(), decision);
            }
        }
    }
    if !policy.site.addresses.is_empty() {
        address_targets(ws, &policy.site.addresses, audits, &mut site)?;
    }
    let mut sorted: Vec<&DeviceAudit> = audits.iter().collect();
    sorted.sort_by_key(|a| by_address(&a.target));
    let mut out = Plans { plans: Vec::new(), not_planned: Vec::new() };
    for a in sorted {
        if a.findings.is_empty() {
            let why = a.error.as_ref().map_or_else(|| "no findings".to_string(), |e| e.message.clone());
            out.not_planned.push((a.target.clone(), why));
            continue;
        }
        out.plans.push(plan_device(&a.target, &a.findings, &site));
    }
    Ok(out)
}

/// Devices in address order (127.1.0.2 before 127.1.0.10); labels that are not
/// addresses after them, by name.
pub fn by_address(label: &str) -> std::result::Result<std::net::SocketAddr, String> {
    label.parse::<std::net::SocketAddr>().map_err(|_| label.to_string())
}

/// Each audited device's line of the address plan, and the moves that cannot run: an
/// address another device of the inventory has, or a device that shares its own
/// address with others (cameras on one factory address are told apart only at layer 2,
/// by SADP, whose write verbs Portcullis does not send: their format is unconfirmed).
fn address_targets(
    ws: &Workspace,
    plan: &[crate::site::addresses::AddressEntry],
    audits: &[DeviceAudit],
    site: &mut crate::plan::SiteParameters,
) -> Result<()> {
    let inventory = ws.store.all()?;
    for a in audits {
        let Some(id) = &a.identity else { continue };
        let Some(mut ifc) = crate::site::addresses::entry_for(plan, id).and_then(|e| e.interface().ok()) else {
            continue;
        };
        // A device that keeps no host name (ISAPI) is not asked for one.
        let no_host = a.findings.iter().any(|f| {
            f.setting == crate::setting::Setting::NetworkHostname
                && f.status == crate::baseline::eval::Status::Unsupported
        });
        if no_host {
            ifc.hostname = None;
        }
        let here = a.target.parse::<std::net::SocketAddr>().ok().map(|s| s.ip());
        let target = std::net::IpAddr::V4(ifc.address);
        let label = |d: &crate::inventory::Device| d.target().map(|t| t.label()).unwrap_or_else(|| d.id.clone());
        // The devices answering at this address: the inventory's, and those its conflicts
        // say answer there too (the inventory keeps one device per address).
        let mut sharing: Vec<String> = Vec::new();
        for d in inventory.iter().filter(|d| here.is_some() && d.address == here) {
            sharing.push(d.mac.clone().or_else(|| d.serial.clone()).unwrap_or_else(|| "MAC unknown".into()));
            for c in &d.conflicts {
                if let Some(who) = crate::inventory::other_at_address(&c.claim) {
                    if !sharing.iter().any(|s| s == who) {
                        sharing.push(who.to_string());
                    }
                }
            }
        }
        if sharing.len() > 1 {
            let macs = &sharing;
            site.address_blocked.insert(
                a.target.clone(),
                format!(
                    "manual: {} devices share {} ({}): give this one {} by its MAC with the vendor's SADP tool; \
                     Portcullis does not send SADP writes (their format is unconfirmed)",
                    sharing.len(),
                    here.map(|h| h.to_string()).unwrap_or_default(),
                    macs.join(", "),
                    ifc.cidr()
                ),
            );
        } else if let Some(other) = inventory.iter().find(|d| d.address == Some(target) && here != Some(target)) {
            site.address_blocked.insert(
                a.target.clone(),
                format!("{} is the address of {} in the inventory: the plan collides", ifc.address, label(other)),
            );
        }
        site.addresses.insert(a.target.clone(), ifc);
    }
    Ok(())
}
