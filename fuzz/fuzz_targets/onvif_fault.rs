//! Fuzzes the SOAP fault reader and the response check every ONVIF call goes through:
//! `driver::onvif::wire::fault` (SOAP 1.2 and 1.1 faults, subcodes, reason) with
//! `Fault::describe`/`not_authorized`/`not_supported`, and `wire::response_body`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::driver::onvif::wire;

fuzz_target!(|data: &[u8]| {
    let body = portcullis_fuzz::text(data);
    if let Some(f) = wire::fault(&body) {
        let _ = (f.describe(), f.not_authorized(), f.not_supported(), f.is("PasswordTooWeak"));
    }
    for expected in ["GetSystemDateAndTimeResponse", "SetUserResponse", "GetUsersResponse"] {
        let _ = wire::response_body(&body, expected);
    }
});
