//! Device-service network operations: protocols, discovery mode, zero-configuration,
//! IP address filter and NTP.

use super::*;
use crate::http::After;
use crate::state::{FilterPolicy, IpFilter, NtpServer};
use crate::xml::{child_text, children, el};

pub(super) fn dispatch(cam: &Camera, st: &mut CameraState, op: &str, node: Node<'_, '_>) -> Option<Reply> {
    Some(match op {
        "GetNetworkProtocols" => network_protocols(cam, st),
        "SetNetworkProtocols" => set_network_protocols(cam, st, node),
        "GetDiscoveryMode" => {
            let mode = if st.services.onvif_discoverable { "Discoverable" } else { "NonDiscoverable" };
            ok(cam, st, format!("<tds:GetDiscoveryModeResponse>{}</tds:GetDiscoveryModeResponse>", el("tds:DiscoveryMode", mode)))
        }
        "SetDiscoveryMode" => match child_text(node, "DiscoveryMode").as_deref() {
            Some("Discoverable") | Some("NonDiscoverable") => {
                st.services.onvif_discoverable = child_text(node, "DiscoveryMode").as_deref() == Some("Discoverable");
                ok(cam, st, "<tds:SetDiscoveryModeResponse/>").committed(After::Reconcile)
            }
            _ => fault_with(cam, st, 400, "env:Sender", "ter:InvalidArgs", None, "DiscoveryMode must be Discoverable or NonDiscoverable"),
        },
        "GetZeroConfiguration" => ok(
            cam,
            st,
            format!(
                "<tds:GetZeroConfigurationResponse><tds:ZeroConfiguration>{}{}</tds:ZeroConfiguration></tds:GetZeroConfigurationResponse>",
                el("tt:InterfaceToken", "eth0"),
                el("tt:Enabled", st.services.zero_configuration)
            ),
        ),
        "SetZeroConfiguration" => {
            if child_text(node, "InterfaceToken").as_deref() != Some("eth0") {
                return Some(invalid_arg(cam, st, "InvalidNetworkInterface", "unknown interface"));
            }
            match child_text(node, "Enabled").as_deref() {
                Some("true") => st.services.zero_configuration = true,
                Some("false") => st.services.zero_configuration = false,
                _ => return Some(fault_with(cam, st, 400, "env:Sender", "ter:InvalidArgs", None, "Enabled")),
            }
            ok(cam, st, "<tds:SetZeroConfigurationResponse/>").committed(After::Nothing)
        }
        "GetIPAddressFilter" => ip_filter(cam, st),
        "SetIPAddressFilter" | "AddIPAddressFilter" | "RemoveIPAddressFilter" => set_ip_filter(cam, st, op, node),
        "GetNTP" => ntp(cam, st),
        "SetNTP" => set_ntp(cam, st, node),
        _ => return None,
    })
}

fn network_protocols(cam: &Camera, st: &CameraState) -> Reply {
    let a = &st.access;
    let item = |name: &str, acc: crate::state::Access| {
        format!(
            "<tds:NetworkProtocols>{}{}{}</tds:NetworkProtocols>",
            el("tt:Name", name),
            el("tt:Enabled", acc.enabled),
            el("tt:Port", acc.port)
        )
    };
    let body = format!(
        "<tds:GetNetworkProtocolsResponse>{}{}{}</tds:GetNetworkProtocolsResponse>",
        item("HTTP", a.http),
        item("HTTPS", a.https),
        item("RTSP", a.rtsp)
    );
    ok(cam, st, body)
}

