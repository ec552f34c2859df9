//! A fleet: many cameras started together, and the device table describing them.

use std::sync::Arc;

use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::Serialize;

use crate::camera::{Camera, Settings};
use crate::config::FleetConfig;
use crate::profile::{build_state, Blueprint, Profile};
use crate::state::Vendor;

#[derive(Debug, thiserror::Error)]
pub enum FleetError {
    #[error("camera {index}: no loopback address left after {base}")]
    OutOfAddresses { index: usize, base: std::net::Ipv4Addr },
    #[error("camera {index} ({address}): cannot listen: {source} (standard ports need root; try --port-offset)")]
    Listen { index: usize, address: std::net::Ipv4Addr, source: std::io::Error },
    #[error("camera {index}: {source}")]
    Certificate { index: usize, source: crate::tls::TlsError },
}

/// One camera as the fleet table (and `portcullis inventory import`) describes it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct DeviceRecord {
    pub index: usize,
    pub profile: String,
    pub vendor: Vendor,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    pub mac: String,
    pub firmware: String,
    pub address: std::net::Ipv4Addr,
    pub http_port: Option<u16>,
    pub https_port: Option<u16>,
    pub rtsp_port: Option<u16>,
    pub sdk_port: Option<u16>,
    pub telnet_port: Option<u16>,
    pub ssh_port: Option<u16>,
    pub wsd_port: Option<u16>,
    pub sadp_port: Option<u16>,
    pub onvif_url: Option<String>,
    pub username: String,
    /// The initial admin password (`None` for a camera that is not activated yet).
    pub password: Option<String>,
    pub activated: bool,
    /// Answers ONVIF WS-Discovery probes.
    pub discoverable: bool,
    /// Answers SADP inquiries.
    pub sadp_discoverable: bool,
    pub endpoint_reference: String,
    /// The site recorder's password, on a fleet started with a recorder.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recorder_password: Option<String>,
}

/// A running fleet. Dropping it closes every listener.
#[derive(Debug)]
pub struct Fleet {
    cameras: Vec<Arc<Camera>>,
    profiles: Vec<Profile>,
}

impl Drop for Fleet {
    fn drop(&mut self) {
        for c in &self.cameras {
            c.shutdown();
        }
    }
}

impl Fleet {
    /// Start every camera; returns once all of them listen. Must run inside a Tokio
    /// runtime.
    pub async fn start(config: FleetConfig) -> Result<Fleet, FleetError> {
        // A thousand cameras hold about ten sockets each.
        let _ = rlimit::increase_nofile_limit(u64::MAX);
        let mut rng = StdRng::seed_from_u64(config.seed);
        let settings = Settings {
            reboot_duration: config.reboot_duration(),
            flash_duration: config.flash_duration(),
            key_generation: config.key_generation_duration(),
            multicast: config.multicast && config.port_plan() != crate::config::PortPlan::Ephemeral,
            multicast_interface: config.multicast_interface,
            wsd_max_delay: std::time::Duration::from_millis(config.wsd_max_delay_ms),
        };
        let ports = config.port_plan().numbers();
        let mut cameras = Vec::with_capacity(config.count);
        let mut profiles = Vec::with_capacity(config.count);
        for position in 0..config.count {
            let index = config.first_index + position;
            let over = config.override_for(position);
            let profile = over.and_then(|o| o.profile).unwrap_or_else(|| config.profile.for_index(index));
            let address = config
                .address_of(position)
                .ok_or(FleetError::OutOfAddresses { index: position, base: config.base_address })?;
            let blueprint = Blueprint {
                profile,
                index,
                address,
                ports,
                password: over.and_then(|o| o.password.clone()),
                activated: over.and_then(|o| o.activated),
                onvif_discoverable: over.and_then(|o| o.discoverable),
                nonce_reuse: over.and_then(|o| o.nonce_reuse),
                recorder: config.recorder,
            };
            let state =
                build_state(&blueprint, &mut rng).map_err(|source| FleetError::Certificate { index, source })?;
            let faults = over.and_then(|o| o.faults.clone()).unwrap_or_else(|| config.faults.clone());
            let mut own = settings.clone();
            if config.realistic_timing {
                let t = profile.device_timing();
                (own.reboot_duration, own.key_generation, own.flash_duration) = (t.reboot, t.key_generation, t.flash);
            }
            let camera = Camera::new(state, faults, own);
            camera.reconcile().map_err(|source| FleetError::Listen { index, address, source })?;
            cameras.push(camera);
            profiles.push(profile);
        }
        Ok(Fleet { cameras, profiles })
    }

    pub fn cameras(&self) -> &[Arc<Camera>] {
        &self.cameras
    }

    pub fn camera(&self, index: usize) -> Option<&Arc<Camera>> {
        self.cameras.get(index)
    }

    pub fn len(&self) -> usize {
        self.cameras.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cameras.is_empty()
    }

    /// The device table: one record per camera, as it is right now.
    pub fn devices(&self) -> Vec<DeviceRecord> {
        self.cameras.iter().zip(&self.profiles).enumerate().map(|(i, (c, p))| record(i, c, *p)).collect()
    }
}

fn record(index: usize, cam: &Camera, profile: Profile) -> DeviceRecord {
    use crate::listeners::Port;
    let st = cam.state();
    let id = &st.identity;
    let open = |p: Port| cam.open_port(p);
    let admin = st.account("admin");
    let http = open(Port::Http);
    DeviceRecord {
        index,
        profile: profile.name().into(),
        vendor: id.vendor,
        manufacturer: id.manufacturer.clone(),
        model: id.model.clone(),
        serial: id.serial.clone(),
        mac: id.mac_colons(),
        firmware: id.firmware_full(),
        address: st.address,
        http_port: http,
        https_port: open(Port::Https),
        rtsp_port: open(Port::Rtsp),
        sdk_port: open(Port::Sdk),
        telnet_port: open(Port::Telnet),
        ssh_port: open(Port::Ssh),
        wsd_port: open(Port::Wsd),
        sadp_port: open(Port::Sadp),
        onvif_url: (st.services.onvif_enabled && st.activation.activated)
            .then(|| http.map(|p| format!("http://{}:{p}/onvif/device_service", st.address)))
            .flatten(),
        username: "admin".into(),
        password: admin.filter(|_| st.activation.activated).map(|a| a.password.clone()),
        activated: st.activation.activated,
        discoverable: st.ws_discovery_on(),
        sadp_discoverable: st.is_hikvision() && st.services.sadp_discoverable,
        endpoint_reference: format!("urn:uuid:{}", id.endpoint_uuid),
        recorder_password: st.account(crate::profile::RECORDER).map(|a| a.password.clone()),
    }
}
