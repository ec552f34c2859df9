//! SADP (Hikvision's discovery, XML over UDP 37020), without I/O: the inquiry, and
//! the reading of ProbeMatch/Hello replies. Element names are matched
//! case-insensitively and missing fields tolerated: firmware varies.

use crate::xml;

pub const PORT: u16 = 37020;

pub fn inquiry(uuid: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><Probe><Uuid>{}</Uuid><Types>inquiry</Types></Probe>",
        xml::esc(uuid)
    )
}

/// What a SADP reply says about a device.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reply {
    pub uuid: String,
    pub model: Option<String>,
    pub serial: Option<String>,
    pub mac: Option<String>,
    pub address: Option<std::net::Ipv4Addr>,
    pub http_port: Option<u16>,
    pub sdk_port: Option<u16>,
    /// `V5.6.2 build 190701`, normalised from `V5.6.2build 190701`.
    pub firmware: Option<String>,
    pub activated: Option<bool>,
}

/// Read a datagram; `None` for anything but a ProbeMatch or Hello (our own looped-back
/// inquiry included).
pub fn parse(datagram: &[u8]) -> Option<Reply> {
    let text = String::from_utf8_lossy(datagram);
    let doc = xml::parse(&text).ok()?;
    let root = doc.root_element();
    let kind = root.tag_name().name().to_ascii_lowercase();
    if kind != "probematch" && kind != "hello" {
        return None;
    }
    let get = |name: &str| -> Option<String> {
        root.children()
            .find(|n| n.is_element() && n.tag_name().name().eq_ignore_ascii_case(name))
            .map(xml::text)
            .filter(|t| !t.is_empty())
    };
    let firmware = get("SoftwareVersion").map(|v| match v.split_once("build") {
        Some((ver, build)) => format!("{} build {}", ver.trim(), build.trim()),
        None => v,
    });
    Some(Reply {
        uuid: get("Uuid").unwrap_or_default(),
        model: get("DeviceDescription"),
        serial: get("DeviceSN"),
        mac: get("MAC"),
        address: get("IPv4Address").and_then(|a| a.parse().ok()),
        http_port: get("HttpPort").and_then(|p| p.parse().ok()),
        sdk_port: get("CommandPort").and_then(|p| p.parse().ok()),
        firmware,
        activated: get("Activated").and_then(|a| xml::parse_bool(&a)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_are_read_leniently_and_probes_are_not_replies() {
        let r = parse(b"<?xml version=\"1.0\"?>\r\n<ProbeMatch>\r\n<Uuid>A</Uuid>\r\n<DeviceDescription>DS-2CD2320D-I</DeviceDescription>\r\n<DeviceSN>DS-2CD2320D-I20180919AACHC52932642</DeviceSN>\r\n<MAC>44-47-cc-37-ce-81</MAC>\r\n<IPv4Address>192.0.2.64</IPv4Address>\r\n<HttpPort>80</HttpPort>\r\n<SoftwareVersion>V5.5.6build 180326</SoftwareVersion>\r\n<Activated>flase</Activated>\r\n</ProbeMatch>\r\n").unwrap();
        assert_eq!(r.firmware.as_deref(), Some("V5.5.6 build 180326"));
        assert_eq!(r.activated, Some(false));
        assert_eq!(r.http_port, Some(80));
        assert!(parse(inquiry("x").as_bytes()).is_none());
        assert!(parse(b"\x00garbage").is_none());
        let sparse = parse(b"<Hello><MAC>bad</MAC></Hello>").unwrap();
        assert_eq!(sparse.address, None);
    }
}
