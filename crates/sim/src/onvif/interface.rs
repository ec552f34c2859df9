//! Device-service interface operations (ONVIF Core §8.2): the network interface
//! (`GetNetworkInterfaces`, `SetNetworkInterfaces`, which answers `RebootNeeded`: the
//! new address applies at the restart, and the camera then moves, listeners and all),
//! the default gateway, DNS and the host name.

use std::net::Ipv4Addr;

use super::*;
use crate::http::After;
use crate::state::PendingAddress;
use crate::xml::{child_text, el, find};

const TOKEN: &str = "eth0";

pub(super) fn dispatch(cam: &Camera, st: &mut CameraState, op: &str, node: Node<'_, '_>) -> Option<Reply> {
    Some(match op {
        "GetNetworkInterfaces" => interfaces(cam, st),
        "SetNetworkInterfaces" => set_interfaces(cam, st, node),
        "GetNetworkDefaultGateway" => ok(
            cam,
            st,
            format!(
                "<tds:GetNetworkDefaultGatewayResponse><tds:NetworkGateway>{}</tds:NetworkGateway></tds:GetNetworkDefaultGatewayResponse>",
                st.network.gateway.map(|g| el("tt:IPv4Address", g)).unwrap_or_default()
            ),
        ),
        "SetNetworkDefaultGateway" => {
            let given: Vec<String> = crate::xml::children(node, "IPv4Address").filter_map(|n| n.text().map(|t| t.trim().to_string())).collect();
            match given.iter().map(|g| g.parse::<Ipv4Addr>()).collect::<Result<Vec<_>, _>>() {
                Ok(list) if list.len() <= 1 => {
                    st.network.gateway = list.first().copied();
                    ok(cam, st, "<tds:SetNetworkDefaultGatewayResponse/>").committed(After::Nothing)
                }
                _ => invalid_arg(cam, st, "InvalidGatewayAddress", "one IPv4 gateway"),
            }
        }
        "GetDNS" => ok(
            cam,
            st,
            format!(
                "<tds:GetDNSResponse><tds:DNSInformation>{}{}</tds:DNSInformation></tds:GetDNSResponse>",
                el("tt:FromDHCP", false),
                st.network.dns.iter().map(|d| format!("<tt:DNSManual>{}{}</tt:DNSManual>", el("tt:Type", "IPv4"), el("tt:IPv4Address", d))).collect::<String>()
            ),
        ),
        "SetDNS" => {
            let given: Vec<Option<Ipv4Addr>> = crate::xml::children(node, "DNSManual")
                .map(|m| child_text(m, "IPv4Address").and_then(|t| t.trim().parse().ok()))
                .collect();
            if given.iter().any(Option::is_none) || given.len() > 2 {
                return Some(invalid_arg(cam, st, "InvalidIPv4Address", "DNSManual needs IPv4 addresses (at most 2)"));
            }
            st.network.dns = given.into_iter().flatten().collect();
            ok(cam, st, "<tds:SetDNSResponse/>").committed(After::Nothing)
        }
        "GetHostname" => ok(
            cam,
            st,
            format!(
                "<tds:GetHostnameResponse><tds:HostnameInformation>{}{}</tds:HostnameInformation></tds:GetHostnameResponse>",
                el("tt:FromDHCP", false),
                el("tt:Name", hostname(st))
            ),
        ),
        "SetHostname" => match child_text(node, "Name") {
            Some(n) if valid_hostname(n.trim()) => {
                st.network.hostname = n.trim().to_string();
                ok(cam, st, "<tds:SetHostnameResponse/>").committed(After::Nothing)
            }
            _ => invalid_arg(cam, st, "InvalidHostname", "a host name: letters, digits and hyphens"),
        },
        _ => return None,
    })
}

/// The configured host name, else the factory one (the device name, as firmware derives it).
fn hostname(st: &CameraState) -> String {
    if st.network.hostname.is_empty() {
        st.identity.device_name.replace(' ', "-")
    } else {
        st.network.hostname.clone()
    }
}

fn valid_hostname(n: &str) -> bool {
    !n.is_empty()
        && n.len() <= 63
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !n.starts_with('-')
        && !n.ends_with('-')
}

fn interfaces(cam: &Camera, st: &CameraState) -> Reply {
    let n = &st.network;
    let manual = format!("<tt:Manual>{}{}</tt:Manual>", el("tt:Address", st.address), el("tt:PrefixLength", n.prefix));
    let config = if n.dhcp {
        format!(
            "<tt:FromDHCP>{}{}</tt:FromDHCP>{}",
            el("tt:Address", st.address),
            el("tt:PrefixLength", n.prefix),
            el("tt:DHCP", true)
        )
    } else {
        format!("{manual}{}", el("tt:DHCP", false))
    };
    ok(
        cam,
        st,
        format!(
            "<tds:GetNetworkInterfacesResponse><tds:NetworkInterfaces token=\"{TOKEN}\">{}<tt:Info>{}{}{}</tt:Info><tt:IPv4>{}<tt:Config>{config}</tt:Config></tt:IPv4></tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>",
            el("tt:Enabled", true),
            el("tt:Name", TOKEN),
            el("tt:HwAddress", st.identity.mac_colons()),
            el("tt:MTU", 1500),
            el("tt:Enabled", true),
        ),
    )
}

fn set_interfaces(cam: &Camera, st: &mut CameraState, node: Node<'_, '_>) -> Reply {
    if child_text(node, "InterfaceToken").as_deref().map(str::trim) != Some(TOKEN) {
        return invalid_arg(cam, st, "InvalidNetworkInterface", "unknown interface token");
    }
    let Some(ipv4) = find(node, "IPv4") else {
        return invalid_arg(cam, st, "InvalidIPv4Address", "IPv4 settings expected");
    };
    if child_text(ipv4, "DHCP").as_deref().map(str::trim) == Some("true") {
        st.network.dhcp = true;
        return ok(
            cam,
            st,
            format!(
                "<tds:SetNetworkInterfacesResponse>{}</tds:SetNetworkInterfacesResponse>",
                el("tds:RebootNeeded", false)
            ),
        );
    }
    let manual = find(ipv4, "Manual");
    let address = manual.and_then(|m| child_text(m, "Address")).and_then(|a| a.trim().parse::<Ipv4Addr>().ok());
    let prefix = manual.and_then(|m| child_text(m, "PrefixLength")).and_then(|p| p.trim().parse::<u8>().ok());
    let (Some(address), Some(prefix)) = (address, prefix) else {
        return invalid_arg(cam, st, "InvalidIPv4Address", "Manual Address and PrefixLength expected");
    };
    if address.is_unspecified() || address.is_multicast() || address.is_broadcast() || !(1..=30).contains(&prefix) {
        return invalid_arg(cam, st, "InvalidIPv4Address", "not a host address");
    }
    st.network.dhcp = false;
    let moving = address != st.address || prefix != st.network.prefix;
    st.pending_address = moving.then_some(PendingAddress { address, prefix });
    st.need_reboot |= moving;
    ok(
        cam,
        st,
        format!(
            "<tds:SetNetworkInterfacesResponse>{}</tds:SetNetworkInterfacesResponse>",
            el("tds:RebootNeeded", moving)
        ),
    )
    .committed(After::Nothing)
}
