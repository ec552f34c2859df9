//! Firmware upgrades, as a camera does them: it checks that an image is meant for its
//! model, writes it to flash for a while (progress readable meanwhile), restarts and
//! comes back on the new version, with that version's defaults.
//!
//! Images are the simulator's own container: a text header (`PORTCULLIS-SIM-FIRMWARE/1`,
//! then `vendor:`, `models:`, `version:` lines and a blank line) before the payload.
//! Read here independently of the product's reader: the simulator shares only the
//! protocol (and this container) with the code it tests.

use std::time::{Duration, Instant};

use crate::camera::Camera;
use crate::state::CameraState;

const MAGIC: &[u8] = b"PORTCULLIS-SIM-FIRMWARE/1\n";

/// An image in the simulator's container, `size` bytes in all (a payload of
/// pseudo-random bytes after the header): for tests, benchmarks and the demo.
pub fn image(vendor: &str, models: &[&str], version: &str, size: usize) -> Vec<u8> {
    let mut out = format!(
        "{}vendor: {vendor}\nmodels: {}\nversion: {version}\n\n",
        String::from_utf8_lossy(MAGIC),
        models.join(", ")
    )
    .into_bytes();
    let header = out.len();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15 ^ size as u64;
    while out.len() < size {
        // xorshift: incompressible enough that no layer shortcuts the transfer.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(size.max(header));
    out
}

/// A firmware being written to flash.
#[derive(Debug, Clone)]
pub struct Flashing {
    pub version: String,
    pub build: String,
    pub started: Instant,
    pub takes: Duration,
}

impl Flashing {
    /// How far it is, 0–100.
    pub fn percent(&self) -> u8 {
        let done = self.started.elapsed().as_secs_f64() / self.takes.as_secs_f64().max(0.001);
        (done * 100.0).clamp(0.0, 100.0) as u8
    }
}

/// Why an image is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Not an image this camera reads (or a damaged one).
    Damaged,
    /// Another model's (Hikvision's web UI says "upgrade packet mismatch").
    OtherModel,
    /// An upgrade is already running.
    Busy,
}

/// The version an image installs, if it is meant for this camera: (`V5.5.800`, `210628`).
fn check(st: &CameraState, image: &[u8]) -> Result<(String, String), Refusal> {
    let rest = image.strip_prefix(MAGIC).ok_or(Refusal::Damaged)?;
    let end = rest.windows(2).take(4096).position(|w| w == b"\n\n").ok_or(Refusal::Damaged)?;
    let header = std::str::from_utf8(rest.get(..end).ok_or(Refusal::Damaged)?).map_err(|_| Refusal::Damaged)?;
    let field = |name: &str| {
        header
            .lines()
            .find_map(|l| l.split_once(':').filter(|(k, _)| k.trim() == name).map(|(_, v)| v.trim().to_string()))
    };
    let vendor = field("vendor").ok_or(Refusal::Damaged)?;
    let models = field("models").ok_or(Refusal::Damaged)?;
    let version = field("version").ok_or(Refusal::Damaged)?;
    let fits = |pattern: &str| {
        let (m, p) = (st.identity.model.to_ascii_uppercase(), pattern.trim().to_ascii_uppercase());
        m.len() >= p.len() && p.chars().zip(m.chars()).all(|(p, c)| p == 'X' || p == c)
    };
    let ours = st.identity.manufacturer.to_ascii_lowercase().contains(&vendor.to_ascii_lowercase());
    if !ours || !models.split(',').any(fits) {
        return Err(Refusal::OtherModel);
    }
    Ok(match version.split_once("build") {
        Some((v, b)) => (v.trim().to_string(), b.trim().to_string()),
        None => (version.trim().to_string(), st.identity.firmware_build.clone()),
    })
}

/// Take an image: start writing it (the caller answers), then restart into it.
pub(crate) fn begin(cam: &Camera, st: &mut CameraState, image: &[u8]) -> Result<(), Refusal> {
    if st.upgrading.is_some() {
        return Err(Refusal::Busy);
    }
    if cam.with_faults(|f| f.firmware_refused.fire()) {
        return Err(Refusal::Damaged);
    }
    let (version, build) = check(st, image)?;
    let flashing = Flashing { version, build, started: Instant::now(), takes: cam.settings.flash_duration };
    st.upgrading = Some(flashing.clone());
    cam.finish_upgrade_after(flashing);
    Ok(())
}

/// The new firmware in place (at the restart): its version and the defaults it brings.
/// Hikvision removed Telnet from camera firmware in the V5.5 line; a camera upgraded
/// past it no longer has the service at all.
pub(crate) fn install(st: &mut CameraState, to: &Flashing) {
    st.upgrading = None;
    st.identity.firmware_version = to.version.clone();
    st.identity.firmware_build = to.build.clone();
    let numbers: Vec<u32> =
        to.version.trim_start_matches(['V', 'v']).split('.').filter_map(|p| p.parse().ok()).collect();
    if st.is_hikvision() && numbers.as_slice() >= [5, 5].as_slice() {
        st.services.telnet = crate::state::Switch::ABSENT;
    }
}
