//! The inventory on disk: sled, one tree of devices keyed by their merge key. The API
//! speaks devices and sightings, never sled types.

use std::path::Path;

use super::{Device, Merged, Merger, Sighting, Source};
use crate::error::{Error, Result};

#[derive(Debug)]
pub struct Store {
    devices: sled::Tree,
    db: sled::Db,
}

fn local(e: impl std::fmt::Display) -> Error {
    Error::Local(format!("inventory: {e}"))
}

impl Store {
    pub fn open(home: &Path) -> Result<Store> {
        let db = crate::files::open_sled(&home.join("inventory.sled")).map_err(local)?;
        let devices = db.open_tree("devices").map_err(local)?;
        Ok(Store { devices, db })
    }

    pub fn all(&self) -> Result<Vec<Device>> {
        self.devices
            .iter()
            .values()
            .map(|v| v.map_err(local).and_then(|b| serde_json::from_slice(&b).map_err(local)))
            .collect()
    }

    /// The DNS names of every device that has some, by address: its certificate's SANs.
    pub fn hostnames(&self) -> Result<std::collections::HashMap<String, Vec<String>>> {
        Ok(self
            .all()?
            .into_iter()
            .filter(|d| !d.hostnames.is_empty())
            .filter_map(|d| Some((d.address?.to_string(), d.hostnames)))
            .collect())
    }

    /// Record the HTTPS port a device now serves (after `apply` moved it off HTTP). The
    /// HTTP port stays in the record: it is part of the device's name.
    /// `shared_port`: the device shares its address, and is the one with this port.
    pub fn set_https_port(&self, address: std::net::IpAddr, shared_port: Option<u16>, port: u16) -> Result<()> {
        let named = |d: &super::Device| shared_port.is_none_or(|p| d.http_port.or(d.https_port) == Some(p));
        for mut d in self.all()?.into_iter().filter(|d| d.address == Some(address) && named(d)) {
            d.https_port = Some(port);
            self.put(&d)?;
        }
        self.db.flush().map_err(local)?;
        Ok(())
    }

    /// [`Store::set_https_port`] for one device, by its inventory id: one record read and
    /// written, where the scan reads every device (once per device of an apply: quadratic).
    /// `false` when no device has that id (the caller falls back to the scan).
    pub fn set_https_port_of(&self, id: &str, port: u16) -> Result<bool> {
        let Some(v) = self.devices.get(id.as_bytes()).map_err(local)? else { return Ok(false) };
        let mut d: Device = serde_json::from_slice(&v).map_err(local)?;
        d.https_port = Some(port);
        self.put(&d)?;
        self.db.flush().map_err(local)?;
        Ok(true)
    }

    /// Write one device's record (the caller flushes).
    fn put(&self, d: &Device) -> Result<()> {
        self.devices.insert(d.id.as_bytes(), serde_json::to_vec(d).map_err(local)?).map_err(local)?;
        Ok(())
    }

    /// Note the address a device is about to be moved to (`None`: clear it).
    pub fn set_pending_address(&self, address: std::net::IpAddr, to: Option<std::net::IpAddr>) -> Result<()> {
        self.rewrite(address, |d| d.pending_address = to)
    }

    /// The device found at its new address: that is its address now.
    pub fn moved(&self, from: std::net::IpAddr, to: std::net::IpAddr) -> Result<()> {
        self.rewrite(from, |d| {
            d.address = Some(to);
            d.pending_address = None;
        })
    }

    fn rewrite(&self, address: std::net::IpAddr, change: impl Fn(&mut Device)) -> Result<()> {
        for mut d in self.all()?.into_iter().filter(|d| d.address == Some(address)) {
            change(&mut d);
            self.put(&d)?;
        }
        self.db.flush().map_err(local)?;
        Ok(())
    }

    /// Merge sightings into the stored inventory. Sightings that would add an
    /// unconfirmed device beyond [`MAX_UNCONFIRMED`] are dropped and counted: a flood of
    /// spoofed announcements cannot grow the inventory without bound.
    pub fn record(&self, sightings: Vec<Sighting>) -> Result<Recorded> {
        let mut merger = Merger::new(self.all()?);
        let before: Vec<String> = (0..merger.len()).filter_map(|i| merger.get(i).map(|d| d.id.clone())).collect();
        let mut touched = Vec::new();
        let mut conflicts = Vec::new();
        let mut dropped = 0;
        for s in sightings {
            let vouched = s.source == Some(Source::Import);
            if !vouched && merger.unconfirmed() >= MAX_UNCONFIRMED && merger.is_new(&s) {
                dropped += 1;
                continue;
            }
            let merged = merger.merge(s);
            if let Merged::Conflict(i) = merged {
                if !conflicts.contains(&i) {
                    conflicts.push(i);
                }
            } else if !touched.contains(&merged.index()) {
                touched.push(merged.index());
            }
        }
        let ids = |at: &[usize], m: &Merger| -> Vec<String> {
            at.iter().filter_map(|i| m.get(*i).map(|d| d.id.clone())).collect()
        };
        let (touched, conflicts) = (ids(&touched, &merger), ids(&conflicts, &merger));
        let all = merger.devices();
        let mut batch = sled::Batch::default();
        for id in before {
            if !all.iter().any(|d| d.id == id) {
                batch.remove(id.as_bytes());
            }
        }
        for d in &all {
            batch.insert(d.id.as_bytes(), serde_json::to_vec(d).map_err(local)?);
        }
        self.devices.apply_batch(batch).map_err(local)?;
        self.db.flush().map_err(local)?;
        let pick = |ids: &[String]| all.iter().filter(|d| ids.contains(&d.id)).cloned().collect::<Vec<_>>();
        Ok(Recorded { devices: pick(&touched), conflicts: pick(&conflicts), dropped })
    }

