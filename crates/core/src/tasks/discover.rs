//! The discovery task: sightings stream out as they arrive, then merge into the
//! inventory (one device per MAC, serial or endpoint reference).

use std::sync::Arc;

use serde::Serialize;

use super::{Event, Sink};
use crate::discover::runner::{self, DiscoverOptions};
use crate::error::Result;
use crate::inventory::{merge, Device};
use crate::workspace::Workspace;

/// What discovery found.
#[derive(Debug, Clone, Serialize)]
pub struct Discovered {
    pub sightings: usize,
    /// The devices the sightings make, merged.
    pub devices: Vec<Device>,
}

/// Search as `opts` allows; every sighting goes to `sink`, then all to the inventory.
/// `site` puts every device found on that site.
pub async fn run(
    ws: &Arc<Workspace>,
    opts: DiscoverOptions,
    site: Option<&str>,
    sink: &dyn Sink,
) -> Result<Discovered> {
    let mut rx = runner::discover(opts);
    let mut all = Vec::new();
    while let Some(mut s) = rx.recv().await {
        if let Some(site) = site {
            s.site = Some(site.to_string());
        }
        sink.event(Event::Sighting(Box::new(s.clone())));
        all.push(s);
    }
    let mut devices = Vec::new();
    for s in &all {
        merge(&mut devices, s.clone());
    }
    let sightings = all.len();
    ws.store.record(all)?;
    Ok(Discovered { sightings, devices })
}
