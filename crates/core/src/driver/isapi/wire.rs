//! ISAPI documents, read without I/O. Namespace-agnostic (firmware uses four
//! namespaces), lenient about missing and extra elements, never panicking.

use crate::posture::Identity;
use crate::xml::{self, child, child_bool, child_text, descendants, find_text, parse_bool};

/// `ResponseStatus`: (statusCode, subStatusCode), if the body is one.
pub fn response_status(body: &str) -> Option<(u32, String)> {
    let doc = xml::parse(body).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "ResponseStatus" {
        return None;
    }
    let code = child_text(root, "statusCode")?.parse().ok()?;
    Some((code, child_text(root, "subStatusCode").unwrap_or_default()))
}

/// Whether a `ResponseStatus` (or a 404) says the feature does not exist.
pub fn is_not_supported(status: u16, body: &str) -> bool {
    status == 404
        || response_status(body).is_some_and(|(_, sub)| sub.eq_ignore_ascii_case("notSupport"))
        || (status == 403 && response_status(body).is_some_and(|(_, sub)| sub.eq_ignore_ascii_case("invalidOperation")))
}

/// `upgradeStatus`: whether an upgrade is running, and how far it is (percent).
pub fn upgrade_status(body: &str) -> Option<(bool, Option<u8>)> {
    let doc = xml::parse(body).ok()?;
    let root = doc.root_element();
    if !root.tag_name().name().eq_ignore_ascii_case("upgradeStatus") {
        return None;
    }
    let upgrading = child_bool(root, "upgrading")?;
    let percent = child_text(root, "percent").and_then(|p| p.trim().parse::<u8>().ok()).map(|p| p.min(100));
    Some((upgrading, percent))
}

/// `/ISAPI/System/deviceInfo`.
pub fn device_info(body: &str) -> Result<Identity, String> {
    let doc = xml::parse(body)?;
    let root = doc.root_element();
    if root.tag_name().name() != "DeviceInfo" {
        return Err(format!("expected DeviceInfo, got {}", root.tag_name().name()));
    }
    let get = |n: &str| child_text(root, n).unwrap_or_default();
    let build = get("firmwareReleasedDate");
    let build = build.trim().trim_start_matches("build").trim();
    Ok(Identity {
        vendor: "hikvision".into(),
        manufacturer: child_text(root, "manufacturer").filter(|m| !m.is_empty()).unwrap_or_else(|| "HIKVISION".into()),
        model: get("model"),
        serial: get("serialNumber"),
        mac: get("macAddress").to_ascii_lowercase().replace('-', ":"),
        firmware_version: get("firmwareVersion"),
        firmware_build: (!build.is_empty()).then(|| build.to_string()),
        device_type: get("deviceType"),
    })
}

/// The root's `enabled` (telnetd, ssh, UPnP, EZVIZ, ipFilter, illegalLoginLock …).
pub fn enabled(body: &str) -> Option<bool> {
    let doc = xml::parse(body).ok()?;
    child_bool(doc.root_element(), "enabled")
}

/// DDNS and FTP: enabled if any listed entry is.
pub fn any_enabled(body: &str) -> Option<bool> {
    let doc = xml::parse(body).ok()?;
    let flags: Vec<bool> =
        descendants(doc.root_element(), "enabled").filter_map(|n| parse_bool(&xml::text(n))).collect();
    (!flags.is_empty()).then(|| flags.iter().any(|f| *f))
}

/// `userCheck` on success: (isDefaultPassword, isRiskPassword) where the firmware says.
pub fn user_check(body: &str) -> (Option<bool>, Option<bool>) {
    let Ok(doc) = xml::parse(body) else { return (None, None) };
    let root = doc.root_element();
    (child_bool(root, "isDefaultPassword"), child_bool(root, "isRiskPassword"))
}

/// `UserList`: (name, level).
/// The root must be the list asked for: a device that answers 200 with another
/// document (a `ResponseStatus`, a login page) has not said "none".
fn list_root<'a, 'i>(doc: &'a roxmltree::Document<'i>, names: &[&str]) -> Result<roxmltree::Node<'a, 'i>, String> {
    let root = doc.root_element();
    if names.contains(&root.tag_name().name()) {
        Ok(root)
    } else {
        Err(format!("expected {}, got {}", names.join(" or "), root.tag_name().name()))
    }
}

pub fn users(body: &str) -> Result<Vec<(String, String)>, String> {
    let doc = xml::parse(body)?;
    Ok(descendants(list_root(&doc, &["UserList", "User"])?, "User")
        .map(|u| (child_text(u, "userName").unwrap_or_default(), child_text(u, "userLevel").unwrap_or_default()))
        .filter(|(n, _)| !n.is_empty())
        .collect())
}

