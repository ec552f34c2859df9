//! How many exchanges one device may have in flight at once: its "lanes". HTTP/1.1 has
//! no multiplexing, so a device's exchanges in flight are the connections it has in use
//! (the pool may keep one idle for 250 ms beside them; the simulator's counters show
//! one connection per camera at one lane, at 300 to 5,000 cameras). An audit
//! shares a budget of connections ([`crate::audit::CONNECTIONS_AT_ONCE`]) out among the
//! devices it talks to at once: a fleet that fills the budget gets one keep-alive
//! connection per camera (issue #19), a small one keeps its parallel reads. A device
//! the scheduler has not limited has no limit. A device that wants a fresh digest
//! challenge before every request gets a few lanes more ([`DeviceLanes::widen`]).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The most lanes a device gets: the ONVIF reads go eight at a time, the ISAPI ones four.
pub const MOST_PER_DEVICE: usize = 8;

/// The lanes a device that asks a fresh challenge for every request is widened to. Two
/// bring such a camera's round trips (about 46 at one lane) to those of a camera that
/// takes reuse (about 26): 1,000 cameras at 50 ms took 3.5–3.9 s instead of 4.4–4.6.
/// Their connections cost about 12 MB at 5,000 cameras (paid for by the deflated
/// snapshot, `snapshots::Deflater`); four lanes took 1,000 cameras from 81 MB to 100 MB.
/// At the defaults (512 cameras at once, 768 connections) the three in ten of a mixed
/// fleet that refuse reuse fit their second lanes in the 256 connections left over.
pub const FOR_FRESH_CHALLENGES: usize = 2;

/// The lanes of one device.
#[derive(Debug)]
pub struct DeviceLanes {
    open: Arc<Semaphore>,
    /// How many it was given.
    given: usize,
    widened: AtomicBool,
}

impl DeviceLanes {
    fn new(n: usize) -> DeviceLanes {
        let given = n.clamp(1, MOST_PER_DEVICE);
        DeviceLanes { open: Arc::new(Semaphore::new(given)), given, widened: AtomicBool::new(false) }
    }

    /// The device refused a reused digest challenge, so each of its requests is now two
    /// exchanges (a 401 with a fresh challenge, then the answer) whatever its lanes: a
    /// lane more costs it no request, only a connection (a resumed TLS session), and
    /// its reads no longer wait two round trips each behind one another. It is widened
    /// once, to [`FOR_FRESH_CHALLENGES`] (within the descriptors each device is counted
    /// for, [`super::descriptors`]); a device given more keeps them.
    pub fn widen(&self) {
        if !self.widened.swap(true, Ordering::SeqCst) {
            self.open.add_permits(FOR_FRESH_CHALLENGES.saturating_sub(self.given));
        }
    }

    /// The lanes free now.
    pub fn free(&self) -> usize {
        self.open.available_permits()
    }
}

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
        self.0.set(key, DeviceLanes::new(n));
    }

    /// The device's lanes, if the run limited them.
    pub fn of(&self, key: &str) -> Option<Arc<DeviceLanes>> {
        self.0.get(key)
    }
}

/// A lane for one exchange of a device; none needed where the device has no limit.
pub async fn take(lanes: Option<&Arc<DeviceLanes>>) -> Option<Lane> {
    // The semaphore is never closed: acquiring cannot fail.
    lanes?.open.clone().acquire_owned().await.ok().map(|p| Lane { _permit: p })
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
        assert_eq!(lanes.of("127.1.0.3").map(|s| s.free()), Some(1), "clones share; one lane at least");
        clone.limit("127.1.0.3", 99);
        assert_eq!(lanes.of("127.1.0.3").map(|s| s.free()), Some(MOST_PER_DEVICE), "at most eight");
    }

    #[tokio::test]
    async fn a_device_asking_fresh_challenges_is_widened_once_and_never_narrowed() {
        let lanes = Lanes::default();
        lanes.limit("one", 1);
        lanes.limit("six", 6);
        let one = lanes.of("one").unwrap();
        let held = take(Some(&one)).await;
        one.widen();
        assert_eq!(one.free(), FOR_FRESH_CHALLENGES - 1, "the rest beside the one in use");
        one.widen();
        assert_eq!(one.free(), FOR_FRESH_CHALLENGES - 1, "once only");
        drop(held);
        assert_eq!(one.free(), FOR_FRESH_CHALLENGES);
        let six = lanes.of("six").unwrap();
        six.widen();
        assert_eq!(six.free(), 6, "a device with more lanes keeps them");
    }
}
