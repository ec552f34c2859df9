//! ONVIF SOAP, without I/O: request envelopes with a WS-Security UsernameToken, and
//! namespace-agnostic readers for the answers and faults real firmware sends.
//! There is no kept SOAP/WS-Security crate for Rust (crates.io `onvif` is an empty
//! placeholder), so this small module is written by hand.

use base64::Engine;
use sha1::{Digest, Sha1};

use crate::posture::Identity;
use crate::xml::{self, child, child_text, descendants, find, find_text};

pub const NS_DEVICE: &str = "http://www.onvif.org/ver10/device/wsdl";
pub const NS_TAS: &str = "http://www.onvif.org/ver10/advancedsecurity/wsdl";
/// sha256WithRSAEncryption (a standard OID).
pub const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";

/// `Base64(SHA1(nonce || created || password))`.
pub fn password_digest(nonce: &[u8], created: &str, password: &str) -> String {
    let mut h = Sha1::new();
    h.update(nonce);
    h.update(created.as_bytes());
    h.update(password.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(h.finalize())
}

/// A UsernameToken header; `created` is the device's clock, not ours.
pub fn security_header(username: &str, password: &str, nonce: &[u8], created: &str) -> String {
    let b64 = base64::engine::general_purpose::STANDARD;
    format!(
        concat!(
            r#"<s:Header><wsse:Security s:mustUnderstand="1" xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd" xmlns:wsu="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd">"#,
            r#"<wsse:UsernameToken><wsse:Username>{}</wsse:Username><wsse:Password Type="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0#PasswordDigest">{}</wsse:Password>"#,
            r#"<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">{}</wsse:Nonce><wsu:Created>{}</wsu:Created></wsse:UsernameToken></wsse:Security></s:Header>"#
        ),
        xml::esc(username),
        password_digest(nonce, created, password),
        b64.encode(nonce),
        created
    )
}

pub fn envelope(header: &str, body: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:tds="{NS_DEVICE}" xmlns:tas="{NS_TAS}" xmlns:tt="http://www.onvif.org/ver10/schema">{header}<s:Body>{body}</s:Body></s:Envelope>"#
    )
}

/// A SOAP fault: the code and every subcode value, local names only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fault {
    pub code: String,
    pub subcodes: Vec<String>,
    pub reason: String,
}

impl Fault {
    pub fn is(&self, subcode: &str) -> bool {
        self.subcodes.iter().any(|s| s.eq_ignore_ascii_case(subcode))
    }
    pub fn not_authorized(&self) -> bool {
        self.is("NotAuthorized") || self.reason.to_ascii_lowercase().contains("not authorized")
    }
    /// The device does not implement the operation. Firmware says so with the ONVIF
    /// subcode (in the Code, or in the Detail), or, with no subcode at all, only in words:
    /// "Action not supported", "Optional Action Not Implemented", gSOAP's "Method '…'
    /// not implemented". Words count only without a subcode, which would say otherwise.
    pub fn not_supported(&self) -> bool {
        if self.is("ActionNotSupported") || self.is("ActionNotSupport") || self.is("NoSuchService") {
            return true;
        }
        let reason = self.reason.to_ascii_lowercase();
        self.subcodes.is_empty()
            && ["action not supported", "not implemented", "method name or namespace not recognized"]
                .iter()
                .any(|w| reason.contains(w))
    }
    /// `InvalidArgVal/KeyLength: unsupported key length`, for messages; the code when
    /// there is no subcode, never an empty one.
    pub fn describe(&self) -> String {
        let code = match (self.subcodes.is_empty(), self.code.is_empty()) {
            (false, _) => self.subcodes.join("/"),
            (true, false) => self.code.clone(),
            (true, true) => "fault".to_string(),
        };
        if self.reason.is_empty() {
            code
        } else {
            format!("{code}: {}", self.reason)
        }
    }
}

fn local(qname: &str) -> String {
    qname.trim().rsplit(':').next().unwrap_or("").to_string()
}

