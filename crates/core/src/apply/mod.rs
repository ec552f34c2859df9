//! Apply: carry out a device's plan, step by step, in the plan's (safe) order.
//!
//! Every step is: record the intent in the history → act → read the setting back (and,
//! for a service with a port, connect to prove it is closed) → record the outcome. A
//! read-back that does not match puts the old value back. Password rotation goes
//! through the vault's pending entries (see [`password`]); HTTP is switched off only
//! over a proven HTTPS session. Devices run concurrently; steps within one never do.

pub mod interrupted;
pub mod password;
mod ports;

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
use crate::vault::{Scope, Vault};
use password::{PasswordPolicy, Resolution};

/// Everything a run shares.
#[derive(Debug, Clone)]
pub struct ApplyContext {
    pub history: Arc<History>,
    pub vault: Arc<Vault>,
    /// Where configuration backups are kept (next to the history).
    pub backups: PathBuf,
    pub operator: String,
    pub site: SiteParameters,
    pub passwords: PasswordPolicy,
    pub client: reqwest::Client,
    pub connect: ConnectOptions,
    pub concurrency: usize,
    /// The site CA, for certificate steps (none: those steps are skipped).
    pub ca: Option<Arc<crate::certs::SiteCa>>,
    /// PORTCULLIS_HOME: where certificate pins are kept.
    pub home: PathBuf,
    /// Host names devices are reached by, besides their addresses (for SANs).
    pub hostnames: std::collections::HashMap<String, Vec<String>>,
    /// Set to stop: devices not yet started are left alone, running ones stop after
    /// the step in hand (each step is whole: recorded, verified, rolled back if need be).
    pub cancel: Arc<std::sync::atomic::AtomicBool>,
}

impl ApplyContext {
    fn cancelled(&self) -> bool {
        self.cancel.load(std::sync::atomic::Ordering::Relaxed)
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
        setting: String,
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

/// A device's outcome.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DeviceReport {
    pub device: String,
    pub verified: usize,
    pub rolled_back: usize,
    pub failed: usize,
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
}

impl DeviceReport {
    pub fn ok(&self) -> bool {
        self.error.is_none() && self.failed == 0 && self.rolled_back == 0 && !self.rotation_pending && !self.cancelled
    }
}

/// How long a device may take to come back after a change made it reboot.
const REBOOT_WAIT: std::time::Duration = std::time::Duration::from_secs(180);

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One device's run: its driver (replaced when the device moves to HTTPS) and record.
struct Run<'a> {
    ctx: &'a ApplyContext,
    job: &'a DeviceJob,
    target: Target,
    creds: Credentials,
    drv: Box<dyn Driver>,
    report: DeviceReport,
    notify: &'a (dyn Fn(Event) + Send + Sync),
    /// Settings this run verified, with the value set: a later setting on the same
    /// device switch is then read, not written (and never rolled back).
    verified: Vec<(String, Value)>,
}

