//! Fleet configuration: how many cameras, of which profiles, on which addresses and
//! ports, with which faults. Read from TOML (`portcullis-sim --config fleet.toml`) or
//! built in code by tests.
//!
//! ```toml
//! count = 20
//! profile = "mixed"            # or one profile name for every camera
//! base_address = "127.1.0.1"
//! port_offset = 10000          # omit for standard ports; "ephemeral = true" for tests
//! seed = 7
//! reboot_seconds = 3.0
//! [faults]                     # fleet-wide defaults
//! latency_ms = 20
//! [[cameras]]                  # per-camera overrides, by index
//! index = 3
//! profile = "hikvision-legacy"
//! discoverable = false
//! faults = { drop_after_commit = { next = 1 } }
//! ```

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::Deserialize;

use crate::faults::Faults;
use crate::profile::{PortNumbers, Profile};

/// Which ports the cameras listen on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortPlan {
    /// 80, 443, 554, 8000, 23, 22 … (needs root or CAP_NET_BIND_SERVICE).
    Standard,
    /// Standard ports plus an offset (80 → 10080 with offset 10000).
    Offset(u16),
    /// Whatever the OS hands out (tests running in parallel); multicast stays off.
    Ephemeral,
}

impl PortPlan {
    pub fn numbers(self) -> PortNumbers {
        match self {
            PortPlan::Standard => PortNumbers::STANDARD,
            PortPlan::Offset(o) => PortNumbers::offset(o),
            PortPlan::Ephemeral => PortNumbers::EPHEMERAL,
        }
    }
}

/// Which profile each camera gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum ProfileChoice {
    #[serde(deserialize_with = "de_mixed")]
    Mixed,
    One(Profile),
}

fn de_mixed<'de, D: serde::Deserializer<'de>>(d: D) -> Result<(), D::Error> {
    let s = String::deserialize(d)?;
    if s == "mixed" {
        Ok(())
    } else {
        Err(serde::de::Error::custom("not \"mixed\""))
    }
}

impl ProfileChoice {
    pub fn parse(s: &str) -> Option<Self> {
        if s == "mixed" {
            Some(ProfileChoice::Mixed)
        } else {
            Profile::parse(s).map(ProfileChoice::One)
        }
    }
    pub fn for_index(self, i: usize) -> Profile {
        match self {
            ProfileChoice::Mixed => Profile::mixed(i),
            ProfileChoice::One(p) => p,
        }
    }
}

/// Per-camera overrides.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CameraConfig {
    pub index: usize,
    pub profile: Option<Profile>,
    pub password: Option<String>,
    pub activated: Option<bool>,
    /// ONVIF WS-Discovery mode.
    pub discoverable: Option<bool>,
    /// What the camera does with a reused digest nonce ("window", "same-uri", "once",
    /// "once-counted").
    pub nonce_reuse: Option<crate::state::NonceReuse>,
    pub faults: Option<Faults>,
}

/// Everything needed to start a fleet.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FleetConfig {
    pub count: usize,
    pub profile: ProfileChoice,
    pub base_address: Ipv4Addr,
    pub port_offset: Option<u16>,
    pub ephemeral: bool,
    pub seed: u64,
    /// The first camera's index: identities (MAC, serial, name) and the mixed profile
    /// follow the index, so fleets of several simulator processes (a process may hold
    /// only so many sockets) do not share identities.
    pub first_index: usize,
    /// Every camera at `base_address`, told apart by ports the system assigns (where
    /// loopback holds only 127.0.0.1, as on macOS; or cameras behind one forwarding
    /// address). Implies ephemeral ports.
    pub shared_address: bool,
    /// Answer WS-Discovery and SADP multicast (sockets pinned to `multicast_interface`).
    pub multicast: bool,
    pub multicast_interface: Ipv4Addr,
    /// How long a reboot keeps a camera offline.
    pub reboot_seconds: f64,
    /// How long a camera works on a key pair, a CSR or a self-signed certificate.
    pub key_generation_seconds: f64,
    /// How long a camera writes a firmware image to flash before it restarts.
    pub flash_seconds: f64,
    /// Each camera takes its profile's real-world times to make keys and to reboot
    /// ([`crate::profile::Profile::device_timing`]) instead of the two above: minutes
    /// for a whole site, so for benchmarks and rehearsals, not for unit tests.
    pub realistic_timing: bool,
    /// A recorder on the site: every activated camera has its account (`nvr-recorder`,
    /// operator level, its own password in the device table), as a live site's cameras do.
    pub recorder: bool,
    /// Upper bound of the random delay before a multicast ProbeMatch (WS-Discovery
    /// APP_MAX_DELAY is 500 ms).
    pub wsd_max_delay_ms: u64,
    /// Fleet-wide fault defaults.
    pub faults: Faults,
    pub cameras: Vec<CameraConfig>,
}

impl Default for FleetConfig {
    fn default() -> Self {
        FleetConfig {
            count: 5,
            profile: ProfileChoice::Mixed,
            base_address: Ipv4Addr::new(127, 1, 0, 1),
            port_offset: None,
            ephemeral: false,
            seed: 1,
            first_index: 0,
            shared_address: false,
            multicast: true,
            multicast_interface: Ipv4Addr::LOCALHOST,
            reboot_seconds: 5.0,
            key_generation_seconds: 0.0,
            flash_seconds: 3.0,
            realistic_timing: false,
            recorder: false,
            wsd_max_delay_ms: 500,
            faults: Faults::default(),
            cameras: Vec::new(),
        }
    }
}