/// The fault in an answer, if it is one.
pub fn fault(body: &str) -> Option<Fault> {
    let doc = xml::parse(body).ok()?;
    let f = find(doc.root_element(), "Fault")?;
    let code_node = child(f, "Code");
    let code = code_node.and_then(|c| child_text(c, "Value")).map(|v| local(&v)).unwrap_or_default();
    let mut subcodes: Vec<String> = code_node
        .map(|c| descendants(c, "Subcode").filter_map(|s| child_text(s, "Value")).map(|v| local(&v)).collect())
        .unwrap_or_default();
    // Some firmware puts the ONVIF subcode in the Detail (`ter:fault/ter:subcode`) and
    // leaves the Code bare.
    if let Some(detail) = find(f, "Detail") {
        for node in detail.descendants().filter(|n| n.is_element() && !n.children().any(|c| c.is_element())) {
            let name = node.tag_name().name();
            if name.eq_ignore_ascii_case("subcode") || name.eq_ignore_ascii_case("value") {
                let v = local(node.text().unwrap_or_default());
                if !v.is_empty() && !subcodes.contains(&v) {
                    subcodes.push(v);
                }
            }
        }
    }
    // SOAP 1.1 style faults (faultcode/faultstring) appear on some firmware too.
    let reason = find_text(f, "Text").or_else(|| find_text(f, "faultstring")).unwrap_or_default();
    let code = if code.is_empty() { find_text(f, "faultcode").map(|v| local(&v)).unwrap_or_default() } else { code };
    Some(Fault { code, subcodes, reason })
}

/// The first element inside Body (the response), or an error describing the answer.
pub fn response_body(body: &str, expected: &str) -> Result<(), String> {
    let doc = xml::parse(body)?;
    let b = find(doc.root_element(), "Body").ok_or("no SOAP Body")?;
    let first = b.children().find(|n| n.is_element()).ok_or("empty Body")?;
    if first.tag_name().name() == expected {
        Ok(())
    } else {
        Err(format!("expected {expected}, got {}", first.tag_name().name()))
    }
}

/// GetSystemDateAndTime → (UTC time, whether NTP drives the clock).
pub fn system_date_time(body: &str) -> Result<(chrono::DateTime<chrono::Utc>, bool), String> {
    let doc = xml::parse(body)?;
    let root = doc.root_element();
    let sdt = find(root, "SystemDateAndTime").ok_or("no SystemDateAndTime")?;
    let ntp = child_text(sdt, "DateTimeType").is_some_and(|t| t.eq_ignore_ascii_case("ntp"));
    let utc = child(sdt, "UTCDateTime").ok_or("no UTCDateTime")?;
    let num = |parent: &str, name: &str| -> Result<u32, String> {
        find(utc, parent)
            .and_then(|p| child_text(p, name))
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("no {parent}/{name}"))
    };
    let date = chrono::NaiveDate::from_ymd_opt(num("Date", "Year")? as i32, num("Date", "Month")?, num("Date", "Day")?)
        .ok_or("invalid date")?;
    let time =
        chrono::NaiveTime::from_hms_opt(num("Time", "Hour")?, num("Time", "Minute")?, num("Time", "Second")?.min(59))
            .ok_or("invalid time")?;
    Ok((date.and_time(time).and_utc(), ntp))
}

pub fn device_information(body: &str) -> Result<Identity, String> {
    let doc = xml::parse(body)?;
    let r = find(doc.root_element(), "GetDeviceInformationResponse").ok_or("no GetDeviceInformationResponse")?;
    let get = |n: &str| child_text(r, n).unwrap_or_default();
    let manufacturer = get("Manufacturer");
    let fw = get("FirmwareVersion");
    // Hikvision writes "V5.5.0 build 170725".
    let (version, build) = match fw.split_once("build") {
        Some((v, b)) => (v.trim().to_string(), Some(b.trim().to_string()).filter(|b| !b.is_empty())),
        None => (fw.trim().to_string(), None),
    };
    Ok(Identity {
        vendor: manufacturer.to_ascii_lowercase(),
        manufacturer,
        model: get("Model"),
        serial: get("SerialNumber"),
        mac: String::new(),
        firmware_version: version,
        firmware_build: build,
        device_type: String::new(),
    })
}

