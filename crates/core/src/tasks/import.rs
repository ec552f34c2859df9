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

/// Import a credentials CSV (the inventory's columns; rows with an address and a
/// password): each device's own credentials go to the vault, nothing to the inventory.
/// Returns how many were stored.
pub fn credentials(vault: &crate::vault::Vault, text: &str) -> Result<usize> {
    let mut items = Vec::new();
    for e in file::parse_csv(text)? {
        let (Some(c), Some(addr)) = (e.credentials, e.sighting.address) else { continue };
        items.push((Scope::Device(crate::driver::label(addr, e.sighting.http_port, e.sighting.https_port)), c));
    }
    let n = items.len();
    if n > 0 {
        vault.set_many(items)?;
    }
    Ok(n)
}

/// A file a person chose to import, read whole ([`crate::files::read_chosen_text`]): its
/// name (the extension says CSV or JSON) and its text.
pub fn read_chosen(path: &std::path::Path) -> Result<(String, String)> {
    let text = crate::files::read_chosen_text(path)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    Ok((name, text))
}
