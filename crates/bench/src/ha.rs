//! Home Assistant's ONVIF client (onvif-zeep-async, `scripts/bench/ha_onvif_reads.py`)
//! doing the audit's ONVIF reads on a fleet file: the comparison both benchmarks make.

use std::path::Path;
use std::process::Command;

use anyhow::{bail, Context};

/// What the client did: the cameras it read and the seconds it took.
pub struct HaRun {
    pub devices: usize,
    pub seconds: f64,
}

/// Run the client on `fleet` (the simulator's JSON, or a subset) at `concurrency`.
pub fn run(python: &Path, script: &Path, fleet: &str, concurrency: usize, dir: &Path) -> anyhow::Result<HaRun> {
    std::fs::create_dir_all(dir)?;
    let file = dir.join("ha-fleet.json");
    std::fs::write(&file, fleet)?;
    let out = Command::new(python)
        .arg(script)
        .arg(&file)
        .args(["--concurrency", &concurrency.to_string()])
        .output()
        .context("running the Home Assistant client")?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!("HA client failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    }
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string());
    let devices = field("devices=").context("no devices= from the HA client")?.parse()?;
    let seconds = field("wall_seconds=").context("no wall_seconds= from the HA client")?.parse()?;
    Ok(HaRun { devices, seconds })
}
