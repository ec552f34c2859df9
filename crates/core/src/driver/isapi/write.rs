//! ISAPI writes: each setting is changed by reading its document, changing only the
//! elements that carry the setting, and putting the document back (protocols.md §4.4).
//! Working on the device's own document keeps its namespace and every element this
//! code does not know about, which firmware checks.

use crate::posture::Value;
use crate::setting::Setting;
use crate::xml::{child, children, descendants, find, Splice};

/// What a write needs to know besides the target value.
#[derive(Debug, Clone, Default)]
pub struct WriteContext {
    /// Addresses the IP filter must always admit (the management host first).
    pub management_hosts: Vec<String>,
}

/// The endpoint a setting lives in (read and written at the same path).
pub fn endpoint(key: Setting) -> Option<&'static str> {
    super::ENDPOINTS.iter().find(|(_, keys)| keys.contains(&key)).map(|(path, _)| *path)
}

/// Settings that firmware keeps in one element: `TLS1_1Enable` switches TLS 1.0 and
/// 1.1 together (protocols.md §4, adminAccesses).
pub fn switch_of(key: Setting) -> Option<&'static str> {
    match key {
        Setting::TlsV10 | Setting::TlsV11 => Some("adminAccesses/HTTPS/TLS1_1Enable"),
        _ => None,
    }
}

fn as_bool(key: Setting, v: &Value) -> Result<bool, String> {
    match v {
        Value::Bool(b) => Ok(*b),
        other => Err(format!("{key}: expected true or false, got {other}")),
    }
}

fn as_text(key: Setting, v: &Value) -> Result<&str, String> {
    match v {
        Value::Text(t) => Ok(t),
        other => Err(format!("{key}: expected text, got {other}")),
    }
}

fn word(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// Set a child element's text, adding the element when the firmware left it out.
fn set_child(s: &mut Splice<'_>, parent: roxmltree::Node<'_, '_>, name: &str, value: &str) {
    match child(parent, name) {
        Some(n) => s.set_text(n, value),
        None => s.append_child(parent, format!("<{name}>{}</{name}>", crate::xml::esc(value))),
    }
}

/// The `IPAddress` document to PUT for this interface, given the device's own (its
/// other elements kept as they are). Static addressing; the host name is not ISAPI's.
pub fn interface(current: &str, to: &crate::site::addresses::Interface) -> Result<String, String> {
    let mut s = Splice::new(current);
    let doc = s.document()?;
    let root = doc.root_element();
    let ip =
        if root.tag_name().name() == "IPAddress" { root } else { find(root, "IPAddress").ok_or("no IPAddress")? };
    set_child(&mut s, ip, "addressingType", "static");
    set_child(&mut s, ip, "ipAddress", &to.address.to_string());
    let mask = std::net::Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(to.prefix)).unwrap_or(0));
    set_child(&mut s, ip, "subnetMask", &mask.to_string());
    let hosts = [
        ("DefaultGateway", to.gateway),
        ("PrimaryDNS", to.dns.first().copied()),
        ("SecondaryDNS", to.dns.get(1).copied()),
    ];
    for (section, host) in hosts {
        let Some(host) = host else { continue };
        match child(ip, section) {
            Some(n) => set_child(&mut s, n, "ipAddress", &host.to_string()),
            None => s.append_child(ip, format!("<{section}><ipAddress>{host}</ipAddress></{section}>")),
        }
    }
    s.finish()
}

