//! The change history, its chain check, and drift: what no longer shows what apply set.

use portcullis_core::history::{Drift, Entry, Filter};

use crate::dto::ChainCheck;
use crate::error::IpcResult;
use crate::session::Session;

/// Records, newest first; only one device's when `device` (its label) is given.
pub fn records(session: &Session, device: Option<String>) -> IpcResult<Vec<Entry>> {
    let list = session.ws.history.query(&Filter { device, ..Filter::default() })?;
    Ok(list.iter().rev().map(Entry::from).collect())
}

pub fn verify(session: &Session) -> IpcResult<ChainCheck> {
    let v = session.ws.history.verify()?;
    let (first_bad_seq, first_bad_reason) = match v.first_bad {
        Some((seq, why)) => (Some(u32::try_from(seq).unwrap_or(u32::MAX)), Some(why)),
        None => (None, None),
    };
    Ok(ChainCheck {
        records: u32::try_from(v.records).unwrap_or(u32::MAX),
        head: v.head,
        ok: first_bad_seq.is_none(),
        first_bad_seq,
        first_bad_reason,
    })
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
