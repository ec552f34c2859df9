//! `portcullis audit`: score devices against a baseline; nothing is changed.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::StreamExt;
use portcullis_core::audit::{self, AuditOptions, BaselineChoice, DeviceAudit};
use portcullis_core::baseline::eval::Status;
use portcullis_core::baseline::Baseline;
use portcullis_core::driver::{ConnectOptions, Target};
use portcullis_core::inventory::store::Store;
use portcullis_core::secret::Credentials;
use portcullis_core::vault::Vault;

use crate::output::Output;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Audit only these devices (ADDR or ADDR:PORT); default: the whole inventory.
    #[arg(long)]
    pub(crate) device: Vec<String>,
    /// A built-in baseline (hikvision-hardening, onvif-baseline) or a TOML file.
    /// Default: hikvision-hardening for ISAPI devices, onvif-baseline for the rest.
    #[arg(long)]
    pub(crate) baseline: Option<String>,
    /// Devices audited at once.
    #[arg(long, default_value_t = 32)]
    pub(crate) concurrency: usize,
    /// Seconds to wait for each device's answers.
    #[arg(long, default_value_t = 10)]
    pub(crate) timeout: u64,
}

pub(crate) fn targets(args: &Args, store: &Store) -> anyhow::Result<Vec<(Target, Option<String>)>> {
    let devices = store.all()?;
    if args.device.is_empty() {
        return Ok(devices.iter().filter_map(|d| Some((d.target()?, d.site.clone()))).collect());
    }
    args.device
        .iter()
        .map(|spec| {
            let (addr, port) = match spec.rsplit_once(':') {
                Some((a, p)) if !a.contains(':') || a.starts_with('[') => (
                    a.trim_matches(['[', ']']).to_string(),
                    Some(p.parse::<u16>().with_context(|| format!("--device {spec}: bad port"))?),
                ),
                _ => (spec.clone(), None),
            };
            let address = addr.parse().with_context(|| format!("--device {spec}: not an IP address"))?;
            let known = devices.iter().find(|d| {
                d.address == Some(address) && (port.is_none() || d.http_port == port || d.https_port == port)
            });
            Ok(match known.and_then(|d| Some((d.target()?, d.site.clone()))) {
                Some(found) => found,
                None => (
                    Target { address, http_port: Some(port.unwrap_or(80)), https_port: None, wsd_port: Some(3702) },
                    None,
                ),
            })
        })
        .collect()
}