impl Run<'_> {
    fn record(&self, step: &Step, after: Option<Value>, outcome: Outcome, vault_entry: Option<String>) -> Result<()> {
        let change = Change {
            operator: self.ctx.operator.clone(),
            device: self.job.plan.device.clone(),
            site: self.job.site.clone(),
            control: step.control.clone(),
            setting: step.setting.clone(),
            before: step.from.clone(),
            after,
            outcome,
            vault_entry,
        };
        self.ctx.history.append(change, &now()).map(|_| ())
    }

    fn write_context(&self) -> WriteContext {
        WriteContext { management_hosts: self.ctx.site.management_hosts.clone() }
    }

    /// Read one setting back. A device that drops off the network (rebooting to apply
    /// the change) is waited for, up to [`REBOOT_WAIT`], then read.
    async fn read_back(&self, key: &str) -> Result<Option<Value>> {
        let deadline = tokio::time::Instant::now() + REBOOT_WAIT;
        loop {
            match self.drv.read_settings(&[key]).await {
                Ok(p) => {
                    return Ok(match p.get(key) {
                        Some(Reading::Known(v)) => Some(v.clone()),
                        _ => None,
                    })
                }
                Err(Error::Unreachable { .. } | Error::Timeout { .. }) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A setting change: intent → write → read back (→ port check) → outcome.
    async fn setting(&mut self, step: &Step) -> Result<StepResult> {
        let ctx = self.write_context();
        self.record(step, Some(step.to.clone()), Outcome::Intent, None)?;
        let set_by_another = self
            .verified
            .iter()
            .any(|(s, v)| *s != step.setting && *v == step.to && self.drv.shares_switch(s, &step.setting));
        if set_by_another {
            // One switch carries both settings (Hikvision's TLS 1.0/1.1): it was set a step
            // ago. Writing again adds nothing, and a rollback would undo the other setting.
            let seen = self.read_back(&step.setting).await;
            return if matches!(&seen, Ok(Some(v)) if crate::posture::same_setting(&step.setting, v, &step.to)) {
                self.record(step, Some(step.to.clone()), Outcome::Verified, None)?;
                self.verified.push((step.setting.clone(), step.to.clone()));
                Ok(StepResult::Verified)
            } else {
                let reason = format!("the shared switch does not read back as {}: {seen:?}", step.to);
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None)?;
                Ok(StepResult::Failed { reason })
            };
        }
        let written = self.drv.write_setting(&step.setting, &step.to, &ctx).await;
        let problem = match written {
            Err(e @ (Error::AuthRefused { .. } | Error::Locked { .. })) => {
                self.record(step, None, Outcome::Failed { reason: e.to_string() }, None)?;
                return Err(e);
            }
            Err(e @ Error::Unsupported { .. }) => {
                self.record(step, None, Outcome::Failed { reason: e.to_string() }, None)?;
                return Ok(StepResult::Skipped { reason: e.to_string() });
            }
            // A dropped answer may hide a success: the read-back decides.
            Err(e) => Some(e.to_string()),
            Ok(()) => None,
        };
        let problem = problem.map(|p| format!(" (the write said: {p})")).unwrap_or_default();
        let seen = self.read_back(&step.setting).await;
        let mut mismatch = match &seen {
            Ok(Some(v)) if crate::posture::same_setting(&step.setting, v, &step.to) => None,
            Ok(Some(v)) => Some(format!("read back {v}, expected {}{problem}", step.to)),
            Ok(None) => Some(format!("the setting could not be read back{problem}")),
            Err(e) => Some(format!("read-back failed: {e}{problem}")),
        };
        if mismatch.is_none() && step.to == Value::Bool(false) {
            if let Some(port) = ports::port_of(&step.setting, &self.target) {
                if let Err(why) = ports::closed(self.target.address, port).await {
                    mismatch = Some(why);
                }
            }
        }
        // The read-back decides: a write whose answer was lost but whose value holds is
        // done; a write the device acknowledged but does not show is not.
        let Some(why) = mismatch else {
            self.record(step, Some(step.to.clone()), Outcome::Verified, None)?;
            self.verified.push((step.setting.clone(), step.to.clone()));
            return Ok(StepResult::Verified);
        };
        self.roll_back(step, why).await
    }

    /// Put the old value back and say how that went.
    async fn roll_back(&mut self, step: &Step, why: String) -> Result<StepResult> {
        let Some(old) = step.from.clone() else {
            self.record(step, None, Outcome::Failed { reason: why.clone() }, None)?;
            return Ok(StepResult::Failed { reason: why });
        };
        let ctx = self.write_context();
        // Whatever the write answered, the read-back decides.
        let _ = self.drv.write_setting(&step.setting, &old, &ctx).await;
        let restored = matches!(self.read_back(&step.setting).await,
            Ok(Some(v)) if crate::posture::same_setting(&step.setting, &v, &old));
        if restored {
            self.record(step, Some(old), Outcome::RolledBack { reason: why.clone() }, None)?;
            Ok(StepResult::RolledBack { reason: why })
        } else {
            let reason = format!("{why}; the old value could not be restored");
            self.record(step, None, Outcome::Failed { reason: reason.clone() }, None)?;
            Ok(StepResult::Failed { reason })
        }
    }

    /// The configuration export, kept beside the history, named by its hash.
    async fn backup(&mut self, step: &Step) -> Result<StepResult> {
        let data = match self.drv.backup().await {
            Ok(d) => d,
            Err(e @ Error::Unsupported { .. }) => return Ok(StepResult::Skipped { reason: e.to_string() }),
            Err(e) => return Err(e),
        };
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&data));
        let dir = self.ctx.backups.join(safe_name(&self.job.plan.device));
        let file = dir.join(format!("{}.cfg", &digest));
        std::fs::create_dir_all(&dir).map_err(|e| Error::Local(format!("{}: {e}", dir.display())))?;
        crate::vault::write_atomically(&file, &data)?;
        let after = Value::Text(format!("sha256:{digest}"));
        self.record(step, Some(after), Outcome::Verified, None)?;
        Ok(StepResult::Verified)
    }

    async fn extra_users(&mut self, step: &Step) -> Result<StepResult> {
        self.record(step, Some(step.to.clone()), Outcome::Intent, None)?;
        let result = self.drv.delete_extra_users().await;
        let seen = self.read_back(&step.setting).await;
        match (result, seen) {
            (_, Ok(Some(Value::List(l)))) if l.is_empty() => {
                self.record(step, Some(Value::List(Vec::new())), Outcome::Verified, None)?;
                Ok(StepResult::Verified)
            }
            (Err(e), _) => {
                let reason = e.to_string();
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None)?;
                Ok(StepResult::Failed { reason })
            }
            (Ok(_), other) => {
                let reason = format!("accounts still present after deletion: {other:?}");
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None)?;
                Ok(StepResult::Failed { reason })
            }
        }
    }

    /// HTTP off, only over a proven HTTPS session: otherwise the camera is lost to us.
    async fn http_off(&mut self, step: &Step) -> Result<StepResult> {
        let Some(port) = self.https_port().await else {
            return Ok(StepResult::Skipped { reason: "HTTPS is not available: HTTP stays on".into() });
        };
        let secure = Target { http_port: None, https_port: Some(port), ..self.target.clone() };
        // HTTPS switched on a moment ago may still be starting: give it a few seconds.
        let mut tries = 0;
        let drv = loop {
            tries += 1;
            let attempt =
                match driver::connect(&secure, Some(self.creds.clone()), &self.ctx.client, &self.ctx.connect).await {
                    Ok(d) => d.identify().await.map(|_| d),
                    Err(e) => Err(e),
                };
            match attempt {
                Ok(d) => break d,
                Err(Error::Unreachable { .. } | Error::Timeout { .. }) if tries < 10 => {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                Err(e) => return Ok(StepResult::Skipped { reason: format!("HTTPS not proven ({e}): HTTP stays on") }),
            }
        };
        (self.notify)(Event::HttpsPort { device: self.job.plan.device.clone(), port });
        let http_port = self.target.http_port;
        self.drv = drv;
        self.target = secure.clone();
        self.target.http_port = http_port;
        let r = self.setting(step).await;
        self.target = secure;
        self.report.https_port = Some(port);
        r
    }

    async fn https_port(&self) -> Option<u16> {
        if let Some(p) = self.target.https_port {
            return Some(p);
        }
        let p = self.drv.read_settings(&["service.https.enabled"]).await.ok()?;
        match p.get("service.https.enabled") {
            Some(Reading::Known(Value::Bool(true))) => self.drv.https_port().await,
            _ => None,
        }
    }

    /// Rotate the administrator's password (see [`password`]).
    async fn rotate(&mut self, step: &Step) -> Result<StepResult> {
        let address = self.target.address.to_string();
        if self.ctx.vault.pending(&address)?.is_some() {
            return Ok(StepResult::Skipped {
                reason: "an earlier rotation is unresolved: run portcullis recover".into(),
            });
        }
        let old = self.creds.clone();
        let new = Credentials { username: old.username.clone(), password: self.ctx.passwords.generate(&old.username) };
        let pending = Scope::Pending(address.clone());
        // The vault first: from here on a crash leaves a trace `recover` resolves.
        self.ctx.vault.set(pending.clone(), &new)?;
        self.record(step, None, Outcome::Intent, Some(pending.entry_name(&new.username)))?;
        let told = self.drv.set_password(&new.username, &new.password).await;
        let resolution = password::resolve(self.drv.as_ref(), &new, Some(&old)).await;
        self.conclude_rotation(step, &address, &new, resolution, told.err())
    }

    fn conclude_rotation(
        &mut self,
        step: &Step,
        address: &str,
        new: &Credentials,
        resolution: Resolution,
        told: Option<Error>,
    ) -> Result<StepResult> {
        let entry = Scope::Device(address.to_string()).entry_name(&new.username);
        match resolution {
            Resolution::NewHolds | Resolution::NewHoldsOldAlsoWorks => {
                self.ctx.vault.promote_pending(address, new)?;
                self.record(step, Some(Value::Text("rotated".into())), Outcome::Verified, Some(entry))?;
                self.creds = new.clone();
                if resolution == Resolution::NewHoldsOldAlsoWorks {
                    return Ok(StepResult::Failed {
                        reason: "the new password works but the old one still logs in".into(),
                    });
                }
                Ok(StepResult::Verified)
            }
            Resolution::OldHolds => {
                self.ctx.vault.forget(&Scope::Pending(address.to_string()), None)?;
                let reason = told.map_or("the device kept the old password".to_string(), |e| e.to_string());
                self.record(step, None, Outcome::RolledBack { reason: reason.clone() }, None)?;
                Ok(StepResult::RolledBack { reason })
            }
            Resolution::Unresolved(why) => {
                self.report.rotation_pending = true;
                let reason = format!("{why}; the new password stays pending: run portcullis recover");
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None)?;
                Ok(StepResult::Failed { reason })
            }
        }
    }

    /// A certificate from the site CA: install, read back, then a real handshake that
    /// trusts only the site CA must show it; its fingerprint is pinned.
    async fn certificate(&mut self, step: &Step) -> Result<StepResult> {
        let Some(ca) = self.ctx.ca.clone() else {
            return Ok(StepResult::Skipped { reason: "no site CA".into() });
        };
        let Some(port) = self.https_port().await else {
            return Ok(StepResult::Skipped { reason: "HTTPS is off: no certificate to install".into() });
        };
        let address = self.target.address.to_string();
        let mut names = vec![address.clone()];
        names.extend(self.ctx.hostnames.get(&address).cloned().unwrap_or_default());
        self.record(step, Some(step.to.clone()), Outcome::Intent, None)?;
        let leaf = match self.drv.install_certificate(&ca, &names).await {
            Ok(l) => l,
            Err(e @ Error::Unsupported { .. }) => {
                self.record(step, None, Outcome::Failed { reason: e.to_string() }, None)?;
                return Ok(StepResult::Skipped { reason: e.to_string() });
            }
            Err(e) => {
                let reason = e.to_string();
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None)?;
                return Ok(StepResult::Failed { reason });
            }
        };
        let mut tries = 0;
        let proof = loop {
            tries += 1;
            match crate::certs::verify_handshake(&ca, self.target.address, port, &leaf.der).await {
                Err(Error::Unreachable { .. } | Error::Timeout { .. }) if tries < 10 => {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                other => break other,
            }
        };
        let read = self.read_back(&step.setting).await;
        match (proof, read) {
            (Ok(pin), Ok(Some(Value::Bool(false)))) => {
                crate::certs::Pins::save_one(&self.ctx.home, &address, pin.clone())?;
                let after = Value::Text(format!("site CA, sha256:{}", pin.fingerprint));
                self.record(step, Some(after), Outcome::Verified, None)?;
                Ok(StepResult::Verified)
            }
            (proof, read) => {
                let reason = match (proof, read) {
                    (Err(e), _) => e.to_string(),
                    (_, other) => format!("the device still reports a self-signed certificate ({other:?})"),
                };
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None)?;
                Ok(StepResult::Failed { reason })
            }
        }
    }

    /// Activate a factory-new camera with a generated password, journaled like a
    /// rotation: pending in the vault first, proven by a login, then current.
    async fn activate(&mut self, step: &Step) -> Result<StepResult> {
        let address = self.target.address.to_string();
        if self.ctx.vault.pending(&address)?.is_some() {
            return Ok(StepResult::Skipped {
                reason: "an earlier activation is unresolved: run portcullis recover".into(),
            });
        }
        let new = Credentials { username: "admin".into(), password: self.ctx.passwords.generate("admin") };
        let pending = Scope::Pending(address.clone());
        self.ctx.vault.set(pending.clone(), &new)?;
        self.record(step, None, Outcome::Intent, Some(pending.entry_name(&new.username)))?;
        let told = self.drv.activate(&new.password).await;
        let resolution = if self.drv.activated().await == Some(false) {
            Resolution::OldHolds
        } else {
            password::resolve(self.drv.as_ref(), &new, None).await
        };
        let result = self.conclude_rotation(step, &address, &new, resolution, told.err())?;
        if result == StepResult::Verified {
            self.drv = self.drv.with_credentials(new);
            self.report.activated = true;
        }
        Ok(result)
    }

    async fn step(&mut self, step: &Step) -> Result<StepResult> {
        if let Some(why) = &step.blocked {
            return Ok(StepResult::Skipped { reason: why.clone() });
        }
        match (step.phase, step.setting.as_str()) {
            (Phase::Backup, _) => self.backup(step).await,
            (Phase::Activate, _) => self.activate(step).await,
            (Phase::Credentials, _) => self.rotate(step).await,
            (Phase::HttpOff, _) => self.http_off(step).await,
            (_, "account.users") => self.extra_users(step).await,
            (_, "tls.certificate.self_signed") => self.certificate(step).await,
            _ => self.setting(step).await,
        }
    }
}