/// GetNetworkProtocols → (name, enabled, ports).
pub fn network_protocols(body: &str) -> Result<Vec<(String, bool, Vec<u16>)>, String> {
    let doc = xml::parse(body)?;
    let r = find(doc.root_element(), "GetNetworkProtocolsResponse").ok_or("no GetNetworkProtocolsResponse")?;
    Ok(descendants(r, "NetworkProtocols")
        .map(|p| {
            let name = child_text(p, "Name").unwrap_or_default().to_ascii_uppercase();
            let enabled = child_text(p, "Enabled").and_then(|t| xml::parse_bool(&t)).unwrap_or(false);
            let ports = descendants(p, "Port").filter_map(|n| xml::text(n).parse().ok()).collect();
            (name, enabled, ports)
        })
        .collect())
}

pub fn discovery_mode(body: &str) -> Result<bool, String> {
    let doc = xml::parse(body)?;
    let m = find_text(doc.root_element(), "DiscoveryMode").ok_or("no DiscoveryMode")?;
    Ok(m.eq_ignore_ascii_case("Discoverable"))
}

/// GetUsers → (name, level).
pub fn users(body: &str) -> Result<Vec<(String, String)>, String> {
    let doc = xml::parse(body)?;
    let r = find(doc.root_element(), "GetUsersResponse").ok_or("no GetUsersResponse")?;
    Ok(descendants(r, "User")
        .map(|u| (child_text(u, "Username").unwrap_or_default(), child_text(u, "UserLevel").unwrap_or_default()))
        .collect())
}

/// GetNTP → the manually configured servers that look like real addresses.
pub fn ntp_servers(body: &str) -> Result<Vec<String>, String> {
    let doc = xml::parse(body)?;
    let info = find(doc.root_element(), "NTPInformation").ok_or("no NTPInformation")?;
    let mut out = Vec::new();
    for m in descendants(info, "NTPManual").chain(descendants(info, "NTPFromDHCP")) {
        let host =
            child_text(m, "IPv4Address").or_else(|| child_text(m, "IPv6Address")).or_else(|| child_text(m, "DNSname"));
        // Placeholders seen in the field: "0.0.0.0", "NTP", empty.
        if let Some(h) = host.filter(|h| !h.is_empty() && h != "0.0.0.0" && (h.contains('.') || h.contains(':'))) {
            out.push(h);
        }
    }
    Ok(out)
}

/// GetNetworkInterfaces → the first enabled interface's IPv4 address as
/// `10.0.0.21/24`, or `dhcp 10.0.0.21/24` when it is leased.
pub fn network_interface(body: &str) -> Result<String, String> {
    let doc = xml::parse(body)?;
    let ifc = descendants(doc.root_element(), "NetworkInterfaces").next().ok_or("no NetworkInterfaces")?;
    let ipv4 = find(ifc, "IPv4").ok_or("no IPv4")?;
    let config = find(ipv4, "Config").ok_or("no IPv4 Config")?;
    let dhcp = child_text(config, "DHCP").is_some_and(|d| d.trim() == "true");
    let from = if dhcp { find(config, "FromDHCP").or_else(|| find(config, "Manual")) } else { find(config, "Manual") };
    let entry = from.ok_or("no IPv4 address")?;
    let address = child_text(entry, "Address").ok_or("no Address")?;
    let prefix = child_text(entry, "PrefixLength").ok_or("no PrefixLength")?;
    let address: std::net::Ipv4Addr = address.trim().parse().map_err(|_| format!("Address {address:?}"))?;
    let prefix: u8 = prefix.trim().parse().map_err(|_| format!("PrefixLength {prefix:?}"))?;
    Ok(format!("{}{address}/{prefix}", if dhcp { "dhcp " } else { "" }))
}

