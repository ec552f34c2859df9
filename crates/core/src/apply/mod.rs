//! Apply: carry out a device's plan, step by step, in the plan's (safe) order.
//!
//! Every step is: record the intent in the history → act → read the setting back (and,
//! for a service with a port, connect to prove it is closed) → record the outcome. A
//! read-back that does not match puts the old value back. Password rotation goes
//! through the vault's pending entries (see [`password`]); HTTP is switched off only
//! over a proven HTTPS session. Devices run concurrently; steps within one never do.

mod address;
mod firmware;
pub mod interrupted;
pub mod journal;
pub mod password;
mod ports;
mod recover;
mod run;
mod service;
mod tally;
#[cfg(test)]
mod tests;

pub use recover::{recover, Kept, Recovered};
use run::Run;
pub use tally::{StepTally, Steps};

use std::path::PathBuf;
use std::sync::Arc;

use futures::stream::{self, Stream, StreamExt};
use serde::Serialize;

use crate::audit::Problem;
use crate::driver::{self, ConnectOptions, Driver, Target, WriteContext};
use crate::error::{Error, Result};
use crate::history::{Change, History, Outcome};
use crate::plan::{DevicePlan, Phase, SiteParameters, Step};
use crate::posture::{Reading, Value};
use crate::secret::Credentials;
use crate::setting::Setting;
use crate::vault::{Scope, Vault};
use password::{PasswordPolicy, Resolution};

/// Everything a run shares.
#[derive(Debug, Clone)]
pub struct ApplyContext {
    pub history: Arc<History>,
    pub vault: Arc<Vault>,
    /// Where configuration backups are kept (next to the history).
    pub backups: PathBuf,
    /// The key backups are sealed to (the vault holds its private half). None: a
    /// backup step fails rather than write a configuration in clear.
    pub backup_to: Option<crate::backups::BackupRecipient>,
    pub operator: String,
    pub site: SiteParameters,
    pub passwords: PasswordPolicy,
    pub client: crate::driver::http::Client,
    /// The pins `client` checks: a certificate proven in this run is added at once.
    pub pins: crate::driver::http::LivePins,
    pub connect: ConnectOptions,
    pub concurrency: usize,
    /// The site CA, for certificate steps (none: those steps are skipped).
    pub ca: Option<Arc<crate::certs::SiteCa>>,
    /// What the site CA may name (`[site] ca_scope`): no certificate names anything else.
    pub ca_scope: crate::certs::CaScope,
    /// PORTCULLIS_HOME: where certificate pins are kept.
    pub home: PathBuf,
    /// Host names devices are reached by, besides their addresses (for SANs).
    pub hostnames: std::collections::HashMap<String, Vec<String>>,
    /// Set to stop: devices not yet started are left alone, running ones stop after
    /// the step in hand (each step is whole: recorded, verified, rolled back if need be).
    pub cancel: Arc<std::sync::atomic::AtomicBool>,
    /// When each record is made.
    pub clock: Arc<dyn crate::workspace::Clock>,
    /// Where firmware steps take their images from.
    pub firmware: Arc<crate::firmware::Library>,
    /// Firmware uploads at once (the rest wait their turn; restarts do not count).
    pub uploads: Arc<tokio::sync::Semaphore>,
    /// Images read (and their digest checked) in this run, by SHA-256.
    pub images: Arc<std::sync::Mutex<std::collections::HashMap<String, bytes::Bytes>>>,
}

impl ApplyContext {
    fn cancelled(&self) -> bool {
        self.cancel.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The time a history record carries.
    fn now(&self) -> String {
        self.clock.stamp()
    }
}

/// One device's work.
#[derive(Debug, Clone)]
pub struct DeviceJob {
    pub target: Target,
    pub site: Option<String>,
    pub plan: DevicePlan,
}

/// How a step ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum StepResult {
    Verified,
    RolledBack {
        reason: String,
    },
    Failed {
        reason: String,
    },
    /// Not attempted: blocked by the plan, or not possible on this device.
    Skipped {
        reason: String,
    },
}

/// Progress, as it happens.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum Event {
    DeviceStarted {
        device: String,
        steps: usize,
    },
    StepDone {
        device: String,
        index: usize,
        steps: usize,
        setting: Setting,
        action: String,
        result: StepResult,
    },
    /// The device is about to be reached over HTTPS only: record the port now, so that
    /// a crash in the next moment cannot leave an inventory that points at closed HTTP.
    HttpsPort {
        device: String,
        port: u16,
    },
    DeviceDone(DeviceReport),
}