/// The document to PUT so that `key` becomes `to`, given the current document.
pub fn edit(key: Setting, current: &str, to: &Value, ctx: &WriteContext) -> Result<String, String> {
    let mut s = Splice::new(current);
    let doc = s.document()?;
    let root = doc.root_element();
    match key {
        Setting::ServiceTelnetEnabled
        | Setting::ServiceSshEnabled
        | Setting::ServiceUpnpEnabled
        | Setting::ServiceCloudEnabled
        | Setting::SecurityLoginLockEnabled => set_child(&mut s, root, "enabled", word(as_bool(key, to)?)),
        // Lists of entries (DDNS providers, FTP targets): every entry.
        Setting::ServiceDdnsEnabled | Setting::ServiceFtpEnabled => {
            let v = word(as_bool(key, to)?);
            let mut any = false;
            for n in descendants(root, "enabled") {
                s.set_text(n, v);
                any = true;
            }
            if !any {
                return Err(format!("{key}: the document has no enabled element"));
            }
        }
        Setting::ServiceSnmpV1 | Setting::ServiceSnmpV2c | Setting::ServiceSnmpV3 => {
            let section = match key {
                Setting::ServiceSnmpV1 => "SNMPv1",
                Setting::ServiceSnmpV2c => "SNMPv2c",
                _ => "SNMPv3",
            };
            let node = child(root, section).ok_or_else(|| format!("{key}: no {section} in the document"))?;
            set_child(&mut s, node, "enabled", word(as_bool(key, to)?));
        }
        Setting::DiscoverySadp => {
            let v = if as_bool(key, to)? { "discoverable" } else { "nonDiscoverable" };
            set_child(&mut s, root, "SADP", v);
        }
        Setting::OnvifEnabled | Setting::OnvifAuth => {
            let onvif = child(root, "ONVIF").ok_or_else(|| format!("{key}: no ONVIF section"))?;
            if key == Setting::OnvifEnabled {
                set_child(&mut s, onvif, "enable", word(as_bool(key, to)?));
            } else {
                set_child(&mut s, onvif, "certificateType", as_text(key, to)?);
            }
        }
        Setting::AuthWeb | Setting::AuthRtsp => {
            let node = find(root, "CertificateType").ok_or_else(|| format!("{key}: no CertificateType"))?;
            s.set_text(node, as_text(key, to)?);
        }
        Setting::TimeNtpEnabled => {
            set_child(&mut s, root, "timeMode", if as_bool(key, to)? { "NTP" } else { "manual" })
        }
        Setting::TimeNtpServers => {
            let Value::List(servers) = to else { return Err(format!("{key}: expected a list of servers")) };
            if servers.is_empty() || servers.len() > 4 {
                return Err(format!("{key}: between 1 and 4 NTP servers, got {}", servers.len()));
            }
            let body: String = servers.iter().enumerate().map(|(i, h)| ntp_server(i + 1, h)).collect();
            if root.tag_name().name() == "NTPServer" {
                return Err(format!("{key}: the device lists one server only"));
            }
            s.set_inner(root, body);
        }
        Setting::ServiceHttpEnabled | Setting::ServiceHttpsEnabled | Setting::ServiceRtspEnabled => {
            let proto = key.key().trim_start_matches("service.").trim_end_matches(".enabled").to_ascii_uppercase();
            let node = admin_protocol(root, &proto).ok_or_else(|| format!("{key}: no {proto} entry"))?;
            set_child(&mut s, node, "enabled", word(as_bool(key, to)?));
        }
        Setting::TlsV10 | Setting::TlsV11 | Setting::TlsV12 => {
            let field = if key == Setting::TlsV12 { "TLS1_2Enable" } else { "TLS1_1Enable" };
            let node = admin_protocol(root, "HTTPS").ok_or_else(|| format!("{key}: no HTTPS entry"))?;
            set_child(&mut s, node, field, word(as_bool(key, to)?));
        }
        Setting::NetworkIpFilterEnabled => {
            let on = as_bool(key, to)?;
            if on {
                if ctx.management_hosts.is_empty() {
                    return Err("refusing to enable the IP filter without a management host".into());
                }
                set_child(&mut s, root, "permissionType", "allow");
                let entries: String =
                    ctx.management_hosts.iter().enumerate().map(|(i, h)| filter_entry(i + 1, h)).collect();
                match child(root, "IPFilterAddressList") {
                    Some(list) => s.set_inner(list, entries),
                    None => s.append_child(root, format!("<IPFilterAddressList>{entries}</IPFilterAddressList>")),
                }
            }
            set_child(&mut s, root, "enabled", word(on));
        }
        Setting::NetworkIpFilterAddresses => {
            let Value::List(hosts) = to else { return Err(format!("{key}: expected a list of addresses")) };
            if hosts.is_empty() || ctx.management_hosts.iter().any(|m| !hosts.contains(m)) {
                return Err("refusing an IP filter list that leaves out the management host".into());
            }
            set_child(&mut s, root, "permissionType", "allow");
            let entries: String = hosts.iter().enumerate().map(|(i, h)| filter_entry(i + 1, h)).collect();
            match child(root, "IPFilterAddressList") {
                Some(list) => s.set_inner(list, entries),
                None => s.append_child(root, format!("<IPFilterAddressList>{entries}</IPFilterAddressList>")),
            }
        }
        Setting::DeviceName => {
            let name = as_text(key, to)?;
            if name.is_empty() || name.chars().count() > crate::site::names::MAX_LEN {
                return Err(format!("{key}: 1 to {} characters", crate::site::names::MAX_LEN));
            }
            set_child(&mut s, root, "deviceName", name);
        }
        // Hikvision writes every offset as h:mm:ss (protocols.md §4, /System/time).
        Setting::TimeZone => set_child(&mut s, root, "timeZone", &crate::site::tz::hikvision(as_text(key, to)?)?),
        other => return Err(format!("{other}: no ISAPI writer")),
    }
    s.finish()
}