/// GetNetworkInterfaces → the first interface's token (what SetNetworkInterfaces names).
pub fn interface_token(body: &str) -> Result<String, String> {
    let doc = xml::parse(body)?;
    let ifc = descendants(doc.root_element(), "NetworkInterfaces").next().ok_or("no NetworkInterfaces")?;
    ifc.attribute("token").map(str::to_string).filter(|t| !t.is_empty()).ok_or_else(|| "no interface token".into())
}

/// GetNetworkDefaultGateway → the IPv4 gateway (empty: none).
pub fn default_gateway(body: &str) -> Result<String, String> {
    let doc = xml::parse(body)?;
    let gw = find(doc.root_element(), "NetworkGateway").ok_or("no NetworkGateway")?;
    Ok(child_text(gw, "IPv4Address").map(|g| g.trim().to_string()).filter(|g| g != "0.0.0.0").unwrap_or_default())
}

/// GetDNS → the manual DNS servers (IPv4), then those from DHCP.
pub fn dns(body: &str) -> Result<Vec<String>, String> {
    let doc = xml::parse(body)?;
    let info = find(doc.root_element(), "DNSInformation").ok_or("no DNSInformation")?;
    Ok(descendants(info, "DNSManual")
        .chain(descendants(info, "DNSFromDHCP"))
        .filter_map(|m| child_text(m, "IPv4Address"))
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty() && a != "0.0.0.0")
        .collect())
}

/// GetHostname → the host name.
pub fn hostname(body: &str) -> Result<String, String> {
    let doc = xml::parse(body)?;
    let info = find(doc.root_element(), "HostnameInformation").ok_or("no HostnameInformation")?;
    Ok(child_text(info, "Name").map(|n| n.trim().to_string()).unwrap_or_default())
}

/// GetIPAddressFilter → whether a restriction is in force (an allow list, or a
/// non-empty deny list).
pub fn ip_filter_active(body: &str) -> Result<bool, String> {
    ip_filter(body).map(|(active, _)| active)
}

/// GetIPAddressFilter → (whether a filter is in force, the addresses it admits). A
/// deny list admits no one by name, so its addresses are not listed; a prefix other
/// than a single host reads as `address/prefix`.
pub fn ip_filter(body: &str) -> Result<(bool, Vec<String>), String> {
    let doc = xml::parse(body)?;
    let f = find(doc.root_element(), "IPAddressFilter").ok_or("no IPAddressFilter")?;
    let kind = child_text(f, "Type").unwrap_or_default();
    let entries: Vec<String> = descendants(f, "IPv4Address")
        .chain(descendants(f, "IPv6Address"))
        .filter_map(|e| {
            let address = child_text(e, "Address")?;
            Some(match child_text(e, "PrefixLength").as_deref() {
                None | Some("32") | Some("128") => address,
                Some(p) => format!("{address}/{p}"),
            })
        })
        .collect();
    let allow = kind.eq_ignore_ascii_case("Allow");
    let known_kind = allow || kind.eq_ignore_ascii_case("Deny");
    let active = known_kind && !entries.is_empty();
    Ok((active, if allow { entries } else { Vec::new() }))
}

/// GetSystemDateAndTime → the POSIX TZ string, if the device states one.
pub fn time_zone(body: &str) -> Option<String> {
    let doc = xml::parse(body).ok()?;
    let tz = find(doc.root_element(), "TimeZone")?;
    child_text(tz, "TZ").filter(|t| !t.trim().is_empty())
}

