//! Network services: adminAccesses, the on/off services (Telnet, SSH, UPnP, EZVIZ,
//! DDNS, SNMP, FTP), the IP filter, integration protocols and discovery switches.

use roxmltree::Node;

use super::*;
use crate::state::{FilterPolicy, OnvifAuth, Switch};
use crate::xml::{child, child_bool, child_text, children, find};

pub(super) fn route(cam: &Camera, st: &mut CameraState, req: &HttpRequest, path: &str, body: &str) -> Option<Reply> {
    let get = req.method == "GET";
    let put = req.method == "PUT";
    if !(get || put) && path.starts_with("/ISAPI/System/Network") {
        return Some(method_not_allowed(cam, st));
    }
    Some(match path {
        "/ISAPI/Security/adminAccesses" if get => admin_accesses(cam, st),
        "/ISAPI/Security/adminAccesses" if put => put_admin_accesses(cam, st, body),
        "/ISAPI/System/Network/telnetd" => switch(cam, st, body, put, "Telnetd", |s| &mut s.services.telnet),
        "/ISAPI/System/Network/ssh" => switch(cam, st, body, put, "SSH", |s| &mut s.services.ssh),
        "/ISAPI/System/Network/UPnP" => switch(cam, st, body, put, "UPnP", |s| &mut s.services.upnp),
        "/ISAPI/System/Network/EZVIZ" => ezviz(cam, st, body, put),
        "/ISAPI/System/Network/DDNS" | "/ISAPI/System/Network/DDNS/1" => ddns(cam, st, body, put, path.ends_with("/1")),
        "/ISAPI/System/Network/SNMP" => snmp(cam, st, body, put),
        "/ISAPI/System/Network/ftp" => ftp(cam, st, body, put),
        "/ISAPI/System/Network/ipFilter" => ip_filter(cam, st, body, put),
        "/ISAPI/System/Network/Integrate" => integrate(cam, st, body, put),
        "/ISAPI/System/discoveryMode" => discovery_mode(cam, st, body, put),
        _ => return None,
    })
}

fn admin_accesses(cam: &Camera, st: &CameraState) -> Reply {
    let a = &st.access;
    let mut inner = String::new();
    let proto = |id: u32, name: &str, acc: crate::state::Access, extra: &str| {
        format!(
            "<AdminAccessProtocol>{}{}{}{}{extra}</AdminAccessProtocol>\r\n",
            el("id", id),
            el("enabled", acc.enabled),
            el("protocol", name),
            el("portNo", acc.port)
        )
    };
    inner.push_str(&proto(1, "HTTP", a.http, ""));
    if st.is_hikvision() {
        inner.push_str(&proto(2, "DEV_MANAGE", a.sdk, ""));
    }
    inner.push_str(&proto(3, "RTSP", a.rtsp, ""));
    let tls = format!(
        "{}{}{}{}",
        el("redirectToHttps", false),
        el("TLS1_1Enable", a.tls.tls1_1),
        el("TLS1_2Enable", a.tls.tls1_2),
        el("TLS1_3Enable", a.tls.tls1_3)
    );
    inner.push_str(&proto(4, "HTTPS", a.https, &tls));
    ok_xml(cam, st, "AdminAccessProtocolList", &inner)
}

