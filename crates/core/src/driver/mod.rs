//! Protocol drivers: how Portcullis talks to a device. A [`Driver`] reads a device's
//! identity and security posture; which driver a device gets is decided by what the
//! device answers (ISAPI first, then ONVIF), not by what it claims to be.

#[cfg(test)]
mod connect_tests;
mod connections;
pub mod descriptors;
pub mod http;
pub mod isapi;
pub mod lanes;
pub mod login;
mod nonces;
pub mod onvif;
pub mod per_device;
pub mod timing;
pub mod tls;
pub mod transport;

use crate::setting::Setting;
use std::net::IpAddr;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::posture::{Identity, Posture, Protocol, Value};
use crate::secret::{Credentials, Secret};
pub use http::{HttpSession, LoginGuard};
pub use isapi::write::WriteContext;
pub use timing::{Operation, Timings};

/// How a firmware upgrade ends its first half: the device restarts into the new image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// It went off the network by itself once the image was written.
    OnItsOwn,
    /// It finished writing and was told to restart.
    Requested,
}

/// An image a device took: what it ran before, to tell its restart by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Uploaded {
    pub before: String,
}

/// Where a device is reachable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub address: IpAddr,
    pub http_port: Option<u16>,
    pub https_port: Option<u16>,
    /// WS-Discovery port (3702 on real devices).
    pub wsd_port: Option<u16>,
    /// Set when other devices share this address (cameras behind one forwarding
    /// address, the demo where loopback holds only 127.0.0.1): the port of its label,
    /// which then tells it apart in the vault, its pin and its login budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_port: Option<u16>,
    /// The inventory says Hikvision (SADP, a scan that drew ISAPI's challenge, an
    /// import): the connect asks ISAPI's question alone, and ONVIF's only if that fails.
    /// It orders the questions, nothing more: what the device speaks is still proven by
    /// its answers.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub said_hikvision: bool,
}

/// The one way a device is named in the history, the vault and messages:
/// `address:port`, by its HTTP port when it has one, else its HTTPS port.
pub fn label(address: std::net::IpAddr, http_port: Option<u16>, https_port: Option<u16>) -> String {
    match http_port.or(https_port) {
        Some(p) => format!("{address}:{p}"),
        None => address.to_string(),
    }
}

impl Target {
    pub fn new(address: IpAddr) -> Self {
        Target {
            address,
            http_port: Some(80),
            https_port: None,
            wsd_port: Some(crate::discover::wsd::PORT),
            shared_port: None,
            said_hikvision: false,
        }
    }
    /// `127.1.0.1:80`, the way devices are named in messages.
    pub fn label(&self) -> String {
        label(self.address, self.http_port, self.https_port)
    }
    /// What the vault, the certificate pins and the login guards know the device by: its
    /// address (so that its entries hold whichever port it is reached on), or
    /// `address:port` where it shares the address with other devices.
    pub fn key(&self) -> String {
        match self.shared_port {
            Some(p) => std::net::SocketAddr::new(self.address, p).to_string(),
            None => self.address.to_string(),
        }
    }
    /// The same device, told apart by its label's port when `shared` says that other
    /// devices answer at its address.
    pub fn sharing(mut self, shared: bool) -> Self {
        self.shared_port = if shared { self.http_port.or(self.https_port) } else { None };
        self
    }
    /// `https://…` when HTTPS is known, else `http://…`.
    pub fn base_url(&self) -> Option<String> {
        match (self.https_port, self.http_port) {
            (Some(p), _) => Some(format!("https://{}", std::net::SocketAddr::new(self.address, p))),
            (None, Some(p)) => Some(format!("http://{}", std::net::SocketAddr::new(self.address, p))),
            _ => None,
        }
    }
}

