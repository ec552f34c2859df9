//! `portcullis-bench audit`: time `audit` over a simulated fleet with injected round-trip
//! latency, against the round-trip lower bound for the chosen concurrency, and time
//! Home Assistant's ONVIF client doing the same ONVIF reads on the same fleet.
//!
//! The lower bound: every device needs 3 dependent round trips (protocol probe and
//! clock, in parallel; the login; then every read at once), and at most `concurrency`
//! devices are in flight, so `ceil(N / concurrency) × 3 × RTT`.
//! (`serde_json::Value` indexing yields `Null` for a missing key; it cannot panic.)
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::indexing_slicing)]

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Parser;
use futures::StreamExt;
use portcullis_core::audit::{self, AuditOptions, BaselineChoice};
use portcullis_core::driver::{ConnectOptions, Target};
use portcullis_core::secret::Credentials;

/// Rounds trips a device needs at least (see the module comment).
const ROUND_TRIPS_PER_DEVICE: u32 = 3;

#[derive(Debug, Parser)]
#[command(name = "portcullis-bench")]
struct Args {
    /// Fleet sizes to measure.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    counts: Vec<usize>,
    /// Injected round-trip latency of every simulated answer, in milliseconds.
    #[arg(long, default_value_t = 100)]
    rtt_ms: u64,
    /// Devices in flight at once (for both clients).
    #[arg(long, default_value_t = 50)]
    concurrency: usize,
    /// The simulator binary.
    #[arg(long, default_value = "target/release/portcullis-sim")]
    sim: PathBuf,
    /// Python with onvif-zeep-async (the peers' venv); skip the comparison if absent.
    #[arg(long)]
    python: Option<PathBuf>,
    /// The comparison script.
    #[arg(long, default_value = "scripts/bench/ha_onvif_reads.py")]
    ha_script: PathBuf,
    /// Fleet size up to which Home Assistant's client is also timed (it is slow).
    #[arg(long, default_value_t = 1000)]
    ha_max: usize,
}

struct Fleet {
    child: std::process::Child,
    targets: Vec<(Target, String)>,
    json: String,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_fleet(args: &Args, count: usize) -> anyhow::Result<Fleet> {
    let mut child = Command::new(&args.sim)
        .args([
            "--count",
            &count.to_string(),
            "--profile",
            "generic-onvif",
            "--ephemeral",
            "--base-address",
            "127.9.0.1",
        ])
        .args(["--latency-ms", &args.rtt_ms.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .with_context(|| format!("starting {}", args.sim.display()))?;
    let mut line = String::new();
    let stdout = child.stdout.take().context("simulator stdout")?;
    std::io::BufReader::new(stdout).read_line(&mut line)?;
    let doc: serde_json::Value = serde_json::from_str(&line).context("simulator JSON")?;
    let mut targets = Vec::new();
    for d in doc["devices"].as_array().context("devices")? {
        let address = d["address"].as_str().context("address")?.parse()?;
        let http_port = d["http_port"].as_u64().map(|p| p as u16);
        let password = d["password"].as_str().unwrap_or_default().to_string();
        targets.push((Target { address, http_port, https_port: None, wsd_port: None }, password));
    }
    Ok(Fleet { child, targets, json: line })
}

fn run_audit(args: &Args, fleet: &Fleet) -> anyhow::Result<(Duration, usize)> {
    let runtime = if std::env::var_os("BENCH_MULTI_THREAD").is_some() {
        tokio::runtime::Builder::new_multi_thread().enable_all().build()?
    } else {
        tokio::runtime::Builder::new_current_thread().enable_all().build()?
    };
    let opts = AuditOptions {
        connect: ConnectOptions { timeout: Duration::from_secs(30) },
        concurrency: args.concurrency,
        ..Default::default()
    };
    let client = portcullis_core::driver::http::client(opts.connect.timeout)?;
    let choice = BaselineChoice::builtin()?;
    let creds: std::collections::HashMap<String, String> =
        fleet.targets.iter().map(|(t, p)| (t.label(), p.clone())).collect();
    let targets: Vec<Target> = fleet.targets.iter().map(|(t, _)| t.clone()).collect();
    let start = Instant::now();
    let errors = runtime.block_on(async {
        let stream = audit::audit_many(
            targets,
            |t| creds.get(&t.label()).map(|p| Credentials::new("admin", p.clone())),
            choice,
            client,
            opts,
        );
        let mut stream = std::pin::pin!(stream);
        let mut errors = 0;
        while let Some(a) = stream.next().await {
            if a.error.is_some() {
                errors += 1;
                eprintln!("audit error: {:?}", a.error);
            }
        }
        errors
    });
    Ok((start.elapsed(), errors))
}

fn run_ha(args: &Args, python: &PathBuf, fleet: &Fleet) -> anyhow::Result<Duration> {
    let dir = std::env::temp_dir().join(format!("pc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("fleet.json");
    std::fs::write(&file, &fleet.json)?;
    let out = Command::new(python)
        .arg(&args.ha_script)
        .arg(&file)
        .args(["--concurrency", &args.concurrency.to_string()])
        .output()
        .context("running the Home Assistant client")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("HA client failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    let secs: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("wall_seconds="))
        .context("no wall_seconds from the HA client")?
        .trim()
        .parse()?;
    Ok(Duration::from_secs_f64(secs))
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!("audit benchmark: generic ONVIF fleet, RTT {} ms, concurrency {}", args.rtt_ms, args.concurrency);
    println!(
        "{:>6} {:>10} {:>12} {:>7} {:>12} {:>12}",
        "N", "audit_s", "lower_bound_s", "ratio", "ha_client_s", "speedup"
    );
    for &n in &args.counts {
        let fleet = start_fleet(&args, n)?;
        let (took, errors) = run_audit(&args, &fleet)?;
        if errors > 0 {
            bail!("{errors} of {n} audits failed");
        }
        let waves = n.div_ceil(args.concurrency.max(1)) as u32;
        let lower = Duration::from_millis(args.rtt_ms) * ROUND_TRIPS_PER_DEVICE * waves;
        let ratio = took.as_secs_f64() / lower.as_secs_f64();
        let (ha, speedup) = match (&args.python, n <= args.ha_max) {
            (Some(py), true) => {
                let ha = run_ha(&args, py, &fleet)?;
                (format!("{:.2}", ha.as_secs_f64()), format!("{:.1}x", ha.as_secs_f64() / took.as_secs_f64()))
            }
            _ => ("-".into(), "-".into()),
        };
        println!(
            "{n:>6} {:>10.2} {:>12.2} {ratio:>7.2} {ha:>12} {speedup:>12}",
            took.as_secs_f64(),
            lower.as_secs_f64()
        );
    }
    Ok(())
}
