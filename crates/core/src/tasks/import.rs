//! The import task: an inventory file (CSV or JSON, `portcullis-sim` output included)
//! into the inventory; passwords in the file go to the vault, never to the inventory.

use serde::Serialize;

use crate::error::Result;
use crate::inventory::file;
use crate::vault::Scope;
use crate::workspace::Workspace;

/// What an import did.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Imported {
    /// Entries read from the file.
    pub read: usize,
    /// Devices in the inventory after merging them.
    pub devices: usize,
    pub credentials_stored: usize,
    /// Entries that contradicted a known device (its identity at another address):
    /// kept on that device as conflicts, nothing moved.
    pub conflicts: usize,
}

/// Import the text of a file called `name` (its extension says CSV or JSON).
pub fn run(ws: &Workspace, name: &str, text: &str, site: Option<&str>) -> Result<Imported> {
    let entries = file::parse(name, text)?;
    let mut sightings = Vec::new();
    let mut creds = Vec::new();
    for mut e in entries {
        if let Some(s) = site {
            e.sighting.site = Some(s.to_string());
        }
        if let (Some(c), Some(a)) = (e.credentials.take(), e.sighting.address) {
            let label = crate::driver::label(a, e.sighting.http_port, e.sighting.https_port);
            creds.push((Scope::Device(label), c));
        }
        sightings.push(e.sighting);
    }
    let read = sightings.len();
    let recorded = ws.store.record(sightings)?;
    let (devices, conflicts) = (recorded.devices.len(), recorded.conflicts.len());
    let credentials_stored = creds.len();
    if !creds.is_empty() {
        ws.vault.set_many(creds)?;
    }
    Ok(Imported { read, devices, credentials_stored, conflicts })
}
