//! How many exchanges one device may have in flight at once: its "lanes". HTTP/1.1 has
//! no multiplexing, so a device's exchanges in flight are the connections it has in use
//! (the pool may keep one idle for 250 ms beside them; the simulator's counters show
//! one connection per camera at one lane, at 300 to 5,000 cameras). An audit
//! shares a budget of connections ([`crate::audit::CONNECTIONS_AT_ONCE`]) out among the
//! devices it talks to at once: a fleet that fills the budget gets one keep-alive
//! connection per camera (issue #19), a small one keeps its parallel reads. A device
//! the scheduler has not limited has no limit.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The most lanes a device gets: the ONVIF reads go eight at a time, the ISAPI ones four.
pub const MOST_PER_DEVICE: usize = 8;

/// The lanes of one device.
pub type DeviceLanes = Semaphore;

/// A lane held for one exchange (or a digest challenge and its answer).
#[derive(Debug)]
pub struct Lane {
    _permit: OwnedSemaphorePermit,
}

/// The lanes of one run, per device (by [`super::Target::key`]).
#[derive(Debug, Clone, Default)]
pub struct Lanes(super::per_device::PerDevice<DeviceLanes>);

impl Lanes {
    /// Give the device known as `key` `n` lanes (as [`share`] gives them: at least one,
    /// or its exchanges would wait for ever, at most [`MOST_PER_DEVICE`]) for its sessions
    /// made from now on.
    pub fn limit(&self, key: &str, n: usize) {
        self.0.set(key, Semaphore::new(n.clamp(1, MOST_PER_DEVICE)));
    }

    /// The device's lanes, if the run limited them.
    pub fn of(&self, key: &str) -> Option<Arc<DeviceLanes>> {
        self.0.get(key)
    }
}

/// A lane for one exchange of a device; none needed where the device has no limit.
pub async fn take(lanes: Option<&Arc<DeviceLanes>>) -> Option<Lane> {
    // The semaphore is never closed: acquiring cannot fail.
    lanes?.clone().acquire_owned().await.ok().map(|p| Lane { _permit: p })
}

/// Lanes for each device of a run: the run's connections shared out among the devices
/// it talks to at once, one each at least. (A run keeps `devices_at_once` talking until
/// the last has started, so the share is the same for every device.)
pub fn share(connections: usize, devices_at_once: usize) -> usize {
    (connections / devices_at_once.max(1)).clamp(1, MOST_PER_DEVICE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn many_devices_get_one_lane_each_and_a_few_get_several() {
        assert_eq!(share(512, 512), 1, "a large fleet: one connection per camera");
        assert_eq!(share(512, 300), 1);
        assert_eq!(share(512, 100), 5, "a small fleet keeps parallel reads");
        assert_eq!(share(512, 3), MOST_PER_DEVICE);
        assert_eq!(share(512, 2000), 1, "never fewer than one");
        assert_eq!(share(512, 0), MOST_PER_DEVICE);
    }

    #[tokio::test]
    async fn a_limited_device_has_that_many_exchanges_in_flight_and_others_no_limit() {
        let lanes = Lanes::default();
        lanes.limit("127.1.0.1", 1);
        let one = lanes.of("127.1.0.1");
        let first = take(one.as_ref()).await;
        assert!(first.is_some());
        let second = tokio::time::timeout(Duration::from_millis(50), take(one.as_ref())).await;
        assert!(second.is_err(), "the second exchange waits for the first");
        drop(first);
        assert!(take(one.as_ref()).await.is_some(), "then goes");
        assert!(lanes.of("127.1.0.2").is_none(), "a device the run did not limit");
        assert!(take(None).await.is_none());
        let clone = lanes.clone();
        clone.limit("127.1.0.3", 0);
        assert_eq!(lanes.of("127.1.0.3").map(|s| s.available_permits()), Some(1), "clones share; one lane at least");
        clone.limit("127.1.0.3", 99);
        assert_eq!(lanes.of("127.1.0.3").map(|s| s.available_permits()), Some(MOST_PER_DEVICE), "at most eight");
    }
}
