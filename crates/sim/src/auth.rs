//! Server-side authentication: HTTP digest (RFC 7616, MD5 and SHA-256, qop=auth),
//! basic where the camera still allows it, WS-Security UsernameToken (PasswordDigest
//! and PasswordText) with a freshness window and a nonce replay cache, and the
//! illegal-login lock that counts failures per source address.
//!
//! Written by hand on purpose: the kept digest crates are client-side, and the
//! simulator must not share code with the drivers it tests (ARCHITECTURE.md,
//! invariant 7). The wire formats follow protocols.md §3.5 and §4.3.

use std::net::IpAddr;
use std::time::{Duration, Instant};

use base64::Engine;
use md5::Md5;
use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::state::{CameraState, LoginFailures};

/// How long a server nonce stays valid before the camera answers `stale=TRUE`.
pub const NONCE_LIFETIME: Duration = Duration::from_secs(300);
/// How far a WS-Security `Created` may be from the device clock.
pub const WSSE_WINDOW_S: i64 = 300;

/// The outcome of checking one request's credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Authenticated as this user.
    Ok(String),
    /// No credentials were sent (does not count towards the lock).
    Missing,
    /// A digest with an expired nonce: challenge again, not counted.
    Stale,
    /// A nonce used again where the camera's [`crate::state::NonceReuse`] does not take
    /// it: challenge again (`stale=FALSE`), not counted.
    Replayed,
    /// Wrong credentials; counted towards the lock.
    Refused,
    /// The source address is locked out; seconds until it unlocks.
    Locked(u64),
}

/// A secret per camera for stateless nonces: `hex(issued_at_ms || serial || mac)`. The
/// serial makes every 401's nonce unique (RFC 7616 §3.3), also within one millisecond.
#[derive(Debug, Clone)]
pub struct NonceKey(pub [u8; 16]);

/// Nonces issued so far, by every camera of the process.
static NONCES_ISSUED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

impl NonceKey {
    pub fn issue(&self, now_ms: u64) -> String {
        let serial = NONCES_ISSUED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut out = now_ms.to_be_bytes().to_vec();
        out.extend_from_slice(&serial.to_be_bytes());
        out.extend_from_slice(&self.mac(now_ms, serial));
        hex::encode(out)
    }

    fn mac(&self, at: u64, serial: u32) -> [u8; 8] {
        let mut h = Sha256::new();
        h.update(self.0);
        h.update(at.to_be_bytes());
        h.update(serial.to_be_bytes());
        let d = h.finalize();
        let mut m = [0u8; 8];
        m.copy_from_slice(d.get(..8).unwrap_or(&[0; 8]));
        m
    }

    /// When one of our nonces was issued (ms), whatever its age; `None` if not ours.
    pub fn issued_at(&self, nonce: &str) -> Option<u64> {
        let raw = hex::decode(nonce).ok()?;
        if raw.len() != 20 {
            return None;
        }
        let (at, rest) = raw.split_at(8);
        let (serial, mac) = rest.split_at(4);
        let at = u64::from_be_bytes(at.try_into().ok()?);
        let serial = u32::from_be_bytes(serial.try_into().ok()?);
        (mac == self.mac(at, serial)).then_some(at)
    }

    /// `Some(true)` fresh, `Some(false)` ours but expired, `None` not ours. For the tests:
    /// a request reads `issued_at` once, since the reuse window needs the age too.
    #[cfg(test)]
    pub fn check(&self, nonce: &str, now_ms: u64) -> Option<bool> {
        self.issued_at(nonce).map(|at| now_ms.saturating_sub(at) <= NONCE_LIFETIME.as_millis() as u64)
    }
}

/// The parsed parameters of an `Authorization: Digest …` header.
#[derive(Debug, Default, Clone)]
pub struct DigestResponse {
    pub username: String,
    pub realm: String,
    pub nonce: String,
    pub uri: String,
    pub response: String,
    pub algorithm: String,
    pub qop: String,
    pub nc: String,
    pub cnonce: String,
}