static NEXT_TEST_BLOCK: AtomicU32 = AtomicU32::new(0);

impl FleetConfig {
    /// A fleet for in-process tests: ephemeral ports, no multicast, quick reboots, and
    /// a block of addresses (127.2.x.1…) no other fleet of this process uses.
    pub fn for_tests(count: usize, profile: Profile) -> Self {
        let block = NEXT_TEST_BLOCK.fetch_add(1, Ordering::Relaxed);
        let pid = std::process::id();
        // Spread processes apart too, so parallel test binaries rarely share addresses.
        let second = 2 + ((pid % 50) as u8);
        let third = (block % 250) as u8;
        FleetConfig {
            count,
            profile: ProfileChoice::One(profile),
            base_address: Ipv4Addr::new(127, second, third, 1),
            ephemeral: true,
            multicast: false,
            reboot_seconds: 0.5,
            flash_seconds: 0.5,
            wsd_max_delay_ms: 0,
            ..FleetConfig::default()
        }
    }

    pub fn from_toml(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    pub fn port_plan(&self) -> PortPlan {
        match (self.ephemeral || self.shared_address, self.port_offset) {
            (true, _) => PortPlan::Ephemeral,
            (false, Some(o)) => PortPlan::Offset(o),
            (false, None) => PortPlan::Standard,
        }
    }

    pub fn key_generation_duration(&self) -> Duration {
        Duration::from_secs_f64(self.key_generation_seconds.clamp(0.0, 3600.0))
    }

    pub fn flash_duration(&self) -> Duration {
        Duration::from_secs_f64(self.flash_seconds.clamp(0.0, 3600.0))
    }

    pub fn reboot_duration(&self) -> Duration {
        Duration::from_secs_f64(self.reboot_seconds.max(0.0))
    }

    pub fn override_for(&self, index: usize) -> Option<&CameraConfig> {
        self.cameras.iter().find(|c| c.index == index)
    }

    /// The address of camera `index`, skipping .0 and .255 in the last octet (every
    /// camera's is `base_address` when they share it).
    pub fn address_of(&self, index: usize) -> Option<Ipv4Addr> {
        if self.shared_address {
            return self.base_address.is_loopback().then_some(self.base_address);
        }
        let mut a = u32::from(self.base_address);
        for _ in 0..index {
            a = a.checked_add(1)?;
            while matches!(a & 0xff, 0 | 255) {
                a = a.checked_add(1)?;
            }
        }
        let ip = Ipv4Addr::from(a);
        ip.is_loopback().then_some(ip)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fleet_sharing_one_address_takes_ports_from_the_system() {
        let c = FleetConfig { shared_address: true, base_address: Ipv4Addr::LOCALHOST, ..FleetConfig::default() };
        assert_eq!((c.address_of(0), c.address_of(7)), (Some(Ipv4Addr::LOCALHOST), Some(Ipv4Addr::LOCALHOST)));
        assert_eq!(c.port_plan(), PortPlan::Ephemeral, "one address cannot hold two cameras' standard ports");
        let off_loopback = FleetConfig { base_address: Ipv4Addr::new(192, 0, 2, 1), ..c };
        assert_eq!(off_loopback.address_of(0), None);
    }

    #[test]
    fn toml_config_reads_profiles_overrides_and_faults() {
        let c = FleetConfig::from_toml(
            r#"
count = 12
profile = "hikvision-current"
port_offset = 10000
[faults]
latency_ms = 5
[[cameras]]
index = 2
profile = "generic-onvif"
discoverable = false
faults = { hang = "always" }
"#,
        )
        .unwrap();
        assert_eq!(c.count, 12);
        assert_eq!(c.profile, ProfileChoice::One(Profile::HikvisionCurrent));
        assert_eq!(c.port_plan(), PortPlan::Offset(10000));
        assert_eq!(c.faults.latency_ms, 5);
        let o = c.override_for(2).unwrap();
        assert_eq!(o.profile, Some(Profile::GenericOnvif));
        assert_eq!(o.discoverable, Some(false));
        let mixed = FleetConfig::from_toml("profile = \"mixed\"").unwrap();
        assert_eq!(mixed.profile, ProfileChoice::Mixed);
        assert!(FleetConfig::from_toml("bogus = 1").is_err());
        assert!(FleetConfig::from_toml("profile = \"nope\"").is_err());
    }

    #[test]
    fn addresses_skip_network_and_broadcast_octets_and_stay_on_loopback() {
        let c = FleetConfig { base_address: Ipv4Addr::new(127, 1, 0, 253), ..FleetConfig::default() };
        assert_eq!(c.address_of(0), Some(Ipv4Addr::new(127, 1, 0, 253)));
        assert_eq!(c.address_of(1), Some(Ipv4Addr::new(127, 1, 0, 254)));
        assert_eq!(c.address_of(2), Some(Ipv4Addr::new(127, 1, 1, 1)));
        let edge = FleetConfig { base_address: Ipv4Addr::new(127, 255, 255, 254), ..FleetConfig::default() };
        assert_eq!(edge.address_of(1), None);
    }
}
