//! The network interface: `/ISAPI/System/Network/interfaces/1/ipAddress` (address,
//! mask, gateway, DNS; the document an observed DS-series camera serves, see
//! `../shared/fixtures` notes in ARCHITECTURE). Gateway and DNS take effect at once; a
//! new address waits for the restart (`statusCode 7`), and the camera then moves, its
//! listeners with it.

use std::net::Ipv4Addr;

use super::*;
use crate::state::PendingAddress;
use crate::xml::{child, child_text, find};

const PATH: &str = "/ISAPI/System/Network/interfaces/1/ipAddress";

pub(super) fn route(cam: &Camera, st: &mut CameraState, req: &HttpRequest, path: &str, body: &str) -> Option<Reply> {
    Some(match (path, req.method.as_str()) {
        (PATH, "GET") => ok_xml(cam, st, "IPAddress", &ip_address(st)),
        (PATH, "PUT") => put_ip_address(cam, st, body),
        ("/ISAPI/System/Network/interfaces", "GET") => ok_xml(
            cam,
            st,
            "NetworkInterfaceList",
            &format!(
                "<NetworkInterface>{}<IPAddress>{}</IPAddress>{}</NetworkInterface>",
                el("id", 1),
                ip_address(st),
                link(st)
            ),
        ),
        (PATH, _) | ("/ISAPI/System/Network/interfaces", _) => method_not_allowed(cam, st),
        _ => return None,
    })
}

fn link(st: &CameraState) -> String {
    format!("<Link>{}{}</Link>", el("MACAddress", st.identity.mac_colons()), el("MTU", 1500))
}

fn ip_address(st: &CameraState) -> String {
    let n = &st.network;
    let mut out = format!(
        "{}{}{}{}",
        el("ipVersion", "v4"),
        el("addressingType", if n.dhcp { "dynamic" } else { "static" }),
        el("ipAddress", st.address),
        el("subnetMask", mask_of(n.prefix))
    );
    if let Some(g) = n.gateway {
        out.push_str(&format!("<DefaultGateway>{}</DefaultGateway>", el("ipAddress", g)));
    }
    for (name, dns) in ["PrimaryDNS", "SecondaryDNS"].iter().zip(&n.dns) {
        out.push_str(&format!("<{name}>{}</{name}>", el("ipAddress", dns)));
    }
    out
}

fn mask_of(prefix: u8) -> Ipv4Addr {
    Ipv4Addr::from(u32::MAX.checked_shl(32 - u32::from(prefix.min(32))).unwrap_or(0))
}

/// `255.255.255.0` → 24; `None` for a mask that is not contiguous.
fn prefix_of(mask: Ipv4Addr) -> Option<u8> {
    let bits = u32::from(mask);
    let ones = bits.leading_ones();
    (bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

fn put_ip_address(cam: &Camera, st: &mut CameraState, body: &str) -> Reply {
    let doc = match parse_body(cam, st, body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let root = doc.root_element();
    let text = |name: &str| child_text(root, name).map(|t| t.trim().to_string());
    if text("ipVersion").as_deref().is_some_and(|v| v != "v4" && v != "dual") {
        return bad_content(cam, st, "ipVersion");
    }
    let dhcp = match text("addressingType").as_deref() {
        Some("static") | None => false,
        Some("dynamic") => true,
        Some(_) => return bad_content(cam, st, "addressingType"),
    };
    let Some(address) = text("ipAddress").and_then(|a| a.parse::<Ipv4Addr>().ok()) else {
        return bad_content(cam, st, "ipAddress");
    };
    let Some(prefix) = text("subnetMask").and_then(|m| m.parse::<Ipv4Addr>().ok()).and_then(prefix_of) else {
        return bad_content(cam, st, "subnetMask");
    };
    let host = |name: &str| -> Result<Option<Ipv4Addr>, ()> {
        match child(root, name).and_then(|n| find(n, "ipAddress")).and_then(|n| n.text()) {
            None => Ok(None),
            Some(t) if t.trim().is_empty() => Ok(None),
            Some(t) => t.trim().parse().map(Some).map_err(|_| ()),
        }
    };
    let (Ok(gateway), Ok(primary), Ok(secondary)) = (host("DefaultGateway"), host("PrimaryDNS"), host("SecondaryDNS"))
    else {
        return bad_content(cam, st, "gateway or DNS address");
    };
    if address.is_unspecified() || address.is_multicast() || address.is_broadcast() || prefix == 0 || prefix > 30 {
        return bad_content(cam, st, "ipAddress");
    }
    if let Some(g) = gateway {
        let net = |a: Ipv4Addr| u32::from(a) & u32::from(mask_of(prefix));
        if net(g) != net(address) || g == address {
            return bad_content(cam, st, "the gateway is outside the subnet");
        }
    }
    st.network.gateway = gateway;
    st.network.dns = [primary, secondary].into_iter().flatten().collect();
    if dhcp {
        // The simulator's DHCP hands out the address the camera has.
        st.network.dhcp = true;
        return ok_status(cam, st, After::Nothing);
    }
    st.network.dhcp = false;
    if address == st.address && prefix == st.network.prefix {
        st.pending_address = None;
        return ok_status(cam, st, After::Nothing);
    }
    st.pending_address = Some(PendingAddress { address, prefix });
    st.need_reboot = true;
    reboot_required(cam, st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_and_prefixes() {
        assert_eq!(mask_of(24), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(prefix_of(Ipv4Addr::new(255, 255, 254, 0)), Some(23));
        assert_eq!(prefix_of(Ipv4Addr::new(255, 0, 255, 0)), None, "not contiguous");
        assert_eq!(mask_of(0), Ipv4Addr::new(0, 0, 0, 0));
    }
}
