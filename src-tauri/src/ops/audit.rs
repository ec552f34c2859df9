//! Audit the chosen devices (the CLI's `audit`, with progress): credentials are looked
//! up first, then `audit_many` runs with the site's concurrency; each result is kept
//! for the device table and reported as it finishes.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use portcullis_core::audit::{self, AuditOptions, DeviceAudit};
use portcullis_core::driver::{ConnectOptions, Target};
use portcullis_core::snapshots::{self, DeviceResult};

use super::views::fill_identity_from_inventory;
use crate::dto::{AuditSummary, Progress};
use crate::error::{IpcError, IpcResult};
use crate::session::Session;

/// Audit the devices with these inventory ids (all of them when `ids` is empty).
pub async fn run(session: Arc<Session>, ids: Vec<String>, each: impl Fn(Progress)) -> IpcResult<AuditSummary> {
    let known = session.store.all()?;
    let chosen: Vec<_> = known.iter().filter(|d| ids.is_empty() || ids.contains(&d.id)).collect();
    let targets: Vec<(Target, Option<String>)> =
        chosen.iter().filter_map(|d| Some((d.target()?, d.site.clone()))).collect();
    if targets.is_empty() {
        return Err(IpcError::new("input", "nothing to audit: discover or import devices first"));
    }
    let settings = session.settings()?;
    let creds =
        super::credentials_of(&session, targets.iter().map(|(t, site)| (t.label(), site.clone())).collect()).await?;
    let opts = AuditOptions {
        connect: ConnectOptions { timeout: Duration::from_secs(u64::from(settings.timeout_s.max(1))) },
        concurrency: settings.concurrency.max(1) as usize,
        ..AuditOptions::default()
    };
    let client = portcullis_core::driver::http::client_for_home(&session.home, opts.connect.timeout)?;
    let choice = session.baseline_choice()?;
    let total = targets.len() as u32;
    let list: Vec<Target> = targets.into_iter().map(|(t, _)| t).collect();
    let stream = audit::audit_many(list, |t| creds.get(&t.label()).cloned(), choice, client, opts);
    let mut stream = std::pin::pin!(stream);
    let mut results: Vec<DeviceAudit> = Vec::new();
    while let Some(mut a) = stream.next().await {
        fill_identity_from_inventory(&mut a, &known);
        each(Progress {
            job: "audit".into(),
            done: results.len() as u32 + 1,
            total,
            device: a.target.clone(),
            ok: a.error.is_none(),
            message: a.error.as_ref().map(|e| e.message.clone()),
        });
        session.audits()?.insert(a.target.clone(), a.clone());
        results.push(a);
    }
    // Kept for reports, as the CLI's audit keeps it.
    let sites: HashMap<String, Option<String>> =
        known.iter().filter_map(|d| Some((d.target()?.label(), d.site.clone()))).collect();
    let devices =
        results.iter().map(|a| DeviceResult::from_audit(a, sites.get(&a.target).cloned().flatten())).collect();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    session.snapshots.save(&now, &snapshots::operator_from_env(), "builtin", devices)?;
    Ok(AuditSummary {
        devices: results.len() as u32,
        errors: results.iter().filter(|a| a.error.is_some()).count() as u32,
        site_score: audit::site_score(&results),
    })
}

/// The site score over every device audited this run.
pub fn site_score(session: &Session) -> IpcResult<Option<u8>> {
    let audits = session.audits()?;
    let all: Vec<DeviceAudit> = audits.values().cloned().collect();
    Ok(audit::site_score(&all))
}