    /// The operator vouches for these devices (by id), or for every unconfirmed one.
    /// Returns the devices accepted.
    pub fn accept(&self, ids: Option<&[String]>) -> Result<Vec<Device>> {
        self.update_unconfirmed(ids, |batch, d| {
            d.accept();
            batch.insert(d.id.as_bytes(), serde_json::to_vec(d).map_err(local)?);
            Ok(())
        })
    }

    /// Forget unconfirmed devices (by id, or all of them): what a flood of spoofed
    /// announcements left, or cameras that are not the site's. Confirmed devices stay.
    pub fn reject(&self, ids: Option<&[String]>) -> Result<Vec<Device>> {
        self.update_unconfirmed(ids, |batch, d| {
            batch.remove(d.id.as_bytes());
            Ok(())
        })
    }

    fn update_unconfirmed(
        &self,
        ids: Option<&[String]>,
        mut change: impl FnMut(&mut sled::Batch, &mut Device) -> Result<()>,
    ) -> Result<Vec<Device>> {
        let mut batch = sled::Batch::default();
        let mut done = Vec::new();
        for mut d in self.all()? {
            let chosen = ids.map_or(!d.confirmed, |ids| ids.contains(&d.id));
            if chosen && !d.confirmed {
                change(&mut batch, &mut d)?;
                done.push(d);
            }
        }
        self.devices.apply_batch(batch).map_err(local)?;
        self.db.flush().map_err(local)?;
        Ok(done)
    }
}

/// The most unconfirmed devices the inventory holds (a site has 20–500 cameras).
pub const MAX_UNCONFIRMED: usize = 4096;

/// What recording sightings did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Recorded {
    /// The devices the sightings landed on, merged.
    pub devices: Vec<Device>,
    /// Known devices that sightings contradicted (each with its conflicts).
    pub conflicts: Vec<Device>,
    /// Sightings dropped because the inventory holds [`MAX_UNCONFIRMED`] unconfirmed devices.
    pub dropped: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_of_new_devices_stops_at_the_cap_and_the_imported_ones_still_land() {
        let home = std::env::temp_dir().join(format!("pc-store-cap-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let store = Store::open(&home).unwrap();
        let spoofed = (0..MAX_UNCONFIRMED + 500).map(|i| Sighting {
            source: Some(Source::WsDiscovery),
            endpoint_reference: Some(format!("urn:uuid:spoof-{i}")),
            address: Some(std::net::IpAddr::from([10, 99, (i / 250) as u8, (i % 250) as u8 + 1])),
            ..Default::default()
        });
        let mut batch: Vec<Sighting> = spoofed.collect();
        batch.push(Sighting {
            source: Some(Source::Import),
            address: Some([192, 0, 2, 1].into()),
            mac: Some("44:47:cc:00:00:01".into()),
            ..Default::default()
        });
        let recorded = store.record(batch).unwrap();
        assert_eq!(recorded.dropped, 500);
        let all = store.all().unwrap();
        assert_eq!(all.iter().filter(|d| !d.confirmed).count(), MAX_UNCONFIRMED);
        assert!(all.iter().any(|d| d.confirmed && d.mac.as_deref() == Some("44:47:cc:00:00:01")));
        // The operator clears what the flood left; the imported device stays.
        assert_eq!(store.reject(None).unwrap().len(), MAX_UNCONFIRMED);
        assert_eq!(store.all().unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn the_https_port_by_id_changes_that_device_as_the_scan_by_address_does() {
        let home = std::env::temp_dir().join(format!("pc-store-https-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let store = Store::open(&home).unwrap();
        let at = |last: u8, mac: &str| Sighting {
            source: Some(Source::Import),
            address: Some([192, 0, 2, last].into()),
            mac: Some(mac.into()),
            http_port: Some(80),
            ..Default::default()
        };
        store.record(vec![at(1, "44:47:cc:00:00:01"), at(2, "44:47:cc:00:00:02")]).unwrap();
        let one = store.all().unwrap().into_iter().find(|d| d.address == Some([192, 0, 2, 1].into())).unwrap();
        assert!(store.set_https_port_of(&one.id, 443).unwrap());
        store.set_https_port([192, 0, 2, 2].into(), None, 8443).unwrap();
        let ports: Vec<(Option<std::net::IpAddr>, Option<u16>, Option<u16>)> =
            store.all().unwrap().iter().map(|d| (d.address, d.http_port, d.https_port)).collect();
        assert!(ports.contains(&(Some([192, 0, 2, 1].into()), Some(80), Some(443))), "{ports:?}");
        assert!(ports.contains(&(Some([192, 0, 2, 2].into()), Some(80), Some(8443))), "{ports:?}");
        assert!(!store.set_https_port_of("mac:00:00:00:00:00:00", 443).unwrap(), "no such device: the caller scans");
        let _ = std::fs::remove_dir_all(&home);
    }
}
