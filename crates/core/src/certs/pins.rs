//! The pins later connections are held to: each device's certificate fingerprint with
//! its expiry, kept in `pins.json`.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::local;
use crate::error::Result;

/// SHA-256 of a certificate's DER, hex.
pub fn fingerprint(der: &[u8]) -> String {
    hex::encode(Sha256::digest(der))
}

/// What a handshake showed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pin {
    pub fingerprint: String,
    /// RFC 3339.
    pub not_after: String,
}

/// Pinned certificates per device address, in `pins.json`.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct Pins {
    pub devices: BTreeMap<String, Pin>,
}

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

    /// Record one device's pin (read, change, write: callers serialise).
    pub fn save_one(home: &Path, address: &str, pin: Pin) -> Result<()> {
        let mut pins = Pins::load(home)?;
        pins.devices.insert(address.to_string(), pin);
        let data = serde_json::to_vec_pretty(&pins).map_err(|e| local("pins.json", e))?;
        crate::files::write_private(&Self::path(home), &data)
    }

    /// The pins as the HTTP client wants them.
    pub fn by_address(&self) -> std::collections::HashMap<IpAddr, String> {
        self.devices.iter().filter_map(|(a, p)| Some((a.parse().ok()?, p.fingerprint.clone()))).collect()
    }

    /// Devices whose certificate ends within `days`.
    pub fn expiring_within(&self, days: i64) -> Vec<String> {
        // However many days the user asks for, the calendar ends somewhere.
        let limit = chrono::TimeDelta::try_days(days)
            .and_then(|d| chrono::Utc::now().checked_add_signed(d))
            .unwrap_or(chrono::DateTime::<chrono::Utc>::MAX_UTC);
        self.devices
            .iter()
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
        pins.devices.insert(
            "192.0.2.1".into(),
            super::Pin { fingerprint: "ab".into(), not_after: "2036-01-01T00:00:00Z".into() },
        );
        assert_eq!(pins.expiring_within(i64::MAX), ["192.0.2.1"]);
        assert!(pins.expiring_within(1).is_empty());
    }
}
