//! Merging sightings into devices: indexed by each identity key, so each sighting
//! costs a few lookups; a sighting that contradicts a known device is a conflict kept
//! on it, never a move or a new identity.

use std::net::IpAddr;

use super::{nonempty, normalize_mac, Conflict, Device, Sighting, Source, MAX_CONFLICTS};

/// What became of one sighting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Merged {
    /// It landed on the device at this index (new, or known and consistent).
    Device(usize),
    /// It contradicted the device at this index (another address for its identity, or
    /// another identity for its identity): recorded there as a conflict, nothing moved.
    Conflict(usize),
}

impl Merged {
    pub fn index(&self) -> usize {
        match self {
            Merged::Device(i) | Merged::Conflict(i) => *i,
        }
    }
}

/// Sightings merged into devices through indexes by MAC, serial, endpoint reference
/// and address: each sighting costs a few lookups, not a pass over every device, so a
/// flood of spoofed announcements cannot make merging quadratic.
#[derive(Debug, Default)]
pub struct Merger {
    /// Folded devices leave a hole, so that indexes stay valid.
    slots: Vec<Option<Device>>,
    by_key: std::collections::HashMap<String, Vec<usize>>,
}

fn lower(v: Option<&str>) -> Option<String> {
    v.map(str::trim).filter(|v| !v.is_empty()).map(str::to_ascii_lowercase)
}

impl Merger {
    pub fn new(devices: Vec<Device>) -> Merger {
        let mut m = Merger::default();
        for d in devices {
            m.slots.push(Some(d));
            m.index(m.slots.len() - 1);
        }
        m
    }

    /// The devices, in the order they were first seen.
    pub fn devices(self) -> Vec<Device> {
        self.slots.into_iter().flatten().collect()
    }

    pub fn get(&self, i: usize) -> Option<&Device> {
        self.slots.get(i).and_then(Option::as_ref)
    }

    pub fn len(&self) -> usize {
        self.slots.iter().flatten().count()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn keys(mac: Option<&str>, serial: Option<&str>, epr: Option<&str>, address: Option<IpAddr>) -> Vec<String> {
        let mut keys = Vec::new();
        if let Some(m) = mac.and_then(normalize_mac) {
            keys.push(format!("mac:{m}"));
        }
        if let Some(v) = lower(serial) {
            keys.push(format!("sn:{v}"));
        }
        if let Some(v) = lower(epr) {
            keys.push(format!("epr:{v}"));
        }
        if let Some(a) = address {
            keys.push(format!("ip:{a}"));
        }
        keys
    }

    fn index(&mut self, i: usize) {
        let Some(d) = self.get(i) else { return };
        for k in Self::keys(d.mac.as_deref(), d.serial.as_deref(), d.endpoint_reference.as_deref(), d.address) {
            let slot = self.by_key.entry(k).or_default();
            if !slot.contains(&i) {
                slot.push(i);
            }
        }
    }

    /// Devices the sighting could be: the indexes hold every device sharing a key.
    fn candidates(&self, s: &Sighting) -> Vec<usize> {
        let mut found: Vec<usize> =
            Self::keys(s.mac.as_deref(), s.serial.as_deref(), s.endpoint_reference.as_deref(), s.address)
                .iter()
                .filter_map(|k| self.by_key.get(k))
                .flatten()
                .copied()
                .filter(|i| self.get(*i).is_some())
                .collect();
        found.sort_unstable();
        found.dedup();
        found
    }

    /// How many devices are unconfirmed (the cap on what discovery may add applies).
    pub fn unconfirmed(&self) -> usize {
        self.slots.iter().flatten().filter(|d| !d.confirmed).count()
    }

    /// Whether the sighting would make a new device.
    pub fn is_new(&self, s: &Sighting) -> bool {
        !self.candidates(s).iter().any(|i| self.get(*i).is_some_and(|d| d.matches(s) || d.contradicted_by(s).is_some()))
    }

    /// Merge one sighting. A sighting that contradicts a known device (its identity at
    /// another address, or another identity where its own is known) is a conflict: kept
    /// on that device, nothing merged. Two devices a sighting proves to be one (same MAC
    /// as one, same address as another, nothing contradicting) are folded together.
    pub fn merge(&mut self, s: Sighting) -> Merged {
        let candidates = self.candidates(&s);
        for &i in &candidates {
            let claim = self.get(i).and_then(|d| d.contradicted_by(&s));
            if let (Some(claim), Some(Some(d))) = (claim, self.slots.get_mut(i)) {
                d.note_conflict(Conflict { source: s.source, claim });
                return Merged::Conflict(i);
            }
        }
        let hits: Vec<usize> = candidates.into_iter().filter(|i| self.get(*i).is_some_and(|d| d.matches(&s))).collect();
        let Some((&first, rest)) = hits.split_first() else {
            let mut d = Device { confirmed: false, ..Device::default() };
            d.absorb(s);
            self.slots.push(Some(d));
            self.index(self.slots.len() - 1);
            return Merged::Device(self.slots.len() - 1);
        };
        for &i in rest {
            let Some(other) = self.slots.get_mut(i).and_then(Option::take) else { continue };
            if let Some(Some(d)) = self.slots.get_mut(first) {
                d.fold(other);
            }
        }
        if let Some(Some(d)) = self.slots.get_mut(first) {
            d.absorb(s);
        }
        self.index(first);
        Merged::Device(first)
    }
}

impl Device {
    /// What in the sighting contradicts this device, if anything: its MAC, serial or
    /// endpoint reference seen at another address, or, at its address, an identity other
    /// than its own where both are known and nothing else ties them.
    fn contradicted_by(&self, s: &Sighting) -> Option<String> {
        let same = |a: Option<&str>, b: Option<&str>| matches!((a, b), (Some(x), Some(y)) if x.eq_ignore_ascii_case(y));
        let mac = s.mac.as_deref().and_then(normalize_mac);
        let by_identity = same(nonempty(&self.mac), mac.as_deref())
            || same(nonempty(&self.serial), nonempty(&s.serial))
            || same(nonempty(&self.endpoint_reference), nonempty(&s.endpoint_reference));
        if by_identity {
            // The operator's own inventory file may move a device (a new address plan);
            // a device's word may not.
            let vouched = s.source == Some(Source::Import);
            if let (Some(known), Some(seen), false) = (self.address, s.address, vouched) {
                if known != seen {
                    return Some(format!("seen at {seen}, known at {known}"));
                }
            }
            let differs =
                |a: Option<&str>, b: Option<&str>| matches!((a, b), (Some(x), Some(y)) if !x.eq_ignore_ascii_case(y));
            if differs(nonempty(&self.mac), mac.as_deref()) {
                return Some(format!("claims MAC {}", mac.unwrap_or_default()));
            }
            if differs(nonempty(&self.serial), nonempty(&s.serial)) {
                return Some(format!("claims serial {}", s.serial.as_deref().unwrap_or_default()));
            }
            if differs(nonempty(&self.endpoint_reference), nonempty(&s.endpoint_reference)) {
                return Some(format!(
                    "claims endpoint reference {}",
                    s.endpoint_reference.as_deref().unwrap_or_default()
                ));
            }
            return None;
        }
        // At this device's address, someone else: a replaced camera, or an impostor.
        // Devices behind one address on ports of their own are not each other's.
        let other_port = matches!((self.http_port, s.http_port), (Some(a), Some(b)) if a != b);
        if self.confirmed && self.address.is_some() && self.address == s.address && !other_port {
            let differs =
                |a: Option<&str>, b: Option<&str>| matches!((a, b), (Some(x), Some(y)) if !x.eq_ignore_ascii_case(y));
            if differs(nonempty(&self.mac), mac.as_deref()) || differs(nonempty(&self.serial), nonempty(&s.serial)) {
                let who = mac.or_else(|| s.serial.clone()).unwrap_or_default();
                return Some(format!("{ANOTHER_AT_ADDRESS}{who}) answers at its address"));
            }
        }
        None
    }

