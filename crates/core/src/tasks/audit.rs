//! The audit task: read the chosen devices, score them against the site policy, keep
//! the run as a snapshot (for reports and drift), and say what drifted since the last
//! apply. Nothing is changed on any device.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde::Serialize;

use super::{Event, Sink};
use crate::audit::{self, DeviceAudit};
use crate::driver::ConnectOptions;
use crate::error::{Error, Result};
use crate::history::Drift;
use crate::inventory::Device;
use crate::posture::Identity;
use crate::workspace::{Clock, PolicyInput, Selection, SitePolicy, Subject, Workspace};

/// What to audit, and how.
#[derive(Debug, Clone)]
pub struct AuditRequest {
    pub selection: Selection,
    pub policy: PolicyInput,
    /// Devices read at once.
    pub concurrency: usize,
    /// Connections in use at once, shared out among the devices read (one each at
    /// least; [`crate::audit::CONNECTIONS_AT_ONCE`] by default).
    pub connections: usize,
    /// Reads and writes limited to this, instead of the site's timing (`--timeout`).
    pub timeout: Option<Duration>,
}

/// Devices audited at once unless asked otherwise. An audit only reads, and a camera's
/// time goes to waiting on its round trips: at 32, a 300-camera audit at 20 ms took
/// 4.0 s, at 128 1.9 s. A large fleet is quickest with many cameras at one connection
/// each: a camera's reads on one connection answer one digest challenge in turn, where a
/// second lane asks for fresh challenges, and a second connection is one more handshake.
/// At 512 at once (one connection each of the default 768), 1,000 cameras at 50 ms took
/// 4.4 s against 5.1 s at 256 with two each, with less CPU per camera; a fleet of up to
/// 384 still gets two each. 512 cameras in flight were over the 150 MB target at 5,000
/// (178 MB) until jemalloc gave freed pages back at once (`.cargo/config.toml`): 139 MB.
/// (`portcullis-bench-steady --counts 300,1000 --concurrency … --connections …`.) Fewer
/// where the process may not open the descriptors ([`crate::driver::descriptors::fit`]).
pub const AUDIT_CONCURRENCY: usize = 512;

impl Default for AuditRequest {
    fn default() -> Self {
        AuditRequest {
            selection: Selection::All,
            policy: PolicyInput::default(),
            concurrency: AUDIT_CONCURRENCY,
            connections: crate::audit::CONNECTIONS_AT_ONCE,
            timeout: None,
        }
    }
}

/// An audit run's result. The devices' findings are not held here: each went to the
/// sink ([`Event::Audited`]) and to the run's snapshot as it was read, so a site of
/// thousands of cameras is audited in bounded memory.
#[derive(Debug, Clone, Serialize)]
pub struct AuditRun {
    /// One line per device, in the order they were read.
    pub devices: Vec<AuditLine>,
    pub site_score: Option<u8>,
    /// Settings that differ from what the last verified apply left.
    pub drift: Vec<Drift>,
    /// The snapshot the run was kept as (`Snapshots::get`).
    pub snapshot: u64,
}

/// A run in four numbers (`audit --json`'s summary, the app's result).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct AuditSummary {
    pub devices: usize,
    /// Devices that could not be read.
    pub errors: usize,
    pub site_score: Option<u8>,
    /// Settings changed since the last verified apply.
    pub drift: usize,
}

/// A device's audit in a line: what a summary table shows.
#[derive(Debug, Clone, Serialize)]
pub struct AuditLine {
    pub target: String,
    pub protocol: Option<crate::posture::Protocol>,
    pub identity: Option<Identity>,
    pub score: Option<u8>,
    /// The failing controls' ids, in the baseline's order.
    pub failing: Vec<String>,
    pub error: Option<audit::Problem>,
}

