//! The device inventory: sightings from every discovery path and inventory file merge
//! into one device per MAC, serial number or WS-Discovery endpoint reference; the
//! result persists in sled (`store`).

pub mod file;
pub mod store;

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// How a device was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    WsDiscovery,
    Sadp,
    Scan,
    Import,
    Audit,
}

/// One observation of a device, by any path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Sighting {
    pub source: Option<Source>,
    pub address: Option<IpAddr>,
    pub http_port: Option<u16>,
    pub https_port: Option<u16>,
    pub wsd_port: Option<u16>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub mac: Option<String>,
    pub firmware: Option<String>,
    pub activated: Option<bool>,
    pub endpoint_reference: Option<String>,
    pub xaddrs: Vec<String>,
    pub site: Option<String>,
    pub tags: Vec<String>,
    /// DNS names the device is reached by (certificate SANs).
    #[serde(default)]
    pub hostnames: Vec<String>,
}

/// One device, merged from every sighting of it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub id: String,
    pub address: Option<IpAddr>,
    pub http_port: Option<u16>,
    pub https_port: Option<u16>,
    pub wsd_port: Option<u16>,
    pub vendor: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub mac: Option<String>,
    pub firmware: Option<String>,
    pub activated: Option<bool>,
    pub endpoint_reference: Option<String>,
    pub xaddrs: Vec<String>,
    pub site: Option<String>,
    pub tags: Vec<String>,
    /// DNS names the device is reached by: from the inventory file, and any name in
    /// its WS-Discovery addresses. Every one goes into its certificate's SANs.
    #[serde(default)]
    pub hostnames: Vec<String>,
    pub seen_by: BTreeSet<Source>,
}

/// `44-47-CC-00-00-01` and `44:47:cc:00:00:01` are the same MAC.
pub fn normalize_mac(mac: &str) -> Option<String> {
    let hex: String = mac.chars().filter(|c| c.is_ascii_hexdigit()).collect::<String>().to_ascii_lowercase();
    if hex.len() != 12 || hex.chars().all(|c| c == '0') {
        return None;
    }
    let bytes: Vec<&str> = (0..6).filter_map(|i| hex.get(i * 2..i * 2 + 2)).collect();
    Some(bytes.join(":"))
}

fn nonempty(s: &Option<String>) -> Option<&str> {
    s.as_deref().map(str::trim).filter(|v| !v.is_empty())
}

impl Device {
    /// The strongest identity known: MAC, serial, endpoint reference, then address.
    pub fn key(&self) -> String {
        if let Some(m) = nonempty(&self.mac) {
            format!("mac:{m}")
        } else if let Some(s) = nonempty(&self.serial) {
            format!("sn:{s}")
        } else if let Some(e) = nonempty(&self.endpoint_reference) {
            format!("epr:{e}")
        } else if let Some(a) = self.address {
            format!("ip:{a}")
        } else {
            "unknown".into()
        }
    }

    /// Whether a sighting is of this device.
    fn matches(&self, s: &Sighting) -> bool {
        let same = |a: Option<&str>, b: Option<&str>| matches!((a, b), (Some(x), Some(y)) if x.eq_ignore_ascii_case(y));
        if same(nonempty(&self.mac), nonempty(&s.mac))
            || same(nonempty(&self.serial), nonempty(&s.serial))
            || same(nonempty(&self.endpoint_reference), nonempty(&s.endpoint_reference))
        {
            return true;
        }
        // By address only when neither side has an identity that says otherwise.
        let conflict =
            |a: Option<&str>, b: Option<&str>| matches!((a, b), (Some(x), Some(y)) if !x.eq_ignore_ascii_case(y));
        self.address.is_some()
            && self.address == s.address
            && !conflict(nonempty(&self.mac), nonempty(&s.mac))
            && !conflict(nonempty(&self.serial), nonempty(&s.serial))
            && !conflict(nonempty(&self.endpoint_reference), nonempty(&s.endpoint_reference))
    }

    fn absorb(&mut self, s: Sighting) {
        fn take<T: Clone>(slot: &mut Option<T>, v: Option<T>) {
            if v.is_some() {
                *slot = v;
            }
        }
        take(&mut self.address, s.address);
        take(&mut self.http_port, s.http_port);
        take(&mut self.https_port, s.https_port);
        take(&mut self.wsd_port, s.wsd_port);
        take(&mut self.vendor, s.vendor.filter(|v| !v.is_empty()));
        take(&mut self.model, s.model.filter(|v| !v.is_empty()));
        take(&mut self.serial, s.serial.filter(|v| !v.is_empty()));
        take(&mut self.mac, s.mac.as_deref().and_then(normalize_mac));
        take(&mut self.firmware, s.firmware.filter(|v| !v.is_empty()));
        take(&mut self.activated, s.activated);
        take(&mut self.endpoint_reference, s.endpoint_reference.filter(|v| !v.is_empty()));
        take(&mut self.site, s.site);
        for x in s.xaddrs {
            if !self.xaddrs.contains(&x) {
                self.xaddrs.push(x);
            }
        }
        for t in s.tags {
            if !self.tags.contains(&t) {
                self.tags.push(t);
            }
        }
        for h in s.hostnames {
            let h = h.trim().trim_end_matches('.').to_ascii_lowercase();
            if !h.is_empty() && !self.hostnames.contains(&h) {
                self.hostnames.push(h);
            }
        }
        if let Some(src) = s.source {
            self.seen_by.insert(src);
        }
        self.id = self.key();
    }

