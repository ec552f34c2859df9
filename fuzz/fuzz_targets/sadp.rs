//! Fuzzes the SADP reader (Hikvision discovery over UDP 37020): `discover::sadp::parse`
//! on a datagram.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::discover::sadp;

fuzz_target!(|data: &[u8]| {
    if let Some(reply) = sadp::parse(data) {
        let _ = reply.uuid.eq_ignore_ascii_case("7A2B0C3D-0000-4000-8000-000000000001");
    }
});