/// `UserList`: (id, name), for changing or deleting a user.
pub fn user_ids(body: &str) -> Result<Vec<(String, String)>, String> {
    let doc = xml::parse(body)?;
    Ok(descendants(list_root(&doc, &["UserList", "User"])?, "User")
        .map(|u| (child_text(u, "id").unwrap_or_default(), child_text(u, "userName").unwrap_or_default()))
        .filter(|(id, n)| !id.is_empty() && !n.is_empty())
        .collect())
}

/// One protocol of `AdminAccessProtocolList`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminAccess {
    pub protocol: String,
    pub enabled: Option<bool>,
    pub port: Option<u16>,
    pub tls1_1: Option<bool>,
    pub tls1_2: Option<bool>,
    pub tls1_3: Option<bool>,
}

pub fn admin_accesses(body: &str) -> Result<Vec<AdminAccess>, String> {
    let doc = xml::parse(body)?;
    Ok(descendants(list_root(&doc, &["AdminAccessProtocolList", "AdminAccessProtocol"])?, "AdminAccessProtocol")
        .map(|p| AdminAccess {
            protocol: child_text(p, "protocol").unwrap_or_default().to_ascii_uppercase(),
            enabled: child_bool(p, "enabled"),
            port: child_text(p, "portNo").and_then(|t| t.parse().ok()),
            tls1_1: child_bool(p, "TLS1_1Enable"),
            tls1_2: child_bool(p, "TLS1_2Enable"),
            tls1_3: child_bool(p, "TLS1_3Enable"),
        })
        .collect())
}

/// `webCertificate` / `RTSPCertificate`: `digest` or `digest/basic`.
pub fn certificate_type(body: &str) -> Option<String> {
    let doc = xml::parse(body).ok()?;
    find_text(doc.root_element(), "CertificateType").map(|t| t.to_ascii_lowercase())
}

/// SNMP: (v1, v2c, v3) enables.
pub fn snmp(body: &str) -> Option<(bool, bool, bool)> {
    let doc = xml::parse(body).ok()?;
    let root = doc.root_element();
    let version = |n: &str| child(root, n).and_then(|v| child_bool(v, "enabled"));
    Some((version("SNMPv1")?, version("SNMPv2c")?, version("SNMPv3").unwrap_or(false)))
}

/// `Integrate`: (ONVIF enabled, ONVIF certificateType).
pub fn integrate_onvif(body: &str) -> Option<(bool, String)> {
    let doc = xml::parse(body).ok()?;
    let onvif = child(doc.root_element(), "ONVIF")?;
    Some((child_bool(onvif, "enable")?, child_text(onvif, "certificateType").unwrap_or_default()))
}

/// `DiscoveryMode/SADP` is `discoverable`.
pub fn sadp_discoverable(body: &str) -> Option<bool> {
    let doc = xml::parse(body).ok()?;
    child_text(doc.root_element(), "SADP").map(|v| v.eq_ignore_ascii_case("discoverable"))
}

/// `DeviceInfo/deviceName`.
pub fn device_name(body: &str) -> Option<String> {
    let doc = xml::parse(body).ok()?;
    child_text(doc.root_element(), "deviceName")
}

/// `Time/timeZone` (`CST-8:00:00`).
pub fn time_zone(body: &str) -> Option<String> {
    let doc = xml::parse(body).ok()?;
    child_text(doc.root_element(), "timeZone").filter(|t| !t.trim().is_empty())
}

/// The addresses an `IPFilter` admits: its entries when it is an allow list (per
/// entry or for the whole list), none for a deny list.
pub fn ip_filter_admitted(body: &str) -> Option<Vec<String>> {
    let doc = xml::parse(body).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "IPFilter" {
        return None;
    }
    let policy = child_text(root, "permissionType").unwrap_or_else(|| "allow".into());
    let mut out = Vec::new();
    for e in descendants(root, "IPFilterAddress") {
        let allow = child_text(e, "permissionType").unwrap_or_else(|| policy.clone()).eq_ignore_ascii_case("allow");
        let mask = child(e, "AddressMask");
        let address = mask.and_then(|m| child_text(m, "ipAddress")).or_else(|| child_text(e, "ipAddress"));
        let range = child(e, "AddressRange")
            .and_then(|r| Some(format!("{}-{}", child_text(r, "startIPAddress")?, child_text(r, "endIPAddress")?)));
        if let (true, Some(a)) = (allow, address.or(range)) {
            out.push(a);
        }
    }
    Some(out)
}

/// `Time/timeMode` is NTP.
pub fn time_is_ntp(body: &str) -> Option<bool> {
    let doc = xml::parse(body).ok()?;
    child_text(doc.root_element(), "timeMode").map(|m| m.eq_ignore_ascii_case("ntp"))
}

