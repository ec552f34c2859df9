//! `portcullis discover`: WS-Discovery and SADP on the chosen interfaces, an optional
//! TCP scan of address ranges; sightings stream out as they arrive and merge into the
//! inventory (one device per MAC, serial or endpoint reference).

use std::process::ExitCode;

use portcullis_core::discover::runner::{self, DiscoverOptions};
use portcullis_core::inventory::Source;
use portcullis_core::tasks::{self, Event};
use portcullis_core::workspace::Workspace;
use std::sync::Arc;

use crate::output::{opt, print_devices, Output};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Interface name or IPv4 address to search on (repeatable); default: every up,
    /// non-loopback IPv4 interface.
    #[arg(long)]
    interface: Vec<String>,
    /// Scan an address range by TCP, e.g. 10.20.0.0/24 (repeatable): finds devices
    /// across VLANs, where multicast does not reach.
    #[arg(long)]
    scan: Vec<ipnet::Ipv4Net>,
    /// Ports the scan tries.
    #[arg(long, value_delimiter = ',', default_value = "80,443,8000,554,8080")]
    scan_ports: Vec<u16>,
    /// Seconds to listen for answers (0.5 to 600).
    #[arg(long, default_value_t = 3.0)]
    timeout: f64,
    /// Skip WS-Discovery.
    #[arg(long)]
    no_wsd: bool,
    /// Skip SADP.
    #[arg(long)]
    no_sadp: bool,
    /// Put the devices found on this site.
    #[arg(long)]
    site: Option<String>,
}

fn source_name(s: Option<Source>) -> &'static str {
    match s {
        Some(Source::WsDiscovery) => "wsd",
        Some(Source::Sadp) => "sadp",
        Some(Source::Scan) => "scan",
        Some(Source::Import) => "import",
        Some(Source::Audit) => "audit",
        None => "-",
    }
}

pub fn run(args: &Args, out: &Output) -> anyhow::Result<ExitCode> {
    let interfaces = args.interface.iter().map(|i| runner::interface(i)).collect::<Result<Vec<_>, _>>()?;
    let opts = DiscoverOptions {
        interfaces,
        wsd: !args.no_wsd,
        sadp: !args.no_sadp,
        scan: args.scan.clone(),
        scan_ports: args.scan_ports.clone(),
        timeout: tasks::discover::listening_time(args.timeout),
        ..Default::default()
    };
    let ws = Arc::new(Workspace::from_env()?);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    let show = |e: Event| {
        let Event::Sighting(s) = e else { return };
        if out.json {
            out.record("sighting", &s);
        } else {
            let addr = s.address.map_or("-".to_string(), |a| a.to_string());
            println!("{:<5} {:<16} {:<18} {}", source_name(s.source), addr, opt(&s.model), opt(&s.endpoint_reference));
        }
    };
    let mut found = runtime.block_on(tasks::discover::run(&ws, opts, args.site.as_deref(), &show))?;
    let counts = found.counts();
    portcullis_core::inventory::sort_by_address(&mut found.devices);
    if out.json {
        for d in &found.conflicts {
            out.record("conflict", d);
        }
        out.record("summary", &counts);
    } else {
        println!();
        print_devices(&found.devices, "SEEN BY", |d| {
            d.seen_by.iter().map(|s| source_name(Some(*s))).collect::<Vec<_>>().join(",")
        });
        println!("{} sighting(s), {} device(s); saved to the inventory", counts.sightings, counts.devices);
        if counts.ignored > 0 {
            println!("{} sighting(s) ignored (repeats, or beyond the caps on what one run keeps)", counts.ignored);
        }
        for d in &found.conflicts {
            for c in &d.conflicts {
                println!("CONFLICT {}: {} — not merged; check the device", d.label(), c.claim);
            }
        }
        if counts.unconfirmed > 0 {
            println!(
                "{} new device(s) marked ? are UNCONFIRMED: check them, then \
                 `portcullis inventory accept --all` (or name them); nothing is sent to them before",
                counts.unconfirmed
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
