//! The login budget: one refused login per device per run, whatever the path.
//!
//! Cameras lock an account (or the caller's address) after a few refused logins. Every
//! connection a run opens to a device — the apply's own, a recovery, the proof that an
//! old password is refused, reads in parallel — shares that device's [`LoginGuard`],
//! taken from the run's [`Guards`] (held by the run's HTTP client). After one refusal
//! only credentials the device already accepted in this run are sent; anything else is
//! withheld without touching the device. Until a set of credentials has been accepted
//! once, their logins go one at a time, so that parallel reads cannot each draw a
//! refusal.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use sha2::{Digest, Sha256};

use crate::secret::Credentials;

/// One device's budget for one run.
#[derive(Debug, Default)]
pub struct LoginGuard {
    refused: AtomicBool,
    /// Digests (never the passwords) of credentials the device accepted in this run.
    accepted: Mutex<HashSet<[u8; 32]>>,
    /// Held by the one login in flight with credentials not yet accepted.
    first_login: tokio::sync::Mutex<()>,
    /// Digest challenges the device took a login with, for later reads to reuse.
    pub(crate) nonces: super::nonces::Nonces,
}

/// Leave to send a login: for credentials already accepted, or the one first try.
#[must_use]
pub(crate) enum Turn<'a> {
    Accepted,
    /// The first try with these credentials; others wait until it is answered.
    First(#[allow(dead_code)] tokio::sync::MutexGuard<'a, ()>),
}

impl LoginGuard {
    /// A guard whose device's reads may answer a challenge it gave before
    /// ([`super::nonces`]); [`LoginGuard::default`] asks for a fresh one every time.
    pub fn reusing_challenges() -> LoginGuard {
        LoginGuard { nonces: super::nonces::Nonces::new(true), ..LoginGuard::default() }
    }

    /// Whether the device refused a login in this run.
    pub fn refused(&self) -> bool {
        self.refused.load(Ordering::SeqCst)
    }

    /// Leave to log in with `creds`, or `None` when that could draw a second refusal.
    pub(crate) async fn turn(&self, creds: &Credentials) -> Option<Turn<'_>> {
        if self.was_accepted(creds) {
            return Some(Turn::Accepted);
        }
        let first = self.first_login.lock().await;
        if self.was_accepted(creds) {
            return Some(Turn::Accepted);
        }
        if self.refused() {
            return None;
        }
        Some(Turn::First(first))
    }

    /// The device accepted `creds`: later calls with them need not wait.
    pub(crate) fn accept(&self, creds: &Credentials) {
        if let Ok(mut a) = self.accepted.lock() {
            a.insert(digest(creds));
        }
    }

    /// The device refused `creds`: the budget is spent, and these credentials are no
    /// longer known good (a password the run itself just changed).
    pub(crate) fn refuse(&self, creds: &Credentials) {
        self.refused.store(true, Ordering::SeqCst);
        if let Ok(mut a) = self.accepted.lock() {
            a.remove(&digest(creds));
        }
    }

    fn was_accepted(&self, creds: &Credentials) -> bool {
        self.accepted.lock().map(|a| a.contains(&digest(creds))).unwrap_or(false)
    }
}

fn digest(creds: &Credentials) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(creds.username.as_bytes());
    h.update([0]);
    h.update(creds.password.expose().as_bytes());
    h.finalize().into()
}

/// The guards of one run, one per device (by [`super::Target::key`]).
#[derive(Debug, Clone, Default)]
pub struct Guards {
    devices: super::per_device::PerDevice<LoginGuard>,
    /// Whether the run's reads may reuse a device's digest challenge ([`super::nonces`]).
    reuse: Arc<AtomicBool>,
}

impl Guards {
    /// Let this run's reads answer a challenge the device gave before, for the guards
    /// made from now on: an audit's, never an apply's ([`super::nonces`] says why).
    pub fn reuse_challenges(&self) {
        self.reuse.store(true, Ordering::SeqCst);
    }

    /// The guard of the device known as `key` (the same one for every caller).
    pub fn of(&self, key: &str) -> Arc<LoginGuard> {
        let reuse = self.reuse.load(Ordering::SeqCst);
        let make = || if reuse { LoginGuard::reusing_challenges() } else { LoginGuard::default() };
        self.devices.get_or_insert_with(key, make).unwrap_or_else(|| {
            // A poisoned map: a guard that has already spent its refusal withholds
            // every login, which is the safe side.
            let spent = LoginGuard::default();
            spent.refused.store(true, Ordering::SeqCst);
            Arc::new(spent)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn creds(p: &str) -> Credentials {
        Credentials { username: "admin".into(), password: Secret::new(p.to_string()) }
    }

    #[tokio::test]
    async fn after_a_refusal_only_accepted_credentials_are_sent() {
        let g = LoginGuard::default();
        assert!(matches!(g.turn(&creds("a")).await, Some(Turn::First(_))));
        g.accept(&creds("a"));
        assert!(matches!(g.turn(&creds("a")).await, Some(Turn::Accepted)));
        g.refuse(&creds("b"));
        assert!(g.turn(&creds("b")).await.is_none());
        assert!(g.turn(&creds("c")).await.is_none(), "any other password could be a second refusal");
        assert!(matches!(g.turn(&creds("a")).await, Some(Turn::Accepted)));
        // A password the device accepted earlier and now refuses (the run changed it).
        g.refuse(&creds("a"));
        assert!(g.turn(&creds("a")).await.is_none());
    }

    #[tokio::test]
    async fn first_logins_go_one_at_a_time() {
        let g = LoginGuard::default();
        let first = g.turn(&creds("a")).await;
        let second = tokio::time::timeout(std::time::Duration::from_millis(50), g.turn(&creds("a"))).await;
        assert!(second.is_err(), "a second untried login waits for the first answer");
        g.accept(&creds("a"));
        drop(first);
        assert!(matches!(g.turn(&creds("a")).await, Some(Turn::Accepted)));
    }

    #[test]
    fn one_guard_per_device() {
        let guards = Guards::default();
        let shared = guards.clone();
        assert!(Arc::ptr_eq(&guards.of("127.1.0.1"), &shared.of("127.1.0.1")), "clones share the guards");
        assert!(!Arc::ptr_eq(&guards.of("127.1.0.1"), &guards.of("127.1.0.2")));
        // Devices that share an address are told apart by port.
        assert!(!Arc::ptr_eq(&guards.of("127.0.0.1:20080"), &guards.of("127.0.0.1:20180")));
    }
}
