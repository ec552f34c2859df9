//! WS-Discovery (2005/04, as ONVIF uses it; protocols.md §1): answer Probe and Resolve
//! with a unicast ProbeMatches/ResolveMatches to the sender, announce Hello when the
//! responder starts and Bye when it stops. A non-discoverable camera has no responder
//! at all (the supervisor closes the sockets), so it stays silent.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use roxmltree::Node;
use tokio::net::UdpSocket;

use crate::camera::Camera;
use crate::listeners::MULTICAST_GROUP;
use crate::state::CameraState;
use crate::xml::{child, esc, find};

pub const NS_ADDRESSING: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing";
pub const NS_DISCOVERY: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery";
pub const NS_NETWORK: &str = "http://www.onvif.org/ver10/network/wsdl";
const NS_DEVICE: &str = "http://www.onvif.org/ver10/device/wsdl";
const ACTION: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/";
const TO_DISCOVERY: &str = "urn:schemas-xmlsoap-org:ws:2005:04:discovery";
const TO_ANONYMOUS: &str = "http://schemas.xmlsoap.org/ws/2004/08/addressing/role/anonymous";
const RFC3986: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/rfc3986";
const STRCMP0: &str = "http://schemas.xmlsoap.org/ws/2005/04/discovery/strcmp0";

/// A Probe or Resolve as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Probe { message_id: String, types: Vec<(String, String)>, scopes: Vec<String>, match_by: Option<String> },
    Resolve { message_id: String, endpoint: String },
}

/// Parse a datagram; anything that is not a well-formed Probe or Resolve is `None`
/// (errors in multicast messages are never answered).
pub fn parse_request(datagram: &[u8]) -> Option<Request> {
    let text = std::str::from_utf8(datagram).ok()?;
    let doc = crate::xml::parse(text).ok()?;
    let env = doc.root_element();
    let header = child(env, "Header")?;
    let message_id = child(header, "MessageID")?.text()?.trim().to_string();
    let body = child(env, "Body")?;
    let op = body.children().find(|n| n.is_element())?;
    if op.tag_name().namespace() != Some(NS_DISCOVERY) {
        return None;
    }
    match op.tag_name().name() {
        "Probe" => {
            let types = match child(op, "Types") {
                Some(t) => resolve_qnames(t)?,
                None => Vec::new(),
            };
            let scopes_node = child(op, "Scopes");
            let scopes = scopes_node
                .and_then(|s| s.text())
                .map(|t| t.split_whitespace().map(str::to_string).collect())
                .unwrap_or_default();
            let match_by = scopes_node.and_then(|s| s.attribute("MatchBy")).map(str::to_string);
            Some(Request::Probe { message_id, types, scopes, match_by })
        }
        "Resolve" => {
            let endpoint = find(op, "Address")?.text()?.trim().to_string();
            Some(Request::Resolve { message_id, endpoint })
        }
        _ => None,
    }
}

/// `dn:NetworkVideoTransmitter tds:Device` → (namespace URI, local name) pairs,
/// resolving prefixes with the declarations in scope, as the spec requires.
fn resolve_qnames(node: Node<'_, '_>) -> Option<Vec<(String, String)>> {
    let text = node.text().unwrap_or("");
    text.split_whitespace()
        .map(|q| {
            let (prefix, local) = q.split_once(':').map_or((None, q), |(p, l)| (Some(p), l));
            let ns = node.lookup_namespace_uri(prefix)?;
            Some((ns.to_string(), local.to_string()))
        })
        .collect()
}

fn supports_type(ns: &str, local: &str) -> bool {
    (ns == NS_NETWORK && local == "NetworkVideoTransmitter") || (ns == NS_DEVICE && local == "Device")
}