#[async_trait]
pub trait Driver: Send + Sync + std::fmt::Debug {
    fn protocol(&self) -> Protocol;
    async fn identify(&self) -> Result<Identity>;
    /// Read the device's settings. `wanted` names the settings the caller will look at
    /// (a baseline's); a read that carries none of them may be skipped. Empty: all.
    async fn read_posture(&self, wanted: &[Setting]) -> Result<Posture>;
    /// `Some(false)` for a factory-new device that must be activated before any login.
    async fn activated(&self) -> Option<bool>;
    /// As [`Driver::activated`], as it was when the device was connected: what the
    /// connect's answers said where they said it (no request), else asked now. Not for
    /// after an activation.
    async fn activated_at_connect(&self) -> Option<bool> {
        self.activated().await
    }
    /// The session this driver talks through.
    fn http(&self) -> &HttpSession;
    /// The same device and login budget with other credentials (for proving which
    /// password the device accepts).
    fn with_credentials(&self, creds: Credentials) -> Box<dyn Driver>;
    /// Read only the settings named: how every change is verified.
    async fn read_settings(&self, keys: &[Setting]) -> Result<Posture>;
    /// Whether two settings are one switch on this device (writing one writes both).
    fn shares_switch(&self, a: Setting, b: Setting) -> bool {
        a == b
    }
    /// Change one setting on the device (the caller verifies by reading it back).
    async fn write_setting(&self, key: Setting, to: &Value, ctx: &WriteContext) -> Result<()> {
        let _ = (to, ctx);
        Err(Error::Unsupported { address: self.http().address.clone(), operation: format!("write {key}") })
    }
    /// Install a certificate from the site CA for these names; the leaf installed.
    async fn install_certificate(&self, ca: &crate::certs::SiteCa, names: &[String]) -> Result<crate::certs::Leaf> {
        let _ = (ca, names);
        Err(Error::Unsupported { address: self.http().address.clone(), operation: "certificate install".into() })
    }
    /// Set the first password of a factory-new device.
    async fn activate(&self, password: &Secret) -> Result<()> {
        let _ = password;
        Err(Error::Unsupported { address: self.http().address.clone(), operation: "activation".into() })
    }
    /// The HTTPS port the device says it serves, if it says.
    async fn https_port(&self) -> Option<u16> {
        None
    }
    /// Send a firmware image; returns once the device has taken it (the transfer is
    /// the part a site's upload cap limits).
    async fn upload_firmware(&self, image: &bytes::Bytes) -> Result<Uploaded> {
        let _ = image;
        Err(Error::Unsupported { address: self.http().address.clone(), operation: "firmware upgrade".into() })
    }
    /// After an upload: until the device restarts into the image (or was told to). The
    /// caller then waits for it and reads the version back.
    async fn await_firmware(&self, uploaded: &Uploaded) -> Result<Restart> {
        let _ = uploaded;
        Err(Error::Unsupported { address: self.http().address.clone(), operation: "firmware upgrade".into() })
    }
    /// The device's configuration export.
    async fn backup(&self) -> Result<Vec<u8>> {
        Err(Error::Unsupported { address: self.http().address.clone(), operation: "configuration export".into() })
    }
    /// Set the interface (address, mask, gateway, DNS, host name). `true` when the
    /// device restarts to take a new address; the caller finds it there.
    async fn set_interface(&self, to: &crate::site::addresses::Interface) -> Result<bool> {
        let _ = to;
        Err(Error::Unsupported { address: self.http().address.clone(), operation: "network interface".into() })
    }
    /// Import a configuration export this device made; it restarts to use it.
    async fn restore(&self, config: &bytes::Bytes) -> Result<()> {
        let _ = config;
        Err(Error::Unsupported { address: self.http().address.clone(), operation: "configuration import".into() })
    }
    /// Delete these accounts (never the administrator, never the run's own); the names deleted.
    async fn delete_users(&self, _names: &[String]) -> Result<Vec<String>> {
        Err(Error::Unsupported { address: self.http().address.clone(), operation: "delete users".into() })
    }
    /// Change a user's password on every interface that keeps one (web and ONVIF).
    async fn set_password(&self, username: &str, password: &Secret) -> Result<()> {
        let _ = (username, password);
        Err(Error::Unsupported { address: self.http().address.clone(), operation: "set password".into() })
    }
    /// Make a (service) account with this role and password, or give the one of that
    /// name this role and password; never the administrator.
    async fn set_account(&self, name: &str, role: crate::site::service::Role, password: &Secret) -> Result<()> {
        let _ = (name, role, password);
        Err(Error::Unsupported { address: self.http().address.clone(), operation: "service accounts".into() })
    }
}

