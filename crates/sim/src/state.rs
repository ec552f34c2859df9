//! The simulated camera's configuration and runtime state.
//!
//! Everything a protocol can read or change lives here, in plain data. The protocol
//! front-ends (`isapi`, `onvif`, `wsd`, `sadp`) translate wire messages into changes
//! of this struct; the listener supervisor (`listeners`) derives which ports are open
//! from it. Keeping the state protocol-neutral is what makes a password set over ONVIF
//! take effect for ISAPI too, as on a real camera.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use serde::Serialize;

use crate::tls::ServerIdentity;

mod accounts;
pub use accounts::{
    password_strength_error, Account, AuthType, DigestAlgorithms, IllegalLoginLock, LoginFailures, NonceReuse,
    NonceUse, OnvifAuth, OnvifLevel, WebLevel, NONCE_REUSE_WINDOW,
};

/// Who made the device, as far as its protocols are concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// Speaks ISAPI, SADP and (optionally) ONVIF.
    Hikvision,
    /// Speaks ONVIF only.
    Generic,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Identity {
    pub vendor: Vendor,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    pub mac: [u8; 6],
    /// e.g. `V5.5.0`
    pub firmware_version: String,
    /// `yymmdd`, e.g. `170725`
    pub firmware_build: String,
    /// ISAPI `deviceType`: `IPCamera`, `IPDome`, `NVR` …
    pub device_type: String,
    pub device_name: String,
    pub hardware_id: String,
    /// WS-Discovery endpoint reference (`urn:uuid:…`), stable across reboots.
    pub endpoint_uuid: uuid::Uuid,
    /// SADP numeric product class.
    pub sadp_device_type: u32,
    /// The ISAPI XML namespace this firmware writes.
    pub isapi_namespace: String,
}

impl Identity {
    pub fn mac_colons(&self) -> String {
        self.mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join(":")
    }
    pub fn mac_dashes(&self) -> String {
        self.mac.iter().map(|b| format!("{b:02x}")).collect::<Vec<_>>().join("-")
    }
    /// Firmware as ONVIF reports it: `V5.5.0 build 170725`.
    pub fn firmware_full(&self) -> String {
        format!("{} build {}", self.firmware_version, self.firmware_build)
    }
}

/// A service with an on/off switch and a port; `present = false` means the firmware
/// has no such service (ISAPI answers 404 `notSupport`).
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
pub struct Switch {
    pub present: bool,
    pub enabled: bool,
}

impl Switch {
    pub const ABSENT: Switch = Switch { present: false, enabled: false };
    pub fn on() -> Self {
        Switch { present: true, enabled: true }
    }
    pub fn off() -> Self {
        Switch { present: true, enabled: false }
    }
    pub fn is_on(self) -> bool {
        self.present && self.enabled
    }
}

#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
pub struct Snmp {
    pub v1: bool,
    pub v2c: bool,
    pub v3: bool,
}

impl Snmp {
    pub fn any(self) -> bool {
        self.v1 || self.v2c || self.v3
    }
}

/// The remotely switchable services of protocols.md §4.5.5–4.5.16.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Services {
    pub telnet: Switch,
    pub ssh: Switch,
    pub upnp: Switch,
    pub ezviz: Switch,
    pub ddns: Switch,
    pub ftp: Switch,
    pub snmp: Snmp,
    pub sadp_discoverable: bool,
    pub onvif_enabled: bool,
    pub onvif_discoverable: bool,
    pub zero_configuration: bool,
    pub isapi_enabled: bool,
    pub cgi_enabled: bool,
}