/// The rfc3986 rule: scheme and authority case-insensitive, path a segment prefix.
pub fn scope_matches(probe: &str, device: &str, match_by: Option<&str>) -> bool {
    match match_by.unwrap_or(RFC3986) {
        STRCMP0 => probe == device,
        RFC3986 => {
            let split = |s: &str| -> Option<(String, Vec<String>)> {
                let (scheme, rest) = s.split_once("://")?;
                let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
                let segments = path.split('/').filter(|p| !p.is_empty()).map(percent_decode).collect();
                Some((format!("{}://{}", scheme.to_ascii_lowercase(), authority.to_ascii_lowercase()), segments))
            };
            match (split(probe), split(device)) {
                (Some((pa, ps)), Some((da, ds))) => {
                    pa == da && ps.len() <= ds.len() && ps.iter().zip(&ds).all(|(a, b)| a == b)
                }
                _ => false,
            }
        }
        _ => false,
    }
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            if let Some(v) = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn device_scopes(st: &CameraState) -> Vec<String> {
    crate::onvif::scopes_of(st)
}

fn xaddrs(st: &CameraState) -> String {
    let mut v = Vec::new();
    if st.access.http.enabled {
        v.push(format!("http://{}:{}/onvif/device_service", st.address, st.access.http.port));
    }
    if st.access.https.enabled {
        v.push(format!("https://{}:{}/onvif/device_service", st.address, st.access.https.port));
    }
    v.join(" ")
}

fn envelope(st: &mut CameraState, action: &str, to: &str, relates_to: Option<&str>, body: &str) -> String {
    let n = st.next_message_number();
    let relates = relates_to.map(|r| format!("<wsa:RelatesTo>{}</wsa:RelatesTo>", esc(r))).unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><SOAP-ENV:Envelope xmlns:SOAP-ENV=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:wsa=\"{NS_ADDRESSING}\" xmlns:d=\"{NS_DISCOVERY}\" xmlns:dn=\"{NS_NETWORK}\" xmlns:tds=\"{NS_DEVICE}\"><SOAP-ENV:Header><wsa:MessageID>urn:uuid:{}</wsa:MessageID>{relates}<wsa:To SOAP-ENV:mustUnderstand=\"true\">{to}</wsa:To><wsa:Action SOAP-ENV:mustUnderstand=\"true\">{ACTION}{action}</wsa:Action><d:AppSequence InstanceId=\"{}\" MessageNumber=\"{n}\"/></SOAP-ENV:Header><SOAP-ENV:Body>{body}</SOAP-ENV:Body></SOAP-ENV:Envelope>",
        uuid::Uuid::new_v4(),
        st.boot_count
    )
}

fn endpoint_block(st: &CameraState) -> String {
    format!(
        "<wsa:EndpointReference><wsa:Address>urn:uuid:{}</wsa:Address></wsa:EndpointReference><d:Types>dn:NetworkVideoTransmitter tds:Device</d:Types><d:Scopes>{}</d:Scopes><d:XAddrs>{}</d:XAddrs><d:MetadataVersion>{}</d:MetadataVersion>",
        st.identity.endpoint_uuid,
        esc(&device_scopes(st).join(" ")),
        esc(&xaddrs(st)),
        st.metadata_version
    )
}

/// The answer to a request, if this camera should answer it. A camera switched
/// non-discoverable is silent from then on, also in the moment before its responder's
/// socket closes (the listeners are reconciled just after the switch's answer went out).
pub fn answer(st: &mut CameraState, request: &Request) -> Option<String> {
    if !(st.online && st.ws_discovery_on()) {
        return None;
    }
    match request {
        Request::Probe { message_id, types, scopes, match_by } => {
            if !types.iter().all(|(ns, l)| supports_type(ns, l)) {
                return None;
            }
            let ours = device_scopes(st);
            if !scopes.iter().all(|p| ours.iter().any(|d| scope_matches(p, d, match_by.as_deref()))) {
                return None;
            }
            let body = format!("<d:ProbeMatches><d:ProbeMatch>{}</d:ProbeMatch></d:ProbeMatches>", endpoint_block(st));
            Some(envelope(st, "ProbeMatches", TO_ANONYMOUS, Some(message_id), &body))
        }
        Request::Resolve { message_id, endpoint } => {
            if *endpoint != format!("urn:uuid:{}", st.identity.endpoint_uuid) {
                return None;
            }
            let body =
                format!("<d:ResolveMatches><d:ResolveMatch>{}</d:ResolveMatch></d:ResolveMatches>", endpoint_block(st));
            Some(envelope(st, "ResolveMatches", TO_ANONYMOUS, Some(message_id), &body))
        }
    }
}

pub fn hello(st: &mut CameraState) -> String {
    let body = format!("<d:Hello>{}</d:Hello>", endpoint_block(st));
    envelope(st, "Hello", TO_DISCOVERY, None, &body)
}

pub fn bye(st: &mut CameraState) -> String {
    let body = format!(
        "<d:Bye><wsa:EndpointReference><wsa:Address>urn:uuid:{}</wsa:Address></wsa:EndpointReference></d:Bye>",
        st.identity.endpoint_uuid
    );
    envelope(st, "Bye", TO_DISCOVERY, None, &body)
}

