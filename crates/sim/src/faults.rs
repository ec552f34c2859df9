//! Fault switches: how a simulated camera misbehaves on purpose.
//!
//! Every switch can be set in the fleet config (TOML) and changed at run time from a
//! test through [`crate::Camera::set_faults`]. Write faults (drop before/after commit,
//! reboot mid-change) only fire on requests that change state.

use std::time::Duration;

use rand::Rng;
use serde::{Deserialize, Serialize};

/// When a fault fires.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Trigger {
    #[default]
    Never,
    Always,
    /// The next N eligible requests, then never again.
    Next(u32),
    /// Each eligible request with this probability (0.0–1.0).
    Probability(f64),
}

impl Trigger {
    /// Decide for one eligible request, consuming a `Next` count when it fires.
    pub fn fire(&mut self) -> bool {
        match self {
            Trigger::Never => false,
            Trigger::Always => true,
            Trigger::Next(n) => {
                if *n == 0 {
                    return false;
                }
                *n -= 1;
                true
            }
            Trigger::Probability(p) => rand::thread_rng().gen_bool(p.clamp(0.0, 1.0)),
        }
    }
}

/// The fault switches of one camera.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Faults {
    /// Added to every answer (HTTP, RTSP and UDP), in milliseconds: a round trip.
    pub latency_ms: u64,
    /// Uniform random extra delay, 0..=jitter_ms.
    pub jitter_ms: u64,
    /// Close the connection without applying a write.
    pub drop_before_commit: Trigger,
    /// Apply a write, then close the connection without an answer.
    pub drop_after_commit: Trigger,
    /// Answer 500 (ONVIF: a Receiver fault; ISAPI: deviceError) without doing anything.
    pub server_error: Trigger,
    /// Accept the request and never answer.
    pub hang: Trigger,
    /// Apply a write, then reboot before answering.
    pub reboot_mid_change: Trigger,
    /// Drop the connection while a firmware image is being uploaded (nothing taken).
    pub firmware_upload_dropped: Trigger,
    /// Refuse a firmware image as damaged.
    pub firmware_refused: Trigger,
    /// The restart after a firmware upgrade never ends.
    pub firmware_reboot_hangs: bool,
    /// Come back from a firmware upgrade on the old version.
    pub firmware_version_unchanged: bool,
    /// Take an address change, restart, and come back on the old address (the new
    /// one collided, or the firmware did not keep it).
    pub address_change_lost: bool,
    /// The device clock runs this many seconds ahead (negative: behind).
    pub clock_skew_s: i64,
    /// Answer with truncated, ill-formed XML.
    pub malformed_xml: Trigger,
    /// Answer in another firmware's dialect: the other ISAPI namespace, gSOAP-style
    /// ONVIF prefixes.
    pub foreign_namespace: bool,
    /// Ask for credentials for the PRE_AUTH operations too (GetServiceCapabilities,
    /// GetServices, …), as firmware that ignores Core's access classes does; only
    /// GetSystemDateAndTime stays open.
    pub guarded_pre_auth: bool,
    /// Operations this firmware does not implement: ONVIF operation names
    /// (`SetDiscoveryMode`) or ISAPI paths (`/ISAPI/System/Network/UPnP`).
    pub unsupported: Vec<String>,
    /// How this firmware words "not implemented" for an ONVIF operation.
    pub unsupported_style: UnsupportedStyle,
    /// Paths this firmware does not serve answer 401 instead of 404, as some web
    /// servers guard every path (a non-Hikvision camera then looks like ISAPI to a
    /// client that goes by status codes).
    pub guard_unknown_paths: GuardStyle,
}

/// How a camera answers a path it does not serve.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GuardStyle {
    /// 404, as most firmware does.
    #[default]
    Off,
    /// 401 with a digest challenge.
    Digest,
    /// 401 with no challenge at all.
    Bare,
}

/// The ways real ONVIF firmware answers an operation it does not implement.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnsupportedStyle {
    /// As Core says: `env:Receiver`, subcode `ter:ActionNotSupported` (HTTP 500).
    #[default]
    Subcode,
    /// A bare `env:Receiver` code, the subcode in `env:Detail` (`ter:fault/ter:subcode`).
    InDetail,
    /// No subcode anywhere, only the reason text "Action not supported".
    ReasonOnly,
    /// No SOAP at all: HTTP 405 with an empty body.
    Http405,
}

impl Faults {
    /// The delay to wait before answering.
    pub fn delay(&self) -> Duration {
        let jitter = if self.jitter_ms > 0 { rand::thread_rng().gen_range(0..=self.jitter_ms) } else { 0 };
        Duration::from_millis(self.latency_ms.saturating_add(jitter))
    }

    pub fn is_unsupported(&self, operation: &str) -> bool {
        self.unsupported.iter().any(|u| u.eq_ignore_ascii_case(operation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_fires_exactly_n_times() {
        let mut t = Trigger::Next(2);
        assert!(t.fire());
        assert!(t.fire());
        assert!(!t.fire());
        assert_eq!(t, Trigger::Next(0));
    }

    #[test]
    fn triggers_read_from_toml() {
        let f: Faults = toml::from_str(
            "latency_ms = 20\ndrop_after_commit = \"always\"\nhang = { next = 1 }\nserver_error = { probability = 0.5 }\n",
        )
        .unwrap();
        assert_eq!(f.latency_ms, 20);
        assert_eq!(f.drop_after_commit, Trigger::Always);
        assert_eq!(f.hang, Trigger::Next(1));
        assert_eq!(f.server_error, Trigger::Probability(0.5));
    }

    #[test]
    fn probability_bounds_are_respected() {
        let mut never = Trigger::Probability(0.0);
        let mut always = Trigger::Probability(1.0);
        assert!((0..100).all(|_| !never.fire()));
        assert!((0..100).all(|_| always.fire()));
    }
}