/// GetScopes → (scope URI, whether it is fixed).
pub fn scopes(body: &str) -> Result<Vec<(String, bool)>, String> {
    let doc = xml::parse(body)?;
    let r = find(doc.root_element(), "GetScopesResponse").ok_or("no GetScopesResponse")?;
    Ok(descendants(r, "Scopes")
        .filter_map(|s| {
            let item = child_text(s, "ScopeItem")?;
            let fixed = child_text(s, "ScopeDef").is_some_and(|d| d.eq_ignore_ascii_case("Fixed"));
            Some((item.trim().to_string(), fixed))
        })
        .collect())
}

pub const NAME_SCOPE: &str = "onvif://www.onvif.org/name/";

/// The device name the `name` scope carries (percent-decoded).
pub fn name_from_scopes(scopes: &[(String, bool)]) -> Option<String> {
    scopes.iter().find_map(|(s, _)| {
        let raw = s.strip_prefix(NAME_SCOPE)?;
        Some(percent_encoding::percent_decode_str(raw).decode_utf8_lossy().into_owned())
    })
}

/// The `name` scope for a device name.
pub fn name_scope(name: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet =
        &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');
    format!("{NAME_SCOPE}{}", percent_encoding::utf8_percent_encode(name, KEEP))
}

/// GetServiceCapabilities → the Security element's attributes.
pub fn security_capabilities(body: &str) -> Result<Vec<(String, String)>, String> {
    let doc = xml::parse(body)?;
    let s = find(doc.root_element(), "Security").ok_or("no Security capabilities")?;
    Ok(s.attributes().map(|a| (a.name().to_string(), a.value().to_string())).collect())
}

/// GetServices → (namespace, XAddr) of every service.
pub fn services(body: &str) -> Result<Vec<(String, String)>, String> {
    let doc = xml::parse(body)?;
    let r = find(doc.root_element(), "GetServicesResponse").ok_or("no GetServicesResponse")?;
    Ok(xml::children(r, "Service")
        .filter_map(|s| Some((child_text(s, "Namespace")?, child_text(s, "XAddr").unwrap_or_default())))
        .collect())
}

/// The path of an XAddr (`http://10.0.0.5/onvif/security` → `/onvif/security`): the
/// scheme and host the session already uses stay, whatever address the device states.
pub fn xaddr_path(xaddr: &str) -> Option<String> {
    let url = url::Url::parse(xaddr.trim()).ok()?;
    Some(url.path().to_string()).filter(|p| p.starts_with('/'))
}

/// GetCertificates (device service, deprecated but widespread) → (ID, DER) of each.
pub fn nvt_certificates(body: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
    let doc = xml::parse(body)?;
    let r = find(doc.root_element(), "GetCertificatesResponse").ok_or("no GetCertificatesResponse")?;
    descendants(r, "NvtCertificate")
        .map(|c| {
            let id = child_text(c, "CertificateID").unwrap_or_default();
            let data: String = find_text(c, "Data").unwrap_or_default().split_whitespace().collect();
            let der = base64::engine::general_purpose::STANDARD.decode(data).map_err(|e| format!("{id}: {e}"))?;
            Ok((id, der))
        })
        .collect()
}

/// GetCertificatesStatus → (ID, in use) of each.
pub fn certificates_status(body: &str) -> Result<Vec<(String, bool)>, String> {
    let doc = xml::parse(body)?;
    let r = find(doc.root_element(), "GetCertificatesStatusResponse").ok_or("no GetCertificatesStatusResponse")?;
    Ok(descendants(r, "CertificateStatus")
        .filter_map(|s| Some((child_text(s, "CertificateID")?, xml::parse_bool(&child_text(s, "Status")?)?)))
        .collect())
}

/// Whether a certificate names itself as its issuer (a factory self-signed one).
pub fn is_self_signed(der: &[u8]) -> Result<bool, String> {
    let (_, cert) = x509_parser::parse_x509_certificate(der).map_err(|e| e.to_string())?;
    Ok(cert.issuer() == cert.subject())
}

