//! How long each kind of device operation may take. One clock for everything was wrong
//! both ways: too short for a camera making a key pair, too long to notice a dead one.
//!
//! The defaults come from what vendors publish and field reports say:
//! - reads answer in well under a second, but a camera busy encoding four streams, or
//!   a recorder answering for 64 channels, can take several;
//! - writes are applied before the answer on most firmware, some (network settings,
//!   the web server's ports) restart a service first;
//! - making an RSA key pair, a CSR or a self-signed certificate takes embedded SoCs
//!   10–60 s (ONVIF's `CreateRSAKeyPair` answers with an `EstimatedCreationTime` for
//!   that reason), and more while the device is recording;
//! - a firmware image (30–120 MB) is written to flash before the upload is answered;
//! - a reboot takes one to three minutes, longer for a recorder checking its disks.
//!
//! A site sets its own in the baseline's `[site.timing]` table (seconds).

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// The kind of an exchange, for its time limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    Read,
    Write,
    /// Making a key pair, a CSR or a self-signed certificate.
    KeyGeneration,
    /// Firmware-scale transfers (firmware, configuration files).
    Upload,
}

impl Operation {
    /// What an HTTP method does, when the caller says nothing more.
    pub fn of_method(method: &str) -> Operation {
        match method {
            "GET" | "HEAD" => Operation::Read,
            _ => Operation::Write,
        }
    }
}

/// Time limits by kind of operation, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Timings {
    pub read_s: u32,
    pub write_s: u32,
    pub key_generation_s: u32,
    pub upload_s: u32,
    /// How long a device may take to come back after a reboot.
    pub reboot_s: u32,
}

impl Default for Timings {
    fn default() -> Self {
        Timings { read_s: 20, write_s: 30, key_generation_s: 300, upload_s: 900, reboot_s: 300 }
    }
}

/// The longest any limit may be: an hour.
const LONGEST_S: u32 = 3600;

impl Timings {
    /// The same limit for every exchange (the command line's `--timeout`, tests). Key
    /// generation, uploads and reboots keep at least their defaults: a short clock for
    /// reads must not cut a camera off while it makes its key.
    pub fn reads_and_writes(limit: Duration) -> Timings {
        let s = u32::try_from(limit.as_secs().max(1)).unwrap_or(LONGEST_S).min(LONGEST_S);
        Timings { read_s: s, write_s: s, ..Timings::default() }
    }

    /// These timings with reads and writes limited to `limit`, if one is given.
    pub fn with_override(self, limit: Option<Duration>) -> Timings {
        let Some(limit) = limit else { return self };
        let short = Timings::reads_and_writes(limit);
        Timings { read_s: short.read_s, write_s: short.write_s, ..self }
    }

    pub fn of(&self, op: Operation) -> Duration {
        let s = match op {
            Operation::Read => self.read_s,
            Operation::Write => self.write_s,
            Operation::KeyGeneration => self.key_generation_s,
            Operation::Upload => self.upload_s,
        };
        Duration::from_secs(u64::from(s.max(1)))
    }

    pub fn reboot(&self) -> Duration {
        Duration::from_secs(u64::from(self.reboot_s.max(1)))
    }

    /// Each limit between a second and an hour; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        for (field, s) in [
            ("read_s", self.read_s),
            ("write_s", self.write_s),
            ("key_generation_s", self.key_generation_s),
            ("upload_s", self.upload_s),
            ("reboot_s", self.reboot_s),
        ] {
            if !(1..=LONGEST_S).contains(&s) {
                return Err(format!("timing.{field}: {s} s is outside 1–{LONGEST_S} s"));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_of_operation_has_its_own_clock() {
        let t = Timings::default();
        assert!(t.of(Operation::Read) < t.of(Operation::KeyGeneration));
        assert!(t.of(Operation::KeyGeneration) < t.of(Operation::Upload));
        assert_eq!(Operation::of_method("GET"), Operation::Read);
        assert_eq!(Operation::of_method("PUT"), Operation::Write);
        // A short clock for reads and writes leaves key generation its time.
        let short = Timings::default().with_override(Some(Duration::from_secs(5)));
        assert_eq!(short.of(Operation::Write), Duration::from_secs(5));
        assert_eq!(short.of(Operation::KeyGeneration), Timings::default().of(Operation::KeyGeneration));
    }

    #[test]
    fn a_site_sets_its_own_and_nonsense_is_refused() {
        let t: Timings = toml::from_str("key_generation_s = 600\nreboot_s = 900").unwrap();
        assert_eq!((t.key_generation_s, t.reboot_s, t.read_s), (600, 900, Timings::default().read_s));
        assert!(t.validate().is_ok());
        let zero: Timings = toml::from_str("write_s = 0").unwrap();
        assert!(zero.validate().unwrap_err().contains("write_s"));
        assert!(toml::from_str::<Timings>("reed_s = 3").is_err(), "a misspelt field is an error");
    }
}
