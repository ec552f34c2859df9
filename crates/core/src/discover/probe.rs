//! Unicast WS-Discovery probes: ask one address whether it answers discovery.

use std::net::SocketAddr;
use std::time::Duration;

use super::wsd;

/// Send the two probes (NetworkVideoTransmitter, Device) to one address and collect
/// what answers within `wait`. An empty list means the device stays silent.
pub async fn unicast(to: SocketAddr, wait: Duration) -> std::io::Result<Vec<wsd::Announcement>> {
    let bind: SocketAddr = if to.is_ipv4() { ([0, 0, 0, 0], 0).into() } else { ([0u16; 8], 0).into() };
    let socket = tokio::net::UdpSocket::bind(bind).await?;
    let ids = [format!("urn:uuid:{}", uuid::Uuid::new_v4()), format!("urn:uuid:{}", uuid::Uuid::new_v4())];
    for (id, types) in ids.iter().zip([wsd::NVT, wsd::DEVICE]) {
        socket.send_to(wsd::probe(id, types).as_bytes(), to).await?;
    }
    let mut found = Vec::new();
    // The buffer is made when an answer is there to read: an audit keeps hundreds of
    // probes waiting at once, and a hardened camera never answers one.
    let mut buf = Vec::new();
    let deadline = tokio::time::Instant::now() + wait;
    // A socket that fails says nothing about the device: an error, never "silent" (which
    // would pass a discoverability control unheard).
    while let Ok(ready) = tokio::time::timeout_at(deadline, socket.readable()).await {
        ready?;
        if buf.is_empty() {
            buf = vec![0u8; 65_536];
        }
        let n = match socket.try_recv_from(&mut buf) {
            Ok((n, _)) => n,
            // Windows reports an earlier datagram's "port unreachable" on the next
            // receive: nothing listens there, which is silence.
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::ConnectionReset) => {
                continue
            }
            Err(e) => return Err(e),
        };
        let data = buf.get(..n).unwrap_or_default();
        found.extend(wsd::parse(data).into_iter().filter(|a| a.relates_to.as_ref().is_some_and(|r| ids.contains(r))));
        if !found.is_empty() {
            break;
        }
    }
    Ok(found)
}
