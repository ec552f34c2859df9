//! Fuzzes every ONVIF answer reader in `driver::onvif::wire` (GetSystemDateAndTime,
//! GetDeviceInformation, GetNetworkProtocols, GetUsers, GetNTP, GetIPAddressFilter,
//! GetScopes, GetServices, certificates and the Advanced Security keystore …) on one
//! body, the X.509 check on any certificate it carries (`wire::is_self_signed`, also on
//! the raw bytes), and what the reads make of the values (advisories, time zone).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::driver::onvif::wire;

fuzz_target!(|data: &[u8]| {
    let _ = wire::is_self_signed(data);
    let body = portcullis_fuzz::text(data);
    let _ = wire::system_date_time(&body);
    if let Ok(id) = wire::device_information(&body) {
        let _ = (id.firmware(), portcullis_core::advisories::matching(&id));
    }
    let _ = wire::network_protocols(&body);
    let _ = wire::discovery_mode(&body);
    let _ = wire::users(&body);
    let _ = wire::ntp_servers(&body);
    let _ = wire::ip_filter_active(&body);
    let _ = wire::ip_filter(&body);
    let _ = wire::network_interface(&body);
    let _ = wire::interface_token(&body);
    let _ = wire::default_gateway(&body);
    let _ = wire::dns(&body);
    let _ = wire::hostname(&body);
    if let Some(tz) = wire::time_zone(&body) {
        let _ = portcullis_core::site::tz::canonical(&tz);
    }
    if let Ok(scopes) = wire::scopes(&body) {
        if let Some(name) = wire::name_from_scopes(&scopes) {
            let _ = wire::name_scope(&name);
        }
    }
    let _ = wire::security_capabilities(&body);
    if let Ok(services) = wire::services(&body) {
        for (_, xaddr) in &services {
            let _ = wire::xaddr_path(xaddr);
        }
    }
    if let Ok(certs) = wire::nvt_certificates(&body) {
        for (_, der) in &certs {
            let _ = wire::is_self_signed(der);
        }
    }
    let _ = wire::certificates_status(&body);
    let _ = wire::keystore_capabilities(&body);
    for field in ["KeyID", "CertificateID", "CertificationPathID", "PKCS10CSR", "CertificateContent"] {
        let _ = wire::text_of(&body, field);
        let _ = wire::texts_of(&body, field);
    }
    if let Ok(d) = wire::text_of(&body, "EstimatedCreationTime") {
        let _ = wire::duration_seconds(&d);
    }
    let _ = wire::duration_seconds(&body);
    for local in ["Certificate", "KeyAttribute", "CertificationPath"] {
        if let Ok(records) = wire::records(&body, local) {
            for r in &records {
                let _ = (wire::field(r, "Alias"), wire::field(r, "KeyID"), wire::field(r, "CertificateID"));
            }
        }
    }
});
