//! Fuzzes the WS-Discovery reader: `discover::wsd::parse` on a datagram, then what
//! discovery does with each announcement (`runner::wsd_sighting`, `wsd::scope_value`)
//! and the inventory merge (`inventory::merge`, `Device::key`/`label`/`target`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::discover::{runner, wsd};
use portcullis_core::inventory;

fuzz_target!(|data: &[u8]| {
    let found = wsd::parse(data);
    let from = std::net::SocketAddr::from(([192, 0, 2, 7], wsd::PORT));
    let mut devices = Vec::new();
    for a in &found {
        for category in ["name", "hardware", "location", "MAC", "type"] {
            let _ = wsd::scope_value(&a.scopes, category);
        }
        inventory::merge(&mut devices, runner::wsd_sighting(a, from));
    }
    for d in &devices {
        let _ = (d.key(), d.label(), d.target());
    }
});
