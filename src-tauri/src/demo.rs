//! The demo site: a mixed fleet of simulated cameras started in this process on
//! loopback addresses (`portcullis-sim`, as `scripts/demo.sh` starts one), a temporary
//! data directory, the encrypted file vault, and the fleet imported into the inventory
//! with its credentials. Discovery in the demo is pinned to loopback: it never sends a
//! packet anywhere else. Where loopback holds only 127.0.0.1 (macOS), every camera is at
//! 127.0.0.1 on ports of its own, and the engine tells them apart by port.

use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU8, Ordering};

use portcullis_core::secret::Secret;
use portcullis_core::vault::{FileVault, Vault};
use portcullis_sim::config::ProfileChoice;
use portcullis_sim::{Fleet, FleetConfig};

use crate::error::{IpcError, IpcResult};
use crate::session::Session;

/// Cameras in the demo (as `scripts/demo.sh`).
pub const DEMO_COUNT: usize = 12;
/// Every service port moves up by this much, so the demo never needs root and never
/// meets a real service on a standard port.
const PORT_OFFSET: u16 = 20000;

/// A running simulated fleet and where discovery may look for it.
#[derive(Debug)]
pub struct DemoSite {
    _fleet: Fleet,
    /// First camera address; the fleet fills the /24 it starts (or, sharing one
    /// address, is all there).
    pub base: Ipv4Addr,
    /// The ports discovery's scan tries: the fleet's HTTP ports.
    pub scan_ports: Vec<u16>,
    shared_address: bool,
    _dir: TempDir,
}

impl DemoSite {
    /// The only range demo discovery scans: the fleet's /24 on loopback, or its one
    /// address when the cameras share it.
    pub fn scan_range(&self) -> IpcResult<ipnet::Ipv4Net> {
        if self.shared_address {
            return ipnet::Ipv4Net::new(self.base, 32).map_err(IpcError::local);
        }
        let [a, b, c, _] = self.base.octets();
        ipnet::Ipv4Net::new(Ipv4Addr::new(a, b, c, 0), 24).map_err(IpcError::local)
    }
}

/// Whether the demo's cameras share 127.0.0.1: where loopback holds no other address
/// (macOS), or when `PORTCULLIS_DEMO_SHARED_ADDRESS=1` asks for it (to try that here).
fn shared_address() -> bool {
    // elsewhere: loopback routes all of 127.0.0.0/8, and each camera has an address of its own.
    let macos = cfg!(target_os = "macos");
    macos || std::env::var("PORTCULLIS_DEMO_SHARED_ADDRESS").is_ok_and(|v| v == "1")
}

/// The demo's data directory: locked while its demo runs, removed when the demo ends.
/// The app ends by `exit`, which runs no destructor, and a crash or a killed test runs
/// none either: a later demo removes the directories whose lock no process holds
/// ([`sweep`]).
#[derive(Debug)]
struct TempDir {
    path: PathBuf,
    held: Option<std::fs::File>,
}

/// The lock file in a demo's directory, held by the process whose demo it is.
const LOCK: &str = "demo.lock";
/// What every demo directory's name starts with, in the system's temporary directory.
const PREFIX: &str = "portcullis-demo-";

impl TempDir {
    fn create(path: PathBuf) -> IpcResult<TempDir> {
        let _ = std::fs::remove_dir_all(&path);
        let failed = |e: std::io::Error| IpcError::local(format!("{}: {e}", path.display()));
        std::fs::create_dir_all(&path).map_err(failed)?;
        let held = std::fs::File::create(path.join(LOCK)).map_err(failed)?;
        held.lock().map_err(failed)?;
        Ok(TempDir { path, held: Some(held) })
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        // Closed first: Windows deletes no file that is open.
        drop(self.held.take());
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Remove the demo directories under `temp` that no running demo holds: their lock is
/// free (its process is gone), or they have none and are an hour old (made by a build
/// before the lock, or abandoned before it was taken). Only demo data goes: a throwaway
/// vault under a random passphrase, and the simulated fleet's inventory and history.
fn sweep(temp: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(temp) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let ours = entry.file_name().to_str().is_some_and(|n| n.starts_with(PREFIX));
        if !ours || !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let abandoned = match std::fs::File::open(path.join(LOCK)) {
            Ok(lock) => lock.try_lock().is_ok(),
            Err(_) => entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > std::time::Duration::from_secs(3600))),
        };
        if abandoned {
            let _ = std::fs::remove_dir_all(&path);
        }
    }
}

/// Demos started by this process so far.
static STARTED: AtomicU8 = AtomicU8::new(0);

/// An address block of its own for each process and each start (127.100–199.x.1), so
/// two running demos (a test and a person, or two tests) do not collide.
fn base_address() -> Ipv4Addr {
    let n = STARTED.fetch_add(1, Ordering::Relaxed);
    Ipv4Addr::new(127, 100 + (std::process::id() % 100) as u8, n, 1)
}