impl AuditLine {
    fn of(a: &DeviceAudit) -> AuditLine {
        AuditLine {
            target: a.target.clone(),
            protocol: a.protocol,
            identity: a.identity.clone(),
            score: a.score,
            failing: a
                .findings
                .iter()
                .filter(|f| f.status == crate::baseline::eval::Status::Fail)
                .map(|f| f.control.clone())
                .collect(),
            error: a.error.clone(),
        }
    }
}

impl AuditRun {
    pub fn summary(&self) -> AuditSummary {
        AuditSummary {
            devices: self.devices.len(),
            errors: self.errors(),
            site_score: self.site_score,
            drift: self.drift.len(),
        }
    }

    pub fn errors(&self) -> usize {
        self.devices.iter().filter(|a| a.error.is_some()).count()
    }
}

/// Audit, keep the run as a snapshot, and work out the drift. Each device is saved,
/// compared and handed to the sink as it is read, then dropped.
pub async fn run(ws: &Arc<Workspace>, req: &AuditRequest, clock: &dyn Clock, sink: &dyn Sink) -> Result<AuditRun> {
    let policy = ws.policy(&req.policy)?;
    let subjects = ws.select(&req.selection)?;
    let (client, pins) = run_client(ws, &policy, req)?;
    // An audit changes nothing, so no password can change under a kept challenge: its
    // reads may answer a challenge the device already gave (`driver::nonces`). Plan,
    // apply and upgrade read through `read` with a client of their own, never this one.
    client.guards.reuse_challenges();
    let mut snapshot = ws.snapshots.begin()?;
    let (mut devices, mut drift) = (Vec::with_capacity(subjects.len()), Vec::new());
    let read = each(ws, &subjects, &policy, req, &client, |a| {
        snapshot.add(&a)?;
        drift.extend(ws.history.drift_of(&a)?);
        devices.push(AuditLine::of(&a));
        sink.event(Event::Audited(Box::new(a)));
        Ok(())
    })
    .await;
    pins.save(&ws.home, &clock.stamp_secs())?;
    read?;
    let snapshot = snapshot.finish(&clock.stamp_secs(), &crate::workspace::operator(None), &policy.label)?;
    let site_score = audit::mean_score(devices.iter().filter_map(|d| d.score));
    Ok(AuditRun { devices, site_score, drift, snapshot })
}

/// The HTTP client of one run (its pins, and its login guards: one per device), and
/// the pins to save when the run ends (what it saw first, what changed).
pub(crate) fn run_client(
    ws: &Workspace,
    policy: &SitePolicy,
    req: &AuditRequest,
) -> Result<(crate::driver::http::Client, crate::driver::http::LivePins)> {
    crate::driver::http::pinned_client(&ws.home, &policy.site.timing.with_override(req.timeout))
}

/// Read and score these devices (no snapshot kept): what plan and apply start from.
/// `client` is the run's, so that every login of the run shares one budget per device.
pub(crate) async fn read(
    ws: &Arc<Workspace>,
    subjects: &[Subject],
    policy: &SitePolicy,
    req: &AuditRequest,
    sink: &dyn Sink,
    client: &crate::driver::http::Client,
) -> Result<Vec<DeviceAudit>> {
    let mut all = Vec::with_capacity(subjects.len());
    each(ws, subjects, policy, req, client, |a| {
        sink.event(Event::Audited(Box::new(a.clone())));
        all.push(a);
        Ok(())
    })
    .await?;
    Ok(all)
}

