//! Firmware upgrades inside an apply: one canary per image first. The rest of the
//! devices that would take the same image are upgraded only if the canary came back on
//! the expected version and passes its audit; after a failed canary their firmware step
//! is blocked and the rest of their hardening runs on the firmware they have.
//!
//! A device's plan up to and including its firmware step runs here (activation, the
//! backup, the upgrade); everything after waits for the second pass, planned from what
//! the device shows on its new firmware (new firmware changes defaults).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use super::{Event, Sink};
use crate::apply::{ApplyContext, DeviceReport};
use crate::audit::DeviceAudit;
use crate::baseline::eval::Status;
use crate::error::Result;
use crate::plan::{DevicePlan, Phase};
use crate::posture::Value;
use crate::setting::Setting;
use crate::workspace::{SitePolicy, Subject, Workspace};

/// The apply's plans, split for the firmware waves.
#[derive(Debug, Default)]
pub(super) struct Waves {
    /// One device per image: its plan up to the firmware step.
    pub canaries: Vec<DevicePlan>,
    /// The other devices that take each canary's image (by canary): their plans up to the firmware step.
    pub followers: BTreeMap<String, Vec<DevicePlan>>,
    /// Each upgrading device's whole plan, for when its canary fails.
    pub whole: HashMap<String, DevicePlan>,
    /// Devices with no firmware step.
    pub rest: Vec<DevicePlan>,
}

/// The unblocked firmware step of a plan, if it has one.
fn upgrade_of(plan: &DevicePlan) -> Option<&crate::plan::Step> {
    plan.steps.iter().find(|s| s.phase == Phase::Firmware && s.blocked.is_none())
}

/// The plan up to and including its firmware step.
fn through_firmware(plan: &DevicePlan) -> DevicePlan {
    DevicePlan {
        device: plan.device.clone(),
        steps: plan.steps.iter().filter(|s| s.phase <= Phase::Firmware).cloned().collect(),
    }
}

/// Split plans (in address order) into waves. Devices taking the same image (the
/// step's action names it) share a canary: the first of them in address order.
pub(super) fn split(plans: Vec<DevicePlan>) -> Waves {
    let mut waves = Waves::default();
    let mut canary_of: HashMap<String, String> = HashMap::new();
    for plan in plans {
        let Some(step) = upgrade_of(&plan) else {
            waves.rest.push(plan);
            continue;
        };
        let image = step.action.clone();
        match canary_of.get(&image) {
            Some(canary) => waves.followers.entry(canary.clone()).or_default().push(through_firmware(&plan)),
            None => {
                canary_of.insert(image, plan.device.clone());
                waves.canaries.push(through_firmware(&plan));
            }
        }
        waves.whole.insert(plan.device.clone(), plan);
    }
    waves
}

/// Whether a canary passed: it runs the version its step named, and its audit (read
/// after the upgrade) finds nothing wrong with its firmware. `Err` says why not.
pub(super) fn judge(
    canary: &DevicePlan,
    report: Option<&DeviceReport>,
    audit: Option<&DeviceAudit>,
) -> std::result::Result<(), String> {
    let target = upgrade_of(canary).map(|s| s.to.clone());
    if let Some(e) = report.and_then(|r| r.error.as_ref()) {
        return Err(format!("stopped: {}", e.message));
    }
    let Some(audit) = audit else { return Err("could not be read after the upgrade".into()) };
    if let Some(e) = &audit.error {
        return Err(format!("could not be read after the upgrade: {}", e.message));
    }
    let runs = audit.identity.as_ref().map(|i| Value::Text(i.firmware()));
    match (&runs, &target) {
        (Some(have), Some(want)) if crate::posture::same_setting(Setting::FirmwareVersion, have, want) => {}
        (Some(have), Some(want)) => return Err(format!("runs {have}, not {want}")),
        _ => return Err("its firmware version could not be read".into()),
    }
    if let Some(f) = audit.findings.iter().find(|f| f.setting == Setting::FirmwareVersion && f.status == Status::Fail) {
        return Err(format!("fails its audit on the new firmware: {}", f.evidence));
    }
    if report.is_some_and(|r| r.failed > 0) {
        return Err("a step before or in its upgrade failed (see its history)".into());
    }
    Ok(())
}