fn set_network_protocols(cam: &Camera, st: &mut CameraState, node: Node<'_, '_>) -> Reply {
    let mut next = st.access.clone();
    let mut any = false;
    for p in children(node, "NetworkProtocols") {
        let name = child_text(p, "Name").unwrap_or_default();
        let slot = match name.as_str() {
            "HTTP" => &mut next.http,
            "HTTPS" => &mut next.https,
            "RTSP" => &mut next.rtsp,
            _ => return invalid_arg(cam, st, "ServiceNotSupported", &format!("unknown protocol {name}")),
        };
        match child_text(p, "Enabled").as_deref() {
            Some("true") => slot.enabled = true,
            Some("false") => slot.enabled = false,
            _ => return fault_with(cam, st, 400, "env:Sender", "ter:InvalidArgs", None, "Enabled"),
        }
        if let Some(port) = child_text(p, "Port") {
            match port.parse::<u16>() {
                Ok(n) if n > 0 => slot.port = n,
                _ => return invalid_arg(cam, st, "PortAlreadyInUse", "bad port"),
            }
        }
        any = true;
    }
    if !any {
        return fault_with(cam, st, 400, "env:Sender", "ter:InvalidArgs", None, "no NetworkProtocols");
    }
    let ports = [next.http.port, next.https.port, next.rtsp.port, next.sdk.port];
    if (1..ports.len()).any(|i| ports.get(i).is_some_and(|p| ports.get(..i).is_some_and(|b| b.contains(p)))) {
        return invalid_arg(cam, st, "PortAlreadyInUse", "two services on one port");
    }
    // protocols.md §3.6: HTTPS cannot come on without a server certificate assigned.
    if next.https.enabled
        && !st.access.https.enabled
        && st.offers_advanced_security()
        && st.certs.keystore.assigned.is_empty()
    {
        return fault_with(
            cam,
            st,
            500,
            "env:Receiver",
            "ter:Action",
            Some("ter:EnablingTlsFailed"),
            "no server certificate is assigned",
        );
    }
    st.access = next;
    ok(cam, st, "<tds:SetNetworkProtocolsResponse/>").committed(After::Reconcile)
}

fn ip_filter(cam: &Camera, st: &CameraState) -> Reply {
    let f = &st.ip_filter;
    let kind = match f.policy {
        FilterPolicy::Allow => "Allow",
        FilterPolicy::Deny => "Deny",
    };
    let entries: String = f
        .entries
        .iter()
        .map(|e| {
            let (addr, prefix) = e.split_once('/').unwrap_or((e, "32"));
            format!("<tt:IPv4Address>{}{}</tt:IPv4Address>", el("tt:Address", addr), el("tt:PrefixLength", prefix))
        })
        .collect();
    // ONVIF has no "disabled" filter: an empty allow list would lock everyone out,
    // so a disabled filter reads as an empty deny list.
    let kind = if f.enabled { kind } else { "Deny" };
    let entries = if f.enabled { entries } else { String::new() };
    ok(
        cam,
        st,
        format!("<tds:GetIPAddressFilterResponse><tds:IPAddressFilter>{}{entries}</tds:IPAddressFilter></tds:GetIPAddressFilterResponse>", el("tt:Type", kind)),
    )
}

fn set_ip_filter(cam: &Camera, st: &mut CameraState, op: &str, node: Node<'_, '_>) -> Reply {
    let Some(filter) = child(node, "IPAddressFilter") else {
        return fault_with(cam, st, 400, "env:Sender", "ter:InvalidArgs", None, "IPAddressFilter missing");
    };
    let mut entries = Vec::new();
    for a in children(filter, "IPv4Address") {
        let addr = child_text(a, "Address").unwrap_or_default();
        let prefix: u32 = match child_text(a, "PrefixLength").map(|p| p.parse()) {
            Some(Ok(p)) if p <= 32 => p,
            None => 32,
            _ => return invalid_arg(cam, st, "InvalidIPv4Address", "bad PrefixLength"),
        };
        if addr.parse::<std::net::Ipv4Addr>().is_err() {
            return invalid_arg(cam, st, "InvalidIPv4Address", "bad Address");
        }
        entries.push(if prefix == 32 { addr } else { format!("{addr}/{prefix}") });
    }
    let policy = match child_text(filter, "Type").as_deref() {
        Some("Allow") => FilterPolicy::Allow,
        Some("Deny") => FilterPolicy::Deny,
        _ => return fault_with(cam, st, 400, "env:Sender", "ter:InvalidArgs", None, "Type must be Allow or Deny"),
    };
    let mut next = st.ip_filter.clone();
    match op {
        "SetIPAddressFilter" => {
            next = IpFilter { enabled: !(policy == FilterPolicy::Deny && entries.is_empty()), policy, entries };
        }
        "AddIPAddressFilter" => {
            next.enabled = true;
            next.policy = policy;
            for e in entries {
                if !next.entries.contains(&e) {
                    next.entries.push(e);
                }
            }
        }
        _ => next.entries.retain(|e| !entries.contains(e)),
    }
    st.ip_filter = next;
    let tag = format!("tds:{op}Response");
    ok(cam, st, format!("<{tag}/>")).committed(After::Nothing)
}

