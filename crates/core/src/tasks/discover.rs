//! The discovery task: sightings stream out as they arrive, then merge into the
//! inventory (one device per MAC, serial or endpoint reference).
//!
//! Nothing a discovery packet says is trusted: a new device is unconfirmed until the
//! operator accepts it; a sighting that contradicts a known device is a conflict, not
//! a move; repeated sightings count once, and a run keeps at most
//! [`MAX_SIGHTINGS`] distinct ones, so a flood of spoofed announcements is bounded.
//! Announcements nobody asked for may fill only [`MAX_ANNOUNCEMENTS`] of those, and
//! answers to our own probes reach the inventory first: a flood of Hellos cannot
//! crowd the real cameras out.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{Event, Sink};
use crate::discover::runner::{self, DiscoverOptions, Heard};
use crate::error::{Error, Result};
use crate::inventory::{Device, Merger, Sighting};
use crate::workspace::Workspace;

/// The most distinct sightings one run keeps (a site has 20–500 cameras, each seen by
/// two or three paths).
pub const MAX_SIGHTINGS: usize = 10_000;

/// The most unsolicited announcements (Hellos) one run keeps: half, so answers always
/// have room.
pub const MAX_ANNOUNCEMENTS: usize = MAX_SIGHTINGS / 2;

/// What discovery found.
#[derive(Debug, Clone, Serialize)]
pub struct Discovered {
    /// Distinct sightings kept.
    pub sightings: usize,
    /// Sightings not kept: repeats, and any beyond [`MAX_SIGHTINGS`] or the inventory's
    /// cap on unconfirmed devices.
    pub ignored: usize,
    /// The devices the sightings make, merged.
    pub devices: Vec<Device>,
    /// Known devices that sightings contradicted, with what they claimed.
    pub conflicts: Vec<Device>,
}

/// What a search found, counted (both shells' summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct DiscoverCounts {
    /// Distinct sightings kept.
    pub sightings: usize,
    /// Repeats, and sightings beyond the caps on what one run keeps.
    pub ignored: usize,
    pub devices: usize,
    /// New devices waiting for the person to accept them.
    pub unconfirmed: usize,
    /// Known devices a sighting contradicted.
    pub conflicts: usize,
}

impl Discovered {
    pub fn counts(&self) -> DiscoverCounts {
        DiscoverCounts {
            sightings: self.sightings,
            ignored: self.ignored,
            devices: self.devices.len(),
            unconfirmed: self.devices.iter().filter(|d| !d.confirmed).count(),
            conflicts: self.conflicts.len(),
        }
    }
}

/// How long a search listens for `seconds` asked: half a second to ten minutes (three
/// seconds for what is not a number).
pub fn listening_time(seconds: f64) -> Duration {
    let seconds = if seconds.is_nan() { 3.0 } else { seconds };
    Duration::from_secs_f64(seconds.clamp(0.5, 600.0))
}

/// Search as `opts` allows; every new sighting goes to `sink`, then all to the inventory.
/// `site` puts every device found on that site.
pub async fn run(
    ws: &Arc<Workspace>,
    opts: DiscoverOptions,
    site: Option<&str>,
    sink: &dyn Sink,
) -> Result<Discovered> {
    if !opts.wsd && !opts.sadp && opts.scan.is_empty() {
        return Err(Error::Input(
            "nothing to search with: switch on WS-Discovery or SADP, or give a range to scan".into(),
        ));
    }
    let mut rx = runner::discover(opts);
    let (mut answers, mut announcements) = (Vec::new(), Vec::new());
    let mut seen: HashSet<Sighting> = HashSet::new();
    let mut ignored = 0;
    while let Some((mut s, heard)) = rx.recv().await {
        if let Some(site) = site {
            s.site = Some(site.to_string());
        }
        // Keep listening to the end (the channel must drain), but keep nothing more.
        let full = match heard {
            Heard::Answer => seen.len() >= MAX_SIGHTINGS,
            Heard::Announcement => announcements.len() >= MAX_ANNOUNCEMENTS || seen.len() >= MAX_SIGHTINGS,
        };
        if full || !seen.insert(s.clone()) {
            ignored += 1;
            continue;
        }
        sink.event(Event::Sighting(Box::new(s.clone())));
        match heard {
            Heard::Answer => answers.push(s),
            Heard::Announcement => announcements.push(s),
        }
    }
    drop(seen);
    // Answers first: if the inventory's cap on unconfirmed devices is reached, what it
    // drops is announcements.
    let mut all = answers;
    all.append(&mut announcements);
    let sightings = all.len();
    let recorded = ws.store.record(all.clone())?;
    // The devices this run's sightings make by themselves (what the shells list).
    let mut merger = Merger::default();
    for s in all {
        merger.merge(s);
    }
    let devices = merger
        .devices()
        .into_iter()
        .map(|d| recorded.devices.iter().find(|r| r.id == d.id).cloned().unwrap_or(d))
        .collect();
    Ok(Discovered { sightings, ignored: ignored + recorded.dropped, devices, conflicts: recorded.conflicts })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_listens_half_a_second_to_ten_minutes_whatever_is_asked() {
        assert_eq!(listening_time(0.0), Duration::from_millis(500));
        assert_eq!(listening_time(-3.0), Duration::from_millis(500));
        assert_eq!(listening_time(2.5), Duration::from_millis(2500));
        assert_eq!(listening_time(f64::INFINITY), Duration::from_secs(600));
        assert_eq!(listening_time(f64::NAN), Duration::from_secs(3), "not a number, not a panic");
    }

    #[tokio::test]
    async fn a_search_with_nothing_to_search_with_is_refused_before_anything_is_sent() {
        let dir = tempfile::tempdir().unwrap();
        let file = crate::vault::FileVault::new(dir.path().join("vault.age"), crate::secret::Secret::new("p"))
            .with_work_factor(10);
        let ws = Arc::new(Workspace::open(dir.path(), crate::vault::Vault::new(Box::new(file), dir.path())).unwrap());
        let opts = DiscoverOptions { wsd: false, sadp: false, scan: Vec::new(), ..DiscoverOptions::default() };
        let e = run(&ws, opts, None, &|_: Event| {}).await.unwrap_err();
        assert!(matches!(e, Error::Input(ref m) if m.contains("nothing to search with")), "{e}");
    }
}
