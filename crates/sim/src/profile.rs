//! Built-in camera profiles: what a camera of each kind looks like out of the box.
//!
//! Firmware versions are chosen against protocols.md §5: `hikvision-legacy` runs a
//! DS-2CD2xx2F-I firmware inside the published CVE-2017-7921 range, the others run
//! builds after every published range.

use std::collections::HashMap;
use std::net::Ipv4Addr;

use rand::rngs::StdRng;
use rand::Rng;
use serde::{Deserialize, Serialize};

use crate::state::*;
use crate::tls::{ServerIdentity, TlsError};

pub const NS_HIKVISION: &str = "http://www.hikvision.com/ver20/XMLSchema";
pub const NS_ISAPI: &str = "http://www.isapi.org/ver20/XMLSchema";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Profile {
    /// A current Hikvision IP camera, activated, with the usual factory leftovers on.
    HikvisionCurrent,
    /// An old Hikvision camera in a known CVE range with every legacy service on.
    HikvisionLegacy,
    /// A factory-new Hikvision camera: not activated, no password yet.
    HikvisionFactoryNew,
    /// A Hikvision NVR.
    HikvisionNvr,
    /// A generic ONVIF camera of another vendor (no ISAPI, no SADP).
    GenericOnvif,
}

impl Profile {
    pub const ALL: [Profile; 5] = [
        Profile::HikvisionCurrent,
        Profile::HikvisionLegacy,
        Profile::HikvisionFactoryNew,
        Profile::HikvisionNvr,
        Profile::GenericOnvif,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Profile::HikvisionCurrent => "hikvision-current",
            Profile::HikvisionLegacy => "hikvision-legacy",
            Profile::HikvisionFactoryNew => "hikvision-factory-new",
            Profile::HikvisionNvr => "hikvision-nvr",
            Profile::GenericOnvif => "generic-onvif",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|p| p.name() == s)
    }

    /// How long this kind of device takes, as field reports and vendors' notes put it:
    /// making an RSA-2048 key pair or a CSR on the camera's SoC (a few seconds on
    /// current Hikvision firmware, tens on older SoCs and on many other vendors'), and a
    /// reboot until the web server answers again (a recorder checks its disks first).
    pub fn device_timing(self) -> DeviceTiming {
        // Writing a 30–120 MB image to NAND flash: about a minute on a camera, two on
        // a recorder (installers' reports; vendors' notes say "do not power off for
        // several minutes").
        let (key_s, reboot_s, flash_s) = match self {
            Profile::HikvisionCurrent | Profile::HikvisionFactoryNew => (8, 60, 45),
            Profile::HikvisionLegacy => (40, 120, 90),
            Profile::HikvisionNvr => (10, 180, 120),
            Profile::GenericOnvif => (25, 90, 60),
        };
        DeviceTiming {
            key_generation: std::time::Duration::from_secs(key_s),
            reboot: std::time::Duration::from_secs(reboot_s),
            flash: std::time::Duration::from_secs(flash_s),
        }
    }

    /// The profile of camera `index` in a mixed fleet: mostly current cameras, with
    /// every other kind present in any fleet of ten or more.
    pub fn mixed(index: usize) -> Profile {
        const CYCLE: [Profile; 10] = [
            Profile::HikvisionCurrent,
            Profile::HikvisionLegacy,
            Profile::HikvisionFactoryNew,
            Profile::GenericOnvif,
            Profile::HikvisionCurrent,
            Profile::HikvisionNvr,
            Profile::HikvisionCurrent,
            Profile::HikvisionLegacy,
            Profile::GenericOnvif,
            Profile::HikvisionCurrent,
        ];
        CYCLE.get(index % CYCLE.len()).copied().unwrap_or(Profile::HikvisionCurrent)
    }
}