pub fn run(args: &Args, out: &Output) -> anyhow::Result<ExitCode> {
    let audits = collect(args, |a| {
        if out.json {
            out.record("device", a);
        }
    })?;
    save_snapshot(args, &audits)?;
    let drift = drift_since_apply(&audits)?;
    let site = audit::site_score(&audits);
    if out.json {
        for d in &drift {
            out.record("drift", d);
        }
        let errors = audits.iter().filter(|a| a.error.is_some()).count();
        out.record(
            "summary",
            &serde_json::json!({ "devices": audits.len(), "errors": errors, "site_score": site, "drift": drift.len() }),
        );
    } else {
        print_table(audits, site);
        if !drift.is_empty() {
            println!();
            println!("Changed since the last apply:");
            for d in &drift {
                let show =
                    |v: &Option<portcullis_core::posture::Value>| v.as_ref().map_or("?".into(), ToString::to_string);
                println!(
                    "  {:<22} {:<30} applied {} ({}), now {}",
                    d.device,
                    d.setting,
                    show(&d.applied),
                    d.applied_at,
                    show(&d.now)
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// What changed on each device since apply last verified it (drift).
fn drift_since_apply(audits: &[DeviceAudit]) -> anyhow::Result<Vec<portcullis_core::history::Drift>> {
    let home = portcullis_core::paths::home()?;
    let records = portcullis_core::history::History::open(&home)?.query(&Default::default())?;
    Ok(portcullis_core::history::drift_of_audits(&records, &audits.iter().collect::<Vec<_>>()))
}

/// Keep the run (with each device's site) so that reports can show before and after.
fn save_snapshot(args: &Args, audits: &[DeviceAudit]) -> anyhow::Result<()> {
    use portcullis_core::snapshots::{self, DeviceResult, Snapshots};
    let home = portcullis_core::paths::home()?;
    let sites: HashMap<String, Option<String>> =
        Store::open(&home)?.all()?.iter().filter_map(|d| Some((d.target()?.label(), d.site.clone()))).collect();
    let devices = audits.iter().map(|a| DeviceResult::from_audit(a, sites.get(&a.target).cloned().flatten())).collect();
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let baseline = args.baseline.as_deref().unwrap_or("builtin");
    Snapshots::open(&home)?.save(&now, &snapshots::operator_from_env(), baseline, devices)?;
    Ok(())
}

/// Audit the chosen devices; `each` sees every result as it arrives.
pub fn collect(args: &Args, each: impl Fn(&DeviceAudit)) -> anyhow::Result<Vec<DeviceAudit>> {
    let home = portcullis_core::paths::home()?;
    let store = Store::open(&home)?;
    let choice = match &args.baseline {
        Some(b) => BaselineChoice::Fixed(Arc::new(Baseline::load(b)?)),
        None => BaselineChoice::builtin()?,
    };
    let known = store.all()?;
    let targets = targets(args, &store)?;
    if targets.is_empty() {
        anyhow::bail!("nothing to audit: import an inventory (portcullis inventory import FILE) or name --device");
    }
    // Look every credential up first: the keyring is not something to hammer from 32 tasks.
    let vault = Vault::from_env(&home)?;
    let mut creds: HashMap<String, Credentials> = HashMap::new();
    for (t, site) in &targets {
        if let Some(c) = vault.lookup(&t.label(), site.as_deref())? {
            creds.insert(t.label(), c);
        }
    }
    let opts = AuditOptions {
        connect: ConnectOptions { timeout: Duration::from_secs(args.timeout.max(1)) },
        concurrency: args.concurrency.max(1),
        ..Default::default()
    };
    let client = portcullis_core::driver::http::client_for_home(&home, opts.connect.timeout)?;
    // One thread: every device's audit is a future polled here, and waits on the
    // network; worker threads only added wake-ups (about 40% more CPU for the same
    // wall time in `scripts/bench-audit.sh`).
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let list: Vec<Target> = targets.into_iter().map(|(t, _)| t).collect();
    let audits: Vec<DeviceAudit> = runtime.block_on(async {
        let stream = audit::audit_many(list, |t| creds.get(&t.label()).cloned(), choice, client, opts);
        let mut stream = std::pin::pin!(stream);
        let mut all = Vec::new();
        while let Some(mut a) = stream.next().await {
            fill_identity_from_inventory(&mut a, &known);
            each(&a);
            all.push(a);
        }
        all
    });
    Ok(audits)
}

/// A device that could not be logged in to (factory-new, refused) still has the model
/// and firmware discovery saw: show them, marked as coming from the inventory.
fn fill_identity_from_inventory(a: &mut DeviceAudit, known: &[portcullis_core::inventory::Device]) {
    if a.identity.is_some() {
        return;
    }
    let Some(d) = known.iter().find(|d| d.target().is_some_and(|t| t.label() == a.target)) else { return };
    let (version, build) = match d.firmware.as_deref().and_then(|f| f.split_once(" build ")) {
        Some((v, b)) => (v.to_string(), Some(b.to_string())),
        None => (d.firmware.clone().unwrap_or_default(), None),
    };
    a.identity = Some(portcullis_core::posture::Identity {
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

fn print_table(mut audits: Vec<DeviceAudit>, site: Option<u8>) {
    // By address, numerically (127.1.0.2 before 127.1.0.10).
    audits.sort_by_key(|a| a.target.parse::<std::net::SocketAddr>().map_err(|_| a.target.clone()));
    println!("{:<22} {:<6} {:<18} {:<22} {:>5}  FAILING CONTROLS", "DEVICE", "VIA", "MODEL", "FIRMWARE", "SCORE");
    for a in &audits {
        let id = a.identity.as_ref();
        let model = id.map(|i| i.model.clone()).unwrap_or_else(|| "-".into());
        let fw = id
            .map(|i| match &i.firmware_build {
                Some(b) => format!("{} build {b}", i.firmware_version),
                None => i.firmware_version.clone(),
            })
            .unwrap_or_else(|| "-".into());
        let via = match a.protocol {
            Some(portcullis_core::posture::Protocol::Isapi) => "isapi",
            Some(portcullis_core::posture::Protocol::Onvif) => "onvif",
            None => "-",
        };
        let score = a.score.map_or("-".to_string(), |s| s.to_string());
        let failing: Vec<&str> =
            a.findings.iter().filter(|f| f.status == Status::Fail).map(|f| f.control.as_str()).collect();
        println!("{:<22} {:<6} {:<18} {:<22} {:>5}  {}", a.target, via, model, fw, score, failing.join(" "));
        if let Some(e) = &a.error {
            println!("{:<22} ! {}", "", e.message);
        }
    }
    let errors = audits.iter().filter(|a| a.error.is_some()).count();
    println!(
        "{} device(s), {} with errors; site score {}",
        audits.len(),
        errors,
        site.map_or("-".to_string(), |s| format!("{s}/100"))
    );
}
