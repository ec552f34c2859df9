//! Whose credentials a vault entry holds ([`Scope`]), and the entry names the index and
//! the history know them by.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Whose credentials an entry holds.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "scope", content = "name", rename_all = "snake_case")]
pub enum Scope {
    /// One device, by `address` or `address:port`.
    Device(String),
    /// The defaults of a site.
    Site(String),
    /// A password being rotated on a device (by address): written before the device
    /// is touched, made current once the device proves it, or dropped once the device
    /// proves the old one still holds. Never used for a login by `lookup`.
    Pending(String),
    /// A service account on a device (by address): the account a recorder logs in
    /// with, its own password. Never used for Portcullis's own logins.
    Service(String),
    /// A service account's password being set on a device (by address), journaled like
    /// a rotation: written before the device is told, made the account's once a login
    /// proves it.
    ServicePending(String),
    /// A certificate authority's private key.
    Ca(String),
    /// A key of Portcullis's own (`history`: the key that seals the change history).
    Key(String),
}

impl Scope {
    /// What kind of entry: `device`, `site`, `pending`, … (as the index writes it).
    pub fn kind(&self) -> &'static str {
        match self {
            Scope::Device(_) => "device",
            Scope::Site(_) => "site",
            Scope::Pending(_) => "pending",
            Scope::Service(_) => "service",
            Scope::ServicePending(_) => "service_pending",
            Scope::Ca(_) => "ca",
            Scope::Key(_) => "key",
        }
    }

    /// Whose: the device's label, the site's name, the key's name.
    pub fn name(&self) -> &str {
        match self {
            Scope::Device(n)
            | Scope::Site(n)
            | Scope::Pending(n)
            | Scope::Service(n)
            | Scope::ServicePending(n)
            | Scope::Ca(n)
            | Scope::Key(n) => n,
        }
    }

    pub(super) fn key(&self, username: &str) -> String {
        match self {
            Scope::Device(d) => format!("device/{d}/{username}"),
            Scope::Site(s) => format!("site/{s}/{username}"),
            Scope::Pending(d) => format!("pending/{d}/{username}"),
            Scope::Service(d) => format!("service/{d}/{username}"),
            Scope::ServicePending(d) => format!("service-pending/{d}/{username}"),
            Scope::Ca(n) => format!("ca/{n}/{username}"),
            Scope::Key(n) => format!("key/{n}/{username}"),
        }
    }

    /// A device's own scope from `ADDR` or `ADDR:PORT` as a person types it.
    pub fn device(label: &str) -> Result<Scope> {
        let label = label.trim();
        let (address, port) = label.split_once(':').map_or((label, None), |(a, p)| (a, Some(p)));
        let valid = address.parse::<std::net::IpAddr>().is_ok() && port.is_none_or(|p| p.parse::<u16>().is_ok());
        if !valid {
            return Err(Error::Input(format!("{label:?} is not a device address (ADDR or ADDR:PORT)")));
        }
        Ok(Scope::Device(label.to_string()))
    }

    /// The entry's name as history records it (never its value).
    pub fn entry_name(&self, username: &str) -> String {
        self.key(username)
    }

    /// The scope and user an entry name stands for: the inverse of [`Scope::entry_name`]
    /// for a device's pending entries (the ones the history's intents name).
    pub fn of_pending_entry(name: &str) -> Option<(Scope, String)> {
        let (kind, rest) = name.split_once('/')?;
        // An address never holds a '/'; a user name may.
        let (device, username) = rest.split_once('/')?;
        let scope = match kind {
            "pending" => Scope::Pending(device.to_string()),
            "service-pending" => Scope::ServicePending(device.to_string()),
            _ => return None,
        };
        Some((scope, username.to_string()))
    }
}