/// Sends Bye when the responder stops (service off, reboot, fleet shut down).
struct ByeOnDrop {
    socket: Option<std::net::UdpSocket>,
    message: String,
}

impl Drop for ByeOnDrop {
    fn drop(&mut self) {
        if let Some(s) = &self.socket {
            let _ = s.send_to(self.message.as_bytes(), SocketAddr::from((MULTICAST_GROUP, 3702)));
        }
    }
}

pub(crate) async fn serve(cam: Arc<Camera>, unicast: UdpSocket, group: Option<UdpSocket>) {
    let announce = group.is_some();
    let _bye = if announce {
        let hello_msg = hello(&mut cam.state());
        let _ = unicast.send_to(hello_msg.as_bytes(), (MULTICAST_GROUP, 3702)).await;
        let bye_msg = bye(&mut cam.state());
        // A blocking twin of the socket, for the one datagram sent from Drop.
        let std_twin = socket2::SockRef::from(&unicast).try_clone().ok().map(std::net::UdpSocket::from);
        ByeOnDrop { socket: std_twin, message: bye_msg }
    } else {
        ByeOnDrop { socket: None, message: String::new() }
    };
    let mut ubuf = vec![0u8; 65_536];
    let mut gbuf = vec![0u8; 65_536];
    loop {
        let (n, from, multicast) = tokio::select! {
            r = unicast.recv_from(&mut ubuf) => match r { Ok((n, f)) => (n, f, false), Err(_) => continue },
            r = recv_group(group.as_ref(), &mut gbuf) => match r { Ok((n, f)) => (n, f, true), Err(_) => continue },
        };
        let data = if multicast { gbuf.get(..n) } else { ubuf.get(..n) };
        let Some(request) = data.and_then(parse_request) else {
            continue;
        };
        let Some(reply) = answer(&mut cam.state(), &request) else {
            continue;
        };
        let mut delay = cam.with_faults(|f| f.delay());
        if multicast && !cam.settings.wsd_max_delay.is_zero() {
            // APP_MAX_DELAY: spread answers to a multicast probe to avoid a storm.
            let max = cam.settings.wsd_max_delay.as_millis() as u64;
            delay += Duration::from_millis(rand::thread_rng().gen_range(0..=max));
        }
        tokio::time::sleep(delay).await;
        let _ = unicast.send_to(reply.as_bytes(), from).await;
    }
}

async fn recv_group(group: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match group {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROBE: &str = r#"<?xml version="1.0"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:x="http://www.onvif.org/ver10/network/wsdl"><s:Header><a:MessageID>uuid:1234</a:MessageID><a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</a:Action></s:Header><s:Body><d:Probe><d:Types>x:NetworkVideoTransmitter</d:Types></d:Probe></s:Body></s:Envelope>"#;

    #[test]
    fn probe_types_resolve_through_their_own_prefixes() {
        let Some(Request::Probe { message_id, types, .. }) = parse_request(PROBE.as_bytes()) else {
            panic!("not a probe")
        };
        assert_eq!(message_id, "uuid:1234");
        assert_eq!(types, vec![(NS_NETWORK.to_string(), "NetworkVideoTransmitter".to_string())]);
        let unknown_prefix = PROBE.replace("x:NetworkVideoTransmitter", "zz:NetworkVideoTransmitter");
        assert_eq!(parse_request(unknown_prefix.as_bytes()), None);
        assert_eq!(parse_request(b"<not xml"), None);
    }

    #[test]
    fn scope_matching_follows_the_rfc3986_rule() {
        let dev = "onvif://www.onvif.org/location/country/china";
        assert!(scope_matches("onvif://www.onvif.org/location/country/china", dev, None));
        assert!(scope_matches("ONVIF://WWW.ONVIF.ORG/location", dev, None));
        assert!(!scope_matches("onvif://www.onvif.org/location/country/chin", dev, None));
        assert!(!scope_matches("onvif://www.onvif.org/hardware/D1", "onvif://www.onvif.org/hardware/D1-566", None));
        assert!(scope_matches("onvif://www.onvif.org/name/My%20Cam", "onvif://www.onvif.org/name/My%20Cam", None));
        assert!(!scope_matches("onvif://www.onvif.org/location", dev, Some(STRCMP0)));
        assert!(!scope_matches(dev, dev, Some("urn:unknown-rule")));
    }
}
