//! The device table and inventory import (the same path the CLI's `inventory import`
//! takes: passwords go to the vault, never to the inventory).

use std::collections::BTreeMap;

use super::views::device_row;
use crate::dto::{DeviceRow, ImportResult};
use crate::error::IpcResult;
use crate::session::Session;

/// Import an inventory file's text (CSV or JSON, by its name).
pub fn import_text(session: &Session, name: &str, text: &str, site: Option<&str>) -> IpcResult<ImportResult> {
    let done = portcullis_core::tasks::import::run(&session.ws, name, text, site)?;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(ImportResult {
        read: count(done.read),
        devices: count(done.devices),
        credentials_stored: count(done.credentials_stored),
    })
}

/// Every device, by address (127.1.0.2 before 127.1.0.10), with this run's audit.
pub fn rows(session: &Session) -> IpcResult<Vec<DeviceRow>> {
    let mut devices = session.ws.store.all()?;
    devices.sort_by_key(|d| (d.address.is_none(), d.address, d.id.clone()));
    let last = last_changes(session)?;
    let audits = session.audits()?;
    Ok(devices.iter().map(|d| device_row(d, &audits, &last)).collect())
}

/// The time of each device's latest history record.
pub fn last_changes(session: &Session) -> IpcResult<BTreeMap<String, String>> {
    let mut last = BTreeMap::new();
    for r in session.ws.history.all()? {
        last.insert(r.change.device.clone(), r.time.clone());
    }
    Ok(last)
}

/// The row of one device, by its inventory id.
pub fn row(session: &Session, id: &str) -> IpcResult<Option<(DeviceRow, portcullis_core::inventory::Device)>> {
    let Some(d) = session.ws.store.all()?.into_iter().find(|d| d.id == id) else { return Ok(None) };
    let last = last_changes(session)?;
    let audits = session.audits()?;
    Ok(Some((device_row(&d, &audits, &last), d)))
}

/// Everything the device screen shows: identity, findings with evidence, history, and
/// which credentials the vault would use.
pub fn detail(session: &Session, id: &str) -> IpcResult<crate::dto::DeviceDetail> {
    let (row, _device) = row(session, id)?.ok_or_else(|| {
        crate::error::IpcError::new(crate::error::ShellCode::NotFound, format!("no device {id} in the inventory"))
    })?;
    let audit = session.audits()?.get(&row.label).cloned();
    let history = super::history::records(session, Some(row.label.clone()))?;
    let credentials = super::creds::state_for(session, &row.label, row.site.as_deref())?;
    Ok(crate::dto::DeviceDetail {
        protocol: audit.as_ref().and_then(|a| a.protocol).map(super::views::protocol_name),
        baseline: audit.as_ref().and_then(|a| a.baseline.clone()),
        identity: audit.as_ref().and_then(|a| a.identity.as_ref()).map(super::views::identity_view),
        findings: audit
            .as_ref()
            .map(|a| a.findings.iter().map(super::views::finding_view).collect())
            .unwrap_or_default(),
        history,
        credentials,
        row,
    })
}