/// Read and score these devices, handing each to `found` as it is read (with its site,
/// the inventory's identity when the device gave none, and the site's password controls).
/// Stops at the first error `found` returns.
async fn each(
    ws: &Arc<Workspace>,
    subjects: &[Subject],
    policy: &SitePolicy,
    req: &AuditRequest,
    client: &crate::driver::http::Client,
    mut found: impl FnMut(DeviceAudit) -> Result<()>,
) -> Result<()> {
    if subjects.is_empty() {
        return Err(Error::Input(
            "nothing to audit: import or discover devices first (portcullis inventory import FILE), or name a device"
                .into(),
        ));
    }
    let choice = policy.choice()?;
    let creds = super::credentials_of(ws, subjects).await?;
    let opts = audit::AuditOptions {
        connect: ConnectOptions { timings: policy.site.timing.with_override(req.timeout) },
        concurrency: crate::driver::descriptors::fit(req.concurrency),
        connections: req.connections,
        ..Default::default()
    };
    let client = client.clone();
    let known = ws.store.all()?;
    let sites: std::collections::HashMap<String, Option<String>> =
        subjects.iter().map(|s| (s.label(), s.site.clone())).collect();
    let targets = subjects.iter().map(|s| s.target.clone()).collect();
    let stream = audit::audit_many(targets, |t| creds.get(&t.label()).cloned(), choice, client, opts);
    let mut stream = std::pin::pin!(stream);
    let rotation = rotation_facts(ws, subjects, policy).await?;
    let counts = rotation.as_ref().map(|(creds, _, _)| crate::site::passwords::password_counts(creds));
    while let Some(mut a) = stream.next().await {
        fill_identity_from_inventory(&mut a, &known);
        a.site = sites.get(&a.target).cloned().flatten();
        if let (Some((creds, rotated, index)), Some(counts)) = (&rotation, &counts) {
            let from = crate::site::passwords::Sources {
                credentials: creds,
                password_counts: counts,
                rotated,
                vault_index: index,
                max_age_days: policy.site.password_max_age_days,
                now: chrono::Utc::now(),
            };
            crate::site::passwords::fill(std::slice::from_mut(&mut a), &from);
        }
        found(a)?;
    }
    Ok(())
}

/// What the site's password rotation controls are decided from, when the site has
/// them: every device's credentials (uniqueness is site-wide), when each audited device's
/// password was last set (from the history's index: its entries only), the vault's index.
type RotationFacts =
    (HashMap<String, crate::secret::Credentials>, HashMap<String, String>, Vec<crate::vault::EntryInfo>);

async fn rotation_facts(
    ws: &Arc<Workspace>,
    subjects: &[Subject],
    policy: &SitePolicy,
) -> Result<Option<RotationFacts>> {
    if !policy.site.unique_passwords && policy.site.password_max_age_days.is_none() {
        return Ok(None);
    }
    let everyone = ws.select(&Selection::All)?;
    let creds = super::credentials_of(ws, &everyone).await?;
    let mut rotated = HashMap::new();
    for label in subjects.iter().map(Subject::label) {
        let sets = crate::site::passwords::SETS_A_PASSWORD;
        if let Some(time) = ws.history.last_credential_change(&label, &sets)? {
            rotated.insert(label, time);
        }
    }
    let index = ws.vault.blocking(|v| v.list()).await?;
    Ok(Some((creds, rotated, index)))
}

/// A device that could not be logged in to (factory-new, refused) still has the model
/// and firmware discovery saw: show them, marked as coming from the inventory.
pub fn fill_identity_from_inventory(a: &mut DeviceAudit, known: &[Device]) {
    if a.identity.is_some() {
        return;
    }
    let Some(d) = known.iter().find(|d| d.target().is_some_and(|t| t.label() == a.target)) else { return };
    let (version, build) = match d.firmware.as_deref().and_then(|f| f.split_once(" build ")) {
        Some((v, b)) => (v.to_string(), Some(b.to_string())),
        None => (d.firmware.clone().unwrap_or_default(), None),
    };
    a.identity = Some(Identity {
        vendor: d.vendor.clone().unwrap_or_default(),
        manufacturer: String::new(),
        model: d.model.clone().unwrap_or_default(),
        serial: d.serial.clone().unwrap_or_default(),
        mac: d.mac.clone().unwrap_or_default(),
        firmware_version: version,
        firmware_build: build,
        device_type: "(from the inventory)".into(),
    });
}
