//! Audit: read each device's posture through its driver and score it against a
//! baseline, many devices at once with bounded concurrency. Nothing is changed on any
//! device. A device that refuses the credentials or reports a lock gets exactly one
//! failed login and is then left alone.

use crate::setting::Setting;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, Stream, StreamExt};
use futures::FutureExt;
use serde::{Deserialize, Serialize};

use crate::baseline::eval::{self, Finding};
use crate::baseline::Baseline;
use crate::driver::{self, ConnectOptions, Target};
use crate::error::{Error, ErrorCode};
use crate::posture::{Identity, Posture, Protocol, Reading, Value};
use crate::secret::Credentials;

/// An error as the outside world sees it: a stable code and a message.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct Problem {
    pub code: ErrorCode,
    pub message: String,
}

/// Read back from snapshots: a code this build does not know (one a later build wrote)
/// reads as a device error.
impl<'de> Deserialize<'de> for Problem {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        struct Kept {
            code: String,
            message: String,
        }
        let kept = Kept::deserialize(d)?;
        let code = serde_json::from_value(serde_json::Value::String(kept.code)).unwrap_or(ErrorCode::DeviceError);
        Ok(Problem { code, message: kept.message })
    }
}

impl From<&Error> for Problem {
    fn from(e: &Error) -> Self {
        Problem { code: e.kind(), message: e.to_string() }
    }
}

/// The audit of one device, as reported, kept in snapshots and read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceAudit {
    pub target: String,
    /// The site the inventory puts the device on (the audit task fills it in).
    #[serde(default)]
    pub site: Option<String>,
    pub protocol: Option<Protocol>,
    /// `name@version` of the baseline the findings come from.
    pub baseline: Option<String>,
    pub identity: Option<Identity>,
    pub findings: Vec<Finding>,
    pub score: Option<u8>,
    pub error: Option<Problem>,
}

impl DeviceAudit {
    /// What the audit read of each setting it checked (what drift compares).
    pub fn observed(&self) -> Vec<(crate::setting::Setting, Option<crate::posture::Value>)> {
        self.findings.iter().map(|f| (f.setting, f.observed.clone())).collect()
    }
}

#[derive(Debug, Clone)]
pub struct AuditOptions {
    pub connect: ConnectOptions,
    pub concurrency: usize,
    /// Connections in use at once, shared out among the devices talked to
    /// ([`crate::driver::lanes`]): one each when there are as many devices, up to eight
    /// each when fewer. Not a hard cap: every device talked to has one at least.
    pub connections: usize,
    /// How long to wait for a unicast WS-Discovery answer.
    pub discovery_wait: Duration,
}

impl Default for AuditOptions {
    fn default() -> Self {
        AuditOptions {
            connect: ConnectOptions::default(),
            concurrency: 32,
            connections: CONNECTIONS_AT_ONCE,
            discovery_wait: Duration::from_millis(800),
        }
    }
}

/// Which baseline a device is scored against.
#[derive(Debug, Clone)]
pub enum BaselineChoice {
    /// The same for every device.
    Fixed(Arc<Baseline>),
    /// By the protocol the device answers: ISAPI devices get the first, ONVIF the second.
    ByProtocol { isapi: Arc<Baseline>, onvif: Arc<Baseline> },
}

impl BaselineChoice {
    /// The built-in profiles: `hikvision-hardening` for ISAPI, `onvif-baseline` otherwise.
    pub fn builtin() -> Result<Self, crate::baseline::BaselineError> {
        Ok(BaselineChoice::ByProtocol {
            isapi: Arc::new(Baseline::load("hikvision-hardening")?),
            onvif: Arc::new(Baseline::load("onvif-baseline")?),
        })
    }

    /// Every baseline of the choice with these site parameters.
    pub fn with_site(self, site: &crate::site::SiteSection) -> Result<Self, String> {
        let add = |b: Arc<Baseline>| (*b).clone().with_site(site.clone()).map(Arc::new);
        Ok(match self {
            BaselineChoice::Fixed(b) => BaselineChoice::Fixed(add(b)?),
            BaselineChoice::ByProtocol { isapi, onvif } => {
                BaselineChoice::ByProtocol { isapi: add(isapi)?, onvif: add(onvif)? }
            }
        })
    }

    /// Every baseline of the choice, also reading `settings` (as [`observation_controls`]).
    pub fn observing(self, settings: &[Setting]) -> Self {
        if settings.is_empty() {
            return self;
        }
        let add = |b: Arc<Baseline>| {
            let mut b = (*b).clone();
            let missing: Vec<Setting> =
                settings.iter().copied().filter(|s| !b.controls.iter().any(|c| c.setting == *s)).collect();
            b.controls.extend(observation_controls(&missing));
            Arc::new(b)
        };
        match self {
            BaselineChoice::Fixed(b) => BaselineChoice::Fixed(add(b)),
            BaselineChoice::ByProtocol { isapi, onvif } => {
                BaselineChoice::ByProtocol { isapi: add(isapi), onvif: add(onvif) }
            }
        }
    }

