//! `portcullis-sim`: start a fleet of simulated cameras, print it as JSON once every
//! camera listens, and run until interrupted.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use portcullis_sim::config::ProfileChoice;
use portcullis_sim::{Fleet, FleetConfig};

/// A fleet of simulated Hikvision-style and generic ONVIF cameras on loopback addresses.
#[derive(Debug, Parser)]
#[command(name = "portcullis-sim", version)]
struct Args {
    /// Number of cameras.
    #[arg(long)]
    count: Option<usize>,
    /// `mixed`, or one of: hikvision-current, hikvision-legacy, hikvision-factory-new,
    /// hikvision-nvr, generic-onvif.
    #[arg(long)]
    profile: Option<String>,
    /// A fleet file (TOML); flags given on the command line override it.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Round-trip latency added to every answer, in milliseconds.
    #[arg(long)]
    latency_ms: Option<u64>,
    /// Random extra latency, 0..=N milliseconds.
    #[arg(long)]
    jitter_ms: Option<u64>,
    /// Move every service port up by N (80 → N+80) when low ports cannot be bound.
    #[arg(long)]
    port_offset: Option<u16>,
    /// Let the OS choose every port (no multicast discovery then).
    #[arg(long)]
    ephemeral: bool,
    /// First camera address (each camera gets the next one).
    #[arg(long)]
    base_address: Option<Ipv4Addr>,
    /// Every camera at the base address on ports the OS chooses (for a loopback that
    /// holds only 127.0.0.1, as on macOS).
    #[arg(long)]
    shared_address: bool,
    /// Seed for generated passwords and identities.
    #[arg(long)]
    seed: Option<u64>,
    /// The first camera's index (identities and the mixed profile follow it): for
    /// fleets spread over several simulator processes.
    #[arg(long)]
    first_index: Option<usize>,
    /// Do not answer WS-Discovery or SADP multicast.
    #[arg(long)]
    no_multicast: bool,
    /// Seconds a reboot keeps a camera offline.
    #[arg(long)]
    reboot_seconds: Option<f64>,
    /// Seconds a camera works on a key pair, a CSR or a self-signed certificate.
    #[arg(long)]
    key_generation_seconds: Option<f64>,
    /// Seconds a camera writes a firmware image before it restarts into it.
    #[arg(long)]
    flash_seconds: Option<f64>,
    /// Each camera takes its profile's real-world times to make keys and to reboot
    /// (seconds to minutes), overriding the two above.
    #[arg(long)]
    realistic_timing: bool,
    /// Give every activated camera the site recorder's account (nvr-recorder, operator).
    #[arg(long)]
    recorder: bool,
    /// Print the fleet as indented JSON.
    #[arg(long)]
    pretty: bool,
    /// Read commands on stdin, one per line, for benchmarks: `latency MS` sets every
    /// camera's round-trip latency; `traffic` prints one JSON line with what clients have
    /// cost the cameras so far (connections, TLS handshakes, requests) by vendor.
    #[arg(long)]
    control: bool,
    /// Threads answering the cameras' traffic (default: one per core). A benchmark
    /// gives the simulator fewer, so the client it measures keeps a core of its own.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..))]
    threads: Option<u16>,
}