    fn note_conflict(&mut self, c: Conflict) {
        if self.conflicts.contains(&c) {
            return;
        }
        if self.conflicts.len() >= MAX_CONFLICTS {
            self.conflicts.remove(0);
        }
        self.conflicts.push(c);
    }

    /// Take in a device found to be this one.
    fn fold(&mut self, other: Device) {
        let confirmed = self.confirmed || other.confirmed;
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
            hostnames: Vec::new(),
        };
        self.absorb(as_sighting);
        for h in other.hostnames {
            if !self.hostnames.contains(&h) {
                self.hostnames.push(h);
            }
        }
        for h in other.suggested_hostnames {
            if !self.suggested_hostnames.contains(&h) && !self.hostnames.contains(&h) {
                self.suggested_hostnames.push(h);
            }
        }
        for c in other.conflicts {
            self.note_conflict(c);
        }
        self.seen_by.extend(other.seen_by);
        self.confirmed = confirmed;
        self.id = self.key();
    }

    /// The operator vouches for it: confirmed, and the names it announced become names
    /// it is reached by. Its conflicts are kept (they are history, not a state).
    pub fn accept(&mut self) {
        self.confirmed = true;
        for h in std::mem::take(&mut self.suggested_hostnames) {
            if !self.hostnames.contains(&h) {
                self.hostnames.push(h);
            }
        }
    }
}

/// Merge a sighting into a list of devices (see [`Merger::merge`]); returns where it
/// landed. For a few devices; the inventory itself goes through a [`Merger`].
/// How a conflict claim about another device at this one's address begins.
const ANOTHER_AT_ADDRESS: &str = "another device (";

/// The other device (its MAC, else its serial) a conflict says answers at this one's
/// address: cameras that share a factory address, told apart only at layer 2.
pub fn other_at_address(claim: &str) -> Option<&str> {
    claim.strip_prefix(ANOTHER_AT_ADDRESS)?.split_once(") answers at its address").map(|(who, _)| who)
}

pub fn merge(devices: &mut Vec<Device>, s: Sighting) -> Merged {
    let mut m = Merger::new(std::mem::take(devices));
    let merged = m.merge(s);
    // Indexes shift when folded devices leave: find the device again by its id.
    let id = m.get(merged.index()).map(|d| d.id.clone());
    *devices = m.devices();
    let i = devices.iter().position(|d| Some(&d.id) == id.as_ref()).unwrap_or(0);
    match merged {
        Merged::Device(_) => Merged::Device(i),
        Merged::Conflict(_) => Merged::Conflict(i),
    }
}
