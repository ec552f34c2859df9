//! The device inventory: sightings from every discovery path and inventory file merge
//! into one device per MAC, serial number or WS-Discovery endpoint reference; the
//! result persists in sled (`store`).

pub mod file;
mod merge;
pub mod store;

pub use merge::{merge, other_at_address, Merged, Merger};

use std::collections::BTreeSet;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// How a device was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub enum Source {
    WsDiscovery,
    Sadp,
    Scan,
    Import,
    Audit,
}

/// One observation of a device, by any path.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
    /// DNS names the device is reached by, as the operator gave them (the inventory
    /// file) or confirmed them: every one goes into its certificate's SANs.
    #[serde(default)]
    pub hostnames: Vec<String>,
    /// Names the device announced itself (its WS-Discovery addresses): suggestions only,
    /// never in a certificate until the operator accepts the device.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub suggested_hostnames: Vec<String>,
    pub seen_by: BTreeSet<Source>,
    /// Whether the operator vouched for it: imported from a file, or accepted after
    /// discovery found it. Unconfirmed devices get no credentials and no changes.
    /// Records older than the rule were all the operator's, hence the default.
    #[serde(default = "confirmed_by_default")]
    pub confirmed: bool,
    /// Sightings that contradicted what is known of it (another address, another
    /// identity): kept for the operator, never merged. The latest [`MAX_CONFLICTS`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conflicts: Vec<Conflict>,
    /// An address the device is being moved to (the address plan): recorded before the
    /// device is told, cleared once it is found at one address or the other.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_address: Option<IpAddr>,
}

fn confirmed_by_default() -> bool {
    true
}

/// What a device keeps of the sightings that contradicted it.
pub const MAX_CONFLICTS: usize = 8;

/// A sighting that did not fit a known device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conflict {
    pub source: Option<Source>,
    /// What the sighting claimed, in words (`seen at 192.0.2.9`, `MAC 44:47:…`).
    pub claim: String,
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