fn config_from(args: &Args) -> Result<FleetConfig, String> {
    let mut c = match &args.config {
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            FleetConfig::from_toml(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        None => FleetConfig::default(),
    };
    if let Some(n) = args.count {
        c.count = n;
    }
    if let Some(p) = &args.profile {
        c.profile = ProfileChoice::parse(p).ok_or_else(|| format!("unknown profile {p:?}"))?;
    }
    if let Some(ms) = args.latency_ms {
        c.faults.latency_ms = ms;
    }
    if let Some(ms) = args.jitter_ms {
        c.faults.jitter_ms = ms;
    }
    if args.port_offset.is_some() {
        c.port_offset = args.port_offset;
    }
    c.ephemeral |= args.ephemeral;
    c.realistic_timing |= args.realistic_timing;
    c.recorder |= args.recorder;
    if let Some(s) = args.key_generation_seconds {
        c.key_generation_seconds = s;
    }
    c.shared_address |= args.shared_address;
    if let Some(a) = args.base_address {
        c.base_address = a;
    }
    if let Some(s) = args.seed {
        c.seed = s;
    }
    if let Some(i) = args.first_index {
        c.first_index = i;
    }
    if args.no_multicast {
        c.multicast = false;
    }
    if let Some(s) = args.reboot_seconds {
        c.reboot_seconds = s;
    }
    if let Some(s) = args.flash_seconds {
        c.flash_seconds = s;
    }
    Ok(c)
}

async fn run(args: Args) -> Result<(), String> {
    let config = config_from(&args)?;
    let fleet = Fleet::start(config).await.map_err(|e| e.to_string())?;
    let doc = serde_json::json!({
        "generator": "portcullis-sim",
        "version": env!("CARGO_PKG_VERSION"),
        "devices": fleet.devices(),
    });
    let text = if args.pretty { serde_json::to_string_pretty(&doc) } else { serde_json::to_string(&doc) };
    println!("{}", text.map_err(|e| e.to_string())?);
    if args.control {
        tokio::select! {
            r = until_stopped() => r?,
            r = control(&fleet) => r?,
        }
    } else {
        until_stopped().await?;
    }
    drop(fleet);
    // Let the Bye datagrams leave before the process ends.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    Ok(())
}

/// The `--control` commands, until stdin closes.
async fn control(fleet: &Fleet) -> Result<(), String> {
    use std::io::Write;
    use tokio::io::AsyncBufReadExt;
    let mut lines = tokio::io::BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await.map_err(|e| e.to_string())? {
        let words: Vec<&str> = line.split_whitespace().collect();
        let answer = match words.as_slice() {
            ["latency", ms] => match ms.parse::<u64>() {
                Ok(ms) => {
                    for cam in fleet.cameras() {
                        let mut faults = cam.faults();
                        faults.latency_ms = ms;
                        cam.set_faults(faults);
                    }
                    serde_json::json!({ "latency_ms": ms })
                }
                Err(e) => serde_json::json!({ "error": format!("latency {ms:?}: {e}") }),
            },
            ["traffic"] => traffic(fleet),
            _ => serde_json::json!({ "error": format!("unknown command {line:?} (latency MS | traffic)") }),
        };
        let mut out = std::io::stdout().lock();
        writeln!(out, "{answer}").and_then(|()| out.flush()).map_err(|e| e.to_string())?;
    }
    // Stdin closed: run on until stopped, as without --control.
    until_stopped().await
}

/// The traffic counters summed by vendor, with the number of cameras of each.
fn traffic(fleet: &Fleet) -> serde_json::Value {
    let mut by_vendor = serde_json::Map::new();
    for cam in fleet.cameras() {
        let vendor = format!("{:?}", cam.state().identity.vendor).to_lowercase();
        let c = cam.traffic.count();
        let entry = by_vendor.entry(vendor).or_insert_with(|| {
            serde_json::json!({
                "cameras": 0, "connections": 0, "tls_full": 0, "tls_resumed": 0, "requests": 0
            })
        });
        for (key, add) in [
            ("cameras", 1),
            ("connections", c.connections),
            ("tls_full", c.tls_full),
            ("tls_resumed", c.tls_resumed),
            ("requests", c.requests),
        ] {
            let sum = entry[key].as_u64().unwrap_or(0) + add;
            entry[key] = sum.into();
        }
    }
    serde_json::json!({ "traffic": by_vendor })
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PORTCULLIS_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if let Some(n) = args.threads {
        builder.worker_threads(usize::from(n));
    }
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("portcullis-sim: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Until Ctrl-C, or SIGTERM where there are signals (what `kill` and CI send).
#[cfg(unix)]
async fn until_stopped() -> Result<(), String> {
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).map_err(|e| e.to_string())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    Ok(())
}

/// Until Ctrl-C (Windows has no SIGTERM; closing the console sends Ctrl-C's event).
#[cfg(not(unix))]
async fn until_stopped() -> Result<(), String> {
    tokio::signal::ctrl_c().await.map_err(|e| e.to_string())
}
