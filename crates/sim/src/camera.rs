//! One running simulated camera: its state, its fault switches, and the supervisor
//! that keeps its listeners in line with its state.

use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::Duration;

use rand::RngCore;

use crate::auth::NonceKey;
use crate::faults::Faults;
use crate::listeners::{Listeners, Port};
use crate::state::CameraState;

/// Run-time settings that are not part of the camera's own configuration.
#[derive(Debug, Clone)]
pub struct Settings {
    pub reboot_duration: Duration,
    /// How long writing a firmware image to flash takes.
    pub flash_duration: Duration,
    /// How long making a key pair, a CSR or a self-signed certificate takes.
    pub key_generation: Duration,
    pub multicast: bool,
    pub multicast_interface: Ipv4Addr,
    pub wsd_max_delay: Duration,
}

/// What clients cost a camera, counted as they come (issue #19: connections and TLS
/// handshakes per camera per audit).
#[derive(Debug, Default)]
pub struct Traffic {
    /// TCP connections to the web ports (HTTP and HTTPS) that passed the IP filter.
    pub connections: std::sync::atomic::AtomicU64,
    /// Full TLS handshakes.
    pub tls_full: std::sync::atomic::AtomicU64,
    /// Resumed TLS handshakes (a session ticket or id).
    pub tls_resumed: std::sync::atomic::AtomicU64,
    /// HTTP requests answered.
    pub requests: std::sync::atomic::AtomicU64,
}

/// A copy of the counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
pub struct TrafficCount {
    pub connections: u64,
    pub tls_full: u64,
    pub tls_resumed: u64,
    pub requests: u64,
}

impl Traffic {
    pub fn count(&self) -> TrafficCount {
        use std::sync::atomic::Ordering::Relaxed;
        TrafficCount {
            connections: self.connections.load(Relaxed),
            tls_full: self.tls_full.load(Relaxed),
            tls_resumed: self.tls_resumed.load(Relaxed),
            requests: self.requests.load(Relaxed),
        }
    }
}

#[derive(Debug)]
pub struct Camera {
    /// Connections, handshakes and requests so far.
    pub traffic: Traffic,
    state: Mutex<CameraState>,
    faults: Mutex<Faults>,
    listeners: Mutex<Listeners>,
    pub(crate) nonce_key: NonceKey,
    pub(crate) settings: Settings,
    pub(crate) realm: String,
    me: Weak<Camera>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock must not take the whole fleet down with it.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Camera {
    pub(crate) fn new(state: CameraState, faults: Faults, settings: Settings) -> Arc<Camera> {
        let mut key = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut key);
        let realm = match state.identity.vendor {
            crate::state::Vendor::Hikvision => format!("DS-{}", &hex::encode(&key[..4])),
            crate::state::Vendor::Generic => state.identity.model.clone(),
        };
        Arc::new_cyclic(|me| Camera {
            traffic: Traffic::default(),
            state: Mutex::new(state),
            faults: Mutex::new(faults),
            listeners: Mutex::new(Listeners::default()),
            nonce_key: NonceKey(key),
            settings,
            realm,
            me: me.clone(),
        })
    }