/// Devices in the order every list shows them: by address (those without one last),
/// then by inventory id.
pub fn sort_by_address(devices: &mut [Device]) {
    devices.sort_by(|a, b| (a.address.is_none(), a.address, &a.id).cmp(&(b.address.is_none(), b.address, &b.id)));
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
        let other_port = matches!((self.http_port, s.http_port), (Some(a), Some(b)) if a != b);
        self.address.is_some()
            && self.address == s.address
            && !other_port
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
        fn fill<T: Clone>(slot: &mut Option<T>, v: Option<T>) {
            if slot.is_none() {
                *slot = v;
            }
        }
        // The operator's word (an inventory file) confirms a device and its names; a
        // device's own word does neither.
        let vouched = s.source == Some(Source::Import);
        if vouched {
            self.confirmed = true;
        }
        take(&mut self.address, s.address);
        take(&mut self.http_port, s.http_port);
        take(&mut self.https_port, s.https_port);
        take(&mut self.wsd_port, s.wsd_port);
        take(&mut self.vendor, s.vendor.filter(|v| !v.is_empty()));
        take(&mut self.model, s.model.filter(|v| !v.is_empty()));
        // An identity is learnt once, never replaced (a contradiction is a conflict,
        // found before absorbing).
        fill(&mut self.serial, s.serial.filter(|v| !v.is_empty()));
        fill(&mut self.mac, s.mac.as_deref().and_then(normalize_mac));
        take(&mut self.firmware, s.firmware.filter(|v| !v.is_empty()));
        take(&mut self.activated, s.activated);
        fill(&mut self.endpoint_reference, s.endpoint_reference.filter(|v| !v.is_empty()));
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
            if h.is_empty() || self.hostnames.contains(&h) {
                continue;
            }
            if vouched {
                self.suggested_hostnames.retain(|x| *x != h);
                self.hostnames.push(h);
            } else if !self.suggested_hostnames.contains(&h) && self.suggested_hostnames.len() < MAX_CONFLICTS {
                self.suggested_hostnames.push(h);
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
            shared_port: None,
            said_hikvision: self.vendor.as_deref() == Some("hikvision"),
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

/// Addresses at which more than one of these devices answers (by different ports).
pub fn shared_addresses(devices: &[Device]) -> std::collections::HashSet<std::net::IpAddr> {
    let mut seen = std::collections::HashSet::new();
    devices.iter().filter_map(|d| d.address).filter(|a| !seen.insert(*a)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_go_by_address_numerically_and_devices_without_one_come_last() {
        let device = |id: &str, address: Option<&str>| Device {
            id: id.into(),
            address: address.map(|a| a.parse().unwrap()),
            ..Device::default()
        };
        let mut all = vec![
            device("mac:3", None),
            device("mac:2", Some("127.1.0.10")),
            device("mac:1", Some("127.1.0.9")),
            device("mac:0", Some("127.1.0.10")),
        ];
        sort_by_address(&mut all);
        let ids: Vec<&str> = all.iter().map(|d| d.id.as_str()).collect();
        assert_eq!(ids, ["mac:1", "mac:0", "mac:2", "mac:3"]);
    }

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

    #[test]
    fn devices_behind_one_address_on_their_own_ports_are_neither_one_device_nor_a_conflict() {
        let on = |mac: &str, port: u16| Sighting {
            source: Some(Source::Import),
            address: at("192.0.2.40"),
            http_port: Some(port),
            mac: Some(mac.into()),
            ..Default::default()
        };
        let mut m = Merger::new(Vec::new());
        assert_eq!(m.merge(on("44:47:cc:00:00:41", 8081)), Merged::Device(0));
        assert_eq!(m.merge(on("44:47:cc:00:00:42", 8082)), Merged::Device(1));
        // A scan learns only the address and the port: it is the device on that port.
        let scanned = Sighting {
            source: Some(Source::Scan),
            address: at("192.0.2.40"),
            http_port: Some(8082),
            ..Default::default()
        };
        assert_eq!(m.merge(scanned), Merged::Device(1));
        // Someone else on a known device's own port is still a conflict.
        let mut impostor = on("02:00:00:00:00:01", 8081);
        impostor.source = Some(Source::Sadp);
        assert_eq!(m.merge(impostor), Merged::Conflict(0));
        let devices = m.devices();
        assert_eq!(devices.len(), 2);
        assert_eq!(shared_addresses(&devices), [at("192.0.2.40").unwrap()].into_iter().collect());
        let targets: Vec<_> = devices.iter().filter_map(|d| d.target()).map(|t| t.sharing(true).key()).collect();
        assert_eq!(targets, ["192.0.2.40:8081", "192.0.2.40:8082"]);
        assert_eq!(devices[0].target().unwrap().key(), "192.0.2.40", "alone at an address, keyed by it");
    }

    fn imported(ip: &str, mac: &str) -> Sighting {
        Sighting { source: Some(Source::Import), address: at(ip), mac: Some(mac.into()), ..Default::default() }
    }

    #[test]
    fn a_known_device_is_never_moved_or_renamed_by_a_sighting() {
        let mut m = Merger::new(Vec::new());
        m.merge(imported("192.0.2.10", "44:47:cc:00:00:10"));
        // Its MAC at another address: a conflict on the device, which stays where it is.
        let moved = Sighting {
            source: Some(Source::Sadp),
            address: at("192.0.2.66"),
            mac: Some("44-47-CC-00-00-10".into()),
            ..Default::default()
        };
        assert_eq!(m.merge(moved.clone()), Merged::Conflict(0));
        assert_eq!(m.merge(moved), Merged::Conflict(0), "the same claim again is the same conflict");
        // Someone else at its address: a conflict too, and nothing is added.
        let impostor = Sighting {
            source: Some(Source::Sadp),
            address: at("192.0.2.10"),
            mac: Some("02:00:00:00:00:01".into()),
            ..Default::default()
        };
        assert_eq!(m.merge(impostor), Merged::Conflict(0));
        // A serial learnt is kept; another serial for the same MAC is a conflict.
        let serial = |sn: &str| Sighting {
            source: Some(Source::Sadp),
            address: at("192.0.2.10"),
            mac: Some("44:47:cc:00:00:10".into()),
            serial: Some(sn.into()),
            ..Default::default()
        };
        assert_eq!(m.merge(serial("SN-REAL")), Merged::Device(0));
        assert_eq!(m.merge(serial("SN-FAKE")), Merged::Conflict(0));
        // The operator's own file moves it (a new address plan).
        assert_eq!(m.merge(imported("192.0.2.11", "44:47:cc:00:00:10")), Merged::Device(0));
        let devices = m.devices();
        assert_eq!(devices.len(), 1, "{devices:#?}");
        let d = &devices[0];
        assert_eq!((d.address, d.serial.as_deref(), d.confirmed), (at("192.0.2.11"), Some("SN-REAL"), true));
        let claims: Vec<&str> = d.conflicts.iter().map(|c| c.claim.as_str()).collect();
        assert_eq!(claims.len(), 3, "{claims:?}");
        assert!(claims[0].contains("seen at 192.0.2.66") && claims[1].contains("another device"), "{claims:?}");
    }

    #[test]
    fn discovery_confirms_nothing_and_its_names_are_suggestions_until_accepted() {
        let mut m = Merger::new(Vec::new());
        m.merge(Sighting {
            source: Some(Source::WsDiscovery),
            address: at("192.0.2.20"),
            endpoint_reference: Some("urn:uuid:20".into()),
            hostnames: vec!["bank-vault.example.com".into()],
            ..Default::default()
        });
        let mut d = m.devices().remove(0);
        assert!(!d.confirmed);
        assert!(d.hostnames.is_empty(), "a name a device announces goes into no certificate by itself");
        assert_eq!(d.suggested_hostnames, ["bank-vault.example.com"]);
        d.accept();
        assert!(d.confirmed && d.suggested_hostnames.is_empty());
        assert_eq!(d.hostnames, ["bank-vault.example.com"]);
    }

    #[test]
    fn conflicts_kept_per_device_are_bounded() {
        let mut m = Merger::new(Vec::new());
        m.merge(imported("192.0.2.30", "44:47:cc:00:00:30"));
        for i in 0..100u8 {
            let s = Sighting {
                address: at(&format!("198.51.100.{i}")),
                mac: Some("44:47:cc:00:00:30".into()),
                ..Default::default()
            };
            m.merge(s);
        }
        assert_eq!(m.get(0).map(|d| d.conflicts.len()), Some(MAX_CONFLICTS));
    }
}