/// A device's outcome (the CLI's `device_done` line, a row of the app's result).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct DeviceReport {
    pub device: String,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub verified: usize,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub rolled_back: usize,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub failed: usize,
    #[cfg_attr(feature = "ts", ts(type = "number"))]
    pub skipped: usize,
    /// Why the device could not be worked on at all.
    pub error: Option<Problem>,
    /// A password rotation could not be resolved: run `portcullis recover` later.
    pub rotation_pending: bool,
    /// The device is now reached over HTTPS on this port (plain HTTP was switched off).
    pub https_port: Option<u16>,
    /// A factory-new device was activated: it can now be audited and hardened.
    pub activated: bool,
    /// The run was cancelled before this device's plan was done (steps left untouched).
    pub cancelled: bool,
    /// The device moved to this address (its new label) and was found there.
    pub moved_to: Option<String>,
    /// The device was told to move, then found at neither address: the inventory keeps
    /// both for the next run to look at.
    pub lost: bool,
}

impl DeviceReport {
    pub fn ok(&self) -> bool {
        self.error.is_none()
            && self.failed == 0
            && self.rolled_back == 0
            && !self.rotation_pending
            && !self.cancelled
            && !self.lost
    }

    /// Fold in a second pass over the same device (its hardening after an activation).
    pub fn absorb(&mut self, second: DeviceReport) {
        self.verified += second.verified;
        self.rolled_back += second.rolled_back;
        self.failed += second.failed;
        self.skipped += second.skipped;
        self.error = second.error.or(self.error.take());
        self.rotation_pending |= second.rotation_pending;
        self.cancelled |= second.cancelled;
        self.https_port = second.https_port.or(self.https_port);
        self.moved_to = second.moved_to.or(self.moved_to.take());
        self.lost |= second.lost;
    }
}

/// Apply one device's plan. Events arrive through `on_event` as steps finish.
pub async fn apply_device(
    job: &DeviceJob,
    creds: Option<Credentials>,
    ctx: &ApplyContext,
    on_event: &(dyn Fn(Event) + Send + Sync),
) -> DeviceReport {
    let device = job.plan.device.clone();
    let mut report = DeviceReport { device: device.clone(), ..Default::default() };
    let steps = job.plan.steps.len();
    if ctx.cancelled() {
        report.cancelled = true;
        on_event(Event::DeviceDone(report.clone()));
        return report;
    }
    on_event(Event::DeviceStarted { device: device.clone(), steps });
    // A factory-new device has no credentials yet: activation sets the first ones.
    let activating = job.plan.steps.iter().any(|s| s.phase == Phase::Activate);
    let creds = match creds {
        Some(c) => c,
        None if activating => Credentials::new("admin", ""),
        None => {
            report.error = Some(Problem::from(&Error::NoCredentials { address: device }));
            on_event(Event::DeviceDone(report.clone()));
            return report;
        }
    };
    let login = (!creds.password.is_empty()).then(|| creds.clone());
    let drv = match driver::connect(&job.target, login, &ctx.client, &ctx.connect).await {
        Ok(d) => d,
        Err(e) => {
            report.error = Some(Problem::from(&e));
            on_event(Event::DeviceDone(report.clone()));
            return report;
        }
    };
    let mut run =
        Run { ctx, job, target: job.target.clone(), creds, drv, report, notify: on_event, verified: Vec::new() };
    for (index, step) in job.plan.steps.iter().enumerate() {
        if ctx.cancelled() {
            run.report.cancelled = true;
            break;
        }
        let result = match run.step(step).await {
            Ok(r) => r,
            Err(e) => {
                // The device or our storage stopped us: nothing after this is safe.
                run.report.error = Some(Problem::from(&e));
                break;
            }
        };
        match &result {
            StepResult::Verified => run.report.verified += 1,
            StepResult::RolledBack { .. } => run.report.rolled_back += 1,
            StepResult::Failed { .. } => run.report.failed += 1,
            StepResult::Skipped { .. } => run.report.skipped += 1,
        }
        on_event(Event::StepDone {
            device: device.clone(),
            index,
            steps,
            setting: step.setting,
            action: step.action.clone(),
            result,
        });
    }
    on_event(Event::DeviceDone(run.report.clone()));
    run.report
}

/// Apply many devices, at most `ctx.concurrency` at once; reports arrive as devices finish.
pub fn apply_many<'a, F>(
    jobs: Vec<DeviceJob>,
    credentials_for: F,
    ctx: Arc<ApplyContext>,
    on_event: Arc<dyn Fn(Event) + Send + Sync>,
) -> impl Stream<Item = DeviceReport> + 'a
where
    F: Fn(&DeviceJob) -> Option<Credentials> + 'a,
{
    let concurrency = ctx.concurrency.max(1);
    stream::iter(jobs)
        .map(move |job| {
            let creds = credentials_for(&job);
            let (ctx, on_event) = (ctx.clone(), on_event.clone());
            async move { apply_device(&job, creds, &ctx, on_event.as_ref()).await }
        })
        .buffer_unordered(concurrency)
}