    pub fn for_protocol(&self, p: Protocol) -> &Baseline {
        match (self, p) {
            (BaselineChoice::Fixed(b), _) => b,
            (BaselineChoice::ByProtocol { isapi, .. }, Protocol::Isapi) => isapi,
            (BaselineChoice::ByProtocol { onvif, .. }, Protocol::Onvif) => onvif,
        }
    }
}

/// Controls that only read a setting: its value is in the finding, and whether it
/// "passes" means nothing (`OBSERVE:` ids). A golden camera's site values are read so.
pub fn observation_controls(settings: &[Setting]) -> Vec<crate::baseline::Control> {
    settings
        .iter()
        .map(|s| crate::baseline::Control {
            id: format!("OBSERVE:{s}"),
            title: format!("Read {}", s.describe()),
            rationale: "read for a site baseline; not a control".into(),
            setting: *s,
            expect: crate::baseline::Expect::Empty(false),
            severity: crate::baseline::Severity::Low,
            applies_to: Default::default(),
            when_unsupported: Default::default(),
            mappings: Default::default(),
        })
        .collect()
}

/// Audit one device against one baseline.
pub async fn audit_device(
    target: &Target,
    creds: Option<Credentials>,
    baseline: &Baseline,
    client: &crate::driver::http::Client,
    opts: &AuditOptions,
) -> DeviceAudit {
    audit_with(target, creds, &BaselineChoice::Fixed(Arc::new(baseline.clone())), client, opts).await
}

/// Audit one device, choosing the baseline by what it answers.
pub async fn audit_with(
    target: &Target,
    creds: Option<Credentials>,
    choice: &BaselineChoice,
    client: &crate::driver::http::Client,
    opts: &AuditOptions,
) -> DeviceAudit {
    audit_in_slot(target, creds, choice, client, opts, None).await
}

/// As [`audit_with`], holding one of `slots` while the device is talked to. The
/// WS-Discovery probe's wait (a hardened camera never answers: the whole wait elapses)
/// holds no slot, so cameras that cost nothing but a timer do not keep others waiting.
async fn audit_in_slot(
    target: &Target,
    creds: Option<Credentials>,
    choice: &BaselineChoice,
    client: &crate::driver::http::Client,
    opts: &AuditOptions,
    slots: Option<&tokio::sync::Semaphore>,
) -> DeviceAudit {
    // Whether an ISAPI camera answers WS-Discovery is best asked the way an attacker
    // would: a probe. A hardened camera never answers, so the probe's whole wait (0.8 s)
    // elapses: it starts before the device's turn to be read, and runs while the device
    // waits for a slot and is read (after the reads, its wait was the tail of every
    // audit). It is dropped, so cancelled, where the protocol or the reads leave it unused.
    let probe = target.wsd_port.map(|port| {
        let (probing, answer) =
            crate::discover::probe::unicast((target.address, port).into(), opts.discovery_wait).remote_handle();
        tokio::spawn(probing);
        answer
    });
    let slot = match slots {
        Some(s) => s.acquire().await.ok(),
        None => None,
    };
    let failed = |e: &Error, protocol, identity| DeviceAudit {
        target: target.label(),
        site: None,
        protocol,
        baseline: None,
        identity,
        findings: Vec::new(),
        score: None,
        error: Some(Problem::from(e)),
    };
    let drv = match driver::connect(target, creds.clone(), client, &opts.connect).await {
        Ok(d) => d,
        Err(e) => return failed(&e, None, None),
    };
    let protocol = drv.protocol();
    // An ONVIF device says its discovery mode when read.
    let probe = probe.filter(|_| protocol == Protocol::Isapi);
    let baseline = choice.for_protocol(protocol);
    let baseline_name = Some(format!("{}@{}", baseline.baseline.name, baseline.baseline.version));
    // A factory-new camera accepts no login at all: report it without trying one.
    if drv.activated_at_connect().await == Some(false) {
        let mut p = Posture::new(Identity { vendor: "hikvision".into(), ..Default::default() }, protocol);
        p.known(Setting::AccountActivated, Value::Bool(false));
        let findings = eval::evaluate(baseline, &p);
        let e = Error::NotActivated { address: target.label() };
        return DeviceAudit {
            site: None,
            score: eval::score(&findings),
            findings,
            baseline: baseline_name,
            ..failed(&e, Some(protocol), None)
        };
    }
    if creds.is_none() {
        return failed(&Error::NoCredentials { address: target.label() }, Some(protocol), None);
    }
    let wanted: Vec<Setting> = baseline.controls.iter().map(|c| c.setting).collect();
    let read = drv.read_posture(&wanted).await;
    // The device has been talked to: what is left (the probe's wait) holds no slot and
    // no connection.
    drop(slot);
    drv.http().done();
    let mut posture = match read {
        Ok(p) => p,
        Err(e) => return failed(&e, Some(protocol), None),
    };
    if protocol == Protocol::Isapi && !matches!(posture.get(Setting::DiscoveryOnvif), Some(Reading::Known(_))) {
        let reading = match probe {
            Some(answer) => match answer.await {
                Ok(found) => Reading::Known(Value::Bool(!found.is_empty())),
                Err(e) => Reading::Unknown(format!("WS-Discovery probe: {e}")),
            },
            None => Reading::Unknown("no WS-Discovery port known".into()),
        };
        posture.set(Setting::DiscoveryOnvif, reading);
    }
    let findings = eval::evaluate(baseline, &posture);
    DeviceAudit {
        target: target.label(),
        site: None,
        protocol: Some(protocol),
        baseline: baseline_name,
        identity: Some(posture.identity),
        score: eval::score(&findings),
        findings,
        error: None,
    }
}