/// Parse `Digest k=v, k="v", …`; quoted values may hold commas and escaped quotes.
pub fn parse_digest(header: &str) -> Option<DigestResponse> {
    let rest = header.trim_start();
    let rest = rest.strip_prefix("Digest").or_else(|| rest.strip_prefix("digest"))?;
    let mut d = DigestResponse::default();
    let mut chars = rest.chars().peekable();
    loop {
        while matches!(chars.peek(), Some(c) if c.is_whitespace() || *c == ',') {
            chars.next();
        }
        let key: String = std::iter::from_fn(|| chars.next_if(|c| *c != '=' && *c != ',')).collect();
        if key.trim().is_empty() {
            break;
        }
        if chars.next() != Some('=') {
            return None;
        }
        let value = if chars.peek() == Some(&'"') {
            chars.next();
            let mut v = String::new();
            loop {
                match chars.next()? {
                    '\\' => v.push(chars.next()?),
                    '"' => break,
                    c => v.push(c),
                }
            }
            v
        } else {
            std::iter::from_fn(|| chars.next_if(|c| *c != ',')).collect::<String>().trim().to_string()
        };
        match key.trim().to_ascii_lowercase().as_str() {
            "username" => d.username = value,
            "realm" => d.realm = value,
            "nonce" => d.nonce = value,
            "uri" => d.uri = value,
            "response" => d.response = value,
            "algorithm" => d.algorithm = value,
            "qop" => d.qop = value,
            "nc" => d.nc = value,
            "cnonce" => d.cnonce = value,
            _ => {}
        }
    }
    (!d.username.is_empty() && !d.response.is_empty()).then_some(d)
}

fn hash_hex(algorithm: &str, data: &str) -> Option<String> {
    match algorithm.to_ascii_uppercase().as_str() {
        "" | "MD5" => Some(hex::encode(Md5::digest(data.as_bytes()))),
        "SHA-256" => Some(hex::encode(Sha256::digest(data.as_bytes()))),
        _ => None,
    }
}

