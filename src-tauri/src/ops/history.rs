//! The change history, its chain check, and drift: what no longer shows what apply set.

use portcullis_core::history::{Drift, Entry, Filter, Verification};

use crate::error::IpcResult;
use crate::session::Session;

/// Records, newest first; only one device's when `device` (its label) is given.
pub fn records(session: &Session, device: Option<String>) -> IpcResult<Vec<Entry>> {
    let list = session.ws.history.query(&Filter { device, ..Filter::default() })?;
    Ok(list.iter().rev().map(Entry::from).collect())
}

/// The chain checked, as `portcullis history verify` checks it.
pub fn verify(session: &Session) -> IpcResult<Verification> {
    Ok(session.ws.history.verify()?)
}

/// Every audited device's settings that differ from what apply last verified.
pub fn drift(session: &Session) -> IpcResult<Vec<Drift>> {
    let audits = session.audits()?;
    let mut all = Vec::new();
    for a in audits.values() {
        all.extend(session.ws.history.drift_of(a)?);
    }
    Ok(all)
}
