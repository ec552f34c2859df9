//! Fuzzes every ISAPI document reader in `driver::isapi::wire` (deviceInfo, users,
//! adminAccesses, IP filter, NTP, time, SNMP, Integrate, `ResponseStatus` …) and the
//! answer checks built on them, on one body; then what the read makes of them: the
//! advisory match and the firmware decision on the identity, the Hikvision time zone
//! (`tz::from_hikvision`), `upgradeStatus`, the network interface (`ipAddress`), and the
//! firmware image header on the raw bytes.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::driver::isapi::wire;

fuzz_target!(|data: &[u8]| {
    let _ = portcullis_core::firmware::header::read(data);
    let body = portcullis_fuzz::text(data);
    let _ = wire::response_status(&body);
    let _ = wire::upgrade_status(&body);
    for status in [200, 400, 403, 404, 500] {
        let _ = wire::is_not_supported(status, &body);
    }
    if let Ok(id) = wire::device_info(&body) {
        let _ = (id.firmware(), portcullis_core::advisories::matching(&id));
        let db = portcullis_core::advisories::shipped();
        let floor = [portcullis_core::firmware::Minimum {
            vendor: "hikvision".into(),
            models: vec![],
            version: "V5.5.0".into(),
        }];
        let _ = portcullis_core::firmware::decide(&id, &db, &floor, &[]);
    }
    let _ = wire::enabled(&body);
    let _ = wire::any_enabled(&body);
    let _ = wire::user_check(&body);
    let _ = wire::users(&body);
    let _ = wire::user_ids(&body);
    let _ = wire::admin_accesses(&body);
    let _ = wire::certificate_type(&body);
    let _ = wire::snmp(&body);
    let _ = wire::integrate_onvif(&body);
    let _ = wire::sadp_discoverable(&body);
    let _ = wire::device_name(&body);
    if let Ok(c) = wire::ip_address(&body) {
        let _ = portcullis_core::site::addresses::Interface::parse(c.ipv4.trim_start_matches("dhcp "));
    }
    if let Some(tz) = wire::time_zone(&body) {
        let _ = portcullis_core::site::tz::from_hikvision(&tz);
    }
    let _ = wire::ip_filter_admitted(&body);
    let _ = wire::time_is_ntp(&body);
    let _ = wire::ntp_servers(&body);
    let _ = wire::certificate_self_signed(&body);
});
