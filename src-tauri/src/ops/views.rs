//! Engine types → the IPC view types in `dto`, where the UI needs a shape of its own
//! (a device row joins the inventory, its audit and its history).

use std::collections::{BTreeMap, HashMap};

use portcullis_core::audit::DeviceAudit;
use portcullis_core::baseline::eval::Status;
use portcullis_core::inventory::Device;
use portcullis_core::posture::Identity;

use crate::dto::{DeviceRow, IdentityView};

pub fn device_row(d: &Device, audits: &BTreeMap<String, DeviceAudit>, last: &HashMap<String, String>) -> DeviceRow {
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
        seen_by: d.seen_by.iter().copied().collect(),
        score: audit.and_then(|a| a.score),
        failing: audit.map_or(0, |a| a.findings.iter().filter(|f| f.status == Status::Fail).count() as u32),
        audited: audit.is_some(),
        audit_error: audit.and_then(|a| a.error.clone()),
        last_change: last.get(&label).cloned(),
        confirmed: d.confirmed,
        conflicts: d.conflicts.iter().map(|c| c.claim.clone()).collect(),
        label,
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

pub fn protocol_name(p: portcullis_core::posture::Protocol) -> String {
    p.name().to_ascii_uppercase()
}
