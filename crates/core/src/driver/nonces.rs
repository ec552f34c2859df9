//! Digest challenges kept for reuse: one device's, for one run.
//!
//! Asking for a fresh challenge before every request doubles the requests of an ISAPI
//! read. RFC 7616 §3.6 lets a client answer a challenge it already holds, with the
//! nonce count one higher, and many servers take that; but camera firmware differs
//! (`../shared/docs/protocols.md` §4.3 field notes: some answer a reused nonce with a
//! 401 that may count towards the lock; a Hikvision recorder takes one for 30 s; another
//! firmware takes one only for the URI it was issued for). So a reused challenge is
//! spent carefully, and at most one request per device per run can be refused for it:
//! - only audits reuse (an apply spends its one refused login on purpose, proving an old
//!   password gone: it keeps a fresh challenge per request), only reads (GET), and only
//!   with credentials the device accepted in this run, so a 401 to a reused nonce can
//!   never be a wrong password;
//! - one reused challenge is out per device at a time (taken, then kept again once its
//!   answer is in; the device's other requests meanwhile ask for fresh challenges), so
//!   its counts reach the device in order, and a device that refuses reuse refuses one
//!   request, never several in flight; a nonce given in two challenges is kept once;
//! - it is used for [`KEEP_FOR`] and [`MAX_USES`] times at most;
//! - the first 401 to a reused nonce ends reuse with the device for the rest of the run
//!   ([`Nonces::refuse`]); that request goes on with the fresh challenge the 401 carried.
//!
//! The same runs let the first login answer the challenge the connect's anonymous probe
//! drew moments before ([`Nonces::offer`]), instead of asking for another with the same
//! request: on the wire that is the exchange a login makes anyway (an anonymous GET of
//! the path, its 401, the answer at count 1), one request fewer.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// How long a challenge is reused: well inside the 30 s a Hikvision recorder was seen
/// to take a nonce for (okhttp-digest#23), and longer than one device's audit.
pub const KEEP_FOR: Duration = Duration::from_secs(10);
/// How many requests one challenge answers: one Hikvision audit's reads (about 20 after
/// the login) with room to spare. At 16 a camera's audit asked a second challenge
/// two thirds of the way through. No firmware is known to limit the count (the recorder
/// seen ages its nonces by time), and a device that does refuses one request per run,
/// as for any refused reuse.
pub const MAX_USES: u32 = 32;
/// Challenges kept at once per device: one reused challenge is out at a time, so one
/// to hand out and the newest beside it are enough. Every device of a run keeps its
/// own until the run ends: eight each took about 20 MB more at 5,000 cameras.
const MAX_KEPT: usize = 2;

/// How long a challenge drawn by an anonymous request may wait for the login that
/// answers it: the login follows the connect's probe at once (the next round trip or
/// two), and a nonce answered at count 1 within seconds is what every login sends.
pub const OFFER_FOR: Duration = Duration::from_secs(5);
/// The largest refusal body kept with an offered challenge (a `userCheck` is a few
/// hundred bytes): a larger one is not offered, and the login asks as it would have.
const OFFER_BODY_LIMIT: usize = 4096;

/// A fresh challenge the device gave an anonymous request, not yet answered.
#[derive(Debug, Clone)]
pub(crate) struct Offered {
    /// The request it answers (`GET`, `/ISAPI/System/deviceInfo`): a login elsewhere
    /// asks its own, as firmware may tie a nonce to the URI it was issued for.
    method: String,
    path: String,
    /// The `WWW-Authenticate` values of the 401.
    pub challenges: Vec<String>,
    /// The 401's body (its lock state is read before any credentials go).
    pub body: String,
    since: Instant,
}

/// A challenge the device has answered a login for.
#[derive(Debug, Clone)]
pub(crate) struct Kept {
    /// The parsed challenge; its `nc` counts the requests it answered.
    pub prompt: digest_auth::WwwAuthenticateHeader,
    since: Instant,
}

impl Kept {
    pub fn new(prompt: digest_auth::WwwAuthenticateHeader) -> Kept {
        Kept { prompt, since: Instant::now() }
    }

    fn usable(&self) -> bool {
        self.since.elapsed() < KEEP_FOR && self.prompt.nc < MAX_USES
    }
}