#[async_trait]
impl Driver for isapi::IsapiDriver {
    fn protocol(&self) -> Protocol {
        Protocol::Isapi
    }
    async fn identify(&self) -> Result<Identity> {
        isapi::IsapiDriver::identify(self).await
    }
    async fn read_posture(&self, wanted: &[Setting]) -> Result<Posture> {
        isapi::IsapiDriver::read_posture(self, wanted).await
    }
    async fn activated(&self) -> Option<bool> {
        isapi::IsapiDriver::activated(self).await
    }
    async fn activated_at_connect(&self) -> Option<bool> {
        isapi::IsapiDriver::activated_at_connect(self).await
    }
    fn http(&self) -> &HttpSession {
        &self.http
    }
    fn with_credentials(&self, creds: Credentials) -> Box<dyn Driver> {
        Box::new(isapi::IsapiDriver::new(self.http.as_user(creds)))
    }
    async fn read_settings(&self, keys: &[Setting]) -> Result<Posture> {
        isapi::IsapiDriver::read_settings(self, keys).await
    }
    fn shares_switch(&self, a: Setting, b: Setting) -> bool {
        a == b || isapi::write::switch_of(a).is_some_and(|s| isapi::write::switch_of(b) == Some(s))
    }
    async fn write_setting(&self, key: Setting, to: &Value, ctx: &WriteContext) -> Result<()> {
        isapi::IsapiDriver::write_setting(self, key, to, ctx).await
    }
    async fn backup(&self) -> Result<Vec<u8>> {
        isapi::IsapiDriver::backup(self).await
    }
    async fn restore(&self, config: &bytes::Bytes) -> Result<()> {
        isapi::IsapiDriver::restore(self, config).await
    }
    async fn set_interface(&self, to: &crate::site::addresses::Interface) -> Result<bool> {
        isapi::IsapiDriver::set_interface(self, to).await
    }
    async fn https_port(&self) -> Option<u16> {
        isapi::IsapiDriver::https_port(self).await
    }
    async fn upload_firmware(&self, image: &bytes::Bytes) -> Result<Uploaded> {
        isapi::IsapiDriver::upload_firmware(self, image).await
    }
    async fn await_firmware(&self, uploaded: &Uploaded) -> Result<Restart> {
        isapi::IsapiDriver::await_firmware(self, uploaded).await
    }
    async fn activate(&self, password: &Secret) -> Result<()> {
        isapi::IsapiDriver::activate(self, password).await
    }
    async fn install_certificate(&self, ca: &crate::certs::SiteCa, names: &[String]) -> Result<crate::certs::Leaf> {
        isapi::IsapiDriver::install_certificate(self, ca, names).await
    }
    async fn delete_users(&self, names: &[String]) -> Result<Vec<String>> {
        isapi::IsapiDriver::delete_users(self, names).await
    }
    async fn set_password(&self, username: &str, password: &Secret) -> Result<()> {
        isapi::IsapiDriver::set_password(self, username, password).await
    }
    async fn set_account(&self, name: &str, role: crate::site::service::Role, password: &Secret) -> Result<()> {
        isapi::IsapiDriver::set_account(self, name, role, password).await
    }
}

