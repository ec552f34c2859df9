//! Moving devices to the site's address plan, before anything else of their plans:
//! each device's plan up to its interface step runs first, so that the rest of its
//! hardening (its certificate above all, which names the address) happens at the new
//! address, read and planned again there.
//!
//! Around each move this keeps what follows a device by its address in step: before
//! the device is told, the inventory notes the new address as pending, the vault copies
//! the device's entries to its new label and the pinned certificate is held at the new
//! address too; after, they keep the address where the device was found and drop the
//! other (a device found at neither keeps both, for the next run to look at).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use super::apply::execute;
use super::Sink;
use crate::apply::{ApplyContext, DeviceReport};
use crate::driver::Target;
use crate::error::Result;
use crate::plan::{DevicePlan, Phase};
use crate::setting::Setting;
use crate::site::addresses::Interface;
use crate::workspace::{Selection, Subject, Workspace};

/// A device about to move.
#[derive(Debug, Clone)]
struct Move {
    label: String,
    from: IpAddr,
    to: Target,
}

/// Split off the plans that move a device: up to and with the interface step. The
/// rest of those plans waits for the second pass, at the new address.
pub(super) fn split(plans: Vec<DevicePlan>, subjects: &HashMap<String, Subject>) -> (Vec<DevicePlan>, Vec<DevicePlan>) {
    let mut moves = Vec::new();
    let mut rest = Vec::new();
    for mut plan in plans {
        let target = planned_address(&plan);
        let here = subjects.get(&plan.device).map(|s| s.target.address);
        match (target, here) {
            (Some(to), Some(here)) if to != here => {
                plan.steps.retain(|s| s.phase <= Phase::Address);
                moves.push(plan);
            }
            _ => rest.push(plan),
        }
    }
    (moves, rest)
}

/// The address a plan's (runnable) interface step moves the device to.
fn planned_address(plan: &DevicePlan) -> Option<IpAddr> {
    let step = plan.steps.iter().find(|s| s.phase == Phase::Address && s.setting == Setting::NetworkIpv4)?;
    if step.blocked.is_some() {
        return None;
    }
    match &step.to {
        crate::posture::Value::Text(t) => Interface::parse(t).map(|i| IpAddr::V4(i.address)),
        _ => None,
    }
}

/// Run the moves; the subjects of the devices found at their new addresses come back
/// for the second pass.
pub(super) async fn run(
    ws: &Arc<Workspace>,
    ctx: &Arc<ApplyContext>,
    subjects: &HashMap<String, Subject>,
    plans: Vec<DevicePlan>,
    sink: &Arc<dyn Sink>,
) -> Result<(Vec<DeviceReport>, Vec<Subject>)> {
    if plans.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let mut moves = Vec::new();
    for plan in &plans {
        let (Some(subject), Some(to)) = (subjects.get(&plan.device), planned_address(plan)) else { continue };
        let target = Target { address: to, ..subject.target.clone() };
        let m = Move { label: plan.device.clone(), from: subject.target.address, to: target };
        follow(ws, ctx, &m)?;
        moves.push(m);
    }
    let reports = execute(ws, ctx, subjects, plans, sink).await?;
    let mut found = Vec::new();
    for m in &moves {
        let report = reports.iter().find(|r| r.device == m.label);
        match report.and_then(|r| r.moved_to.as_ref()) {
            Some(_) => {
                ws.store.moved(m.from, m.to.address)?;
                ws.vault.forget_device(&m.label)?;
                crate::certs::Pins::update(&ws.home, |pins| {
                    pins.devices.remove(&m.from.to_string());
                })?;
                found.push(m.to.label());
            }
            // At neither: keep both, and say so through the report.
            None if report.is_some_and(|r| r.lost) => {}
            // Still (or again) at the old address, or never told: the new one is nobody's.
            None => unfollow(ws, m)?,
        }
    }
    let moved = if found.is_empty() { Vec::new() } else { ws.select(&Selection::Labels(found))? };
    Ok((reports, moved))
}

/// Before the device is told: the inventory notes the new address, the vault holds its
/// entries under the new label, the new address is held to the device's certificate.
fn follow(ws: &Workspace, ctx: &ApplyContext, m: &Move) -> Result<()> {
    ws.store.set_pending_address(m.from, Some(m.to.address))?;
    ws.vault.copy_device(&m.label, &m.to.label())?;
    let pins = crate::certs::Pins::load(&ws.home)?;
    if let Some(pin) = pins.devices.get(&m.from.to_string()).cloned() {
        ctx.pins.set(&m.to.key(), pin.fingerprint.clone());
        crate::certs::Pins::update(&ws.home, |p| {
            p.devices.insert(m.to.address.to_string(), pin);
        })?;
    }
    Ok(())
}

/// The device stayed where it was: undo [`follow`].
fn unfollow(ws: &Workspace, m: &Move) -> Result<()> {
    ws.store.set_pending_address(m.from, None)?;
    ws.vault.forget_device(&m.to.label())?;
    crate::certs::Pins::update(&ws.home, |p| {
        p.devices.remove(&m.to.address.to_string());
    })
}

/// A moved device whose certificate we installed gets a new one: the old one names the
/// old address. (Its pin was carried to the new address, so the run can reach it.)
pub(super) fn renew_certificates(ws: &Workspace, moved: &[Subject], plans: &mut Vec<DevicePlan>) -> Result<()> {
    let pins = crate::certs::Pins::load(&ws.home)?;
    for s in moved {
        let ours = pins
            .devices
            .get(&s.target.address.to_string())
            .is_some_and(|p| p.origin == crate::certs::PinOrigin::Installed);
        if !ours {
            continue;
        }
        let step = crate::plan::Step {
            phase: Phase::Tls,
            control: None,
            setting: Setting::TlsCertificateSelfSigned,
            from: None,
            to: crate::posture::Value::Bool(false),
            action: "a new certificate from the site CA, naming the new address".into(),
            blocked: None,
        };
        let label = s.label();
        match plans.iter_mut().find(|p| p.device == label) {
            Some(p) if p.steps.iter().any(|x| x.setting == Setting::TlsCertificateSelfSigned) => {}
            Some(p) => {
                p.steps.push(step);
                p.steps.sort_by_key(|x| x.phase);
            }
            None => plans.push(DevicePlan { device: label, steps: vec![step] }),
        }
    }
    Ok(())
}
