//! The pins later connections are held to: each device's certificate fingerprint with
//! its expiry and origin (installed by us, or first seen), kept in `pins.json`; a
//! different certificate seen later waits in `changed_to` for the operator.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::local;
use crate::error::Result;

/// SHA-256 of a certificate's DER, hex.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// A certificate's end, RFC 3339 (empty when the certificate cannot be read).
pub fn not_after(der: &[u8]) -> String {
    x509_parser::parse_x509_certificate(der)
        .ok()
        .and_then(|(_, c)| chrono::DateTime::from_timestamp(c.validity().not_after.timestamp(), 0))
        .map(|t| t.to_rfc3339())
        .unwrap_or_default()
}

/// Where a pin came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub enum PinOrigin {
    /// A certificate from the site CA that `apply` installed and proved (files written
    /// before first-seen pins existed hold only these).
    #[default]
    Installed,
    /// The certificate the device showed the first time we met it (trust on first
    /// use), or one the operator accepted in its place.
    FirstSeen,
}

/// A certificate presented instead of the pinned one: refused until accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct PinChange {
    pub fingerprint: String,
    /// RFC 3339 (empty when unreadable).
    pub not_after: String,
    /// When it was seen, RFC 3339.
    pub seen: String,
}

/// What a handshake showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct Pin {
    pub fingerprint: String,
    /// RFC 3339.
    pub not_after: String,
    /// `installed` (from the site CA, proven) or `first_seen` (trust on first use).
    #[serde(default)]
    pub origin: PinOrigin,
    /// When a first-seen pin was taken (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub since: Option<String>,
    /// A different certificate the device presented later, waiting for the operator:
    /// refused until accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "ts", ts(optional = nullable))]
    pub changed_to: Option<PinChange>,
}

impl Pin {
    /// A certificate installed and proven now.
    pub fn installed(fingerprint: String, not_after: String) -> Pin {
        Pin { fingerprint, not_after, origin: PinOrigin::Installed, since: None, changed_to: None }
    }
}

/// Pinned certificates per device address, in `pins.json`.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Pins {
    pub devices: BTreeMap<String, Pin>,
}

/// Serialises every read-change-write of `pins.json` in this process.
static UPDATE: std::sync::Mutex<()> = std::sync::Mutex::new(());

impl Pins {
    fn path(home: &Path) -> PathBuf {
        home.join("pins.json")
    }

    pub fn load(home: &Path) -> Result<Pins> {
        match std::fs::read(Self::path(home)) {
            Ok(d) => serde_json::from_slice(&d).map_err(|e| local("pins.json", e)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Pins::default()),
            Err(e) => Err(local("pins.json", e)),
        }
    }

    /// Read, change and write `pins.json` as one step.
    pub fn update(home: &Path, change: impl FnOnce(&mut Pins)) -> Result<()> {
        let _one_at_a_time = UPDATE.lock().map_err(|_| local("pins.json", "lock poisoned"))?;
        let mut pins = Pins::load(home)?;
        change(&mut pins);
        let data = serde_json::to_vec_pretty(&pins).map_err(|e| local("pins.json", e))?;
        crate::files::write_private(&Self::path(home), &data)
    }

    /// Record one device's pin.
    pub fn save_one(home: &Path, address: &str, pin: Pin) -> Result<()> {
        Self::update(home, |pins| {
            pins.devices.insert(address.to_string(), pin);
        })
    }

    /// The operator accepts the certificate a device presented in place of its pin:
    /// it becomes the pin. `fingerprint`, when given, must be the one the operator saw
    /// (a script cannot accept a certificate nobody looked at by mistake). Returns the
    /// old pin and the new one.
    pub fn accept(home: &Path, address: &str, fingerprint: Option<&str>, now: &str) -> Result<(Pin, Pin)> {
        let mut outcome = Err(crate::error::Error::Input(format!(
            "{address}: no changed certificate is waiting (portcullis certs list shows them)"
        )));
        Self::update(home, |pins| {
            let Some(pin) = pins.devices.get_mut(address) else { return };
            let Some(change) = pin.changed_to.clone() else { return };
            if let Some(expected) = fingerprint {
                let expected = expected.trim().trim_start_matches("sha256:").to_ascii_lowercase();
                if expected != change.fingerprint {
                    outcome = Err(crate::error::Error::Input(format!(
                        "{address}: the certificate waiting is sha256:{}, not sha256:{expected}; nothing accepted",
                        change.fingerprint
                    )));
                    return;
                }
            }
            let old = pin.clone();
            *pin = Pin {
                fingerprint: change.fingerprint,
                not_after: change.not_after,
                origin: PinOrigin::FirstSeen,
                since: Some(now.to_string()),
                changed_to: None,
            };
            outcome = Ok((old, pin.clone()));
        })?;
        outcome
    }

    /// The pins as the HTTP client wants them, by device key (an address, or
    /// `address:port` for devices that share one).
    pub fn by_device(&self) -> std::collections::HashMap<String, String> {
        self.devices.iter().map(|(a, p)| (a.clone(), p.fingerprint.clone())).collect()
    }

    /// Devices whose certificate (one we installed) ends within `days`.
    pub fn expiring_within(&self, days: i64) -> Vec<String> {
        // However many days the user asks for, the calendar ends somewhere.
        let limit = chrono::TimeDelta::try_days(days)
            .and_then(|d| chrono::Utc::now().checked_add_signed(d))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        self.devices
            .iter()
            .filter(|(_, p)| p.origin == PinOrigin::Installed)
            .filter(|(_, p)| chrono::DateTime::parse_from_rfc3339(&p.not_after).map_or(true, |t| t < limit))
            .map(|(a, _)| a.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn any_number_of_days_is_a_limit_not_an_overflow() {
        let mut pins = super::Pins::default();
        pins.devices.insert("192.0.2.1".into(), super::Pin::installed("ab".into(), "2036-01-01T00:00:00Z".into()));
        assert_eq!(pins.expiring_within(i64::MAX), ["192.0.2.1"]);
        assert!(pins.expiring_within(1).is_empty());
    }

    #[test]
    fn only_the_certificate_waiting_is_accepted_and_it_becomes_the_pin() {
        let home = std::env::temp_dir().join(format!("pc-pins-accept-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let none = super::Pins::accept(&home, "192.0.2.1", None, "now").unwrap_err();
        assert!(none.to_string().contains("no changed certificate"), "{none}");
        let mut pin = super::Pin::installed("aa".into(), "2030-01-01T00:00:00Z".into());
        pin.changed_to =
            Some(super::PinChange { fingerprint: "bb".into(), not_after: String::new(), seen: "then".into() });
        super::Pins::save_one(&home, "192.0.2.1", pin).unwrap();
        let wrong = super::Pins::accept(&home, "192.0.2.1", Some("sha256:CC"), "now").unwrap_err();
        assert!(wrong.to_string().contains("nothing accepted"), "{wrong}");
        let (old, new) = super::Pins::accept(&home, "192.0.2.1", Some("sha256:BB"), "now").unwrap();
        assert_eq!((old.fingerprint.as_str(), new.fingerprint.as_str()), ("aa", "bb"));
        let kept = &super::Pins::load(&home).unwrap().devices["192.0.2.1"];
        assert_eq!((kept.fingerprint.as_str(), kept.changed_to.is_none()), ("bb", true));
        assert!(super::Pins::accept(&home, "192.0.2.1", None, "now").is_err(), "accepted once");
        let _ = std::fs::remove_dir_all(&home);
    }
}
