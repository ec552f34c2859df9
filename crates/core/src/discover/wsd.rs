//! WS-Discovery (2005/04, as ONVIF uses it), without I/O: Probe messages and the
//! reading of ProbeMatches, Hello and Bye. Namespace-agnostic; lists split on any
//! whitespace (real devices wrap and pad them).

use crate::xml::{self, child, child_text, find, find_text};

pub const PORT: u16 = 3702;
pub const GROUP: std::net::Ipv4Addr = std::net::Ipv4Addr::new(239, 255, 255, 250);

/// The two types every probe round asks for (a device matches only if it has all the
/// types of one probe, so they go in separate probes).
pub const NVT: &str = "dn:NetworkVideoTransmitter";
pub const DEVICE: &str = "tds:Device";

pub fn probe(message_id: &str, types: &str) -> String {
    format!(
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl" xmlns:tds="http://www.onvif.org/ver10/device/wsdl">"#,
            r#"<s:Header><a:MessageID>{}</a:MessageID><a:To s:mustUnderstand="1">urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To><a:Action s:mustUnderstand="1">http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header>"#,
            r#"<s:Body><d:Probe><d:Types>{}</d:Types></d:Probe></s:Body></s:Envelope>"#
        ),
        message_id, types
    )
}

/// What a device said about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    pub kind: Kind,
    pub relates_to: Option<String>,
    pub endpoint: String,
    pub types: Vec<String>,
    pub scopes: Vec<String>,
    pub xaddrs: Vec<String>,
    pub instance_id: Option<u64>,
    pub message_number: Option<u64>,
    pub metadata_version: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    ProbeMatch,
    Hello,
    Bye,
}

fn list(s: Option<String>) -> Vec<String> {
    s.map(|t| t.split_whitespace().map(str::to_string).collect()).unwrap_or_default()
}

/// Read a datagram: every ProbeMatch in it, or its Hello/Bye. Anything else is empty.
pub fn parse(datagram: &[u8]) -> Vec<Announcement> {
    let Ok(text) = std::str::from_utf8(datagram) else { return Vec::new() };
    let Ok(doc) = xml::parse(text) else { return Vec::new() };
    let env = doc.root_element();
    let header = child(env, "Header");
    let relates_to = header.and_then(|h| child_text(h, "RelatesTo"));
    let seq = header.and_then(|h| child(h, "AppSequence"));
    let attr = |name: &str| seq.and_then(|s| s.attribute(name)).and_then(|v| v.parse().ok());
    let Some(body) = child(env, "Body") else { return Vec::new() };
    let Some(op) = body.children().find(|n| n.is_element()) else { return Vec::new() };
    let (kind, items): (Kind, Vec<_>) = match op.tag_name().name() {
        "ProbeMatches" => (Kind::ProbeMatch, xml::children(op, "ProbeMatch").collect()),
        "Hello" => (Kind::Hello, vec![op]),
        "Bye" => (Kind::Bye, vec![op]),
        _ => return Vec::new(),
    };
    items
        .into_iter()
        .filter_map(|m| {
            let endpoint = find(m, "EndpointReference").and_then(|e| find_text(e, "Address"))?;
            Some(Announcement {
                kind,
                relates_to: relates_to.clone(),
                endpoint,
                types: list(child_text(m, "Types")),
                scopes: list(child_text(m, "Scopes")),
                xaddrs: list(child_text(m, "XAddrs")),
                instance_id: attr("InstanceId"),
                message_number: attr("MessageNumber"),
                metadata_version: child_text(m, "MetadataVersion").and_then(|v| v.parse().ok()),
            })
        })
        .collect()
}

/// The value of a scope like `onvif://www.onvif.org/hardware/<value>`, decoded.
pub fn scope_value(scopes: &[String], category: &str) -> Option<String> {
    let prefix = format!("onvif://www.onvif.org/{category}/");
    scopes.iter().find_map(|s| {
        let v = s.strip_prefix(&prefix)?;
        (!v.is_empty()).then(|| percent_decode(v))
    })
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        if c == b'%' {
            if let Some(v) = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_captured_probe_match_is_read() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/wsd");
        let mut n = 0;
        for e in std::fs::read_dir(dir).expect("fixtures present").flatten() {
            let data = std::fs::read(e.path()).unwrap();
            let found = parse(&data);
            let name = e.file_name().to_string_lossy().into_owned();
            assert!(!found.is_empty(), "{name}: no ProbeMatch read");
            for a in &found {
                assert!(a.endpoint.starts_with("urn:") || a.endpoint.starts_with("uuid:"), "{name}: {}", a.endpoint);
                assert!(!a.xaddrs.is_empty(), "{name}: no XAddrs");
                assert!(a.xaddrs.iter().all(|x| !x.contains(char::is_whitespace)), "{name}");
            }
            n += 1;
        }
        assert!(n >= 6);
    }

    #[test]
    fn probes_are_well_formed_and_our_own_probe_is_not_an_announcement() {
        let p = probe("urn:uuid:1", NVT);
        assert!(xml::parse(&p).is_ok());
        assert!(parse(p.as_bytes()).is_empty());
        assert!(parse(b"\xff\xfe garbage").is_empty());
        let scopes = vec![
            "onvif://www.onvif.org/name/HIKVISION%20DS-2CD".to_string(),
            "onvif://www.onvif.org/model/".to_string(),
        ];
        assert_eq!(scope_value(&scopes, "name").as_deref(), Some("HIKVISION DS-2CD"));
        assert_eq!(scope_value(&scopes, "model"), None);
    }
}