/// How long a device takes for its slow work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceTiming {
    /// Making a key pair, a CSR or a self-signed certificate.
    pub key_generation: std::time::Duration,
    /// Offline while it reboots.
    pub reboot: std::time::Duration,
    /// Writing a firmware image before the restart.
    pub flash: std::time::Duration,
}

/// Everything needed to build one camera's initial state.
#[derive(Debug, Clone)]
pub struct Blueprint {
    pub profile: Profile,
    pub index: usize,
    pub address: Ipv4Addr,
    pub ports: PortNumbers,
    /// `None` lets the profile choose (a generated password, or none when not activated).
    pub password: Option<String>,
    pub activated: Option<bool>,
    pub onvif_discoverable: Option<bool>,
    /// `None` lets the profile choose.
    pub nonce_reuse: Option<NonceReuse>,
    /// Carry the site recorder's account (`nvr-recorder`, operator).
    pub recorder: bool,
}

/// The account a site's recorder (NVR or VMS) logs in with.
pub const RECORDER: &str = "nvr-recorder";

/// The service ports a camera is configured with.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub struct PortNumbers {
    pub http: u16,
    pub https: u16,
    pub rtsp: u16,
    pub sdk: u16,
    pub telnet: u16,
    pub ssh: u16,
    pub snmp: u16,
    pub upnp: u16,
    pub wsd: u16,
    pub sadp: u16,
}

impl PortNumbers {
    pub const STANDARD: PortNumbers = PortNumbers {
        http: 80,
        https: 443,
        rtsp: 554,
        sdk: 8000,
        telnet: 23,
        ssh: 22,
        snmp: 161,
        upnp: 1900,
        wsd: 3702,
        sadp: 37020,
    };

    /// Standard ports moved up by `offset`, for users who cannot bind ports below 1024.
    /// The discovery ports stay where clients look for them (both are above 1024).
    pub fn offset(offset: u16) -> PortNumbers {
        let s = Self::STANDARD;
        let up = |p: u16| p.saturating_add(offset);
        PortNumbers {
            http: up(s.http),
            https: up(s.https),
            rtsp: up(s.rtsp),
            sdk: up(s.sdk),
            telnet: up(s.telnet),
            ssh: up(s.ssh),
            snmp: up(s.snmp),
            upnp: up(s.upnp),
            wsd: s.wsd,
            sadp: s.sadp,
        }
    }

    pub const EPHEMERAL: PortNumbers =
        PortNumbers { http: 0, https: 0, rtsp: 0, sdk: 0, telnet: 0, ssh: 0, snmp: 0, upnp: 0, wsd: 0, sadp: 0 };
}

fn mac_for(index: usize, oui: [u8; 3]) -> [u8; 6] {
    let i = index as u32;
    let [o0, o1, o2] = oui;
    [o0, o1, o2, ((i >> 16) & 0xff) as u8, ((i >> 8) & 0xff) as u8, (i & 0xff) as u8]
}

/// A unique password that satisfies Hikvision's rules, reproducible from the fleet seed.
pub fn generated_password(rng: &mut StdRng) -> String {
    const ALNUM: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let body: String =
        (0..8).filter_map(|_| ALNUM.get(rng.gen_range(0..ALNUM.len())).map(|b| char::from(*b))).collect();
    format!("Sim-{body}7")
}

