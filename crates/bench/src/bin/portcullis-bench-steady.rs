//! `portcullis-bench-steady`: the audit people run most, timed as they run it. A mixed
//! simulated fleet (Hikvision ISAPI and generic ONVIF) is hardened once with
//! `portcullis apply`, so every camera speaks HTTPS with a certificate from the site
//! CA (the steady state); then the whole `portcullis audit` process (start-up, vault,
//! every camera) is timed at each round-trip latency, with its CPU and peak memory
//! (GNU time), and the simulator's counters give the connections, TLS handshakes and
//! requests each camera cost. Home Assistant's ONVIF client reads the same cameras over
//! HTTPS in the same run.
//!
//! The round-trip bound: the dependent round trips one camera of each vendor needs are
//! counted (an audit of that camera alone at 250 ms, less the start-up, divided by the
//! latency; other profiles count as the longest), and with at most `concurrency`
//! cameras in flight the whole audit cannot take less than
//! `max(longest, sum over cameras / concurrency)` of them.
//! (`serde_json::Value` indexing yields `Null` for a missing key; it cannot panic.)
#![allow(clippy::print_stdout, clippy::print_stderr, clippy::indexing_slicing)]

#[path = "../ha.rs"]
mod ha;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::Instant;

use anyhow::{bail, Context};
use clap::Parser;

#[derive(Debug, Parser)]
#[command(name = "portcullis-bench-steady")]
struct Args {
    /// Fleet sizes.
    #[arg(long, value_delimiter = ',', default_value = "300,1000")]
    counts: Vec<usize>,
    /// Round-trip latencies to time the audit at, in milliseconds.
    #[arg(long, value_delimiter = ',', default_value = "20,50")]
    rtt_ms: Vec<u64>,
    /// The CLI under test.
    #[arg(long, default_value = "target/release/portcullis")]
    portcullis: PathBuf,
    /// The simulator.
    #[arg(long, default_value = "target/release/portcullis-sim")]
    sim: PathBuf,
    /// Cameras audited at once (the CLI's default for an audit; they share the CLI's
    /// default `--connections`, 512).
    #[arg(long, default_value_t = portcullis_core::tasks::audit::AUDIT_CONCURRENCY)]
    concurrency: usize,
    /// Connections the audit shares out among its cameras (`portcullis audit
    /// --connections`); the CLI's default when not given.
    #[arg(long)]
    connections: Option<usize>,
    #[command(flatten)]
    ha: ha::HaArgs,
    /// Cameras Home Assistant's client reads at once, each timed in turn (default: the
    /// audit's concurrency). Its client is at its best at a few dozen; at hundreds its
    /// one Python thread falls behind its own TLS handshakes and the cameras drop them.
    /// The speedup is against its best.
    #[arg(long, value_delimiter = ',')]
    ha_concurrency: Vec<usize>,
    /// Only the largest latency for fleets above this size (a memory measurement).
    #[arg(long, default_value_t = 1000)]
    all_rtts_max: usize,
    /// Other builds of the CLI, each timed after the one under test at every latency, on
    /// the same fleet and data: a change compared in one run (apply runs once).
    #[arg(long, value_delimiter = ',', value_name = "CLI")]
    compare_with: Vec<PathBuf>,
    /// After the timed audits, one more audit (at the last latency) under this command,
    /// e.g. "heaptrack -o /tmp/audit": a profile of the same fleet in its steady state.
    #[arg(long, value_name = "COMMAND")]
    profile_with: Option<String>,
}

/// One simulator process, driven through its `--control` stdin.
struct SimProcess {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
    fleet: serde_json::Value,
}

