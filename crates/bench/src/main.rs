//! `portcullis-bench audit`: time `audit` over a simulated fleet with injected round-trip
//! latency, against the round-trip lower bound for the chosen concurrency, and time
//! Home Assistant's ONVIF client doing the same ONVIF reads on the same fleet.
//!
//! The lower bound: every device needs 3 dependent round trips (protocol probe and
//! clock, in parallel; the login, with the capabilities that need none; then every
//! read at once), and at most `concurrency` devices are in flight, so
//! `ceil(N / concurrency) × 3 × RTT`.
//!
//! Both processes share this machine's cores, but real cameras bring their own CPUs:
//! the simulator gets one thread (`--sim-threads`), so the client measured, which runs
//! on one thread as `portcullis audit` does, keeps a core of its own. The CPU each side
//! spent per device is reported, read from /proc.
//! (`serde_json::Value` indexing yields `Null` for a missing key; it cannot panic.)
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::indexing_slicing)]

mod ha;

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
    /// Connections the engine opens at once. Default: eight per device in flight, so
    /// each device reads in parallel as these settings were defined with (issue #3);
    /// `portcullis audit` shares 768 among its devices (issue #19).
    #[arg(long)]
    connections: Option<usize>,
    /// The simulator binary.
    #[arg(long, default_value = "target/release/portcullis-sim")]
    sim: PathBuf,
    #[command(flatten)]
    ha: ha::HaArgs,
    /// Threads the simulator answers on.
    #[arg(long, default_value_t = 1)]
    sim_threads: u16,
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
        .args(["--latency-ms", &args.rtt_ms.to_string(), "--threads", &args.sim_threads.to_string()])
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
        targets.push((
            Target { address, http_port, https_port: None, wsd_port: None, shared_port: None, said_hikvision: false },
            password,
        ));
    }
    Ok(Fleet { child, targets, json: line })
}

/// What one audit run took: wall time, and the CPU time of each side.
struct AuditRun {
    wall: Duration,
    engine_cpu_s: f64,
    sim_cpu_s: f64,
    errors: usize,
}

/// User + system CPU seconds a process has used so far (Linux /proc).
fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).context("/proc stat format")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| -> anyhow::Result<f64> { Ok(fields.get(i).context("/proc stat field")?.parse::<f64>()?) };
    // utime and stime: fields 14 and 15 of stat(5), 11 and 12 after the name.
    let hz = 100.0; // USER_HZ, fixed at 100 by the Linux ABI on every architecture.
    Ok((ticks(11)? + ticks(12)?) / hz)
}

fn run_audit(args: &Args, fleet: &Fleet) -> anyhow::Result<AuditRun> {
    // One thread, as `portcullis audit` runs the engine.
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let opts = AuditOptions {
        connect: ConnectOptions {
            timings: portcullis_core::driver::Timings::reads_and_writes(Duration::from_secs(30)),
        },
        concurrency: args.concurrency,
        connections: args
            .connections
            .unwrap_or(args.concurrency.saturating_mul(portcullis_core::driver::lanes::MOST_PER_DEVICE)),
        ..Default::default()
    };
    let client = portcullis_core::driver::http::client(Duration::from_secs(30))?;
    let choice = BaselineChoice::builtin()?;
    let creds: std::collections::HashMap<String, String> =
        fleet.targets.iter().map(|(t, p)| (t.label(), p.clone())).collect();
    let targets: Vec<Target> = fleet.targets.iter().map(|(t, _)| t.clone()).collect();
    let (engine_before, sim_before) = (cpu_seconds(std::process::id())?, cpu_seconds(fleet.child.id())?);
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
    let wall = start.elapsed();
    Ok(AuditRun {
        wall,
        engine_cpu_s: cpu_seconds(std::process::id())? - engine_before,
        sim_cpu_s: cpu_seconds(fleet.child.id())? - sim_before,
        errors,
    })
}

/// Home Assistant's client on the same fleet, when asked for and the fleet is not too large.
fn run_ha(args: &Args, fleet: &Fleet, n: usize) -> anyhow::Result<Option<Duration>> {
    let dir = std::env::temp_dir().join(format!("pc-bench-{}", std::process::id()));
    let run = args.ha.run_if_wanted(n, &fleet.json, args.concurrency, &dir);
    let _ = std::fs::remove_dir_all(&dir);
    match run? {
        Some(r) if r.devices == 0 => bail!("the HA client read no camera"),
        // The existing settings' figures are of every camera read.
        Some(r) if r.ms_per_camera().is_none() => bail!("the HA client: {}", r.failed()),
        Some(r) => Ok(Some(Duration::from_secs_f64(r.seconds))),
        None => Ok(None),
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!(
        "audit benchmark: generic ONVIF fleet, RTT {} ms, concurrency {}, simulator on {} thread(s)",
        args.rtt_ms, args.concurrency, args.sim_threads
    );
    println!(
        "{:>6} {:>8} {:>8} {:>6} {:>13} {:>10} {:>10} {:>8}",
        "N", "audit_s", "bound_s", "ratio", "engine_cpu_ms", "sim_cpu_ms", "ha_s", "speedup"
    );
    for &n in &args.counts {
        let fleet = start_fleet(&args, n)?;
        let run = run_audit(&args, &fleet)?;
        if run.errors > 0 {
            bail!("{} of {n} audits failed", run.errors);
        }
        let waves = n.div_ceil(args.concurrency.max(1)) as u32;
        let lower = Duration::from_millis(args.rtt_ms) * ROUND_TRIPS_PER_DEVICE * waves;
        let took = run.wall.as_secs_f64();
        let ratio = took / lower.as_secs_f64();
        let (ha, speedup) = match run_ha(&args, &fleet, n)? {
            Some(ha) => (format!("{:.2}", ha.as_secs_f64()), format!("{:.1}x", ha.as_secs_f64() / took)),
            None => ("-".into(), "-".into()),
        };
        // CPU per device, in milliseconds.
        let per_device = |s: f64| s * 1000.0 / n as f64;
        println!(
            "{n:>6} {took:>8.2} {:>8.2} {ratio:>6.2} {:>13.2} {:>10.2} {ha:>10} {speedup:>8}",
            lower.as_secs_f64(),
            per_device(run.engine_cpu_s),
            per_device(run.sim_cpu_s),
        );
    }
    Ok(())
}
