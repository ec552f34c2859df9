//! What a device's settings are, as read through its driver: identity plus a flat map
//! of setting keys to readings. A baseline names the keys it checks, so new controls
//! need no new code. Each reading says whether the value is known, the device lacks
//! the feature, or reading it failed.

use std::collections::BTreeMap;

pub use crate::setting::Setting;

use serde::{Deserialize, Serialize};

/// A setting's value. Untagged: `true`, `3`, `"text"`, `["a", "b"]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub enum Value {
    Bool(bool),
    // Device integers (ports, days, counts) are far below 2^53: a JavaScript number.
    Int(#[cfg_attr(feature = "ts", ts(type = "number"))] i64),
    Text(String),
    List(Vec<String>),
}

impl std::fmt::Display for Value {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Text(t) => write!(f, "{t}"),
            Value::List(l) if l.is_empty() => f.write_str("(none)"),
            Value::List(l) => f.write_str(&l.join(", ")),
        }
    }
}

/// One setting as read from the device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", content = "value", rename_all = "snake_case")]
pub enum Reading {
    Known(Value),
    /// The firmware has no such feature (404 `notSupport`, ActionNotSupported).
    Unsupported,
    /// Reading it failed; the reason says why.
    Unknown(String),
}

/// Which protocol the reading came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Isapi,
    Onvif,
}

impl Protocol {
    /// Lower-case, as the CLI shows it.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Isapi => "isapi",
            Protocol::Onvif => "onvif",
        }
    }
}

/// Who the device is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    pub vendor: String,
    pub manufacturer: String,
    pub model: String,
    pub serial: String,
    pub mac: String,
    /// `V5.5.0` or whatever the device reports.
    pub firmware_version: String,
    /// `yymmdd` build date when the firmware states one.
    pub firmware_build: Option<String>,
    pub device_type: String,
}

impl Identity {
    /// Whether the device is this vendor's (`hikvision`): by the vendor the driver
    /// named, or the manufacturer it reports (`HIKVISION`, `Acme Vision`). Case-insensitive.
    pub fn is_from(&self, vendor: &str) -> bool {
        let vendor = vendor.to_ascii_lowercase();
        self.vendor.eq_ignore_ascii_case(&vendor) || self.manufacturer.to_ascii_lowercase().contains(&vendor)
    }

    /// `V5.5.0 build 170725`, or the version alone (no build, or an empty one).
    pub fn firmware(&self) -> String {
        match &self.firmware_build {
            Some(b) if !b.is_empty() => format!("{} build {b}", self.firmware_version),
            _ => self.firmware_version.clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Posture {
    pub identity: Identity,
    pub protocol: Protocol,
    pub settings: BTreeMap<Setting, Reading>,
}

impl Posture {
    pub fn new(identity: Identity, protocol: Protocol) -> Self {
        Posture { identity, protocol, settings: BTreeMap::new() }
    }

    pub fn set(&mut self, key: Setting, reading: Reading) {
        self.settings.insert(key, reading);
    }

    pub fn known(&mut self, key: Setting, value: Value) {
        self.set(key, Reading::Known(value));
    }

    pub fn get(&self, key: Setting) -> Option<&Reading> {
        self.settings.get(&key)
    }
}

/// Whether a value read back from a device is the value written: devices reorder
/// lists and respell time zones (`CET-1` comes back as `CET-1:00:00`).
pub fn same_setting(key: Setting, read: &Value, written: &Value) -> bool {
    match (key, read, written) {
        (Setting::TimeZone, Value::Text(a), Value::Text(b)) => a == b || crate::site::tz::equivalent(a, b),
        // `V5.5.800build 210628` is `V5.5.800 build 210628`.
        (Setting::FirmwareVersion, Value::Text(a), Value::Text(b)) => {
            a == b
                || matches!(
                    (crate::advisories::Firmware::parse(a), crate::advisories::Firmware::parse(b)),
                    (Some(x), Some(y)) if x == y
                )
        }
        (Setting::TimeNtpServers | Setting::NetworkIpFilterAddresses, Value::List(a), Value::List(b)) => {
            let (mut a, mut b) = (a.clone(), b.clone());
            a.sort();
            b.sort();
            a == b
        }
        _ => read == written,
    }
}