/// NTP server hosts of an `NTPServerList` or a single `NTPServer`.
pub fn ntp_servers(body: &str) -> Option<Vec<String>> {
    let doc = xml::parse(body).ok()?;
    let root = list_root(&doc, &["NTPServerList", "NTPServer"]).ok()?;
    let nodes: Vec<_> =
        if root.tag_name().name() == "NTPServer" { vec![root] } else { descendants(root, "NTPServer").collect() };
    Some(
        nodes
            .into_iter()
            .filter_map(|n| {
                let host = match child_text(n, "addressingFormatType").as_deref() {
                    Some("hostname") => child_text(n, "hostName"),
                    _ => child_text(n, "ipAddress").or_else(|| child_text(n, "hostName")),
                }?;
                (!host.is_empty() && host != "0.0.0.0").then_some(host)
            })
            .collect(),
    )
}

/// The interface as `IPAddress` (`/ISAPI/System/Network/interfaces/1/ipAddress`) or a
/// `NetworkInterface` that wraps it says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpConfig {
    /// `10.0.0.21/24`, or `dhcp 10.0.0.21/24` for a leased one.
    pub ipv4: String,
    pub gateway: Option<String>,
    pub dns: Vec<String>,
}

pub fn ip_address(body: &str) -> Result<IpConfig, String> {
    let doc = xml::parse(body)?;
    let root = doc.root_element();
    let ip = if root.tag_name().name() == "IPAddress" {
        root
    } else {
        xml::find(root, "IPAddress").ok_or("no IPAddress element")?
    };
    let address = child_text(ip, "ipAddress").ok_or("no ipAddress")?;
    let address: std::net::Ipv4Addr = address.trim().parse().map_err(|_| format!("ipAddress {address:?}"))?;
    let mask = child_text(ip, "subnetMask").unwrap_or_default();
    let prefix = crate::site::addresses::prefix_of(&mask).ok_or_else(|| format!("subnetMask {mask:?}"))?;
    let dhcp = child_text(ip, "addressingType").is_some_and(|t| t.trim() == "dynamic");
    let host = |name: &str| {
        child(ip, name)
            .and_then(|n| child_text(n, "ipAddress"))
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty() && t != "0.0.0.0")
    };
    Ok(IpConfig {
        ipv4: format!("{}{address}/{prefix}", if dhcp { "dhcp " } else { "" }),
        gateway: host("DefaultGateway"),
        dns: ["PrimaryDNS", "SecondaryDNS"].iter().filter_map(|n| host(n)).collect(),
    })
}