/// What Advanced Security's keystore can do (tas:GetServiceCapabilities).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeystoreCapabilities {
    pub rsa_key_generation: bool,
    pub rsa_key_lengths: Vec<u32>,
    pub pkcs10: bool,
    pub pkcs8_upload: bool,
}

pub fn keystore_capabilities(body: &str) -> Result<KeystoreCapabilities, String> {
    let doc = xml::parse(body)?;
    let k = find(doc.root_element(), "KeystoreCapabilities").ok_or("no KeystoreCapabilities")?;
    let flag = |name: &str| k.attribute(name).and_then(xml::parse_bool).unwrap_or(false);
    Ok(KeystoreCapabilities {
        rsa_key_generation: flag("RSAKeyPairGeneration"),
        rsa_key_lengths: k
            .attribute("RSAKeyLengths")
            .unwrap_or("")
            .split_whitespace()
            .filter_map(|n| n.parse().ok())
            .collect(),
        pkcs10: flag("PKCS10") || flag("PKCS10ExternalCertificationWithRSA"),
        pkcs8_upload: flag("PKCS8RSAKeyPairUpload"),
    })
}

/// The text of the first element with this local name in an answer.
pub fn text_of(body: &str, local: &str) -> Result<String, String> {
    let doc = xml::parse(body)?;
    find_text(doc.root_element(), local).ok_or_else(|| format!("no {local}"))
}

/// Every text of elements with this local name (IDs in a list answer).
pub fn texts_of(body: &str, local: &str) -> Result<Vec<String>, String> {
    let doc = xml::parse(body)?;
    Ok(descendants(doc.root_element(), local).map(xml::text).filter(|t| !t.is_empty()).collect())
}

/// Every element with this local name as (child local name, text) pairs: the
/// `Certificate`s of GetAllCertificates, the `KeyAttribute`s of GetAllKeys.
pub fn records(body: &str, local: &str) -> Result<Vec<Vec<(String, String)>>, String> {
    let doc = xml::parse(body)?;
    Ok(descendants(doc.root_element(), local)
        .map(|r| {
            r.children().filter(|c| c.is_element()).map(|c| (c.tag_name().name().to_string(), xml::text(c))).collect()
        })
        .collect())
}

/// A field of one of [`records`]' entries.
pub fn field<'a>(record: &'a [(String, String)], name: &str) -> Option<&'a str> {
    record.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// An `xs:duration` of seconds (`PT5S`, `PT1M30S`, `PT0.5S`); hours and minutes too.
pub fn duration_seconds(text: &str) -> Option<f64> {
    let rest = text.trim().strip_prefix("PT")?;
    let (mut total, mut number) = (0.0, String::new());
    for c in rest.chars() {
        match c {
            '0'..='9' | '.' => number.push(c),
            'H' | 'M' | 'S' => {
                let n: f64 = number.parse().ok()?;
                total += n * match c {
                    'H' => 3600.0,
                    'M' => 60.0,
                    _ => 1.0,
                };
                number.clear();
            }
            _ => return None,
        }
    }
    number.is_empty().then_some(total)
}

/// One `NTPManual` entry: an IPv4 address or a DNS name.
pub fn ntp_manual(host: &str) -> String {
    let h = xml::esc(host);
    if host.parse::<std::net::Ipv4Addr>().is_ok() {
        format!("<tds:NTPManual><tt:Type>IPv4</tt:Type><tt:IPv4Address>{h}</tt:IPv4Address></tds:NTPManual>")
    } else {
        format!("<tds:NTPManual><tt:Type>DNS</tt:Type><tt:DNSname>{h}</tt:DNSname></tds:NTPManual>")
    }
}

/// One host of an IP address filter.
pub fn filter_address(host: &str) -> String {
    format!(
        "<tt:IPv4Address><tt:Address>{}</tt:Address><tt:PrefixLength>32</tt:PrefixLength></tt:IPv4Address>",
        xml::esc(host)
    )
}

#[cfg(test)]
mod tests;
