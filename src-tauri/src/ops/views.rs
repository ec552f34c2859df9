//! Engine types → the IPC view types in `dto`. Values become display text here, so the
//! UI shows what the CLI shows.

use std::collections::BTreeMap;

use portcullis_core::audit::DeviceAudit;
use portcullis_core::baseline::eval::{Finding, Status};
use portcullis_core::history::Record;
use portcullis_core::inventory::{Device, Source};
use portcullis_core::plan::Step;
use portcullis_core::posture::{Identity, Value};

use crate::dto::{DeviceRow, FindingView, HistoryRecord, IdentityView, StepView};
use crate::error::IpcError;

pub fn value_text(v: &Value) -> String {
    v.to_string()
}

fn lower<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|j| j.as_str().map(str::to_string)).unwrap_or_default()
}

pub fn source_name(s: Source) -> String {
    lower(&s)
}

pub fn device_row(d: &Device, audits: &BTreeMap<String, DeviceAudit>, last: &BTreeMap<String, String>) -> DeviceRow {
    let label = d.label();
    let audit = audits.get(&label);
    DeviceRow {
        id: d.id.clone(),
        address: d.address.map(|a| a.to_string()),
        vendor: d.vendor.clone(),
        model: d.model.clone().or_else(|| audit.and_then(|a| a.identity.as_ref()).map(|i| i.model.clone())),
        firmware: d.firmware.clone(),
        mac: d.mac.clone(),
        serial: d.serial.clone(),
        activated: d.activated,
        site: d.site.clone(),
        seen_by: d.seen_by.iter().map(|s| source_name(*s)).collect(),
        score: audit.and_then(|a| a.score),
        failing: audit.map_or(0, |a| a.findings.iter().filter(|f| f.status == Status::Fail).count() as u32),
        audited: audit.is_some(),
        audit_error: audit.and_then(|a| a.error.as_ref()).map(IpcError::from),
        last_change: last.get(&label).cloned(),
        confirmed: d.confirmed,
        conflicts: d.conflicts.iter().map(|c| c.claim.clone()).collect(),
        label,
    }
}

pub fn finding_view(f: &Finding) -> FindingView {
    FindingView {
        control: f.control.clone(),
        title: f.title.clone(),
        severity: f.severity,
        status: f.status,
        setting: f.setting.to_string(),
        observed: f.observed.as_ref().map(value_text),
        expected: f.expected.clone(),
        evidence: f.evidence.clone(),
    }
}

pub fn identity_view(i: &Identity) -> IdentityView {
    IdentityView {
        vendor: i.vendor.clone(),
        manufacturer: i.manufacturer.clone(),
        model: i.model.clone(),
        serial: i.serial.clone(),
        mac: i.mac.clone(),
        firmware: i.firmware(),
        device_type: i.device_type.clone(),
    }
}

pub fn step_view(s: &Step) -> StepView {
    StepView {
        phase: s.phase,
        control: s.control.clone(),
        setting: s.setting.to_string(),
        from: s.from.as_ref().map(value_text),
        to: value_text(&s.to),
        action: s.action.clone(),
        blocked: s.blocked.clone(),
    }
}

pub fn record_view(r: &Record) -> HistoryRecord {
    HistoryRecord {
        seq: u32::try_from(r.seq).unwrap_or(u32::MAX),
        time: r.time.clone(),
        operator: r.change.operator.clone(),
        device: r.change.device.clone(),
        site: r.change.site.clone(),
        control: r.change.control.clone(),
        setting: r.change.setting.to_string(),
        before: r.change.before.as_ref().map(value_text),
        after: r.change.after.as_ref().map(value_text),
        outcome: r.change.outcome.kind(),
        reason: r.change.outcome.reason().map(String::from),
        hash: r.hash.clone(),
    }
}

pub fn protocol_name(p: portcullis_core::posture::Protocol) -> String {
    p.name().to_ascii_uppercase()
}