/// Build the factory state of a camera.
pub fn build_state(bp: &Blueprint, rng: &mut StdRng) -> Result<CameraState, TlsError> {
    let p = bp.profile;
    let i = bp.index;
    let (manufacturer, model, fw, build, device_type, vendor, sadp_type, ns, oui) = match p {
        Profile::HikvisionCurrent => (
            "HIKVISION",
            "DS-2CD2386G2-IU",
            "V5.7.15",
            "230912",
            "IPCamera",
            Vendor::Hikvision,
            139_267,
            NS_HIKVISION,
            [0x44, 0x47, 0xcc],
        ),
        Profile::HikvisionLegacy => (
            "HIKVISION",
            "DS-2CD2132F-IS",
            "V5.3.0",
            "151016",
            "IPCamera",
            Vendor::Hikvision,
            57_397,
            NS_HIKVISION,
            [0xc0, 0x56, 0xe3],
        ),
        Profile::HikvisionFactoryNew => (
            "HIKVISION",
            "DS-2CD2143G2-I",
            "V5.7.12",
            "221104",
            "IPDome",
            Vendor::Hikvision,
            139_267,
            NS_HIKVISION,
            [0xbc, 0xad, 0x28],
        ),
        Profile::HikvisionNvr => (
            "HIKVISION",
            "DS-7608NI-K2",
            "V4.61.025",
            "230525",
            "NVR",
            Vendor::Hikvision,
            142_378,
            NS_ISAPI,
            [0x24, 0x48, 0x45],
        ),
        Profile::GenericOnvif => (
            "Acme Vision",
            "AV-IP4-BULLET",
            "2.4.1",
            "220310",
            "IPCamera",
            Vendor::Generic,
            0,
            NS_HIKVISION,
            [0x00, 0x1a, 0x07],
        ),
    };
    let serial = match vendor {
        Vendor::Hikvision => format!("{model}20230101AAWR{:09}", 100_000_000 + i),
        Vendor::Generic => format!("AV{:010}", 7_000_000 + i),
    };
    let identity = Identity {
        vendor,
        manufacturer: manufacturer.into(),
        model: model.into(),
        serial: serial.clone(),
        mac: mac_for(i, oui),
        firmware_version: fw.into(),
        firmware_build: build.into(),
        device_type: device_type.into(),
        device_name: match p {
            Profile::HikvisionNvr => "Network Video Recorder".into(),
            _ => "IP CAMERA".into(),
        },
        hardware_id: if vendor == Vendor::Hikvision { "88".into() } else { model.into() },
        endpoint_uuid: uuid::Builder::from_random_bytes(rng.gen()).into_uuid(),
        sadp_device_type: sadp_type,
        isapi_namespace: ns.into(),
    };

    let activated = bp.activated.unwrap_or(p != Profile::HikvisionFactoryNew);
    let password = match (&bp.password, activated, p) {
        (Some(pw), _, _) => pw.clone(),
        (None, false, _) => String::new(),
        // Pre-2015 firmware shipped with admin/12345; neglected cameras still have it.
        (None, true, Profile::HikvisionLegacy) => "12345".into(),
        (None, true, _) => generated_password(rng),
    };
    let mut accounts = vec![Account {
        id: 1,
        username: "admin".into(),
        password,
        web_level: (vendor == Vendor::Hikvision).then_some(WebLevel::Administrator),
        onvif_level: Some(OnvifLevel::Administrator),
        onvif_id: 1,
    }];
    if p == Profile::HikvisionLegacy {
        // A forgotten extra account: the audit should flag it.
        accounts.push(Account {
            id: 2,
            username: "installer".into(),
            password: "install1234".into(),
            web_level: Some(WebLevel::Operator),
            onvif_level: None,
            onvif_id: 0,
        });
    }

    if bp.recorder && activated {
        let id = accounts.iter().map(|a| a.id).max().unwrap_or(1) + 1;
        let onvif_id = accounts.iter().map(|a| a.onvif_id).max().unwrap_or(1) + 1;
        accounts.push(Account {
            id,
            username: RECORDER.into(),
            password: generated_password(rng),
            web_level: (vendor == Vendor::Hikvision).then_some(WebLevel::Operator),
            onvif_level: Some(OnvifLevel::Operator),
            onvif_id,
        });
    }

    let legacy = p == Profile::HikvisionLegacy;
    let hik = vendor == Vendor::Hikvision;
    let services = Services {
        telnet: if legacy { Switch::on() } else { Switch::ABSENT },
        ssh: if legacy {
            Switch::on()
        } else if hik {
            Switch::off()
        } else {
            Switch::ABSENT
        },
        upnp: if hik { Switch::on() } else { Switch::ABSENT },
        ezviz: match p {
            Profile::HikvisionCurrent | Profile::HikvisionLegacy => Switch::on(),
            Profile::HikvisionFactoryNew | Profile::HikvisionNvr => Switch::off(),
            Profile::GenericOnvif => Switch::ABSENT,
        },
        ddns: if legacy {
            Switch::on()
        } else if hik {
            Switch::off()
        } else {
            Switch::ABSENT
        },
        ftp: if legacy {
            Switch::on()
        } else if hik {
            Switch::off()
        } else {
            Switch::ABSENT
        },
        snmp: Snmp { v1: legacy, v2c: legacy, v3: false },
        sadp_discoverable: hik,
        // Recent Hikvision firmware ships ONVIF off; integrators switch it on.
        onvif_enabled: p != Profile::HikvisionFactoryNew,
        onvif_discoverable: bp.onvif_discoverable.unwrap_or(p != Profile::HikvisionFactoryNew),
        zero_configuration: !hik,
        isapi_enabled: hik,
        cgi_enabled: legacy,
    };
    let access = AdminAccess {
        http: Access { enabled: true, port: bp.ports.http },
        https: Access { enabled: !legacy, port: bp.ports.https },
        rtsp: Access { enabled: true, port: bp.ports.rtsp },
        sdk: Access { enabled: hik, port: bp.ports.sdk },
        tls: TlsVersions { tls1_0: legacy, tls1_1: legacy, tls1_2: true, tls1_3: false },
    };
    let server = ServerIdentity::self_signed(&serial, &bp.address.to_string(), &access.tls)?;
    Ok(CameraState {
        identity,
        address: bp.address,
        network: crate::state::Network::factory(bp.address, false),
        pending_address: None,
        aux_ports: AuxPorts {
            telnet: bp.ports.telnet,
            ssh: bp.ports.ssh,
            snmp: bp.ports.snmp,
            upnp: bp.ports.upnp,
            wsd: bp.ports.wsd,
            sadp: bp.ports.sadp,
        },
        accounts,
        services,
        access,
        pending_access: None,
        web_auth: if legacy { AuthType::DigestBasic } else { AuthType::Digest },
        rtsp_auth: if legacy { AuthType::DigestBasic } else { AuthType::Digest },
        digest_algorithms: DigestAlgorithms::Md5,
        nonce_reuse: bp.nonce_reuse.unwrap_or(match p {
            Profile::HikvisionLegacy => NonceReuse::Once,
            Profile::HikvisionFactoryNew => NonceReuse::SameUri,
            _ => NonceReuse::Window,
        }),
        used_nonces: HashMap::new(),
        reused_nonces: 0,
        onvif_auth: OnvifAuth::DigestWsse,
        lock: IllegalLoginLock { enabled: !legacy, max_attempts: 5, lock_seconds: 1800 },
        failures: HashMap::new(),
        refused_logins: 0,
        time: TimeSettings {
            mode: TimeMode::Manual,
            time_zone: "CST-8:00:00".into(),
            ntp_servers: Vec::new(),
            manual_offset_s: 0,
        },
        ip_filter: IpFilter { enabled: false, policy: FilterPolicy::Allow, entries: Vec::new() },
        // Only cameras that offer Advanced Security get a keystore (parsing the factory
        // key for every camera of a large fleet is start-up work for nothing).
        certs: Certificates {
            keystore: if vendor != Vendor::Hikvision {
                crate::keystore::Keystore::factory(&server)
            } else {
                crate::keystore::Keystore::default()
            },
            server,
            pending_csr: None,
        },
        activation: Activation { activated, pending_challenge: None },
        boot_count: 1,
        message_number: 0,
        metadata_version: 1,
        online: true,
        need_reboot: false,
        seen_wsse_nonces: HashMap::new(),
        configurable_scopes: None,
        upgrading: None,
        firmware_upload_token: None,
    })
}