/// Start the fleet and open a session over it. Must run inside the Tokio runtime
/// (the cameras' listeners live on it).
pub async fn start() -> IpcResult<Session> {
    let shared_address = shared_address();
    let base = if shared_address { Ipv4Addr::LOCALHOST } else { base_address() };
    sweep(&std::env::temp_dir());
    let dir = std::env::temp_dir().join(format!("{PREFIX}{}-{}", std::process::id(), base.octets()[2]));
    let guard = TempDir::create(dir.clone())?;
    let config = FleetConfig {
        count: DEMO_COUNT,
        profile: ProfileChoice::Mixed,
        base_address: base,
        // Sharing one address, the system chooses each camera's ports.
        port_offset: (!shared_address).then_some(PORT_OFFSET),
        shared_address,
        // No multicast at all: discovery finds the fleet by a loopback TCP scan.
        multicast: false,
        // Changes that reboot a camera keep it away for a second, not five; a firmware
        // image takes two to write.
        reboot_seconds: 1.0,
        flash_seconds: 2.0,
        ..FleetConfig::default()
    };
    let fleet = Fleet::start(config).await.map_err(|e| IpcError::new(crate::error::ShellCode::Demo, e.to_string()))?;
    let fleet_json = serde_json::json!({ "generator": "portcullis-sim", "devices": fleet.devices() }).to_string();
    // A fresh random passphrase: the demo vault lives as long as this run.
    let passphrase = Secret::new(format!("demo-{}", random_token()));
    // A lower scrypt work factor than a real vault's: this one lives in a temporary
    // directory for one run under a random passphrase, and apply writes it once per
    // password rotation, which at full strength costs about a second each.
    let file = FileVault::new(dir.join("vault.age"), passphrase).with_work_factor(12);
    let vault = Vault::new(Box::new(file), &dir);
    // Moving a camera to another address needs addresses to move to.
    let plan = if shared_address { String::new() } else { address_plan(&fleet.devices()) };
    let scan_ports = fleet.devices().iter().filter_map(|d| d.http_port).collect();
    let site = DemoSite { _fleet: fleet, base, scan_ports, shared_address, _dir: guard };
    let session = Session::open(&dir, vault, Some(site))?;
    if let Ok(mut settings) = session.settings.lock() {
        settings.address_plan = plan;
    }
    let imported = crate::ops::inventory::import_text(&session, "demo-fleet.json", &fleet_json, Some("demo"))?;
    seed_firmware_library(&dir)?;
    tracing::info!(devices = imported.devices, "demo site started at {base}");
    Ok(session)
}

/// The demo's address plan moves one camera (its fourth, an ONVIF one) to .204 of the
/// fleet's /24, with the site's gateway and a host name: the plan shows the move, and
/// apply makes it and follows the camera there.
fn address_plan(devices: &[portcullis_sim::DeviceRecord]) -> String {
    let mut csv = String::from("serial,address,mask,gateway,hostname\n");
    if let Some(d) = devices.get(3) {
        let [a, b, c, _] = d.address.octets();
        csv.push_str(&format!("{},{a}.{b}.{c}.204,255.255.255.0,{a}.{b}.{c}.254,demo-lobby\n", d.serial));
    }
    csv
}

/// The demo's firmware library holds an image for its legacy cameras (DS-2CD2132F-IS on
/// V5.3.0, inside CVE-2017-7921's range), so that its plan upgrades them, canary first.
fn seed_firmware_library(dir: &std::path::Path) -> IpcResult<()> {
    let file = dir.join("IPC_R0_EN_STD_5.5.0_170725.dav");
    let image = portcullis_sim::firmware::image("hikvision", &["DS-2CD2xx2F-I"], "V5.5.0 build 170725", 512 * 1024);
    std::fs::write(&file, image).map_err(|e| IpcError::local(format!("{}: {e}", file.display())))?;
    let now = portcullis_core::workspace::Clock::stamp(&portcullis_core::workspace::SystemClock);
    portcullis_core::firmware::Library::at(dir).add(&file, &Default::default(), &now)?;
    Ok(())
}

fn random_token() -> String {
    use rand::Rng;
    rand::thread_rng().sample_iter(&rand::distributions::Alphanumeric).take(32).map(char::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_demo_directory_is_swept_only_when_no_demo_holds_it() {
        let temp = std::env::temp_dir().join(format!("portcullis-sweep-test-{}", std::process::id()));
        std::fs::create_dir_all(&temp).unwrap();
        let running = TempDir::create(temp.join(format!("{PREFIX}1-1"))).unwrap();
        let gone = temp.join(format!("{PREFIX}2-1"));
        std::fs::create_dir_all(&gone).unwrap();
        // Its process is gone: the lock file is there, and nobody holds it.
        std::fs::write(gone.join(LOCK), b"").unwrap();
        std::fs::write(gone.join("vault.age"), b"demo").unwrap();
        let fresh_without_lock = temp.join(format!("{PREFIX}3-1"));
        std::fs::create_dir_all(&fresh_without_lock).unwrap();
        let other = temp.join("someone-elses");
        std::fs::create_dir_all(&other).unwrap();

        sweep(&temp);
        assert!(running.path.exists(), "a running demo's directory stays");
        assert!(!gone.exists(), "an abandoned one goes");
        assert!(fresh_without_lock.exists(), "one without a lock goes only when an hour old");
        assert!(other.exists(), "nothing but demo directories is touched");

        let path = running.path.clone();
        drop(running);
        assert!(!path.exists(), "a demo that ends removes its directory");
        std::fs::remove_dir_all(&temp).unwrap();
    }
}
