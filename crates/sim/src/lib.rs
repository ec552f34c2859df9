//! `portcullis-sim`: a fleet of simulated IP cameras on loopback addresses.
//!
//! Each camera has its own address (127.1.x.y by default) and real listeners for what
//! it exposes: HTTP and HTTPS (ISAPI and the ONVIF device service), RTSP, Telnet, SSH,
//! the SDK port, WS-Discovery (UDP 3702) and SADP (UDP 37020). Its state changes only
//! through those protocols, with real effects: a service switched off closes its port,
//! a changed password is the only one that works afterwards, failed logins lock the
//! source address out.
//!
//! The simulator shares no code with Portcullis' drivers, only the public protocols
//! (see `../shared/docs/protocols.md`), and is checked by third-party clients.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod activation;
pub mod auth;
mod camera;
pub mod config;
pub mod faults;
pub mod firmware;
mod fleet;
mod http;
pub mod isapi;
pub mod keystore;
mod listeners;
pub mod onvif;
pub mod profile;
pub mod sadp;
pub mod state;
mod tcp;
pub mod tls;
pub mod wsd;
pub mod xml;

pub use camera::{Camera, TrafficCount};
pub use config::{CameraConfig, FleetConfig, PortPlan};
pub use faults::{Faults, GuardStyle, Trigger, UnsupportedStyle};
pub use fleet::{DeviceRecord, Fleet, FleetError};
pub use listeners::Port;
pub use profile::Profile;
pub use state::NonceReuse;
