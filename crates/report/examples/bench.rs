//! Report benchmark (not a test): a synthetic site of N devices with two audit runs in a
//! real snapshot store and two changes per device in a real history, then each format
//! timed as `portcullis report` runs it: read snapshots and history from disk, verify the
//! chain, build, seal, render.
//!
//! cargo run --release -p portcullis-report --example bench -- 1000 [--keep DIR]
//!
//! With `--keep DIR` the synthetic home is written to DIR and kept, so that the real
//! binary can be timed on it: `PORTCULLIS_HOME=DIR PORTCULLIS_VAULT=file
//! PORTCULLIS_VAULT_PASSPHRASE='report bench only' portcullis report --format pdf --out r.pdf`
//! (the history is sealed with the key in that file vault).
#![allow(clippy::print_stdout)]

use std::time::Instant;

use portcullis_core::baseline::Baseline;
use portcullis_core::history::{Filter, History};
use portcullis_core::snapshots::Snapshots;
use portcullis_report::model::{Filters, Inputs};
use portcullis_report::{build, render, sample, Format};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1000);
    let args: Vec<String> = std::env::args().collect();
    let keep = args.iter().position(|a| a == "--keep").and_then(|i| args.get(i + 1)).map(std::path::PathBuf::from);
    let home =
        keep.clone().unwrap_or_else(|| std::env::temp_dir().join(format!("pc-report-bench-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&home);
    std::fs::create_dir_all(&home)?;
    let baseline = Baseline::load("hikvision-hardening")?;
    {
        let store = Snapshots::open(&home)?;
        for s in sample::snapshots(n, &baseline) {
            store.save(&s.time, &s.operator, &s.baseline, &s.devices)?;
        }
    }
    // The history's key lives in the home's own (file) vault, as the binary expects.
    let vault = || {
        let store = portcullis_core::vault::FileVault::new(
            home.join("vault.age"),
            portcullis_core::secret::Secret::new("report bench only"),
        );
        portcullis_core::vault::Vault::new(Box::new(store), &home)
    };
    sample::history(&home, n, vault().history_key()?)?;
    println!("{n} devices, {} controls each, 2 audits, {} change records", baseline.controls.len(), 4 * n);
    println!("{:<6} {:>10} {:>12}", "format", "seconds", "bytes");
    for (name, format) in [("pdf", Format::Pdf), ("html", Format::Html), ("csv", Format::Csv), ("json", Format::Json)] {
        let t = Instant::now();
        let snaps = Snapshots::open(&home)?.between(None, None)?;
        let history = History::open(&home, vault().history_key()?)?;
        let chain = history.verify()?;
        let records = history.query(&Filter::default())?;
        let inputs = Inputs {
            generated_at: "2026-11-28T18:00:00Z".into(),
            generator: "portcullis (bench)".into(),
            operator: "bench".into(),
            filters: Filters::default(),
            snapshots: &snaps,
            history: &records,
            chain: &chain,
            baselines: std::slice::from_ref(&baseline),
        };
        let report = build(&inputs)?.seal()?;
        let bytes = render(format, &report)?;
        let secs = t.elapsed().as_secs_f64();
        drop((history, snaps));
        println!("{name:<6} {secs:>10.3} {:>12}", bytes.len());
    }
    if keep.is_none() {
        let _ = std::fs::remove_dir_all(&home);
    }
    Ok(())
}