/// One protocol of `/ISAPI/Security/adminAccesses`.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
pub struct Access {
    pub enabled: bool,
    pub port: u16,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TlsVersions {
    pub tls1_0: bool,
    pub tls1_1: bool,
    pub tls1_2: bool,
    pub tls1_3: bool,
}

impl TlsVersions {
    pub fn onvif_list(&self) -> String {
        let mut v = Vec::new();
        for (on, name) in [(self.tls1_0, "1.0"), (self.tls1_1, "1.1"), (self.tls1_2, "1.2"), (self.tls1_3, "1.3")] {
            if on {
                v.push(name);
            }
        }
        v.join(" ")
    }
}

/// Service ports and enables (adminAccesses). Port changes take effect at the next
/// reboot, as on real firmware (statusCode 7).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct AdminAccess {
    pub http: Access,
    pub https: Access,
    pub rtsp: Access,
    pub sdk: Access,
    pub tls: TlsVersions,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct NtpServer {
    /// A hostname or an IP address.
    pub host: String,
    pub port: u16,
    pub interval_minutes: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum TimeMode {
    Ntp,
    Manual,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct TimeSettings {
    pub mode: TimeMode,
    /// POSIX TZ, e.g. `CST-8:00:00`.
    pub time_zone: String,
    pub ntp_servers: Vec<NtpServer>,
    /// Manual setting: seconds to add to the host clock (changed by SetSystemDateAndTime).
    pub manual_offset_s: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum FilterPolicy {
    Allow,
    Deny,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct IpFilter {
    pub enabled: bool,
    pub policy: FilterPolicy,
    /// Host addresses or `addr/prefix` entries.
    pub entries: Vec<String>,
}

impl IpFilter {
    /// Whether a connection from `peer` is let through.
    pub fn admits(&self, peer: IpAddr) -> bool {
        if !self.enabled {
            return true;
        }
        let listed = self.entries.iter().any(|e| entry_matches(e, peer));
        match self.policy {
            FilterPolicy::Allow => listed,
            FilterPolicy::Deny => !listed,
        }
    }
}

fn entry_matches(entry: &str, peer: IpAddr) -> bool {
    let (addr, prefix) = match entry.split_once('/') {
        Some((a, p)) => (a, p.parse::<u32>().ok()),
        None => (entry, None),
    };
    match (addr.trim().parse::<IpAddr>(), peer) {
        (Ok(IpAddr::V4(net)), IpAddr::V4(p)) => {
            let bits = prefix.unwrap_or(32).min(32);
            let mask = if bits == 0 { 0 } else { u32::MAX << (32 - bits) };
            (u32::from(net) & mask) == (u32::from(p) & mask)
        }
        (Ok(a), p) => a == p,
        _ => false,
    }
}

/// Activation state of a factory-new Hikvision camera (protocols.md §2.6).
#[derive(Debug, Clone, Default)]
pub struct Activation {
    pub activated: bool,
    /// The 32-hex-character random value sent, RSA-encrypted, in the last challenge.
    pub pending_challenge: Option<String>,
}

/// A CSR generated on the device, waiting for its signed certificate.
#[derive(Debug)]
pub struct PendingCsr {
    pub key_pem: String,
    pub csr_pem: String,
}

#[derive(Debug)]
pub struct Certificates {
    pub server: ServerIdentity,
    pub pending_csr: Option<PendingCsr>,
    /// The ONVIF Advanced Security keystore (cameras that offer the service).
    pub keystore: crate::keystore::Keystore,
}

/// Ports of the services that adminAccesses does not list.
#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
pub struct AuxPorts {
    pub telnet: u16,
    pub ssh: u16,
    pub snmp: u16,
    pub upnp: u16,
    pub wsd: u16,
    pub sadp: u16,
}

/// The IPv4 settings of the camera's one interface, besides its address (which is
/// `CameraState::address`: the listeners bind to it).
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct Network {
    pub prefix: u8,
    /// The address came from DHCP (a factory default on many cameras).
    pub dhcp: bool,
    pub gateway: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    pub hostname: String,
}

impl Network {
    /// A factory interface: a /24 with its gateway at .254 and one DNS server.
    pub fn factory(address: Ipv4Addr, dhcp: bool) -> Network {
        let [a, b, c, _] = address.octets();
        Network {
            prefix: 24,
            dhcp,
            gateway: Some(Ipv4Addr::new(a, b, c, 254)),
            dns: vec![Ipv4Addr::new(192, 0, 2, 53)],
            hostname: String::new(),
        }
    }
}

/// A new address waiting for the restart that applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PendingAddress {
    pub address: Ipv4Addr,
    pub prefix: u8,
}

/// The whole state of one simulated camera.
#[derive(Debug)]
pub struct CameraState {
    pub identity: Identity,
    pub address: Ipv4Addr,
    pub network: Network,
    /// An address change waiting for the restart (the camera moves then, listeners and all).
    pub pending_address: Option<PendingAddress>,
    pub aux_ports: AuxPorts,
    pub accounts: Vec<Account>,
    pub services: Services,
    pub access: AdminAccess,
    /// Port changes waiting for a reboot.
    pub pending_access: Option<AdminAccess>,
    pub web_auth: AuthType,
    pub rtsp_auth: AuthType,
    pub digest_algorithms: DigestAlgorithms,
    pub nonce_reuse: NonceReuse,
    /// Nonces accepted recently: nonce → its first use.
    pub used_nonces: HashMap<String, NonceUse>,
    /// Requests taken with a reused nonce since the camera was created: what tests tell
    /// reuse by.
    pub reused_nonces: u64,
    pub onvif_auth: OnvifAuth,
    pub lock: IllegalLoginLock,
    pub failures: HashMap<IpAddr, LoginFailures>,
    /// Every refused login since the camera was created (a success does not reset it):
    /// what tests count lockout risk by.
    pub refused_logins: u32,
    pub time: TimeSettings,
    pub ip_filter: IpFilter,
    pub certs: Certificates,
    pub activation: Activation,
    /// WS-Discovery AppSequence InstanceId: bumped on every boot.
    pub boot_count: u32,
    pub message_number: u32,
    pub metadata_version: u32,
    pub online: bool,
    pub need_reboot: bool,
    /// WS-Security nonces seen recently (replay cache): nonce → when seen.
    pub seen_wsse_nonces: HashMap<String, Instant>,
    /// The configurable scopes once SetScopes has replaced the factory ones.
    pub configurable_scopes: Option<Vec<String>>,
    /// A firmware image being written to flash.
    pub upgrading: Option<crate::firmware::Flashing>,
    /// The one-time token of the upload address `StartFirmwareUpgrade` gave out.
    pub firmware_upload_token: Option<String>,
}

impl CameraState {
    pub fn account(&self, username: &str) -> Option<&Account> {
        self.accounts.iter().find(|a| a.username == username)
    }
    pub fn account_mut(&mut self, username: &str) -> Option<&mut Account> {
        self.accounts.iter_mut().find(|a| a.username == username)
    }
    pub fn is_hikvision(&self) -> bool {
        self.identity.vendor == Vendor::Hikvision
    }
    /// Whether the camera's settings have it answer WS-Discovery (when it is online).
    pub fn ws_discovery_on(&self) -> bool {
        self.services.onvif_enabled && self.services.onvif_discoverable && self.activation.activated
    }
    /// Generic ONVIF cameras offer the Advanced Security service; Hikvision ones
    /// manage their certificate through ISAPI.
    pub fn offers_advanced_security(&self) -> bool {
        !self.is_hikvision()
    }
    pub fn next_message_number(&mut self) -> u32 {
        self.message_number = self.message_number.wrapping_add(1);
        self.message_number
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_filter_allow_list_admits_only_listed_hosts_and_networks() {
        let f = IpFilter {
            enabled: true,
            policy: FilterPolicy::Allow,
            entries: vec!["127.0.0.1".into(), "127.2.0.0/16".into()],
        };
        assert!(f.admits("127.0.0.1".parse().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))));
        assert!(f.admits(IpAddr::V4(Ipv4Addr::new(127, 2, 9, 9))));
        assert!(!f.admits(IpAddr::V4(Ipv4Addr::new(127, 3, 0, 1))));
        let deny = IpFilter { policy: FilterPolicy::Deny, ..f };
        assert!(!deny.admits(IpAddr::V4(Ipv4Addr::new(127, 2, 0, 5))));
        assert!(deny.admits(IpAddr::V4(Ipv4Addr::new(127, 9, 0, 5))));
    }
}
