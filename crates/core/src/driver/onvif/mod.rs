//! The generic ONVIF driver: the device service over SOAP 1.2 with a WS-Security
//! UsernameToken, its `Created` stamped on the device's clock (learned from the
//! unauthenticated GetSystemDateAndTime), as Home Assistant's client does. One method
//! of authentication only: switching methods after a refusal would be a second failed
//! login.
//!
//! This module keeps the driver, its clock and its authenticated call; the reads are in
//! `read`, the changes in `change`, the accounts in `accounts`, certificates and TLS
//! versions in `security`.

mod accounts;
mod change;
mod firmware;
mod mtom;
mod read;
#[cfg(test)]
mod scripted;
mod security;
pub mod wire;

use std::sync::Mutex;

use rand::RngCore;

use super::http::{Answer, HttpSession, LoginGuard};
use super::Operation;
use crate::error::{Error, Result};
use crate::posture::Identity;
use crate::secret::Credentials;

pub const DEVICE_PATH: &str = "/onvif/device_service";

#[derive(Debug)]
pub struct OnvifDriver {
    http: HttpSession,
    creds: Option<Credentials>,
    guard: std::sync::Arc<LoginGuard>,
    /// device clock − our clock, in seconds.
    clock_offset: Mutex<Option<i64>>,
    /// Whether NTP drives the clock, learned with the offset.
    clock_ntp: Mutex<Option<bool>>,
    /// The device's POSIX time zone, learned with the offset.
    time_zone: Mutex<Option<String>>,
    /// The Advanced Security service's path once asked (`Some(None)`: the device has none).
    security_path: Mutex<Option<Option<String>>>,
}

/// How long an ONVIF operation may take: every one is a POST, so the name says it.
fn operation_kind(operation: &str) -> Operation {
    match operation {
        // The device makes a key pair (and signs with it) before it answers.
        "CreateRSAKeyPair" | "CreatePKCS10CSR" | "CreateSelfSignedCertificate" => Operation::KeyGeneration,
        "UpgradeSystemFirmware" | "RestoreSystem" => Operation::Upload,
        // Answers with an address at once; the upload itself is timed as one.
        "StartFirmwareUpgrade" => Operation::Write,
        op if op.starts_with("Get") => Operation::Read,
        _ => Operation::Write,
    }
}

/// An answer that is either the expected response or a fault.
enum Soap {
    Ok(String),
    Fault(wire::Fault),
}

impl OnvifDriver {
    pub fn new(http: HttpSession, creds: Option<Credentials>, guard: std::sync::Arc<LoginGuard>) -> Self {
        OnvifDriver {
            http,
            creds,
            guard,
            clock_offset: Mutex::new(None),
            clock_ntp: Mutex::new(None),
            time_zone: Mutex::new(None),
            security_path: Mutex::new(None),
        }
    }

    pub fn http(&self) -> &HttpSession {
        &self.http
    }

    fn address(&self) -> String {
        self.http.address.clone()
    }

    /// An unauthenticated read of the device service.
    async fn post(&self, envelope: &str) -> Result<Answer> {
        self.post_to(DEVICE_PATH, envelope, Operation::Read).await
    }

    async fn post_to(&self, path: &str, envelope: &str, kind: Operation) -> Result<Answer> {
        let http = self.http.for_operation(kind);
        http.anonymous("POST", path, Some(("application/soap+xml; charset=utf-8", envelope))).await
    }

    /// Whether the device answers ONVIF: GetSystemDateAndTime needs no credentials.
    pub async fn probe(&self) -> bool {
        self.sync_clock().await.is_ok()
    }

    /// Learn the device clock's offset from ours (clock-skew correction).
    pub async fn sync_clock(&self) -> Result<i64> {
        let before = chrono::Utc::now();
        let a = self.post(&wire::envelope("", "<tds:GetSystemDateAndTime/>")).await?;
        let after = chrono::Utc::now();
        if a.status != 200 {
            return Err(Error::Device {
                address: self.address(),
                operation: "GetSystemDateAndTime".into(),
                reason: format!("HTTP {}", a.status),
            });
        }
        let (device, ntp) = wire::system_date_time(&a.body).map_err(|reason| Error::Malformed {
            address: self.address(),
            operation: "GetSystemDateAndTime".into(),
            reason,
        })?;
        // The device read its clock halfway through the round trip.
        let midpoint = before + (after - before) / 2;
        let offset = (device - midpoint).num_seconds();
        if let Ok(mut o) = self.clock_offset.lock() {
            *o = Some(offset);
        }
        if let Ok(mut n) = self.clock_ntp.lock() {
            *n = Some(ntp);
        }
        if let Ok(mut t) = self.time_zone.lock() {
            *t = wire::time_zone(&a.body);
        }
        Ok(offset)
    }