fn put_admin_accesses(cam: &Camera, st: &mut CameraState, body: &str) -> Reply {
    let doc = match parse_body(cam, st, body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let mut next = st.pending_access.clone().unwrap_or_else(|| st.access.clone());
    for p in doc.descendants().filter(|n| n.is_element() && n.tag_name().name() == "AdminAccessProtocol") {
        let name = child_text(p, "protocol").unwrap_or_default().to_ascii_uppercase();
        let slot = match name.as_str() {
            "HTTP" => &mut next.http,
            "HTTPS" => &mut next.https,
            "RTSP" => &mut next.rtsp,
            "DEV_MANAGE" => &mut next.sdk,
            _ => continue,
        };
        if let Some(e) = child_bool(p, "enabled") {
            slot.enabled = e;
        }
        if let Some(port) = child_text(p, "portNo") {
            match port.parse::<u16>() {
                Ok(n) if n > 0 => slot.port = n,
                _ => return status_reply_with(cam, st, 400, 6, "Invalid XML Content", "portError", None),
            }
        }
        if name == "HTTPS" {
            if let Some(v) = child_bool(p, "TLS1_1Enable") {
                next.tls.tls1_1 = v;
                next.tls.tls1_0 = v;
            }
            if let Some(v) = child_bool(p, "TLS1_2Enable") {
                next.tls.tls1_2 = v;
            }
            if let Some(v) = child_bool(p, "TLS1_3Enable") {
                next.tls.tls1_3 = v;
            }
        }
    }
    let ports = [next.http.port, next.https.port, next.rtsp.port, next.sdk.port];
    if (1..ports.len()).any(|i| ports.get(i).is_some_and(|p| ports.get(..i).is_some_and(|before| before.contains(p)))) {
        return status_reply_with(cam, st, 400, 6, "Invalid XML Content", "portError", None);
    }
    if !(next.tls.tls1_2 || next.tls.tls1_3) {
        return bad_content(cam, st, "no TLS version left");
    }
    let ports_changed = next.http.port != st.access.http.port
        || next.https.port != st.access.https.port
        || next.rtsp.port != st.access.rtsp.port
        || next.sdk.port != st.access.sdk.port;
    if next.tls.tls1_2 != st.access.tls.tls1_2 || next.tls.tls1_3 != st.access.tls.tls1_3 {
        match st.certs.server.with_versions(&next.tls) {
            Ok(identity) => st.certs.server = identity,
            Err(e) => return bad_content(cam, st, &e.to_string()),
        }
    }
    if ports_changed {
        // Enables and TLS settings apply now; the new ports after the reboot.
        let mut now = next.clone();
        now.http.port = st.access.http.port;
        now.https.port = st.access.https.port;
        now.rtsp.port = st.access.rtsp.port;
        now.sdk.port = st.access.sdk.port;
        st.access = now;
        st.pending_access = Some(next);
        st.need_reboot = true;
        cam.reconcile_soon();
        return reboot_required(cam, st);
    }
    st.access = next;
    st.pending_access = None;
    ok_status(cam, st, After::Reconcile)
}

/// GET or PUT a `<Root><enabled>…</enabled></Root>` service switch.
fn switch(
    cam: &Camera,
    st: &mut CameraState,
    body: &str,
    put: bool,
    root: &str,
    slot: fn(&mut CameraState) -> &mut Switch,
) -> Reply {
    let current = *slot(st);
    if !current.present {
        return not_supported(cam, st);
    }
    if !put {
        return ok_xml(cam, st, root, &el("enabled", current.enabled));
    }
    let enabled = match enabled_from(cam, st, body) {
        Ok(e) => e,
        Err(r) => return r,
    };
    slot(st).enabled = enabled;
    ok_status(cam, st, After::Reconcile)
}

fn enabled_from(cam: &Camera, st: &CameraState, body: &str) -> Result<bool, Reply> {
    let doc = parse_body(cam, st, body)?;
    child_bool(doc.root_element(), "enabled").ok_or_else(|| bad_content(cam, st, "enabled missing"))
}

fn ezviz(cam: &Camera, st: &mut CameraState, body: &str, put: bool) -> Reply {
    if !st.services.ezviz.present {
        return not_supported(cam, st);
    }
    if put {
        let enabled = match enabled_from(cam, st, body) {
            Ok(e) => e,
            Err(r) => return r,
        };
        st.services.ezviz.enabled = enabled;
        return ok_status(cam, st, After::Nothing);
    }
    let on = st.services.ezviz.enabled;
    let inner = format!(
        "{}{}<serverAddress>{}{}</serverAddress>{}{}",
        el("enabled", on),
        el("registerStatus", on),
        el("addressingFormatType", "hostname"),
        el("hostName", "litedev.hik-connect.com"),
        el("verificationCode", ""),
        el("bindStatus", if on { "bind" } else { "unbind" })
    );
    ok_xml(cam, st, "EZVIZ", &inner)
}

fn ddns(cam: &Camera, st: &mut CameraState, body: &str, put: bool, single: bool) -> Reply {
    if !st.services.ddns.present {
        return not_supported(cam, st);
    }
    if put {
        let doc = match parse_body(cam, st, body) {
            Ok(d) => d,
            Err(r) => return r,
        };
        let node = find(doc.root_element(), "DDNS").unwrap_or(doc.root_element());
        let Some(enabled) = child_bool(node, "enabled") else {
            return bad_content(cam, st, "enabled missing");
        };
        st.services.ddns.enabled = enabled;
        return ok_status(cam, st, After::Nothing);
    }
    let item = format!(
        "{}{}{}<serverAddress>{}{}</serverAddress>{}{}",
        el("id", 1),
        el("enabled", st.services.ddns.enabled),
        el("provider", "HiDDNS"),
        el("addressingFormatType", "hostname"),
        el("hostName", "www.hik-online.com"),
        el("portNo", 0),
        el("deviceDomainName", "")
    );
    if single {
        ok_xml(cam, st, "DDNS", &item)
    } else {
        ok_xml(cam, st, "DDNSList", &format!("<DDNS>{item}</DDNS>"))
    }
}

/// SNMP body shape is UNCONFIRMED (protocols.md §4.5.9): one `enabled` per version.
fn snmp(cam: &Camera, st: &mut CameraState, body: &str, put: bool) -> Reply {
    if !st.is_hikvision() {
        return not_supported(cam, st);
    }
    if put {
        let doc = match parse_body(cam, st, body) {
            Ok(d) => d,
            Err(r) => return r,
        };
        let root = doc.root_element();
        let read = |name: &str| child(root, name).and_then(|n| child_bool(n, "enabled"));
        let (v1, v2c, v3) = (read("SNMPv1"), read("SNMPv2c"), read("SNMPv3"));
        if v1.is_none() && v2c.is_none() && v3.is_none() {
            return bad_content(cam, st, "no SNMP version given");
        }
        let s = &mut st.services.snmp;
        s.v1 = v1.unwrap_or(s.v1);
        s.v2c = v2c.unwrap_or(s.v2c);
        s.v3 = v3.unwrap_or(s.v3);
        return ok_status(cam, st, After::Reconcile);
    }
    let s = st.services.snmp;
    let inner = format!(
        "<SNMPv1>{}{}</SNMPv1><SNMPv2c>{}{}</SNMPv2c><SNMPv3>{}</SNMPv3>{}",
        el("enabled", s.v1),
        el("readCommunity", "public"),
        el("enabled", s.v2c),
        el("readCommunity", "public"),
        el("enabled", s.v3),
        el("listenPort", st.aux_ports.snmp)
    );
    ok_xml(cam, st, "SNMP", &inner)
}

fn ftp(cam: &Camera, st: &mut CameraState, body: &str, put: bool) -> Reply {
    if !st.services.ftp.present {
        return not_supported(cam, st);
    }
    if put {
        let doc = match parse_body(cam, st, body) {
            Ok(d) => d,
            Err(r) => return r,
        };
        let node = find(doc.root_element(), "FTPNotification").unwrap_or(doc.root_element());
        let Some(enabled) = child_bool(node, "enabled") else {
            return bad_content(cam, st, "enabled missing");
        };
        st.services.ftp.enabled = enabled;
        return ok_status(cam, st, After::Nothing);
    }
    let inner = format!(
        "<FTPNotification>{}{}{}{}{}{}</FTPNotification>",
        el("id", 1),
        el("enabled", st.services.ftp.enabled),
        el("addressingFormatType", "ipaddress"),
        el("ipAddress", "192.0.2.20"),
        el("portNo", 21),
        el("annoymous", false)
    );
    ok_xml(cam, st, "FTPNotificationList", &inner)
}

fn ip_filter(cam: &Camera, st: &mut CameraState, body: &str, put: bool) -> Reply {
    if put {
        let doc = match parse_body(cam, st, body) {
            Ok(d) => d,
            Err(r) => return r,
        };
        let root = doc.root_element();
        let Some(enabled) = child_bool(root, "enabled") else {
            return bad_content(cam, st, "enabled missing");
        };
        let policy = match child_text(root, "permissionType").as_deref() {
            Some("allow") => FilterPolicy::Allow,
            Some("deny") => FilterPolicy::Deny,
            None => st.ip_filter.policy,
            Some(_) => return bad_content(cam, st, "permissionType"),
        };
        let mut entries = Vec::new();
        if let Some(list) = child(root, "IPFilterAddressList") {
            for a in children(list, "IPFilterAddress") {
                let addr = address_of(a);
                match addr.as_deref().map(str::parse::<std::net::IpAddr>) {
                    Some(Ok(ip)) => entries.push(ip.to_string()),
                    _ => return bad_content(cam, st, "bad ipAddress"),
                }
            }
        }
        if entries.len() > 32 {
            return bad_content(cam, st, "more than 32 entries");
        }
        st.ip_filter = crate::state::IpFilter { enabled, policy, entries };
        return ok_status(cam, st, After::Nothing);
    }
    let f = &st.ip_filter;
    let policy = match f.policy {
        FilterPolicy::Allow => "allow",
        FilterPolicy::Deny => "deny",
    };
    let list: String = f
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| {
            format!(
                "<IPFilterAddress>{}{}{}<AddressMask>{}</AddressMask></IPFilterAddress>",
                el("id", i + 1),
                el("permissionType", policy),
                el("addressFilterType", "mask"),
                el("ipAddress", e)
            )
        })
        .collect();
    let inner = format!(
        "{}{}<IPFilterAddressList size=\"32\">{list}</IPFilterAddressList>",
        el("enabled", f.enabled),
        el("permissionType", policy)
    );
    ok_xml(cam, st, "IPFilter", &inner)
}