/// One device's kept challenges for one run (held by its [`super::login::LoginGuard`]).
/// Off unless the run asks for reuse ([`super::login::Guards::reuse_challenges`]).
#[derive(Debug)]
pub(crate) struct Nonces {
    kept: Mutex<Vec<Kept>>,
    /// No reuse: the run did not ask for it, or the device refused a reused nonce.
    refused: AtomicBool,
    /// A reused challenge is out: one at a time per device, so that a device which
    /// refuses reuse refuses one request, never several in flight at once.
    out: AtomicBool,
    /// A challenge an anonymous request drew, for the first login to the same request.
    offered: Mutex<Option<Offered>>,
}

impl Default for Nonces {
    fn default() -> Self {
        Nonces::new(false)
    }
}

/// A kept challenge out for one request; while it is out, the device's other requests
/// ask for fresh challenges. Back in the pool with [`Nonces::keep_again`].
#[derive(Debug)]
pub(crate) struct Taken<'a> {
    nonces: &'a Nonces,
    pub challenge: Kept,
}

impl Drop for Taken<'_> {
    fn drop(&mut self) {
        self.nonces.out.store(false, Ordering::SeqCst);
    }
}

impl Nonces {
    pub fn new(reuse: bool) -> Nonces {
        Nonces {
            kept: Mutex::new(Vec::new()),
            refused: AtomicBool::new(!reuse),
            out: AtomicBool::new(false),
            offered: Mutex::new(None),
        }
    }

    /// Offer the challenge of a 401 the device just gave an anonymous `method path`
    /// to the next login with the same request (in runs that reuse challenges only).
    pub fn offer(&self, method: &str, path: &str, challenges: Vec<String>, body: &str) {
        if self.refused() || challenges.is_empty() || body.len() > OFFER_BODY_LIMIT {
            return;
        }
        let offered = Offered {
            method: method.to_string(),
            path: path.to_string(),
            challenges,
            body: body.to_string(),
            since: Instant::now(),
        };
        if let Ok(mut slot) = self.offered.lock() {
            *slot = Some(offered);
        }
    }

    /// The offered challenge for a login with `method path`, once, while still fresh.
    pub fn take_offered(&self, method: &str, path: &str) -> Option<Offered> {
        // Runs without reuse (an apply) never hold one: no lock on their every request.
        // A refusal empties the slot, so what is in it needs no second look at that.
        if self.refused() {
            return None;
        }
        let offered = self.offered.lock().ok()?.take()?;
        let same = offered.method == method && offered.path == path;
        (same && offered.since.elapsed() < OFFER_FOR).then_some(offered)
    }