/// Run the canaries, judge each, and give back the plans for the main wave (followers
/// through their firmware step, or whole with the step blocked) and the devices to
/// plan again once upgraded.
pub(super) async fn run_canaries(
    ws: &Arc<Workspace>,
    ctx: &Arc<ApplyContext>,
    subjects: &HashMap<String, Subject>,
    mut waves: Waves,
    request: &super::audit::AuditRequest,
    policy: &SitePolicy,
    sink: &Arc<dyn Sink>,
) -> Result<(Vec<DeviceReport>, Vec<DevicePlan>, Vec<String>)> {
    let mut again: Vec<String> = Vec::new();
    let mut main = std::mem::take(&mut waves.rest);
    if waves.canaries.is_empty() {
        return Ok((Vec::new(), main, again));
    }
    let reports = super::apply::execute(ws, ctx, subjects, waves.canaries.clone(), sink).await?;
    let chosen: Vec<Subject> = waves.canaries.iter().filter_map(|p| subjects.get(&p.device).cloned()).collect();
    let audits = super::audit::read(ws, &chosen, policy, request, sink.as_ref(), &ctx.client).await?;
    for canary in &waves.canaries {
        let report = reports.iter().find(|r| r.device == canary.device);
        let audit = audits.iter().find(|a| a.target == canary.device);
        let verdict = judge(canary, report, audit);
        let followers = waves.followers.remove(&canary.device).unwrap_or_default();
        let version = upgrade_of(canary).map(|s| s.to.to_string()).unwrap_or_default();
        sink.event(Event::Canary {
            device: canary.device.clone(),
            version: version.clone(),
            passed: verdict.is_ok(),
            detail: verdict.clone().err().unwrap_or_else(|| "came back on the new version and passes its audit".into()),
            held_back: if verdict.is_ok() { 0 } else { followers.len() },
        });
        again.push(canary.device.clone());
        match verdict {
            Ok(()) => {
                again.extend(followers.iter().map(|p| p.device.clone()));
                main.extend(followers);
            }
            Err(why) => {
                for f in followers {
                    let Some(mut whole) = waves.whole.remove(&f.device) else { continue };
                    for s in whole.steps.iter_mut().filter(|s| s.phase == Phase::Firmware) {
                        s.blocked = Some(format!("not upgraded: the canary {} {why}", canary.device));
                    }
                    main.push(whole);
                }
            }
        }
    }
    main.sort_by_key(|p| super::plan::by_address(&p.device));
    Ok((reports, main, again))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::Step;

    fn step(phase: Phase, setting: Setting, action: &str) -> Step {
        Step {
            phase,
            control: None,
            setting,
            from: None,
            to: Value::Text("V5.5.800".into()),
            action: action.into(),
            blocked: None,
        }
    }

    fn plan(device: &str, image: Option<&str>) -> DevicePlan {
        let mut steps = vec![step(Phase::Backup, Setting::Configuration, "backup")];
        if let Some(i) = image {
            steps.push(step(Phase::Firmware, Setting::FirmwareVersion, i));
        }
        steps.push(step(Phase::Services, Setting::ServiceTelnetEnabled, "telnet off"));
        DevicePlan { device: device.into(), steps }
    }

    #[test]
    fn one_canary_per_image_the_first_in_address_order_and_only_up_to_its_firmware_step() {
        let waves = split(vec![
            plan("127.1.0.1:80", Some("image a")),
            plan("127.1.0.2:80", None),
            plan("127.1.0.3:80", Some("image a")),
            plan("127.1.0.4:80", Some("image b")),
            plan("127.1.0.5:80", Some("image a")),
        ]);
        let canaries: Vec<&str> = waves.canaries.iter().map(|p| p.device.as_str()).collect();
        assert_eq!(canaries, ["127.1.0.1:80", "127.1.0.4:80"]);
        assert!(waves.canaries.iter().all(|p| p.steps.last().unwrap().phase == Phase::Firmware), "hardening waits");
        let followers: Vec<&str> = waves.followers["127.1.0.1:80"].iter().map(|p| p.device.as_str()).collect();
        assert_eq!(followers, ["127.1.0.3:80", "127.1.0.5:80"]);
        assert!(!waves.followers.contains_key("127.1.0.4:80"));
        assert_eq!(waves.rest.len(), 1);
        assert_eq!(waves.whole["127.1.0.3:80"].steps.len(), 3, "the whole plan is kept for a failed canary");
    }

    #[test]
    fn a_canary_passes_only_on_the_expected_version_with_a_clean_audit() {
        let canary = through_firmware(&plan("127.1.0.1:80", Some("image a")));
        let audit = |version: &str, firmware_status: Status| DeviceAudit {
            target: "127.1.0.1:80".into(),
            site: None,
            protocol: None,
            baseline: None,
            identity: Some(crate::posture::Identity { firmware_version: version.into(), ..Default::default() }),
            findings: vec![crate::baseline::eval::Finding {
                control: "HIK-27".into(),
                title: String::new(),
                severity: crate::baseline::Severity::High,
                status: firmware_status,
                setting: Setting::FirmwareVersion,
                observed: None,
                expected: String::new(),
                evidence: "inside CVE-2021-36260".into(),
            }],
            score: None,
            error: None,
        };
        assert_eq!(judge(&canary, None, Some(&audit("V5.5.800", Status::Pass))), Ok(()));
        assert!(judge(&canary, None, Some(&audit("V5.3.0", Status::Pass))).unwrap_err().contains("runs V5.3.0"));
        assert!(judge(&canary, None, Some(&audit("V5.5.800", Status::Fail))).unwrap_err().contains("fails its audit"));
        assert!(judge(&canary, None, None).unwrap_err().contains("could not be read"));
        let failed = DeviceReport { failed: 1, ..Default::default() };
        assert!(judge(&canary, Some(&failed), Some(&audit("V5.5.800", Status::Pass))).is_err());
    }
}