/// The address of an `IPFilterAddress` in either shape seen in the field.
fn address_of(a: Node<'_, '_>) -> Option<String> {
    child(a, "AddressMask").and_then(|m| child_text(m, "ipAddress")).or_else(|| child_text(a, "ipAddress"))
}

fn integrate(cam: &Camera, st: &mut CameraState, body: &str, put: bool) -> Reply {
    if put {
        let doc = match parse_body(cam, st, body) {
            Ok(d) => d,
            Err(r) => return r,
        };
        let root = doc.root_element();
        let onvif = child(root, "ONVIF");
        let onvif_auth = match onvif.and_then(|o| child_text(o, "certificateType")) {
            Some(t) => match OnvifAuth::parse(&t) {
                Some(a) => Some(a),
                None => return bad_content(cam, st, "ONVIF certificateType"),
            },
            None => None,
        };
        let cgi_auth = match child(root, "CGI").and_then(|c| child_text(c, "certificateType")) {
            Some(t) => match AuthType::parse(&t) {
                Some(a) => Some(a),
                None => return bad_content(cam, st, "CGI certificateType"),
            },
            None => None,
        };
        if let Some(e) = onvif.and_then(|o| child_bool(o, "enable")) {
            st.services.onvif_enabled = e;
        }
        if let Some(a) = onvif_auth {
            st.onvif_auth = a;
        }
        if let Some(e) = child(root, "CGI").and_then(|c| child_bool(c, "enable")) {
            st.services.cgi_enabled = e;
        }
        if let Some(a) = cgi_auth {
            st.web_auth = a;
        }
        if let Some(e) = child(root, "ISAPI").and_then(|c| child_bool(c, "enable")) {
            st.services.isapi_enabled = e;
        }
        return ok_status(cam, st, After::Reconcile);
    }
    let inner = format!(
        "<CGI>{}{}</CGI><ONVIF>{}{}</ONVIF><ISAPI>{}</ISAPI>",
        el("enable", st.services.cgi_enabled),
        el("certificateType", st.web_auth.as_str()),
        el("enable", st.services.onvif_enabled),
        el("certificateType", st.onvif_auth.as_str()),
        el("enable", st.services.isapi_enabled)
    );
    ok_xml(cam, st, "Integrate", &inner)
}

fn discovery_mode(cam: &Camera, st: &mut CameraState, body: &str, put: bool) -> Reply {
    let word = |b: bool| if b { "discoverable" } else { "nonDiscoverable" };
    if put {
        let doc = match parse_body(cam, st, body) {
            Ok(d) => d,
            Err(r) => return r,
        };
        match child_text(doc.root_element(), "SADP").as_deref() {
            Some("discoverable") => st.services.sadp_discoverable = true,
            Some("nonDiscoverable") => st.services.sadp_discoverable = false,
            _ => return bad_content(cam, st, "SADP must be discoverable or nonDiscoverable"),
        }
        return ok_status(cam, st, After::Reconcile);
    }
    ok_xml(cam, st, "DiscoveryMode", &el("SADP", word(st.services.sadp_discoverable)))
}
