//! One value per device for one run, shared by every clone of the run's client: the
//! login guards ([`super::login`]), the lanes ([`super::lanes`]) and the first-contact
//! gates of the transport all keep their per-device state here, keyed by
//! [`super::Target::key`] (or `host:port`).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The values of one run, by device key. Clones share the map.
#[derive(Debug)]
pub struct PerDevice<T>(Arc<Mutex<HashMap<String, Arc<T>>>>);

impl<T> Default for PerDevice<T> {
    fn default() -> Self {
        PerDevice(Arc::default())
    }
}

impl<T> Clone for PerDevice<T> {
    fn clone(&self) -> Self {
        PerDevice(self.0.clone())
    }
}

impl<T> PerDevice<T> {
    /// The device's value, if it has one.
    pub fn get(&self, key: &str) -> Option<Arc<T>> {
        self.0.lock().ok()?.get(key).cloned()
    }

    /// Give the device `value` (for its sessions made from now on).
    pub fn set(&self, key: &str, value: T) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(key.to_string(), Arc::new(value));
        }
    }

    /// The device's value, made with `make` the first time it is asked for: every
    /// caller gets the same one. `None` only when a thread panicked holding the map.
    pub fn get_or_insert_with(&self, key: &str, make: impl FnOnce() -> T) -> Option<Arc<T>> {
        let mut map = self.0.lock().ok()?;
        Some(map.entry(key.to_string()).or_insert_with(|| Arc::new(make())).clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clones_share_one_value_per_device() {
        let run: PerDevice<u8> = PerDevice::default();
        let clone = run.clone();
        let first = run.get_or_insert_with("127.1.0.1", || 1).unwrap();
        assert!(Arc::ptr_eq(&first, &clone.get_or_insert_with("127.1.0.1", || 2).unwrap()), "made once");
        assert_eq!(clone.get("127.1.0.2"), None);
        clone.set("127.1.0.2", 7);
        assert_eq!(run.get("127.1.0.2").as_deref(), Some(&7));
        run.set("127.1.0.1", 3);
        assert_eq!(clone.get("127.1.0.1").as_deref(), Some(&3), "set replaces for later callers");
        assert_eq!(*first, 1, "an earlier caller keeps what it got");
    }
}