/// Audit many devices, at most `concurrency` at a time; results arrive as they finish.
pub fn audit_many<'a, F>(
    targets: Vec<Target>,
    credentials_for: F,
    baseline: BaselineChoice,
    client: crate::driver::http::Client,
    opts: AuditOptions,
) -> impl Stream<Item = DeviceAudit> + 'a
where
    F: Fn(&Target) -> Option<Credentials> + 'a,
{
    let concurrency = opts.concurrency.max(1);
    let slots = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let opts = Arc::new(opts);
    let baseline = Arc::new(baseline);
    // The devices talked to share the run's connections: one each at the defaults, two
    // each in a fleet of up to 384, several each in a smaller one.
    let lanes = crate::driver::lanes::share(opts.connections, concurrency.min(targets.len()));
    stream::iter(targets)
        .map(move |t| {
            client.lanes.limit(&t.key(), lanes);
            let creds = credentials_for(&t);
            let (baseline, client, opts, slots) = (baseline.clone(), client.clone(), opts.clone(), slots.clone());
            async move { audit_in_slot(&t, creds, &baseline, &client, &opts, Some(&slots)).await }
        })
        // The slots bound the devices talked to at once; more may be waiting out their
        // WS-Discovery probe, which costs them no slot.
        .buffer_unordered(concurrency.saturating_add(waiting_beside(concurrency)))
}

/// Devices alive beyond those talking, at most: waiting out a WS-Discovery probe's
/// 0.8 s, or for a slot (each with its probe's socket open). The engine reads at most
/// about 400 cameras a second (2.5 ms of CPU each), so about 320 wait on probes at once.
/// Every device alive holds its whole future (its reads' state machine), so this is
/// memory: 8 per slot (4,096 at 512 at once) instead of 512 in all took 5 MB more at
/// 5,000 cameras (170 MB against 165 MB).
const WAITING_FOR_PROBES: usize = 512;
/// Devices waiting per slot at most: each holds its probe's socket, so the descriptor
/// budget counts them ([`crate::driver::descriptors`]).
pub(crate) const WAITING_PER_SLOT: usize = 2;

/// How many devices may wait beside `concurrency` talking.
fn waiting_beside(concurrency: usize) -> usize {
    WAITING_FOR_PROBES.min(concurrency.saturating_mul(WAITING_PER_SLOT))
}

/// Connections an audit keeps open at once unless asked otherwise, shared out among the
/// devices it talks to ([`crate::driver::lanes`]): one per camera at the default
/// concurrency ([`crate::tasks::audit::AUDIT_CONCURRENCY`], 512), two where up to 384
/// cameras are read at once (a fleet that small is done sooner with parallel reads).
pub const CONNECTIONS_AT_ONCE: usize = 768;

/// The site's score: the mean of the device scores that could be computed.
pub fn site_score(audits: &[DeviceAudit]) -> Option<u8> {
    mean_score(audits.iter().filter_map(|a| a.score))
}

/// The mean of the scores there are, rounded down; none without any.
pub fn mean_score(scores: impl Iterator<Item = u8>) -> Option<u8> {
    let (sum, n) = scores.fold((0u64, 0u64), |(sum, n), s| (sum + u64::from(s), n + 1));
    (n > 0).then(|| (sum / n) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_waiting_beside_those_talking_are_bounded_by_slots_and_in_all() {
        assert_eq!(waiting_beside(256), WAITING_FOR_PROBES, "the default: 512 waiting");
        assert_eq!(waiting_beside(32), 64, "each slot's descriptors hold two waiting probes");
        assert_eq!(waiting_beside(5_000), WAITING_FOR_PROBES);
        assert_eq!(waiting_beside(1), WAITING_PER_SLOT);
    }

    #[test]
    fn a_problem_reads_its_code_back_and_an_unknown_code_as_a_device_error() {
        let kept = serde_json::to_string(&Problem::from(&Error::Locked { address: "a".into(), unlock_in_s: 60 }));
        let back: Problem = serde_json::from_str(&kept.unwrap()).unwrap();
        assert_eq!(back.code, ErrorCode::Locked);
        let later: Problem = serde_json::from_str(r#"{"code":"quantum_flux","message":"m"}"#).unwrap();
        assert_eq!((later.code, later.message.as_str()), (ErrorCode::DeviceError, "m"));
        assert!(serde_json::from_str::<Problem>(r#"{"code":7,"message":"m"}"#).is_err(), "not a code at all");
    }
}