fn ntp(cam: &Camera, st: &CameraState) -> Reply {
    let manual: String = st
        .time
        .ntp_servers
        .iter()
        .map(|s| match s.host.parse::<std::net::IpAddr>() {
            Ok(std::net::IpAddr::V4(_)) => {
                format!("<tt:NTPManual>{}{}</tt:NTPManual>", el("tt:Type", "IPv4"), el("tt:IPv4Address", &s.host))
            }
            Ok(std::net::IpAddr::V6(_)) => {
                format!("<tt:NTPManual>{}{}</tt:NTPManual>", el("tt:Type", "IPv6"), el("tt:IPv6Address", &s.host))
            }
            Err(_) => format!("<tt:NTPManual>{}{}</tt:NTPManual>", el("tt:Type", "DNS"), el("tt:DNSname", &s.host)),
        })
        .collect();
    ok(
        cam,
        st,
        format!(
            "<tds:GetNTPResponse><tds:NTPInformation>{}{manual}</tds:NTPInformation></tds:GetNTPResponse>",
            el("tt:FromDHCP", false)
        ),
    )
}

fn set_ntp(cam: &Camera, st: &mut CameraState, node: Node<'_, '_>) -> Reply {
    if child_text(node, "FromDHCP").as_deref() == Some("true") {
        return invalid_arg(cam, st, "InvalidArgVal", "NTP from DHCP is not supported here");
    }
    let mut servers = Vec::new();
    for m in children(node, "NTPManual") {
        let host = match child_text(m, "Type").as_deref() {
            Some("IPv4") => match child_text(m, "IPv4Address") {
                Some(a) if a.parse::<std::net::Ipv4Addr>().is_ok() => a,
                _ => return invalid_arg(cam, st, "InvalidIPv4Address", "bad IPv4Address"),
            },
            Some("IPv6") => match child_text(m, "IPv6Address") {
                Some(a) if a.parse::<std::net::Ipv6Addr>().is_ok() => a,
                _ => return invalid_arg(cam, st, "InvalidIPv6Address", "bad IPv6Address"),
            },
            Some("DNS") => match child_text(m, "DNSname") {
                Some(a)
                    if !a.is_empty()
                        && a.len() <= 253
                        && a.chars().all(|c| c.is_ascii_alphanumeric() || c == '.' || c == '-') =>
                {
                    a
                }
                _ => return invalid_arg(cam, st, "InvalidDnsName", "bad DNSname"),
            },
            _ => return fault_with(cam, st, 400, "env:Sender", "ter:InvalidArgs", None, "NTPManual Type"),
        };
        servers.push(NtpServer { host, port: 123, interval_minutes: 1440 });
    }
    if servers.len() > 4 {
        return invalid_arg(cam, st, "InvalidArgVal", "at most 4 NTP servers");
    }
    st.time.ntp_servers = servers;
    ok(cam, st, "<tds:SetNTPResponse/>").committed(After::Nothing)
}
