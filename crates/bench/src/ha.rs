//! Home Assistant's ONVIF client (onvif-zeep-async, `scripts/bench/ha_onvif_reads.py`)
//! doing the audit's ONVIF reads on a fleet file: the comparison both benchmarks make.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{bail, Context};

/// The benchmarks' flags for the comparison.
#[derive(Debug, clap::Args)]
pub struct HaArgs {
    /// Python with onvif-zeep-async (the peers' venv); skip the comparison if absent.
    #[arg(long)]
    pub python: Option<PathBuf>,
    /// The comparison script.
    #[arg(long, default_value = "scripts/bench/ha_onvif_reads.py")]
    pub ha_script: PathBuf,
    /// Fleet size up to which Home Assistant's client is also timed (it is slow).
    #[arg(long, default_value_t = 1000)]
    pub ha_max: usize,
}

impl HaArgs {
    /// Run the client on `fleet` when there is one to run and `size` is not too large.
    pub fn run_if_wanted(
        &self,
        size: usize,
        fleet: &str,
        concurrency: usize,
        dir: &Path,
    ) -> anyhow::Result<Option<HaRun>> {
        match &self.python {
            Some(python) if size <= self.ha_max => Ok(Some(run(python, &self.ha_script, fleet, concurrency, dir)?)),
            _ => Ok(None),
        }
    }
}

/// What the client did: the cameras it read and the seconds it took.
pub struct HaRun {
    pub devices: usize,
    pub seconds: f64,
}

/// Run the client on `fleet` (the simulator's JSON, or a subset) at `concurrency`.
fn run(python: &Path, script: &Path, fleet: &str, concurrency: usize, dir: &Path) -> anyhow::Result<HaRun> {
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