fn admin_protocol<'a, 'i>(root: roxmltree::Node<'a, 'i>, proto: &str) -> Option<roxmltree::Node<'a, 'i>> {
    descendants(root, "AdminAccessProtocol")
        .find(|p| children(*p, "protocol").next().is_some_and(|n| crate::xml::text(n).eq_ignore_ascii_case(proto)))
}

fn ntp_server(id: usize, host: &str) -> String {
    let h = crate::xml::esc(host);
    let address = if host.parse::<std::net::IpAddr>().is_ok() {
        format!("<addressingFormatType>ipaddress</addressingFormatType><ipAddress>{h}</ipAddress>")
    } else {
        format!("<addressingFormatType>hostname</addressingFormatType><hostName>{h}</hostName>")
    };
    format!("<NTPServer><id>{id}</id>{address}<portNo>123</portNo><synchronizeInterval>1440</synchronizeInterval></NTPServer>")
}

fn filter_entry(id: usize, host: &str) -> String {
    format!(
        "<IPFilterAddress><id>{id}</id><permissionType>allow</permissionType><addressFilterType>mask</addressFilterType><AddressMask><ipAddress>{}</ipAddress></AddressMask></IPFilterAddress>",
        crate::xml::esc(host)
    )
}

/// The body that changes one web user's password (`PUT /ISAPI/Security/users/{id}`).
pub fn user_password(id: &str, username: &str, password: &str) -> String {
    format!(
        "<User version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><id>{}</id><userName>{}</userName><password>{}</password></User>",
        crate::xml::esc(id),
        crate::xml::esc(username),
        crate::xml::esc(password)
    )
}

/// The ONVIF user update (`PUT /ISAPI/Security/ONVIF/users/{id}`).
pub fn onvif_user_password(id: &str, username: &str, password: &str) -> String {
    format!(
        "<UserList version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><User><id>{}</id><userName>{}</userName><password>{}</password></User></UserList>",
        crate::xml::esc(id),
        crate::xml::esc(username),
        crate::xml::esc(password)
    )
}

/// A web user with its level (`POST /ISAPI/Security/users`, or `PUT …/users/{id}`).
pub fn user_with_level(id: &str, username: &str, password: &str, level: &str) -> String {
    format!(
        "<User version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><id>{}</id><userName>{}</userName><password>{}</password><userLevel>{}</userLevel></User>",
        crate::xml::esc(id),
        crate::xml::esc(username),
        crate::xml::esc(password),
        crate::xml::esc(level)
    )
}