#[async_trait]
impl Driver for onvif::OnvifDriver {
    fn protocol(&self) -> Protocol {
        Protocol::Onvif
    }
    async fn identify(&self) -> Result<Identity> {
        onvif::OnvifDriver::identify(self).await
    }
    async fn read_posture(&self, wanted: &[Setting]) -> Result<Posture> {
        onvif::OnvifDriver::read_posture(self, wanted).await
    }
    async fn activated(&self) -> Option<bool> {
        None
    }
    fn http(&self) -> &HttpSession {
        onvif::OnvifDriver::http(self)
    }
    fn with_credentials(&self, creds: Credentials) -> Box<dyn Driver> {
        Box::new(onvif::OnvifDriver::with_credentials(self, creds))
    }
    async fn write_setting(&self, key: Setting, to: &Value, ctx: &WriteContext) -> Result<()> {
        onvif::OnvifDriver::write_setting(self, key, to, ctx).await
    }
    async fn set_password(&self, username: &str, password: &Secret) -> Result<()> {
        onvif::OnvifDriver::set_password(self, username, password).await
    }
    async fn set_account(&self, name: &str, role: crate::site::service::Role, password: &Secret) -> Result<()> {
        onvif::OnvifDriver::set_account(self, name, role, password).await
    }
    async fn install_certificate(&self, ca: &crate::certs::SiteCa, names: &[String]) -> Result<crate::certs::Leaf> {
        onvif::OnvifDriver::install_certificate(self, ca, names).await
    }
    async fn upload_firmware(&self, image: &bytes::Bytes) -> Result<Uploaded> {
        onvif::OnvifDriver::upload_firmware(self, image).await
    }
    async fn await_firmware(&self, uploaded: &Uploaded) -> Result<Restart> {
        onvif::OnvifDriver::await_firmware(self, uploaded).await
    }
    async fn https_port(&self) -> Option<u16> {
        onvif::OnvifDriver::https_port(self).await
    }
    async fn set_interface(&self, to: &crate::site::addresses::Interface) -> Result<bool> {
        onvif::OnvifDriver::set_interface(self, to).await
    }
    async fn read_settings(&self, keys: &[Setting]) -> Result<Posture> {
        // The device service answers everything in a few calls: read it all, keep the keys.
        let full = onvif::OnvifDriver::read_posture(self, keys).await?;
        let mut p = Posture::new(full.identity.clone(), Protocol::Onvif);
        for k in keys {
            if let Some(r) = full.get(*k) {
                p.set(*k, r.clone());
            }
        }
        Ok(p)
    }
}

/// Options for talking to devices.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// How long each kind of exchange may take.
    pub timings: Timings,
}

/// Find out what the device speaks, without credentials, and hand back its driver.
/// The device's [`LoginGuard`] comes from the client: one per device for the whole run.
pub async fn connect(
    target: &Target,
    creds: Option<Credentials>,
    client: &http::Client,
    opts: &ConnectOptions,
) -> Result<Box<dyn Driver>> {
    let base = target.base_url().ok_or_else(|| Error::Input(format!("{}: no HTTP or HTTPS port", target.address)))?;
    let guard = client.guards.of(&target.key());
    let session = HttpSession::new(client.clone(), base, creds.clone(), guard.clone(), opts.timings)
        .for_device(target.shared_port.map(|_| target.key()))
        .in_lanes(client.lanes.of(&target.key()));
    let onvif = onvif::OnvifDriver::new(session.clone(), creds, guard);
    let clock = if target.said_hikvision {
        // Expected to be Hikvision: ISAPI's question alone (ONVIF's would be one request
        // more per camera, its answer unused), ONVIF's only after an answer that was not
        // ISAPI's. A round trip more only where the inventory was wrong.
        match isapi::IsapiDriver::probe(&session).await {
            isapi::Probed::Isapi { activated } => return Ok(Box::new(isapi::IsapiDriver::probed(session, activated))),
            isapi::Probed::NoAnswer(e) => return Err(e),
            isapi::Probed::NotIsapi => onvif.sync_clock().await,
        }
    } else {
        // Both questions need no credentials: ask them at once (one round trip, not two;
        // one after the other where the device has one lane, so a device that does not
        // answer then costs two time-outs).
        let (probed, clock) = tokio::join!(isapi::IsapiDriver::probe(&session), onvif.sync_clock());
        if let isapi::Probed::Isapi { activated } = probed {
            return Ok(Box::new(isapi::IsapiDriver::probed(session, activated)));
        }
        clock
    };
    match clock {
        Ok(_) => Ok(Box::new(onvif)),
        // A device that answered, but nothing it said could be read, says so.
        Err(
            e @ (Error::Unreachable { .. }
            | Error::Timeout { .. }
            | Error::CertificateChanged { .. }
            | Error::Malformed { .. }),
        ) => Err(e),
        Err(_) => Err(Error::Unsupported { address: target.label(), operation: "ISAPI or ONVIF".into() }),
    }
}
