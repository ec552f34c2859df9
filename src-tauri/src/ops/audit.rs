//! Audit the chosen devices with the engine's audit task; each result goes to the UI as
//! it finishes and into the session's cache for the device table.

use std::sync::Arc;

use portcullis_core::audit::{self, DeviceAudit};
use portcullis_core::tasks::{self, audit::AuditRequest, Event};
use portcullis_core::workspace::{Selection, SystemClock};

use crate::dto::{AuditSummary, Progress};
use crate::error::{IpcError, IpcResult};
use crate::session::Session;

/// The reads the settings make for these inventory ids (all devices when empty), with
/// `concurrency` devices at once: an audit's own setting, or the apply's for the reads
/// that open an apply. The devices share the engine's default connections.
pub fn request(session: &Session, ids: &[String], concurrency: u32) -> IpcResult<AuditRequest> {
    let settings = session.settings()?;
    Ok(AuditRequest {
        selection: Selection::ids(ids),
        policy: session.policy_input()?,
        concurrency: concurrency.max(1) as usize,
        timeout: settings.read_write_timeout(),
        ..AuditRequest::default()
    })
}

/// Audit the devices with these inventory ids (all of them when `ids` is empty).
pub async fn run(
    session: Arc<Session>,
    ids: Vec<String>,
    each: impl Fn(Progress) + Send + Sync,
) -> IpcResult<AuditSummary> {
    let req = request(&session, &ids, session.settings()?.audit_concurrency)?;
    let total = session.ws.select(&req.selection)?.len() as u32;
    if total == 0 {
        return Err(IpcError::input("nothing to audit: discover or import devices first"));
    }
    let done = std::sync::atomic::AtomicU32::new(0);
    let cache = session.clone();
    let sink = move |e: Event| {
        let Event::Audited(a) = e else { return };
        let n = done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        each(Progress {
            job: "audit".into(),
            done: n,
            total,
            device: a.target.clone(),
            ok: a.error.is_none(),
            message: a.error.as_ref().map(|e| e.message.clone()),
        });
        if let Ok(mut audits) = cache.audits() {
            audits.insert(a.target.clone(), *a);
        }
    };
    let run = tasks::audit::run(&session.ws, &req, &SystemClock, &sink).await?;
    Ok(run.summary())
}

/// The site score over every device audited this run.
pub fn site_score(session: &Session) -> IpcResult<Option<u8>> {
    let audits = session.audits()?;
    let all: Vec<DeviceAudit> = audits.values().cloned().collect();
    Ok(audit::site_score(&all))
}