/// Files named after a device: `127.1.0.1:80` → `127.1.0.1_80`.
fn safe_name(device: &str) -> String {
    device.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
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
            setting: step.setting.clone(),
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

/// What `recover` did for one device.
#[derive(Debug, Clone, Serialize)]
pub struct Recovered {
    pub device: String,
    /// `new` (the pending password became current), `old` (it was dropped) or `pending`.
    pub kept: String,
    pub detail: Option<String>,
}

/// Resolve every pending rotation: try the new password, then the old, once each.
pub async fn recover(targets: &[(Target, Option<String>)], ctx: &ApplyContext) -> Result<Vec<Recovered>> {
    let mut out = Vec::new();
    for address in ctx.vault.pending_devices()? {
        let Some(new) = ctx.vault.pending(&address)? else { continue };
        let found = targets.iter().find(|(t, _)| t.address.to_string() == address);
        let (target, site) = match found {
            Some((t, s)) => (t.clone(), s.clone()),
            None => match address.parse() {
                Ok(ip) => (Target::new(ip), None),
                Err(_) => continue,
            },
        };
        let old = ctx.vault.lookup(&target.label(), site.as_deref())?;
        // Connecting asks what the device speaks, without credentials.
        let resolution = match driver::connect(&target, None, &ctx.client, &ctx.connect).await {
            // An activation that never happened: the camera is still factory-new.
            Ok(drv) if drv.activated().await == Some(false) => Resolution::OldHolds,
            Ok(drv) => password::resolve(drv.as_ref(), &new, old.as_ref()).await,
            Err(e) => Resolution::Unresolved(e.to_string()),
        };
        // Close the rotation's own intent (its setting), if the crash left it open.
        let setting = interrupted::open_intents(&ctx.history)?
            .into_iter()
            .find(|((d, _), r)| *d == target.label() && r.change.vault_entry.is_some())
            .map(|((_, s), _)| s)
            .unwrap_or_else(|| "account.password".into());
        let step = Step {
            phase: Phase::Credentials,
            control: None,
            setting,
            from: None,
            to: Value::Text("rotated".into()),
            action: "recover an interrupted password rotation".into(),
            blocked: None,
        };
        let change = |outcome, after, entry| Change {
            operator: ctx.operator.clone(),
            device: target.label(),
            site: site.clone(),
            control: None,
            setting: step.setting.clone(),
            before: None,
            after,
            outcome,
            vault_entry: entry,
        };
        let (kept, detail) = match resolution {
            Resolution::NewHolds | Resolution::NewHoldsOldAlsoWorks => {
                ctx.vault.promote_pending(&address, &new)?;
                let entry = Scope::Device(address.clone()).entry_name(&new.username);
                ctx.history.append(change(Outcome::Verified, Some(step.to.clone()), Some(entry)), &now())?;
                ("new", None)
            }
            Resolution::OldHolds => {
                ctx.vault.forget(&Scope::Pending(address.clone()), None)?;
                let reason = "recovery: the device kept the old password".to_string();
                ctx.history.append(change(Outcome::RolledBack { reason }, None, None), &now())?;
                ("old", None)
            }
            Resolution::Unresolved(why) => ("pending", Some(why)),
        };
        out.push(Recovered { device: address, kept: kept.into(), detail });
    }
    Ok(out)
}
