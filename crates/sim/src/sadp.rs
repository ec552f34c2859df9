//! SADP, the XML-over-UDP flavour (protocols.md §2): answer an `inquiry` Probe with a
//! ProbeMatch carrying identity, ports and — the reason installers need it — the
//! activation state. Read-only: write verbs are not simulated (see the ledger).

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;

use crate::camera::Camera;
use crate::state::CameraState;
use crate::xml::{child_text, el};

/// The Uuid of an inquiry, or `None` for anything else (including our own replies
/// looping back, whose root is `ProbeMatch`).
pub fn parse_inquiry(datagram: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(datagram).ok()?;
    let doc = crate::xml::parse(text.trim()).ok()?;
    let root = doc.root_element();
    if root.tag_name().name() != "Probe" {
        return None;
    }
    let verb = child_text(root, "Types")?;
    if !verb.eq_ignore_ascii_case("inquiry") {
        return None;
    }
    Some(child_text(root, "Uuid").unwrap_or_default())
}

pub fn probe_match(st: &CameraState, uuid: &str) -> String {
    let id = &st.identity;
    let fields = [
        el("Uuid", uuid),
        el("Types", "inquiry"),
        el("DeviceType", id.sadp_device_type),
        el("DeviceDescription", &id.model),
        el("DeviceSN", &id.serial),
        el("CommandPort", st.access.sdk.port),
        el("HttpPort", st.access.http.port),
        el("MAC", id.mac_dashes()),
        el("IPv4Address", st.address),
        el("IPv4SubnetMask", "255.0.0.0"),
        el("IPv4Gateway", "127.0.0.1"),
        el("IPv6Address", "::"),
        el("IPv6Gateway", "::"),
        el("IPv6MaskLen", 64),
        el("DHCP", false),
        el("AnalogChannelNum", 0),
        el("DigitalChannelNum", if id.device_type == "NVR" { 8 } else { 1 }),
        // Firmware writes no space before "build" here.
        el("SoftwareVersion", format!("{}build {}", id.firmware_version, id.firmware_build)),
        el("DSPVersion", format!("V7.3 build {}", id.firmware_build)),
        el("BootTime", "2026-01-01 00:00:00"),
        el("Encrypt", true),
        el("ResetAbility", false),
        el("DiskNumber", 0),
        el("Activated", st.activation.activated),
        el("PasswordResetAbility", true),
        el("PasswordResetModeSecond", true),
        el("SupportSecurityQuestion", true),
        el("SupportHCPlatform", st.services.ezviz.present),
        el("HCPlatformEnable", st.services.ezviz.enabled),
        el("IsModifyVerificationCode", false),
        el("Salt", hex::encode(id.endpoint_uuid.as_bytes())),
        el("DeviceLock", false),
        el("OEMInfo", "N/A"),
    ];
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<ProbeMatch>\r\n{}\r\n</ProbeMatch>\r\n",
        fields.join("\r\n")
    )
}

pub(crate) async fn serve(cam: Arc<Camera>, unicast: UdpSocket, group: Option<UdpSocket>) {
    let mut ubuf = vec![0u8; 8192];
    let mut gbuf = vec![0u8; 8192];
    loop {
        let (n, from, multicast) = tokio::select! {
            r = unicast.recv_from(&mut ubuf) => match r { Ok((n, f)) => (n, f, false), Err(_) => continue },
            r = recv(group.as_ref(), &mut gbuf) => match r { Ok((n, f)) => (n, f, true), Err(_) => continue },
        };
        let data = if multicast { gbuf.get(..n) } else { ubuf.get(..n) };
        let Some(uuid) = data.and_then(parse_inquiry) else {
            continue;
        };
        let reply = probe_match(&cam.state(), &uuid);
        tokio::time::sleep(cam.with_faults(|f| f.delay())).await;
        // Newer firmware answers the sender directly.
        let _ = unicast.send_to(reply.as_bytes(), from).await;
    }
}

async fn recv(group: Option<&UdpSocket>, buf: &mut [u8]) -> std::io::Result<(usize, SocketAddr)> {
    match group {
        Some(s) => s.recv_from(buf).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_inquiries_are_answered() {
        let p = b"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<Probe>\n<Uuid>ABC-1</Uuid>\n<Types>inquiry</Types>\n</Probe>";
        assert_eq!(parse_inquiry(p).as_deref(), Some("ABC-1"));
        assert_eq!(parse_inquiry(b"<ProbeMatch><Uuid>x</Uuid><Types>inquiry</Types></ProbeMatch>"), None);
        assert_eq!(parse_inquiry(b"<Probe><Uuid>x</Uuid><Types>update</Types></Probe>"), None);
        assert_eq!(parse_inquiry(b"\x00\x01garbage"), None);
    }
}