impl Drop for SimProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl SimProcess {
    fn start(path: &Path, count: usize, base: &str, first_index: usize) -> anyhow::Result<SimProcess> {
        let mut child = Command::new(path)
            .args(["--count", &count.to_string(), "--profile", "mixed", "--ephemeral", "--no-multicast"])
            .args(["--first-index", &first_index.to_string(), "--seed", &(first_index + 1).to_string()])
            .args(["--base-address", base, "--threads", "1", "--control"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .with_context(|| format!("starting {}", path.display()))?;
        let stdin = child.stdin.take().context("simulator stdin")?;
        let mut stdout = BufReader::new(child.stdout.take().context("simulator stdout")?);
        let mut line = String::new();
        stdout.read_line(&mut line)?;
        let fleet = serde_json::from_str(&line).context("the simulator's fleet JSON")?;
        Ok(SimProcess { child, stdin, stdout, fleet })
    }

    fn command(&mut self, line: &str) -> anyhow::Result<serde_json::Value> {
        writeln!(self.stdin, "{line}")?;
        self.stdin.flush()?;
        let mut answer = String::new();
        self.stdout.read_line(&mut answer)?;
        let v: serde_json::Value = serde_json::from_str(&answer).context("the simulator's answer")?;
        if let Some(e) = v["error"].as_str() {
            bail!("simulator: {e}");
        }
        Ok(v)
    }
}

/// Cameras per simulator process: each camera holds about nine listening sockets, and a
/// process may open 20,000 descriptors on these machines.
const CAMERAS_PER_PROCESS: usize = 1500;

/// The fleet, on as many simulator processes as its size needs (each on one thread).
struct Sim {
    processes: Vec<SimProcess>,
    /// Every process's devices, as one simulator prints them.
    fleet: serde_json::Value,
}

impl Sim {
    fn start(path: &Path, count: usize) -> anyhow::Result<Sim> {
        let mut processes = Vec::new();
        let mut devices = Vec::new();
        let mut left = count;
        while left > 0 {
            let n = left.min(CAMERAS_PER_PROCESS);
            // 127.10.0.1, 127.20.0.1, …: 1,500 cameras fit in a /24 … /21 of their own.
            let base = format!("127.{}.0.1", 10 * (processes.len() + 1));
            let p = SimProcess::start(path, n, &base, count - left)?;
            devices.extend(p.fleet["devices"].as_array().cloned().unwrap_or_default());
            processes.push(p);
            left -= n;
        }
        Ok(Sim { processes, fleet: serde_json::json!({ "devices": devices }) })
    }

    /// Say this to every process; the last one's answer.
    fn command(&mut self, line: &str) -> anyhow::Result<serde_json::Value> {
        let mut answer = serde_json::Value::Null;
        for p in &mut self.processes {
            answer = p.command(line)?;
        }
        Ok(answer)
    }

    /// The CPU seconds the simulator processes have used so far (Linux's `/proc`; none
    /// elsewhere): beside the audit's own, it says whether the machine was saturated.
    fn cpu_s(&self) -> Option<f64> {
        self.processes.iter().map(|p| process_cpu_s(p.child.id())).sum()
    }

    /// The traffic counters by vendor, summed over the processes.
    fn traffic(&mut self) -> anyhow::Result<serde_json::Value> {
        let mut sum = serde_json::Map::new();
        for p in &mut self.processes {
            let t = p.command("traffic")?["traffic"].clone();
            for (vendor, counts) in t.as_object().into_iter().flatten() {
                let entry = sum.entry(vendor.clone()).or_insert_with(|| serde_json::json!({}));
                for (k, v) in counts.as_object().into_iter().flatten() {
                    let total = entry[k].as_u64().unwrap_or(0) + v.as_u64().unwrap_or(0);
                    entry[k] = total.into();
                }
            }
        }
        Ok(serde_json::Value::Object(sum))
    }
}

/// What GNU time measured of one command.
#[derive(Debug, Clone, Copy)]
struct Measured {
    wall_s: f64,
    cpu_s: f64,
    /// Of `cpu_s`, the kernel's share (on loopback it includes the receiving side's work).
    sys_s: f64,
    peak_mb: f64,
}

/// A throwaway data directory with a file vault; every command runs against it.
struct Home {
    dir: PathBuf,
    portcullis: PathBuf,
}

impl Drop for Home {
    fn drop(&mut self) {
        let _ = Command::new(&self.portcullis).arg("creds").arg("lock").envs(self.env()).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Home {
    fn env(&self) -> Vec<(&'static str, String)> {
        vec![
            ("PORTCULLIS_HOME", self.dir.display().to_string()),
            ("PORTCULLIS_VAULT", "file".into()),
            ("PORTCULLIS_VAULT_PASSPHRASE", "benchmark only, not a secret".into()),
        ]
    }

    /// Run the CLI; fail with its output unless it succeeds.
    fn run(&self, args: &[&str]) -> anyhow::Result<String> {
        let out = Command::new(&self.portcullis).args(args).envs(self.env()).output()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() {
            bail!("portcullis {}: {}{}", args.join(" "), text, String::from_utf8_lossy(&out.stderr));
        }
        Ok(text)
    }

    /// Run the CLI under GNU time; its JSON lines must hold no error.
    fn timed(&self, args: &[&str]) -> anyhow::Result<Measured> {
        self.timed_with(&self.portcullis, args)
    }

    /// As [`Home::timed`], with another build of the CLI.
    fn timed_with(&self, portcullis: &Path, args: &[&str]) -> anyhow::Result<Measured> {
        let report = self.dir.join("time.txt");
        let out = Command::new("/usr/bin/time")
            .args(["-f", "%e %U %S %M", "-o"])
            .arg(&report)
            .arg(portcullis)
            .args(args)
            .envs(self.env())
            .output()
            .context("running /usr/bin/time (Debian: apt-get install time)")?;
        let text = String::from_utf8_lossy(&out.stdout);
        let errors = text.lines().filter(|l| l.contains("\"error\":{")).count();
        if !out.status.success() || errors > 0 {
            let first = text.lines().find(|l| l.contains("\"error\":{")).unwrap_or_default();
            bail!("portcullis {}: exit {:?}, {errors} errors; first: {first:.400}", args.join(" "), out.status.code());
        }
        let t = std::fs::read_to_string(&report)?;
        let f: Vec<f64> =
            t.lines().last().unwrap_or_default().split_whitespace().filter_map(|x| x.parse().ok()).collect();
        if f.len() != 4 {
            bail!("GNU time said {t:?}");
        }
        Ok(Measured { wall_s: f[0], cpu_s: f[1] + f[2], sys_s: f[2], peak_mb: f[3] / 1024.0 })
    }
}

impl Home {
    /// Run the CLI under a profiler's command line (its output is the profiler's).
    fn profiled(&self, prefix: &str, args: &[&str]) -> anyhow::Result<()> {
        let mut words = prefix.split_whitespace();
        let program = words.next().context("--profile-with names no command")?;
        let out = Command::new(program)
            .args(words)
            .arg(&self.portcullis)
            .args(args)
            .envs(self.env())
            .output()
            .with_context(|| format!("running {program}"))?;
        println!("  profiled with {prefix}: exit {:?}", out.status.code());
        print!("{}", String::from_utf8_lossy(&out.stderr));
        Ok(())
    }
}

/// One timed audit, with what the simulator counted and spent meanwhile.
struct CountedRun {
    measured: Measured,
    /// The simulator processes' CPU over the audit, where `/proc` says.
    simulator_cpu_s: Option<f64>,
    per_camera: String,
}

/// Time one audit with this build of the CLI, reading the simulator's counters and CPU
/// before and after.
fn audit_counted(home: &Home, sim: &mut Sim, cli: &Path, audit: &[&str]) -> anyhow::Result<CountedRun> {
    let before = sim.traffic()?;
    let cpu_before = sim.cpu_s();
    let measured = home.timed_with(cli, audit)?;
    let simulator_cpu_s = sim.cpu_s().zip(cpu_before).map(|(after, before)| after - before);
    let after = sim.traffic()?;
    Ok(CountedRun { measured, simulator_cpu_s, per_camera: per_camera(&before, &after) })
}

impl CountedRun {
    /// The run's figures for `n` cameras against the bound, on two lines.
    fn describe(&self, n: usize, bound_s: f64) -> String {
        let m = &self.measured;
        format!(
            "audit {:.2} s, ratio {:.2}; CPU {:.2} ms/camera; peak {:.0} MB\n  CPU: audit {:.2} s ({:.2} s of it system), simulator {}\n  per camera: {}",
            m.wall_s,
            m.wall_s / bound_s,
            m.cpu_s * 1000.0 / n as f64,
            m.peak_mb,
            m.cpu_s,
            m.sys_s,
            self.simulator_cpu_s.map_or("not measured".into(), |c| format!("{c:.2} s")),
            self.per_camera
        )
    }
}

/// User and system CPU seconds of a running process, from `/proc/PID/stat` (fields 14
/// and 15, in clock ticks: USER_HZ, 100 on every Linux architecture we build for).
fn process_cpu_s(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it do not.
    let after_name = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<f64>().ok());
    Some((ticks(11)? + ticks(12)?) / 100.0)
}

/// The counters' growth between two readings, per camera, by vendor.
fn per_camera(before: &serde_json::Value, after: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    if let Some(vendors) = after.as_object() {
        for (vendor, a) in vendors {
            let b = &before[vendor];
            let n = a["cameras"].as_f64().unwrap_or(1.0).max(1.0);
            let d = |k: &str| (a[k].as_f64().unwrap_or(0.0) - b[k].as_f64().unwrap_or(0.0)) / n;
            parts.push(format!(
                "{vendor}: {:.2} conn, {:.2} full + {:.2} resumed TLS, {:.1} req",
                d("connections"),
                d("tls_full"),
                d("tls_resumed"),
                d("requests")
            ));
        }
    }
    parts.join("; ")
}

/// The devices Home Assistant's client can log in to after apply (their password is the
/// one the simulator printed: not activated by us), reached over HTTPS.
fn ha_fleet(sim: &Sim) -> serde_json::Value {
    let devices: Vec<serde_json::Value> = sim.fleet["devices"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|d| d["onvif_url"].is_string() && d["https_port"].is_u64())
        .filter(|d| matches!(d["profile"].as_str(), Some("generic-onvif" | "hikvision-current")))
        .map(|d| {
            serde_json::json!({
                "address": format!("https://{}", d["address"].as_str().unwrap_or_default()),
                "http_port": d["https_port"],
                "password": d["password"],
                "onvif_url": d["onvif_url"],
            })
        })
        .collect();
    serde_json::json!({ "devices": devices })
}

/// Latency at which one camera's dependent round trips are counted: long enough that
/// they outlast the WS-Discovery probe's wait, which runs beside them.
const COUNTING_RTT_MS: u64 = 250;

/// The dependent round trips one camera of each profile needs: its audit alone at
/// [`COUNTING_RTT_MS`], less the start-up (an ONVIF camera's audit at no latency, which
/// waits for no probe), divided by the latency.
fn round_trips(
    home: &Home,
    sim: &mut Sim,
    singles: &BTreeMap<String, String>,
) -> anyhow::Result<BTreeMap<String, f64>> {
    let best_of_three = |address: &str| -> anyhow::Result<f64> {
        let mut best = f64::MAX;
        for _ in 0..3 {
            best = best.min(home.timed(&["audit", "--json", "--device", address])?.wall_s);
        }
        Ok(best)
    };
    sim.command("latency 0")?;
    let start_up = match singles.get("generic-onvif") {
        Some(a) => best_of_three(a)?,
        None => 0.0,
    };
    sim.command(&format!("latency {COUNTING_RTT_MS}"))?;
    let mut trips = BTreeMap::new();
    for (profile, address) in singles {
        let at_rtt = best_of_three(address)?;
        trips.insert(profile.clone(), ((at_rtt - start_up) / (COUNTING_RTT_MS as f64 / 1000.0)).round().max(1.0));
    }
    Ok(trips)
}

/// One camera of each vendor, as `--device` takes it.
fn one_of_each(sim: &Sim) -> BTreeMap<String, String> {
    let mut picked = BTreeMap::new();
    for d in sim.fleet["devices"].as_array().into_iter().flatten() {
        let profile = d["profile"].as_str().unwrap_or_default();
        if matches!(profile, "generic-onvif" | "hikvision-current") {
            picked.entry(profile.to_string()).or_insert_with(|| d["address"].as_str().unwrap_or_default().to_string());
        }
    }
    picked
}

fn bench(args: &Args, n: usize) -> anyhow::Result<()> {
    let mut sim = Sim::start(&args.sim, n)?;
    let dir = std::env::temp_dir().join(format!("pc-bench-steady-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let home = Home { dir: dir.clone(), portcullis: args.portcullis.clone() };
    let fleet_file = dir.join("fleet.json");
    std::fs::write(&fleet_file, sim.fleet.to_string())?;
    home.run(&["inventory", "import", &fleet_file.display().to_string()])?;
    let started = Instant::now();
    let apply = Command::new(&home.portcullis)
        .args(["apply", "--yes", "--json", "--timeout", "60", "--management-host", "127.0.0.1"])
        .args(["--ntp-server", "192.0.2.1"])
        .envs(home.env())
        .output()?;
    let summary = String::from_utf8_lossy(&apply.stdout)
        .lines()
        .rev()
        .find(|l| l.contains(r#""type":"summary""#))
        .map(String::from);
    let Some(summary) = summary else {
        bail!("portcullis apply: no summary: {}", String::from_utf8_lossy(&apply.stderr));
    };
    println!("N={n}: apply (no latency) {:.1} s; the fleet now speaks HTTPS only", started.elapsed().as_secs_f64());
    if !apply.status.success() {
        // A camera the simulator would not change is audited as it is; say so and go on.
        println!("  apply left problems: {summary}");
    }
    let concurrency = args.concurrency.to_string();
    let mut audit = vec!["audit", "--json", "--timeout", "60", "--concurrency", &concurrency];
    let connections = args.connections.map(|c| c.to_string());
    if let Some(c) = &connections {
        audit.extend(["--connections", c.as_str()]);
    }
    home.timed(&audit)?; // the vault's key is held from here on, as for a second command
    let rtts: Vec<u64> = if n > args.all_rtts_max {
        args.rtt_ms.iter().max().copied().into_iter().collect()
    } else {
        args.rtt_ms.clone()
    };
    let singles = one_of_each(&sim);
    let trips = round_trips(&home, &mut sim, &singles)?;
    for &rtt in &rtts {
        let devices: Vec<&serde_json::Value> = sim.fleet["devices"].as_array().into_iter().flatten().collect();
        let longest = trips.values().copied().fold(1.0, f64::max);
        let sum: f64 = devices
            .iter()
            .map(|d| match d["profile"].as_str() {
                Some(p @ ("generic-onvif" | "hikvision-current")) => trips.get(p).copied().unwrap_or(longest),
                _ => longest,
            })
            .sum();
        let bound_s = longest.max(sum / args.concurrency as f64) * rtt as f64 / 1000.0;

        sim.command(&format!("latency {rtt}"))?;
        let run = audit_counted(&home, &mut sim, &args.portcullis, &audit)?;
        let m = run.measured;
        let ha_fleet = ha_fleet(&sim).to_string();
        let mut ha_runs = Vec::new();
        for c in ha_concurrencies(args) {
            if let Some(run) = args.ha.run_if_wanted(n, &ha_fleet, c, &dir)? {
                ha_runs.push((c, run));
            }
        }
        println!("N={n} RTT={rtt} ms: bound {bound_s:.2} s (trips {trips:?}); {}", run.describe(n, bound_s));
        for other in &args.compare_with {
            let run = audit_counted(&home, &mut sim, other, &audit)?;
            println!("  compared: {}: {}", other.display(), run.describe(n, bound_s));
        }
        let ours_ms = m.wall_s * 1000.0 / n as f64;
        for (c, run) in &ha_runs {
            match run.ms_per_camera() {
                Some(theirs) => println!(
                    "  Home Assistant's client, {c} at once: {} cameras in {:.2} s ({theirs:.1} ms each; ours {ours_ms:.1} ms each): {:.1}x",
                    run.devices,
                    run.seconds,
                    theirs / ours_ms
                ),
                None => println!("  Home Assistant's client, {c} at once: {:.2} s, {}", run.seconds, run.failed()),
            }
        }
        // With several concurrencies, the speedup that counts is against the client's best.
        if ha_runs.len() > 1 {
            let best =
                ha_runs.iter().filter_map(|(c, r)| Some((*c, r.ms_per_camera()?))).min_by(|a, b| a.1.total_cmp(&b.1));
            match best {
                Some((c, theirs)) => {
                    println!(
                        "  against Home Assistant's client at its best here ({c} at once): {:.1}x",
                        theirs / ours_ms
                    )
                }
                None => println!("  Home Assistant's client read the fleet at no concurrency tried"),
            }
        }
    }
    if let Some(prefix) = &args.profile_with {
        home.profiled(prefix, &audit)?;
    }
    Ok(())
}

/// The concurrencies Home Assistant's client is timed at: those asked for, or the audit's.
fn ha_concurrencies(args: &Args) -> Vec<usize> {
    if args.ha_concurrency.is_empty() {
        vec![args.concurrency]
    } else {
        args.ha_concurrency.clone()
    }
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    println!(
        "steady-state audit benchmark: mixed fleet over HTTPS after apply, concurrency {}, simulator on one thread",
        args.concurrency
    );
    for &n in &args.counts {
        bench(&args, n)?;
    }
    Ok(())
}
