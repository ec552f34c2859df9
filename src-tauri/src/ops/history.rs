//! The change history and its chain check.

use portcullis_core::history::Filter;

use super::views::record_view;
use crate::dto::{ChainCheck, HistoryRecord};
use crate::error::IpcResult;
use crate::session::Session;

/// Records, newest first; only one device's when `device` (its label) is given.
pub fn records(session: &Session, device: Option<String>) -> IpcResult<Vec<HistoryRecord>> {
    let list = session.history.query(&Filter { device, ..Filter::default() })?;
    Ok(list.iter().rev().map(record_view).collect())
}

pub fn verify(session: &Session) -> IpcResult<ChainCheck> {
    let v = session.history.verify()?;
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
