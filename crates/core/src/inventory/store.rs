//! The inventory on disk: sled, one tree of devices keyed by their merge key. The API
//! speaks devices and sightings, never sled types.

use std::path::Path;

use super::{merge, Device, Sighting};
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
        let db = sled::open(home.join("inventory.sled")).map_err(local)?;
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
    pub fn set_https_port(&self, address: std::net::IpAddr, port: u16) -> Result<()> {
        for mut d in self.all()?.into_iter().filter(|d| d.address == Some(address)) {
            d.https_port = Some(port);
            self.devices.insert(d.id.as_bytes(), serde_json::to_vec(&d).map_err(local)?).map_err(local)?;
        }
        self.db.flush().map_err(local)?;
        Ok(())
    }

    /// Merge sightings into the stored inventory; returns the merged devices touched.
    pub fn record(&self, sightings: Vec<Sighting>) -> Result<Vec<Device>> {
        let mut all = self.all()?;
        let before: Vec<String> = all.iter().map(|d| d.id.clone()).collect();
        let mut touched = Vec::new();
        for s in sightings {
            let i = merge(&mut all, s);
            if let Some(id) = all.get(i).map(|d| d.id.clone()) {
                if !touched.contains(&id) {
                    touched.push(id);
                }
            }
        }
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
        Ok(all.into_iter().filter(|d| touched.contains(&d.id)).collect())
    }
}