    /// An authenticated call to the device service.
    async fn call(&self, operation: &str, body: &str) -> Result<Soap> {
        self.call_at(DEVICE_PATH, operation, body).await
    }

    /// An authenticated call to the service at `path`.
    async fn call_at(&self, path: &str, operation: &str, body: &str) -> Result<Soap> {
        self.call_carrying(path, operation, body, None).await
    }

    /// An authenticated call whose envelope points at `attachment` (sent as MTOM).
    async fn call_carrying(
        &self,
        path: &str,
        operation: &str,
        body: &str,
        attachment: Option<&bytes::Bytes>,
    ) -> Result<Soap> {
        let Some(creds) = &self.creds else { return Err(Error::NoCredentials { address: self.address() }) };
        let Some(_turn) = self.guard.turn(creds).await else {
            return Err(Error::LoginWithheld { address: self.address(), username: creds.username.clone() });
        };
        let offset = match self.clock_offset.lock().ok().and_then(|o| *o) {
            Some(o) => o,
            None => self.sync_clock().await?,
        };
        // The device's clock is the device's word: one at the edge of the calendar is an
        // error, not an overflow.
        let created = chrono::TimeDelta::try_seconds(offset)
            .and_then(|d| chrono::Utc::now().checked_add_signed(d))
            .ok_or_else(|| Error::Malformed {
                address: self.address(),
                operation: "GetSystemDateAndTime".into(),
                reason: "the device's clock is outside the calendar".into(),
            })?
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
        let mut nonce = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut nonce);
        let header = wire::security_header(&creds.username, creds.password.expose(), &nonce, &created);
        let envelope = wire::envelope(&header, body);
        let a = match attachment {
            None => self.post_to(path, &envelope, operation_kind(operation)).await?,
            Some(data) => {
                let package = mtom::package(&envelope, data);
                let http = self.http.for_operation(operation_kind(operation));
                http.anonymous_bytes("POST", path, &package.content_type, &package.body).await?
            }
        };
        if a.status == 200 {
            self.guard.accept(creds);
            return Ok(Soap::Ok(a.body));
        }
        match wire::fault(&a.body) {
            Some(f) if f.not_authorized() || a.status == 401 => {
                self.guard.refuse(creds);
                Err(Error::AuthRefused { address: self.address(), username: creds.username.clone() })
            }
            Some(f) => {
                // A fault other than "not authorized" is an answer from a logged-in user.
                self.guard.accept(creds);
                Ok(Soap::Fault(f))
            }
            None if a.status == 401 => {
                self.guard.refuse(creds);
                Err(Error::AuthRefused { address: self.address(), username: creds.username.clone() })
            }
            // No fault, a status that means "no such operation here" (some firmware
            // answers an unknown operation so): unsupported, like ActionNotSupported.
            // (Not a proof that the credentials hold: the login budget is left as it is.)
            None if matches!(a.status, 400 | 404 | 405 | 501) => Ok(Soap::Fault(wire::Fault {
                code: format!("HTTP {}", a.status),
                subcodes: vec!["ActionNotSupported".into()],
                reason: format!("HTTP {} to {operation}", a.status),
            })),
            None => Err(Error::Device {
                address: self.address(),
                operation: operation.into(),
                reason: format!("HTTP {}", a.status),
            }),
        }
    }

    pub async fn identify(&self) -> Result<Identity> {
        match self.call("GetDeviceInformation", "<tds:GetDeviceInformation/>").await? {
            Soap::Ok(body) => wire::device_information(&body).map_err(|reason| Error::Malformed {
                address: self.address(),
                operation: "GetDeviceInformation".into(),
                reason,
            }),
            Soap::Fault(f) => Err(Error::Device {
                address: self.address(),
                operation: "GetDeviceInformation".into(),
                reason: f.reason,
            }),
        }
    }

    /// The same device, clock and login budget, other credentials: for proving which
    /// password a device accepts.
    pub fn with_credentials(&self, creds: Credentials) -> OnvifDriver {
        let d = OnvifDriver::new(self.http.as_user(creds.clone()), Some(creds), self.guard.clone());
        if let (Ok(mut to), Ok(from)) = (d.clock_offset.lock(), self.clock_offset.lock()) {
            *to = *from;
        }
        d
    }
}