    /// Lock the camera's state. Never hold the guard across an `.await`.
    pub fn state(&self) -> MutexGuard<'_, CameraState> {
        lock(&self.state)
    }

    /// A copy of the current fault switches.
    pub fn faults(&self) -> Faults {
        lock(&self.faults).clone()
    }

    /// Replace the fault switches; takes effect on the next request.
    pub fn set_faults(&self, faults: Faults) {
        *lock(&self.faults) = faults;
    }

    /// Change the fault switches in place (and fire one-shot triggers).
    pub(crate) fn with_faults<R>(&self, f: impl FnOnce(&mut Faults) -> R) -> R {
        f(&mut lock(&self.faults))
    }

    pub fn address(&self) -> Ipv4Addr {
        self.state().address
    }

    /// The device clock: the host clock, plus the manual setting, plus any skew fault.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        let offset = self.state().time.manual_offset_s;
        let skew = lock(&self.faults).clock_skew_s;
        chrono::Utc::now() + chrono::Duration::seconds(offset.saturating_add(skew))
    }

    /// The port a listener is bound to right now, if it is open.
    pub fn open_port(&self, port: Port) -> Option<u16> {
        lock(&self.listeners).open_port(port)
    }

    /// Open and close listeners so they match the state. Returns the first bind error.
    pub(crate) fn reconcile(&self) -> std::io::Result<()> {
        let Some(me) = self.me.upgrade() else {
            return Ok(());
        };
        let desired = crate::listeners::desired(&self.state());
        let result = lock(&self.listeners).reconcile(&me, &desired);
        // In ephemeral mode the OS chose the ports: the camera reports what it listens on.
        let assigned = lock(&self.listeners).assigned();
        crate::listeners::write_back_ports(&mut self.state(), &assigned);
        result
    }

    /// Reconcile shortly after the current request was answered, so the answer to
    /// "switch HTTP off" still reaches the client over HTTP.
    pub(crate) fn reconcile_soon(&self) {
        let Some(me) = self.me.upgrade() else { return };
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            if let Err(e) = me.reconcile() {
                tracing::warn!(camera = %me.address(), "reconcile: {e}");
            }
        });
    }

    /// Reboot: every listener closes, pending port changes apply, and after the
    /// configured time the camera comes back (WS-Discovery InstanceId increments).
    pub fn reboot(&self) {
        {
            let mut st = self.state();
            if !st.online {
                return;
            }
            st.online = false;
            st.boot_count = st.boot_count.wrapping_add(1);
            st.message_number = 0;
            st.need_reboot = false;
            st.failures.clear();
            if let Some(pending) = st.pending_access.take() {
                st.access = pending;
            }
        }
        // A new address: every listener goes from the old one (closed for good) and
        // opens on the new one when the camera is back, unless the fault keeps it.
        let moving = {
            let mut st = self.state();
            let kept = self.with_faults(|f| f.address_change_lost);
            match st.pending_address.take() {
                Some(to) if !kept => {
                    st.address = to.address;
                    st.network.prefix = to.prefix;
                    st.network.dhcp = false;
                    true
                }
                _ => false,
            }
        };
        if moving {
            lock(&self.listeners).close_all();
        }
        if let Err(e) = self.reconcile() {
            tracing::warn!("reconcile on reboot: {e}");
        }
        let Some(me) = self.me.upgrade() else { return };
        let wait = self.settings.reboot_duration;
        tokio::spawn(async move {
            tokio::time::sleep(wait).await;
            me.state().online = true;
            if let Err(e) = me.reconcile() {
                tracing::warn!(camera = %me.address(), "reconcile after reboot: {e}");
            }
        });
    }

    /// Once the image is written: install it and restart into it (faults permitting).
    pub(crate) fn finish_upgrade_after(&self, to: crate::firmware::Flashing) {
        let Some(me) = self.me.upgrade() else { return };
        tokio::spawn(async move {
            tokio::time::sleep(to.takes).await;
            {
                let mut st = me.state();
                match me.with_faults(|f| f.firmware_version_unchanged) {
                    // It restarts into the image it had: the flash write did not take.
                    true => st.upgrading = None,
                    false => crate::firmware::install(&mut st, &to),
                }
            }
            if me.with_faults(|f| f.firmware_reboot_hangs) {
                me.go_dark();
            } else {
                me.reboot();
            }
        });
    }

    /// Off the network for good: a restart that never ends.
    fn go_dark(&self) {
        {
            let mut st = self.state();
            st.online = false;
        }
        if let Err(e) = self.reconcile() {
            tracing::warn!("reconcile going dark: {e}");
        }
    }

    /// Reboot a little later, after the answer to a reboot request went out.
    pub(crate) fn reboot_soon(&self) {
        let Some(me) = self.me.upgrade() else { return };
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(50)).await;
            me.reboot();
        });
    }

    pub fn is_online(&self) -> bool {
        self.state().online
    }

    /// Close every listener for good (sends WS-Discovery Bye where it was on).
    pub(crate) fn shutdown(&self) {
        lock(&self.listeners).close_all();
    }
}