    /// A kept challenge for one request, if one is still good and none is out.
    pub fn take(&self) -> Option<Taken<'_>> {
        if self.refused() || self.out.swap(true, Ordering::SeqCst) {
            return None;
        }
        // From here `out` is ours: `Taken` gives it back when dropped; without a challenge
        // to hand out, it is given back here.
        let challenge = self.kept.lock().ok().and_then(|mut kept| {
            kept.retain(Kept::usable);
            kept.pop()
        });
        if challenge.is_none() {
            self.out.store(false, Ordering::SeqCst);
        }
        challenge.map(|challenge| Taken { nonces: self, challenge })
    }

    /// Keep a challenge the device just took a login with. A device may give the same
    /// nonce in two challenges: it is kept once, with the higher count, so no count is
    /// sent twice.
    pub fn keep(&self, challenge: Kept) {
        if self.refused() || !challenge.usable() {
            return;
        }
        if let Ok(mut kept) = self.kept.lock() {
            if let Some(same) = kept.iter_mut().find(|k| k.prompt.nonce == challenge.prompt.nonce) {
                if challenge.prompt.nc > same.prompt.nc {
                    *same = challenge;
                }
            } else {
                // The oldest makes room: it is the first to grow too old to use.
                if kept.len() >= MAX_KEPT {
                    kept.remove(0);
                }
                kept.push(challenge);
            }
        }
    }

    /// The device took the reused challenge: back in the pool for the next read.
    pub fn keep_again(&self, taken: Taken<'_>) {
        // `Taken` gives `out` back when dropped, so its challenge is copied out first.
        self.keep(Kept { prompt: taken.challenge.prompt.clone(), since: taken.challenge.since });
        drop(taken);
    }

    /// The device refused a reused nonce: fresh challenges only, for the rest of the run.
    pub fn refuse(&self) {
        self.refused.store(true, Ordering::SeqCst);
        if let Ok(mut kept) = self.kept.lock() {
            kept.clear();
        }
        if let Ok(mut offered) = self.offered.lock() {
            offered.take();
        }
    }

    pub fn refused(&self) -> bool {
        self.refused.load(Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn challenge() -> Kept {
        Kept::new(digest_auth::parse(r#"Digest realm="cam", nonce="n0nce", qop="auth""#).unwrap())
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_is_reused_unless_the_run_asks() {
        let nonces = Nonces::default();
        nonces.keep(challenge());
        assert!(nonces.take().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_challenge_serves_one_request_at_a_time_until_it_is_old() {
        let nonces = Nonces::new(true);
        nonces.keep(challenge());
        nonces.keep(challenge());
        let taken = nonces.take().expect("kept");
        assert!(nonces.take().is_none(), "one reused challenge out at a time per device");
        nonces.keep_again(taken);
        let again = nonces.take().expect("back after its answer");
        nonces.keep_again(again);
        tokio::time::advance(KEEP_FOR).await;
        assert!(nonces.take().is_none(), "too old to reuse");
    }

    #[test]
    fn a_nonce_given_twice_is_kept_once_with_its_higher_count() {
        let nonces = Nonces::new(true);
        let mut used = challenge();
        used.prompt.nc = 5;
        nonces.keep(challenge());
        nonces.keep(used);
        nonces.keep(challenge());
        let taken = nonces.take().expect("kept");
        assert_eq!(taken.challenge.prompt.nc, 5);
        drop(taken);
        assert!(nonces.take().is_none(), "one copy only");
    }

    #[test]
    fn a_device_keeps_its_newest_challenges_only() {
        let nonces = Nonces::new(true);
        let named = |nonce: &str| {
            Kept::new(digest_auth::parse(&format!(r#"Digest realm="cam", nonce="{nonce}", qop="auth""#)).unwrap())
        };
        for n in ["a", "b", "c"] {
            nonces.keep(named(n));
        }
        let mut handed = Vec::new();
        while let Some(t) = nonces.take() {
            handed.push(t.challenge.prompt.nonce.clone());
        }
        assert_eq!(handed, ["c", "b"], "the oldest made room: {handed:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn a_challenge_is_used_so_many_times_at_most() {
        let nonces = Nonces::new(true);
        let mut c = challenge();
        c.prompt.nc = MAX_USES;
        nonces.keep(c);
        assert!(nonces.take().is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_ends_reuse_for_the_run() {
        let nonces = Nonces::new(true);
        nonces.keep(challenge());
        nonces.refuse();
        assert!(nonces.take().is_none());
        nonces.keep(challenge());
        assert!(nonces.take().is_none(), "nothing is kept after a refusal");
    }

    #[tokio::test(start_paused = true)]
    async fn an_offered_challenge_serves_one_login_to_the_same_request_while_fresh() {
        let offer = |nonces: &Nonces| {
            nonces.offer("GET", "/ISAPI/System/deviceInfo", vec!["Digest nonce=\"a\"".into()], "<userCheck/>")
        };
        let nonces = Nonces::new(true);
        offer(&nonces);
        assert!(nonces.take_offered("GET", "/ISAPI/Security/users").is_none(), "another request asks its own");
        offer(&nonces);
        let taken = nonces.take_offered("GET", "/ISAPI/System/deviceInfo").expect("offered");
        assert_eq!((taken.challenges.len(), taken.body.as_str()), (1, "<userCheck/>"));
        assert!(nonces.take_offered("GET", "/ISAPI/System/deviceInfo").is_none(), "answered once only");

        offer(&nonces);
        tokio::time::advance(OFFER_FOR).await;
        assert!(nonces.take_offered("GET", "/ISAPI/System/deviceInfo").is_none(), "too old to answer");

        let apply = Nonces::default();
        offer(&apply);
        assert!(apply.take_offered("GET", "/ISAPI/System/deviceInfo").is_none(), "only runs that reuse");
        let huge = "x".repeat(OFFER_BODY_LIMIT + 1);
        nonces.offer("GET", "/ISAPI/System/deviceInfo", vec!["Digest nonce=\"a\"".into()], &huge);
        assert!(nonces.take_offered("GET", "/ISAPI/System/deviceInfo").is_none(), "a large body is not kept");
        offer(&nonces);
        nonces.refuse();
        assert!(nonces.take_offered("GET", "/ISAPI/System/deviceInfo").is_none());
    }
}
