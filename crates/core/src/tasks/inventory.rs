//! The operator's decisions on what discovery found: accept devices (they join the
//! site: credentials, audits, changes, and the names they announced go into their
//! certificates) or reject them (forgotten). Both shells call these.

use crate::error::{Error, Result};
use crate::inventory::Device;
use crate::workspace::Workspace;

/// Which unconfirmed devices a decision is about.
#[derive(Debug, Clone)]
pub enum Which {
    /// Every unconfirmed device (bulk accept after checking the list).
    AllUnconfirmed,
    /// By inventory id, address or label (`127.1.0.5`, `127.1.0.5:80`, `mac:…`).
    Named(Vec<String>),
}

/// The ids of the unconfirmed devices `which` names; a name that matches none is an error.
fn ids(ws: &Workspace, which: &Which) -> Result<Option<Vec<String>>> {
    let Which::Named(names) = which else { return Ok(None) };
    let all = ws.store.all()?;
    let mut ids = Vec::new();
    for name in names {
        let hits: Vec<&Device> = all
            .iter()
            .filter(|d| d.id == *name || d.label() == *name || d.address.is_some_and(|a| a.to_string() == *name))
            .collect();
        if hits.is_empty() {
            return Err(Error::Input(format!("{name}: no such device in the inventory")));
        }
        ids.extend(hits.into_iter().map(|d| d.id.clone()));
    }
    Ok(Some(ids))
}

/// Accept devices discovery found; returns those accepted (already confirmed ones are
/// left as they are).
pub fn accept(ws: &Workspace, which: &Which) -> Result<Vec<Device>> {
    let ids = ids(ws, which)?;
    ws.store.accept(ids.as_deref())
}

/// Forget unconfirmed devices; confirmed ones are never removed this way.
pub fn reject(ws: &Workspace, which: &Which) -> Result<Vec<Device>> {
    let ids = ids(ws, which)?;
    ws.store.reject(ids.as_deref())
}