/// The ONVIF twin of a web user: added (`POST /ISAPI/Security/ONVIF/users`) or updated
/// (`PUT /ISAPI/Security/ONVIF/users/{id}`).
pub fn onvif_user_with_type(username: &str, password: &str, user_type: &str) -> String {
    format!(
        "<UserList version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><User><userName>{}</userName><password>{}</password><userType>{}</userType></User></UserList>",
        crate::xml::esc(username),
        crate::xml::esc(password),
        crate::xml::esc(user_type)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver::isapi::wire;

    const NS: &str = "xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"";

    #[test]
    fn a_service_switch_keeps_the_namespace() {
        let doc = format!("<Telnetd version=\"2.0\" {NS}><enabled>true</enabled></Telnetd>");
        let out = edit(Setting::ServiceTelnetEnabled, &doc, &Value::Bool(false), &WriteContext::default()).unwrap();
        assert!(out.contains(NS), "{out}");
        assert_eq!(wire::enabled(&out), Some(false));
    }

    #[test]
    fn snmp_versions_are_switched_one_by_one() {
        let doc = "<SNMP><SNMPv1><enabled>true</enabled><readCommunity>public</readCommunity></SNMPv1><SNMPv2c><enabled>true</enabled></SNMPv2c><SNMPv3><enabled>false</enabled></SNMPv3></SNMP>";
        let out = edit(Setting::ServiceSnmpV2c, doc, &Value::Bool(false), &WriteContext::default()).unwrap();
        assert_eq!(wire::snmp(&out), Some((true, false, false)));
        assert!(out.contains("<readCommunity>public</readCommunity>"));
    }

    #[test]
    fn tls_and_http_switches_find_their_protocol_entry() {
        let doc = "<AdminAccessProtocolList><AdminAccessProtocol><id>1</id><enabled>true</enabled><protocol>HTTP</protocol><portNo>80</portNo></AdminAccessProtocol><AdminAccessProtocol><id>4</id><enabled>true</enabled><protocol>HTTPS</protocol><portNo>443</portNo><TLS1_1Enable>true</TLS1_1Enable><TLS1_2Enable>true</TLS1_2Enable></AdminAccessProtocol></AdminAccessProtocolList>";
        let ctx = WriteContext::default();
        let out = edit(Setting::TlsV11, doc, &Value::Bool(false), &ctx).unwrap();
        let out = edit(Setting::ServiceHttpEnabled, &out, &Value::Bool(false), &ctx).unwrap();
        let list = wire::admin_accesses(&out).unwrap();
        assert_eq!(list[0].enabled, Some(false));
        assert_eq!((list[1].enabled, list[1].tls1_1, list[1].tls1_2), (Some(true), Some(false), Some(true)));
    }

    #[test]
    fn the_ip_filter_is_never_enabled_without_the_management_host() {
        let doc = "<IPFilter><enabled>false</enabled><permissionType>deny</permissionType><IPFilterAddressList size=\"32\"/></IPFilter>";
        let e = edit(Setting::NetworkIpFilterEnabled, doc, &Value::Bool(true), &WriteContext::default()).unwrap_err();
        assert!(e.contains("management host"));
        let ctx = WriteContext { management_hosts: vec!["127.0.0.1".into()] };
        let out = edit(Setting::NetworkIpFilterEnabled, doc, &Value::Bool(true), &ctx).unwrap();
        assert_eq!(wire::enabled(&out), Some(true));
        assert!(out.contains("<permissionType>allow</permissionType>"));
        assert!(out.contains("<ipAddress>127.0.0.1</ipAddress>"), "{out}");
    }

    #[test]
    fn ntp_servers_are_written_in_the_device_list() {
        let doc = format!("<NTPServerList {NS}><NTPServer><id>1</id><addressingFormatType>ipaddress</addressingFormatType><ipAddress>0.0.0.0</ipAddress></NTPServer></NTPServerList>");
        let to = Value::List(vec!["192.0.2.1".into(), "ntp.example.org".into()]);
        let out = edit(Setting::TimeNtpServers, &doc, &to, &WriteContext::default()).unwrap();
        assert_eq!(wire::ntp_servers(&out), Some(vec!["192.0.2.1".into(), "ntp.example.org".into()]));
    }

    #[test]
    fn a_wrong_value_type_is_an_error_not_a_panic() {
        let e = edit(
            Setting::ServiceSshEnabled,
            "<SSH><enabled>true</enabled></SSH>",
            &Value::Int(3),
            &WriteContext::default(),
        );
        assert!(e.is_err());
        assert!(edit(Setting::ServiceSshEnabled, "not xml", &Value::Bool(false), &WriteContext::default()).is_err());
        assert_eq!(endpoint(Setting::ServiceSshEnabled), Some("/ISAPI/System/Network/ssh"));
    }

    #[test]
    fn tls_1_0_and_1_1_are_one_switch() {
        assert_eq!(switch_of(Setting::TlsV10), switch_of(Setting::TlsV11));
        assert!(switch_of(Setting::TlsV10).is_some());
        assert_eq!(switch_of(Setting::ServiceTelnetEnabled), None);
    }

    /// The interface document: address, mask, gateway and DNS set, elements the plan
    /// says nothing of (the link, a vendor's extra) kept as the device wrote them, and a
    /// DNS section the device had none of added.
    #[test]
    fn the_interface_is_written_into_the_devices_own_document() {
        let doc = format!(
            "<IPAddress version=\"2.0\" {NS}><ipVersion>v4</ipVersion><addressingType>dynamic</addressingType>\
             <ipAddress>192.168.1.64</ipAddress><subnetMask>255.255.255.0</subnetMask>\
             <DefaultGateway><ipAddress>192.168.1.1</ipAddress></DefaultGateway><ipV6AddressingType>ra</ipV6AddressingType>\
             </IPAddress>"
        );
        let to =
            crate::site::addresses::Interface::parse("10.20.0.21/23 via 10.20.0.1 dns 10.20.0.2,10.20.0.3").unwrap();
        let out = interface(&doc, &to).unwrap();
        let read = wire::ip_address(&out).unwrap();
        assert_eq!(read.ipv4, "10.20.0.21/23");
        assert_eq!(read.gateway.as_deref(), Some("10.20.0.1"));
        assert_eq!(read.dns, ["10.20.0.2", "10.20.0.3"]);
        assert!(out.contains(NS) && out.contains("<ipV6AddressingType>ra</ipV6AddressingType>"), "{out}");
        assert!(interface("<NotAnInterface/>", &to).is_err());
    }
}