    /// Where to reach the device, if its address is known.
    pub fn target(&self) -> Option<crate::driver::Target> {
        Some(crate::driver::Target {
            address: self.address?,
            http_port: self.http_port,
            https_port: self.https_port,
            wsd_port: self.wsd_port.or(Some(crate::discover::wsd::PORT)),
        })
    }

    /// Its label ([`crate::driver::label`]); its id when it has no address.
    pub fn label(&self) -> String {
        match self.address {
            Some(a) => crate::driver::label(a, self.http_port, self.https_port),
            None => self.id.clone(),
        }
    }
}

/// Merge a sighting into the list; returns the index of the device it landed on.
/// Two devices that a sighting proves to be one (same MAC as one, same address as
/// another) are folded together.
pub fn merge(devices: &mut Vec<Device>, s: Sighting) -> usize {
    let hits: Vec<usize> = devices.iter().enumerate().filter(|(_, d)| d.matches(&s)).map(|(i, _)| i).collect();
    let Some((&first, rest)) = hits.split_first() else {
        let mut d = Device::default();
        d.absorb(s);
        devices.push(d);
        return devices.len() - 1;
    };
    for &i in rest.iter().rev() {
        let other = devices.remove(i);
        if let Some(d) = devices.get_mut(first) {
            let as_sighting = Sighting {
                source: None,
                address: other.address,
                http_port: other.http_port,
                https_port: other.https_port,
                wsd_port: other.wsd_port,
                vendor: other.vendor,
                model: other.model,
                serial: other.serial,
                mac: other.mac,
                firmware: other.firmware,
                activated: other.activated,
                endpoint_reference: other.endpoint_reference,
                xaddrs: other.xaddrs,
                site: other.site,
                tags: other.tags,
                hostnames: other.hostnames,
            };
            d.absorb(as_sighting);
            d.seen_by.extend(other.seen_by);
        }
    }
    if let Some(d) = devices.get_mut(first) {
        d.absorb(s);
    }
    first
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ip: &str) -> Option<IpAddr> {
        ip.parse().ok()
    }

    #[test]
    fn sightings_of_one_camera_by_every_path_merge_into_one_device() {
        let mut devs = Vec::new();
        merge(
            &mut devs,
            Sighting {
                source: Some(Source::WsDiscovery),
                address: at("127.1.0.5"),
                endpoint_reference: Some("urn:uuid:1".into()),
                ..Default::default()
            },
        );
        merge(
            &mut devs,
            Sighting {
                source: Some(Source::Sadp),
                address: at("127.1.0.5"),
                mac: Some("44-47-CC-00-00-05".into()),
                serial: Some("SN5".into()),
                ..Default::default()
            },
        );
        merge(
            &mut devs,
            Sighting {
                source: Some(Source::Scan),
                address: at("127.1.0.5"),
                http_port: Some(80),
                ..Default::default()
            },
        );
        merge(
            &mut devs,
            Sighting {
                source: Some(Source::Import),
                mac: Some("44:47:cc:00:00:05".into()),
                site: Some("hq".into()),
                ..Default::default()
            },
        );
        assert_eq!(devs.len(), 1, "{devs:#?}");
        let d = &devs[0];
        assert_eq!(d.id, "mac:44:47:cc:00:00:05");
        assert_eq!(d.seen_by.len(), 4);
        assert_eq!(d.site.as_deref(), Some("hq"));
        assert_eq!(d.endpoint_reference.as_deref(), Some("urn:uuid:1"));
    }

    #[test]
    fn different_identities_at_one_address_stay_apart() {
        let mut devs = Vec::new();
        merge(
            &mut devs,
            Sighting { address: at("127.1.0.5"), mac: Some("44:47:cc:00:00:05".into()), ..Default::default() },
        );
        merge(
            &mut devs,
            Sighting { address: at("127.1.0.5"), mac: Some("44:47:cc:00:00:06".into()), ..Default::default() },
        );
        assert_eq!(devs.len(), 2);
        assert_eq!(normalize_mac("00-00-00-00-00-00"), None);
        assert_eq!(normalize_mac("bad"), None);
    }

    #[test]
    fn a_sighting_that_links_two_devices_folds_them() {
        let mut devs = Vec::new();
        merge(
            &mut devs,
            Sighting { address: at("127.1.0.7"), endpoint_reference: Some("urn:uuid:7".into()), ..Default::default() },
        );
        merge(
            &mut devs,
            Sighting { mac: Some("44:47:cc:00:00:07".into()), serial: Some("SN7".into()), ..Default::default() },
        );
        assert_eq!(devs.len(), 2);
        merge(
            &mut devs,
            Sighting {
                endpoint_reference: Some("urn:uuid:7".into()),
                serial: Some("SN7".into()),
                ..Default::default()
            },
        );
        assert_eq!(devs.len(), 1, "{devs:#?}");
        assert_eq!(devs[0].address, at("127.1.0.7"));
    }
}
