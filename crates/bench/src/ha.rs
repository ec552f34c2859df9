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

/// What the client did: the cameras it was given, those it could not read, the seconds
/// it took, and why the first failure failed.
pub struct HaRun {
    pub devices: usize,
    pub failures: usize,
    pub seconds: f64,
    pub first_failure: Option<String>,
}

impl HaRun {
    /// Milliseconds per camera read, or `None` when some camera could not be read (a
    /// failed camera costs the client less than a read one: no fair figure).
    pub fn ms_per_camera(&self) -> Option<f64> {
        (self.failures == 0 && self.devices > 0).then(|| self.seconds * 1000.0 / self.devices as f64)
    }

    /// The failures in words: `291 of 600 cameras failed (first: …)`.
    pub fn failed(&self) -> String {
        let first = self.first_failure.as_deref().map(|f| format!(" (first: {f})")).unwrap_or_default();
        format!("{} of {} cameras failed{first}", self.failures, self.devices)
    }
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
    let errors = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("HA client failed: {text}{errors}");
    }
    let field = |name: &str| text.lines().find_map(|l| l.strip_prefix(name)).map(|v| v.trim().to_string());
    let devices = field("devices=").context("no devices= from the HA client")?.parse()?;
    let failures = field("failures=").context("no failures= from the HA client")?.parse()?;
    let seconds = field("wall_seconds=").context("no wall_seconds= from the HA client")?.parse()?;
    let first_failure = errors.lines().find_map(|l| l.strip_prefix("first failure: ")).map(shorten);
    Ok(HaRun { devices, failures, seconds, first_failure })
}

/// An error's kind and its cause, without the connection key aiohttp prints between them:
/// `ClientConnectorError(Conn… ConnectionResetError())`.
fn shorten(error: &str) -> String {
    let chars: Vec<char> = error.trim().chars().collect();
    if chars.len() <= 120 {
        return chars.into_iter().collect();
    }
    let head: String = chars[..30].iter().collect();
    let tail: String = chars[chars.len() - 60..].iter().collect();
    format!("{head}…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_failure_keeps_its_kind_and_its_cause() {
        let aiohttp = "ClientConnectorError(ConnectionKey(host='127.10.0.125', port=39531, is_ssl=True, ssl=True, \
                       proxy=None, proxy_auth=None, proxy_headers_hash=None, server_hostname=None), ConnectionResetError())";
        let short = shorten(aiohttp);
        assert!(short.starts_with("ClientConnectorError("), "{short}");
        assert!(short.ends_with("ConnectionResetError())"), "{short}");
        assert!(short.chars().count() < aiohttp.len());
        assert_eq!(shorten(" TimeoutError() "), "TimeoutError()");
    }

    #[test]
    fn a_run_with_failures_has_no_per_camera_figure() {
        let run = HaRun { devices: 600, failures: 391, seconds: 80.5, first_failure: Some("TimeoutError()".into()) };
        assert_eq!(run.ms_per_camera(), None);
        assert_eq!(run.failed(), "391 of 600 cameras failed (first: TimeoutError())");
        let run = HaRun { devices: 600, failures: 0, seconds: 9.6, first_failure: None };
        assert_eq!(run.ms_per_camera(), Some(16.0));
    }
}