/// Whether `d` proves knowledge of `password` for `method` (RFC 2617/7616).
pub fn digest_matches(d: &DigestResponse, method: &str, password: &str) -> bool {
    let Some(ha1) = hash_hex(&d.algorithm, &format!("{}:{}:{}", d.username, d.realm, password)) else {
        return false;
    };
    let Some(ha2) = hash_hex(&d.algorithm, &format!("{method}:{}", d.uri)) else {
        return false;
    };
    let expected = if d.qop.is_empty() {
        hash_hex(&d.algorithm, &format!("{ha1}:{}:{ha2}", d.nonce))
    } else {
        hash_hex(&d.algorithm, &format!("{ha1}:{}:{}:{}:{}:{ha2}", d.nonce, d.nc, d.cnonce, d.qop))
    };
    expected.is_some_and(|e| constant_time_eq(e.as_bytes(), d.response.to_ascii_lowercase().as_bytes()))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `Authorization: Basic base64(user:pass)` → (user, pass).
pub fn parse_basic(header: &str) -> Option<(String, String)> {
    let b64 = header.trim().strip_prefix("Basic ")?;
    let raw = base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok()?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// A WS-Security UsernameToken as found in a SOAP header.
#[derive(Debug, Default, Clone)]
pub struct UsernameToken {
    pub username: String,
    pub password: String,
    pub password_is_digest: bool,
    pub nonce_b64: String,
    pub created: String,
}

/// Digest = Base64(SHA1(nonce || created || password)).
pub fn wsse_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// Check a UsernameToken against the ONVIF accounts: freshness against the device
/// clock, nonce replay, then the password.
pub fn check_wsse(st: &mut CameraState, t: &UsernameToken, device_now: chrono::DateTime<chrono::Utc>) -> bool {
    let Some(password) = st.account(&t.username).filter(|a| a.onvif_level.is_some()).map(|a| a.password.clone()) else {
        return false;
    };
    if !t.password_is_digest {
        return constant_time_eq(t.password.as_bytes(), password.as_bytes());
    }
    // Core: servers shall reject tokens lacking Nonce or Created.
    let Ok(nonce) = base64::engine::general_purpose::STANDARD.decode(t.nonce_b64.trim()) else {
        return false;
    };
    if nonce.is_empty() || t.created.is_empty() {
        return false;
    }
    let Ok(created) = chrono::DateTime::parse_from_rfc3339(t.created.trim()) else {
        return false;
    };
    if (created.with_timezone(&chrono::Utc) - device_now).num_seconds().abs() > WSSE_WINDOW_S {
        return false;
    }
    let now = Instant::now();
    st.seen_wsse_nonces.retain(|_, seen| now.duration_since(*seen) < Duration::from_secs(2 * WSSE_WINDOW_S as u64));
    if st.seen_wsse_nonces.contains_key(&t.nonce_b64) {
        return false;
    }
    let ok = constant_time_eq(wsse_digest(&nonce, &t.created, &password).as_bytes(), t.password.trim().as_bytes());
    if ok {
        st.seen_wsse_nonces.insert(t.nonce_b64.clone(), now);
    }
    ok
}

/// Seconds until `peer` is unlocked, if it is locked now.
pub fn lock_remaining(st: &mut CameraState, peer: IpAddr) -> Option<u64> {
    let now = Instant::now();
    let f = st.failures.get_mut(&peer)?;
    match f.locked_until {
        Some(until) if until > now => Some(until.duration_since(now).as_secs().max(1)),
        Some(_) => {
            *f = LoginFailures::default();
            None
        }
        None => None,
    }
}

/// Count one failed login from `peer`; returns the attempts left before the lock.
pub fn record_failure(st: &mut CameraState, peer: IpAddr) -> u32 {
    let lock = st.lock;
    st.refused_logins = st.refused_logins.saturating_add(1);
    let f = st.failures.entry(peer).or_default();
    f.count = f.count.saturating_add(1);
    if lock.enabled && f.count >= lock.max_attempts {
        f.locked_until = Some(Instant::now() + Duration::from_secs(lock.lock_seconds));
        return 0;
    }
    if lock.enabled {
        lock.max_attempts - f.count
    } else {
        u32::MAX
    }
}

/// Whether this use of an already accepted nonce is taken, by the camera's policy; a
/// first use is recorded. Called only once the password is right. `age`: how long ago
/// the nonce was issued.
pub fn nonce_use(st: &mut CameraState, d: &DigestResponse, uri: &str, age: Duration) -> Verdict {
    use crate::state::{NonceReuse, NonceUse, NONCE_REUSE_WINDOW};
    let nc = u32::from_str_radix(d.nc.trim(), 16).unwrap_or(0);
    let now = Instant::now();
    let Some(used) = st.used_nonces.get_mut(&d.nonce) else {
        // Forget nonces past their lifetime, now and then, so the map stays small.
        if st.used_nonces.len() >= 64 {
            st.used_nonces.retain(|_, u| now.duration_since(u.first) < NONCE_LIFETIME);
        }
        st.used_nonces.insert(d.nonce.clone(), NonceUse { uri: uri.to_string(), nc, first: now });
        return Verdict::Ok(d.username.clone());
    };
    let taken = match st.nonce_reuse {
        NonceReuse::Window => true,
        NonceReuse::SameUri => used.uri == uri,
        NonceReuse::Once => false,
        NonceReuse::OnceCounted => return Verdict::Refused,
    };
    if !taken || nc <= used.nc {
        return Verdict::Replayed;
    }
    if age > NONCE_REUSE_WINDOW {
        return Verdict::Stale;
    }
    used.nc = nc;
    st.reused_nonces = st.reused_nonces.saturating_add(1);
    Verdict::Ok(d.username.clone())
}

pub fn record_success(st: &mut CameraState, peer: IpAddr) {
    st.failures.remove(&peer);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wsse_digest_matches_the_onvif_programmers_guide_vector() {
        let nonce = base64::engine::general_purpose::STANDARD.decode("LKqI6G/AikKCQrN0zqZFlg==").unwrap();
        assert_eq!(wsse_digest(&nonce, "2010-09-16T07:50:45Z", "userpassword"), "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
    }

    #[test]
    fn digest_header_parses_quoted_and_bare_values() {
        let h = r#"Digest username="admin", realm="IP Camera(C2183)", nonce="abc", uri="/ISAPI/System/deviceInfo?x=1,2", algorithm=MD5, response="0123", qop=auth, nc=00000001, cnonce="xyz""#;
        let d = parse_digest(h).unwrap();
        assert_eq!(d.username, "admin");
        assert_eq!(d.uri, "/ISAPI/System/deviceInfo?x=1,2");
        assert_eq!(d.qop, "auth");
        assert_eq!(d.nc, "00000001");
        assert!(parse_digest("Digest garbage").is_none());
        assert!(parse_digest("Basic YWRtaW46MTIzNDU=").is_none());
    }

    #[test]
    fn rfc2617_worked_example_verifies() {
        // RFC 2617 §3.5 example ("Mufasa" / "Circle Of Life").
        let d = DigestResponse {
            username: "Mufasa".into(),
            realm: "testrealm@host.com".into(),
            nonce: "dcd98b7102dd2f0e8b11d0f600bfb0c093".into(),
            uri: "/dir/index.html".into(),
            response: "6629fae49393a05397450978507c4ef1".into(),
            algorithm: String::new(),
            qop: "auth".into(),
            nc: "00000001".into(),
            cnonce: "0a4f113b".into(),
        };
        assert!(digest_matches(&d, "GET", "Circle Of Life"));
        assert!(!digest_matches(&d, "GET", "circle of life"));
    }

    #[test]
    fn nonces_expire_and_forgeries_are_rejected() {
        let k = NonceKey([7; 16]);
        let n = k.issue(1_000_000);
        assert_eq!(k.check(&n, 1_000_500), Some(true));
        assert_eq!(k.check(&n, 1_000_000 + NONCE_LIFETIME.as_millis() as u64 + 1), Some(false));
        assert_eq!(NonceKey([8; 16]).check(&n, 1_000_500), None);
        assert_eq!(k.check("zz", 0), None);
        assert_ne!(k.issue(1_000_000), k.issue(1_000_000), "every 401 gets its own nonce");
    }
}