/// `ServerCertificate/selfSigned`.
pub fn certificate_self_signed(body: &str) -> Option<bool> {
    let doc = xml::parse(body).ok()?;
    find_text(doc.root_element(), "selfSigned").and_then(|t| parse_bool(&t))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> Option<String> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/isapi");
        std::fs::read_to_string(dir.join(name)).ok()
    }

    /// Both namespaces, the bare `IPAddress` and the `NetworkInterface` that wraps it, a
    /// leased address, and a document without an address (an error, not a panic).
    #[test]
    fn the_interface_reads_as_firmware_writes_it() {
        for ns in ["http://www.hikvision.com/ver20/XMLSchema", "http://www.isapi.org/ver20/XMLSchema"] {
            let bare = format!(
                "<IPAddress version=\"2.0\" xmlns=\"{ns}\"><ipVersion>v4</ipVersion><addressingType>static</addressingType>\
                 <ipAddress>192.0.0.64</ipAddress><subnetMask>255.255.255.0</subnetMask><DefaultGateway><ipAddress>192.0.0.1\
                 </ipAddress></DefaultGateway><PrimaryDNS><ipAddress>8.8.8.8</ipAddress></PrimaryDNS><SecondaryDNS>\
                 <ipAddress>0.0.0.0</ipAddress></SecondaryDNS></IPAddress>"
            );
            let c = ip_address(&bare).unwrap();
            assert_eq!(
                (c.ipv4.as_str(), c.gateway.as_deref(), c.dns.clone()),
                ("192.0.0.64/24", Some("192.0.0.1"), vec!["8.8.8.8".to_string()])
            );
            let wrapped = format!(
                "<NetworkInterface xmlns=\"{ns}\"><id>1</id>{}</NetworkInterface>",
                bare.replace(&format!(" version=\"2.0\" xmlns=\"{ns}\""), "")
            );
            assert_eq!(ip_address(&wrapped).unwrap(), c);
        }
        let leased = "<IPAddress><addressingType>dynamic</addressingType><ipAddress>10.0.0.5</ipAddress><subnetMask>255.255.0.0</subnetMask></IPAddress>";
        assert_eq!(ip_address(leased).unwrap().ipv4, "dhcp 10.0.0.5/16");
        assert!(ip_address("<IPAddress><subnetMask>255.255.255.0</subnetMask></IPAddress>").is_err());
        assert!(ip_address(
            "<IPAddress><ipAddress>10.0.0.5</ipAddress><subnetMask>255.0.255.0</subnetMask></IPAddress>"
        )
        .is_err());
    }

    #[test]
    fn device_info_reads_both_firmware_namespaces() {
        let Some(v5) = fixture("hikvision-DS-2CD2155FWD-I-V5.5.0_build_170725-System.deviceInfo.xml") else {
            panic!("../shared/fixtures missing");
        };
        let id = device_info(&v5).unwrap();
        assert_eq!(id.model, "DS-2CD2155FWD-I");
        assert_eq!(id.firmware_version, "V5.5.0");
        assert_eq!(id.firmware_build.as_deref(), Some("170725"));
        assert_eq!(id.mac, "02:00:00:00:21:55");
        let door = fixture("hikvision-DS-KB8113-IME1B-V2.2.60_build_231204-System.deviceInfo.xml").unwrap();
        let id = device_info(&door).unwrap();
        assert_eq!(id.model, "DS-KB8113-IME1(B)");
        assert_eq!(id.device_type, "VIS");
    }

    #[test]
    fn every_isapi_fixture_is_read_without_panicking() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/isapi");
        let entries = std::fs::read_dir(&dir).expect("fixtures present");
        let mut n = 0;
        for e in entries.flatten() {
            let text = String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned();
            let _ = (device_info(&text), users(&text), admin_accesses(&text), response_status(&text), enabled(&text));
            let _ = (any_enabled(&text), user_check(&text), snmp(&text), ntp_servers(&text), certificate_type(&text));
            n += 1;
        }
        assert!(n >= 8, "read {n} fixtures");
    }

    #[test]
    fn the_401_capture_is_recognised_as_html_not_xml() {
        let raw = fixture("hikvision-DS-2CD2155FWD-I-V5.5.0_build_170725-System.status-401-basic-auth-rejected.http")
            .unwrap();
        let body = raw.split("\r\n\r\n").nth(1).or_else(|| raw.split("\n\n").nth(1)).unwrap();
        assert!(response_status(body).is_none());
        assert!(device_info(body).is_err());
    }

    #[test]
    fn documents_from_the_protocol_notes_parse() {
        let aa = r#"<AdminAccessProtocolList xmlns="urn:psialliance-org"><AdminAccessProtocol><id>1</id><enabled>true</enabled><protocol>HTTP</protocol><portNo>80</portNo></AdminAccessProtocol><AdminAccessProtocol><id>2</id><protocol>DEV_MANAGE</protocol><portNo>8000</portNo></AdminAccessProtocol><AdminAccessProtocol><id>4</id><enabled>true</enabled><protocol>https</protocol><portNo>443</portNo><TLS1_1Enable>false</TLS1_1Enable><TLS1_2Enable>true</TLS1_2Enable></AdminAccessProtocol></AdminAccessProtocolList>"#;
        let list = admin_accesses(aa).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list[1].enabled, None);
        assert_eq!(list[2].protocol, "HTTPS");
        assert_eq!(list[2].tls1_2, Some(true));
        assert_eq!(
            response_status(
                "<ResponseStatus><statusCode>4</statusCode><subStatusCode>notSupport</subStatusCode></ResponseStatus>"
            ),
            Some((4, "notSupport".into()))
        );
        assert!(is_not_supported(
            403,
            "<ResponseStatus><statusCode>4</statusCode><subStatusCode>notSupport</subStatusCode></ResponseStatus>"
        ));
        assert_eq!(enabled("<SSH><enabled>flase</enabled></SSH>"), Some(false));
        assert_eq!(ntp_servers("<NTPServerList><NTPServer><addressingFormatType>ipaddress</addressingFormatType><ipAddress>0.0.0.0</ipAddress></NTPServer></NTPServerList>"), Some(vec![]));
        assert_eq!(integrate_onvif("<Integrate><ONVIF><enable>true</enable><certificateType>digest/wsse</certificateType></ONVIF></Integrate>"), Some((true, "digest/wsse".into())));
    }

    #[test]
    fn another_document_is_not_an_empty_list() {
        let status = "<ResponseStatus version=\"2.0\"><statusCode>1</statusCode><statusString>OK</statusString></ResponseStatus>";
        assert!(users(status).is_err(), "a ResponseStatus does not say 'no users'");
        assert!(user_ids(status).is_err());
        assert!(admin_accesses(status).is_err(), "nor 'HTTP and HTTPS are off'");
        assert_eq!(ntp_servers(status), None);
        assert_eq!(users("<UserList/>").unwrap(), Vec::<(String, String)>::new());
    }
}
