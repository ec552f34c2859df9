//! The device table and inventory import (the same path the CLI's `inventory import`
//! takes: passwords go to the vault, never to the inventory).

use super::views::device_row;
use portcullis_core::tasks::inventory::Which;

use crate::dto::{DeviceDecision, DeviceRow, ImportResult};
use crate::error::{IpcError, IpcResult};
use crate::picker::{FilePicker, Pick};
use crate::session::Session;

/// Import an inventory the person chooses in a native dialog (CSV or JSON, by its
/// name), read here: passwords in it go to the vault and never through the webview.
pub fn import_file(session: &Session, picker: &dyn FilePicker, site: Option<&str>) -> IpcResult<ImportResult> {
    let path = picker.pick(Pick::Inventory)?.ok_or_else(|| {
        IpcError::new(crate::error::ShellCode::Cancelled, "cancelled: no file was chosen, nothing changed")
    })?;
    let (name, text) = portcullis_core::tasks::import::read_chosen(&path)?;
    import_text(session, &name, &text, site)
}

/// Import an inventory file's text (CSV or JSON, by its name).
pub fn import_text(session: &Session, name: &str, text: &str, site: Option<&str>) -> IpcResult<ImportResult> {
    let done = portcullis_core::tasks::import::run(&session.ws, name, text, site)?;
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    Ok(ImportResult {
        read: count(done.read),
        devices: count(done.devices),
        credentials_stored: count(done.credentials_stored),
        conflicts: count(done.conflicts),
    })
}

/// Accept devices discovery found (`portcullis inventory accept`); returns every row.
pub fn accept(session: &Session, decision: &DeviceDecision) -> IpcResult<Vec<DeviceRow>> {
    portcullis_core::tasks::inventory::accept(&session.ws, &which(decision)?)?;
    rows(session)
}

/// Forget unconfirmed devices (`portcullis inventory reject`); returns every row.
pub fn reject(session: &Session, decision: &DeviceDecision) -> IpcResult<Vec<DeviceRow>> {
    portcullis_core::tasks::inventory::reject(&session.ws, &which(decision)?)?;
    rows(session)
}

fn which(decision: &DeviceDecision) -> IpcResult<Which> {
    match (decision.all_unconfirmed, decision.ids.is_empty()) {
        (true, true) => Ok(Which::AllUnconfirmed),
        (false, false) => Ok(Which::Named(decision.ids.clone())),
        (true, false) => Err(IpcError::input("either every unconfirmed device or some by id, not both")),
        (false, true) => Err(IpcError::input("no device chosen")),
    }
}

/// Every device, by address (127.1.0.2 before 127.1.0.10), with this run's audit.
pub fn rows(session: &Session) -> IpcResult<Vec<DeviceRow>> {
    let mut devices = session.ws.store.all()?;
    portcullis_core::inventory::sort_by_address(&mut devices);
    let last = session.ws.history.last_changes()?;
    let audits = session.audits()?;
    Ok(devices.iter().map(|d| device_row(d, &audits, &last)).collect())
}

/// The row of one device, by its inventory id.
pub fn row(session: &Session, id: &str) -> IpcResult<Option<(DeviceRow, portcullis_core::inventory::Device)>> {
    let Some(d) = session.ws.store.all()?.into_iter().find(|d| d.id == id) else { return Ok(None) };
    let last = session.ws.history.last_changes()?;
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
    let credentials = session.ws.vault.login_entry(&row.label, row.site.as_deref())?;
    let firmware = match audit.as_ref().and_then(|a| a.identity.as_ref()) {
        Some(id) => Some(super::firmware::state(session, id)?),
        None => None,
    };
    Ok(crate::dto::DeviceDetail {
        firmware,
        protocol: audit.as_ref().and_then(|a| a.protocol).map(super::views::protocol_name),
        baseline: audit.as_ref().and_then(|a| a.baseline.clone()),
        identity: audit.as_ref().and_then(|a| a.identity.as_ref()).map(super::views::identity_view),
        findings: audit.as_ref().map(|a| a.findings.clone()).unwrap_or_default(),
        history,
        credentials,
        row,
    })
}

#[cfg(test)]
mod tests {
    use portcullis_core::inventory::{Sighting, Source};
    use portcullis_core::secret::Secret;
    use portcullis_core::vault::{FileVault, Vault};

    use super::*;

    fn session(name: &str) -> (Session, std::path::PathBuf) {
        let home = std::env::temp_dir().join(format!("pc-inv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let vault = Vault::new(Box::new(FileVault::new(home.join("v.age"), Secret::new("t"))), &home);
        (Session::open(&home, vault, None).unwrap(), home)
    }

    fn heard(s: &Session, last: u8) {
        let sighting = Sighting {
            source: Some(Source::WsDiscovery),
            address: Some(std::net::IpAddr::from([192, 0, 2, last])),
            endpoint_reference: Some(format!("urn:uuid:{last}")),
            http_port: Some(80),
            ..Default::default()
        };
        s.ws.store.record(vec![sighting]).unwrap();
    }

    #[test]
    fn devices_discovery_found_wait_for_the_person_and_are_accepted_one_or_all() {
        let (s, home) = session("decide");
        for last in [1, 2, 3] {
            heard(&s, last);
        }
        assert!(rows(&s).unwrap().iter().all(|r| !r.confirmed), "discovery alone confirms nothing");
        let one = DeviceDecision { ids: vec!["epr:urn:uuid:1".into()], all_unconfirmed: false };
        let after = accept(&s, &one).unwrap();
        assert_eq!(after.iter().filter(|r| r.confirmed).map(|r| r.id.as_str()).collect::<Vec<_>>(), ["epr:urn:uuid:1"]);
        let both = DeviceDecision { ids: vec!["x".into()], all_unconfirmed: true };
        assert!(accept(&s, &both).is_err(), "ids and all at once is ambiguous");
        let left = reject(&s, &DeviceDecision { ids: Vec::new(), all_unconfirmed: true }).unwrap();
        assert_eq!(left.len(), 1, "the rejected are forgotten, the accepted one stays");
        assert!(left[0].confirmed);
        let _ = std::fs::remove_dir_all(&home);
    }
}
