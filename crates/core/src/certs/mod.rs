//! The site CA and device certificates: a CA made with rcgen on first use (its key in
//! the vault, its certificate beside the history), leaf certificates signed from the
//! device's own CSR with SANs for every name the device is reached by, a real TLS
//! handshake to prove an install, and the pins that later connections are held to.
//!
//! `ca` is the site CA and the certificates it signs, `proof` the handshake that proves
//! an install, `pins` the pins with their expiry and origin (installed, or first seen). The rest of the workspace uses them
//! through the re-exports below, by their old paths (`certs::SiteCa`, `certs::Pins`…).

mod ca;
mod pins;
mod proof;

pub use ca::{ca_cert_der, ca_info, CaInfo, CaScope, Leaf, SiteCa, LEAF_DAYS};
pub use pins::{fingerprint, not_after, Pin, PinChange, PinOrigin, Pins};
pub use proof::verify_handshake;

use crate::error::Error;

fn local(what: &str, e: impl std::fmt::Display) -> Error {
    Error::Local(format!("{what}: {e}"))
}
