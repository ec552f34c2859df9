//! Discovery on the network: WS-Discovery and SADP multicast on every chosen
//! interface (each socket pinned to its interface), Hello announcements heard while
//! listening, and a bounded TCP scan of address ranges with an HTTP fingerprint and a
//! unicast WS-Discovery probe per live host. Sightings stream out as they arrive.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt};
use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::{sadp, wsd};
use crate::error::{Error, Result};
use crate::inventory::{Sighting, Source};

#[derive(Debug, Clone)]
pub struct DiscoverOptions {
    /// IPv4 addresses of the interfaces to search on.
    pub interfaces: Vec<Ipv4Addr>,
    pub wsd: bool,
    pub sadp: bool,
    /// Ranges to scan by TCP (cross-VLAN).
    pub scan: Vec<ipnet::Ipv4Net>,
    pub scan_ports: Vec<u16>,
    /// How long to listen for answers.
    pub timeout: Duration,
    /// Hosts probed at once by the scan.
    pub concurrency: usize,
}

impl Default for DiscoverOptions {
    fn default() -> Self {
        DiscoverOptions {
            interfaces: Vec::new(),
            wsd: true,
            sadp: true,
            scan: Vec::new(),
            scan_ports: vec![80, 443, 8000, 554, 8080],
            timeout: Duration::from_secs(3),
            concurrency: 256,
        }
    }
}

/// Up, non-loopback IPv4 interfaces; loopback only when there is nothing else (a
/// loopback-only namespace).
pub fn default_interfaces() -> Vec<Ipv4Addr> {
    let all = list_interfaces();
    let real: Vec<Ipv4Addr> = all.iter().filter(|(_, a)| !a.is_loopback()).map(|(_, a)| *a).collect();
    if real.is_empty() {
        all.into_iter().map(|(_, a)| a).filter(|a| *a == Ipv4Addr::LOCALHOST).collect()
    } else {
        real
    }
}

/// Every IPv4 interface that is up: (name, address), loopback last.
pub fn list_interfaces() -> Vec<(String, Ipv4Addr)> {
    let mut all: Vec<(String, Ipv4Addr)> = if_addrs::get_if_addrs()
        .unwrap_or_default()
        .into_iter()
        .filter_map(|i| match i.ip() {
            IpAddr::V4(a) => Some((i.name, a)),
            IpAddr::V6(_) => None,
        })
        .collect();
    all.sort_by_key(|(name, a)| (a.is_loopback(), name.clone()));
    all
}

/// An interface given by name (`eth0`) or by one of its addresses.
pub fn interface(spec: &str) -> Result<Ipv4Addr> {
    if let Ok(a) = spec.parse::<Ipv4Addr>() {
        return Ok(a);
    }
    list_interfaces()
        .into_iter()
        .find_map(|(name, a)| (name == spec).then_some(a))
        .ok_or_else(|| Error::Input(format!("no IPv4 interface {spec:?}")))
}

/// How a sighting reached us: it matters when someone floods the LAN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Heard {
    /// An answer to our own probe, inquiry or scan.
    Answer,
    /// An announcement nobody asked for (a WS-Discovery Hello): anyone can send
    /// thousands, so they never crowd out answers.
    Announcement,
}

/// Start discovery; the receiver yields sightings until every method is done.
pub fn discover(opts: DiscoverOptions) -> mpsc::Receiver<(Sighting, Heard)> {
    let (tx, rx) = mpsc::channel(1024);
    let interfaces = if opts.interfaces.is_empty() { default_interfaces() } else { opts.interfaces.clone() };
    let opts = Arc::new(opts);
    if opts.wsd {
        for iface in &interfaces {
            tokio::spawn(wsd_multicast(*iface, opts.timeout, tx.clone()));
        }
        tokio::spawn(wsd_hello_listener(interfaces.clone(), opts.timeout, tx.clone()));
    }
    if opts.sadp {
        tokio::spawn(sadp_search(interfaces, opts.timeout, tx.clone()));
    }
    if !opts.scan.is_empty() {
        tokio::spawn(scan(opts, tx));
    }
    rx
}

fn udp(bind: SocketAddrV4, reuse: bool) -> std::io::Result<Socket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    if reuse {
        s.set_reuse_address(true)?;
    }
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::V4(bind).into())?;
    Ok(s)
}

/// Turn a WS-Discovery announcement into a sighting.
pub fn wsd_sighting(a: &wsd::Announcement, from: SocketAddr) -> Sighting {
    let mut s = Sighting {
        source: Some(Source::WsDiscovery),
        endpoint_reference: Some(a.endpoint.clone()),
        ..Default::default()
    };
    for x in &a.xaddrs {
        let Ok(url) = x.parse::<http::Uri>() else { continue };
        let Some(host) = url.host().map(|h| h.trim_matches(['[', ']'])) else { continue };
        let Ok(ip) = host.parse::<IpAddr>() else {
            // A name in the device's own service address is a name it is reached by.
            s.hostnames.push(host.to_string());
            continue;
        };
        s.address = s.address.or(Some(ip));
        match url.scheme_str() {
            Some("https") => s.https_port = s.https_port.or(Some(url.port_u16().unwrap_or(443))),
            _ => s.http_port = s.http_port.or(Some(url.port_u16().unwrap_or(80))),
        }
    }
    s.address = s.address.or(Some(from.ip()));
    s.xaddrs = a.xaddrs.clone();
    s.model = wsd::scope_value(&a.scopes, "hardware");
    s.vendor =
        wsd::scope_value(&a.scopes, "name").map(|n| n.split_whitespace().next().unwrap_or("").to_ascii_lowercase());
    s
}

fn sadp_sighting(r: &sadp::Reply, from: SocketAddr) -> Sighting {
    Sighting {
        source: Some(Source::Sadp),
        address: Some(r.address.map(IpAddr::V4).unwrap_or(from.ip())),
        http_port: r.http_port,
        vendor: Some("hikvision".into()),
        model: r.model.clone(),
        serial: r.serial.clone(),
        mac: r.mac.clone(),
        firmware: r.firmware.clone(),
        activated: r.activated,
        ..Default::default()
    }
}

async fn wsd_multicast(iface: Ipv4Addr, wait: Duration, tx: mpsc::Sender<(Sighting, Heard)>) {
    let Ok(s) = udp(SocketAddrV4::new(iface, 0), false) else { return };
    // Pinned: the probe leaves through this interface only.
    if s.set_multicast_if_v4(&iface).is_err() || s.set_multicast_loop_v4(true).is_err() {
        return;
    }
    let Ok(socket) = UdpSocket::from_std(s.into()) else { return };
    let ids = [format!("urn:uuid:{}", uuid::Uuid::new_v4()), format!("urn:uuid:{}", uuid::Uuid::new_v4())];
    let group = SocketAddr::from((wsd::GROUP, wsd::PORT));
    let probes: Vec<String> = ids.iter().zip([wsd::NVT, wsd::DEVICE]).map(|(id, t)| wsd::probe(id, t)).collect();
    let deadline = tokio::time::Instant::now() + wait;
    let mut resend = tokio::time::Instant::now();
    let mut sent = 0;
    let mut buf = vec![0u8; 65_536];
    // Each device answers every copy of every probe: report it once.
    let mut seen = HashSet::new();
    loop {
        if sent < 2 && tokio::time::Instant::now() >= resend {
            // Sent twice, 300 ms apart (same MessageIDs): UDP loses datagrams.
            for p in &probes {
                let _ = socket.send_to(p.as_bytes(), group).await;
            }
            sent += 1;
            resend = tokio::time::Instant::now() + Duration::from_millis(300);
        }
        let until = if sent < 2 { resend.min(deadline) } else { deadline };
        match tokio::time::timeout_at(until, socket.recv_from(&mut buf)).await {
            Ok(Ok((n, from))) => {
                for a in wsd::parse(buf.get(..n).unwrap_or_default()) {
                    let ours = a.relates_to.as_ref().is_some_and(|r| ids.contains(r));
                    if ours
                        && seen.insert(a.endpoint.clone())
                        && tx.send((wsd_sighting(&a, from), Heard::Answer)).await.is_err()
                    {
                        return;
                    }
                }
            }
            Ok(Err(_)) => {}
            Err(_) if tokio::time::Instant::now() >= deadline => return,
            Err(_) => {}
        }
    }
}

/// Hello announcements while we listen (devices coming online).
async fn wsd_hello_listener(interfaces: Vec<Ipv4Addr>, wait: Duration, tx: mpsc::Sender<(Sighting, Heard)>) {
    let Ok(s) = udp(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, wsd::PORT), true) else { return };
    let joined = interfaces.iter().filter(|i| s.join_multicast_v4(&wsd::GROUP, i).is_ok()).count();
    if joined == 0 {
        return;
    }
    let Ok(socket) = UdpSocket::from_std(s.into()) else { return };
    let mut buf = vec![0u8; 65_536];
    let deadline = tokio::time::Instant::now() + wait;
    while let Ok(Ok((n, from))) = tokio::time::timeout_at(deadline, socket.recv_from(&mut buf)).await {
        for a in wsd::parse(buf.get(..n).unwrap_or_default()) {
            if a.kind == wsd::Kind::Hello && tx.send((wsd_sighting(&a, from), Heard::Announcement)).await.is_err() {
                return;
            }
        }
    }
}

async fn sadp_search(interfaces: Vec<Ipv4Addr>, wait: Duration, tx: mpsc::Sender<(Sighting, Heard)>) {
    // Replies come by unicast to the sender or to the group (firmware varies): listen on both.
    let group_listener = udp(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, sadp::PORT), true).ok().and_then(|s| {
        let joined = interfaces.iter().filter(|i| s.join_multicast_v4(&wsd::GROUP, i).is_ok()).count();
        (joined > 0).then(|| UdpSocket::from_std(s.into()).ok()).flatten()
    });
    let uuid = uuid::Uuid::new_v4().to_string().to_uppercase();
    let mut senders = Vec::new();
    for iface in &interfaces {
        let Ok(s) = udp(SocketAddrV4::new(*iface, 0), false) else { continue };
        if s.set_multicast_if_v4(iface).is_err() {
            continue;
        }
        let Ok(sock) = UdpSocket::from_std(s.into()) else { continue };
        let _ = sock.send_to(sadp::inquiry(&uuid).as_bytes(), (wsd::GROUP, sadp::PORT)).await;
        senders.push(sock);
    }
    let deadline = tokio::time::Instant::now() + wait;
    let mut seen = HashSet::new();
    let mut bufs: Vec<Vec<u8>> = (0..=senders.len()).map(|_| vec![0u8; 16_384]).collect();
    loop {
        let got = {
            let mut recvs = Vec::new();
            for (s, b) in senders.iter().chain(group_listener.iter()).zip(bufs.iter_mut()) {
                recvs.push(Box::pin(s.recv_from(b)));
            }
            if recvs.is_empty() {
                return;
            }
            match tokio::time::timeout_at(deadline, futures::future::select_all(recvs)).await {
                Ok((Ok((n, from)), i, _)) => Some((n, from, i)),
                Ok((Err(_), _, _)) => None,
                Err(_) => return,
            }
        };
        let Some((n, from, i)) = got else { continue };
        let Some(reply) = bufs.get(i).and_then(|b| b.get(..n)).and_then(sadp::parse) else { continue };
        if !reply.uuid.eq_ignore_ascii_case(&uuid) && !reply.uuid.is_empty() {
            continue;
        }
        let key = reply.mac.clone().or(reply.serial.clone()).unwrap_or_else(|| from.to_string());
        if seen.insert(key) && tx.send((sadp_sighting(&reply, from), Heard::Answer)).await.is_err() {
            return;
        }
    }
}

async fn scan(opts: Arc<DiscoverOptions>, tx: mpsc::Sender<(Sighting, Heard)>) {
    let hosts: Vec<Ipv4Addr> = opts.scan.iter().flat_map(|net| net.hosts()).collect();
    let connect_wait = opts.timeout.min(Duration::from_secs(1));
    let client = match crate::driver::http::client(connect_wait) {
        Ok(c) => c,
        Err(_) => return,
    };
    let results = stream::iter(hosts)
        .map(|h| probe_host(h, opts.clone(), client.clone(), connect_wait))
        .buffer_unordered(opts.concurrency.max(1));
    let mut results = std::pin::pin!(results);
    while let Some(found) = results.next().await {
        for s in found {
            if tx.send((s, Heard::Answer)).await.is_err() {
                return;
            }
        }
    }
}

fn request(method: &str, url: String, soap: Option<String>, wait: Duration) -> crate::driver::transport::Request {
    crate::driver::transport::Request {
        timeout: wait,
        method: method.into(),
        url,
        content_type: soap.is_some().then(|| "application/soap+xml; charset=utf-8".to_string()),
        body: soap,
        payload: None,
        authorization: None,
        limit: crate::driver::transport::ANSWER_LIMIT,
        binary: false,
        device: None,
        // Identity probes: a GET, and ONVIF's GetSystemDateAndTime.
        read_only: true,
    }
}

async fn tcp_open(addr: SocketAddr, wait: Duration) -> bool {
    matches!(tokio::time::timeout(wait, tokio::net::TcpStream::connect(addr)).await, Ok(Ok(_)))
}

/// TCP-probe the usual ports; fingerprint HTTP(S) ones; ask WS-Discovery by unicast.
async fn probe_host(
    host: Ipv4Addr,
    opts: Arc<DiscoverOptions>,
    client: crate::driver::http::Client,
    wait: Duration,
) -> Vec<Sighting> {
    let mut open = Vec::new();
    for p in &opts.scan_ports {
        if tcp_open(SocketAddr::from((host, *p)), wait).await {
            open.push(*p);
        }
    }
    if open.is_empty() {
        return Vec::new();
    }
    // What answers HTTP, and what HTTPS, on the open ports.
    let mut http = Vec::new();
    let mut https = Vec::new();
    for p in &open {
        // HTTPS first: a TLS server asked in plain HTTP may answer (a 400), which
        // would pass it for a second web server.
        for (scheme, secure) in [("https", true), ("http", false)] {
            let url = format!("{scheme}://{host}:{p}/ISAPI/System/deviceInfo");
            if let Ok(r) = client.exchange(request("GET", url, None, wait)).await {
                // An unauthenticated deviceInfo drawing a challenge means ISAPI: Hikvision.
                let isapi = r.status == 401;
                if secure {
                    https.push((*p, isapi))
                } else {
                    http.push((*p, isapi))
                }
                break;
            }
        }
    }
    // One device per host, as cameras are reached; but several web servers answering
    // plain HTTP are several devices behind one address (a forwarding address, the demo
    // where loopback holds only 127.0.0.1), one sighting each, with no HTTPS port
    // guessed for them.
    let mut found: Vec<Sighting> = if http.len() > 1 {
        http.iter().map(|&(p, isapi)| scanned(host, Some((p, isapi)), None)).collect()
    } else {
        vec![scanned(host, http.first().copied(), https.first().copied())]
    };
    for s in &mut found {
        // An ONVIF device service answers GetSystemDateAndTime without credentials.
        if let Some(port) = s.http_port {
            let url = format!("http://{host}:{port}{}", crate::driver::onvif::DEVICE_PATH);
            let body = crate::driver::onvif::wire::envelope("", "<tds:GetSystemDateAndTime/>");
            if let Ok(r) = client.exchange(request("POST", url.clone(), Some(body), wait)).await {
                if (200..300).contains(&r.status) && crate::driver::onvif::wire::system_date_time(&r.body).is_ok() {
                    s.xaddrs.push(url);
                }
            }
        }
    }
    found.retain(|s| s.http_port.is_some() || s.https_port.is_some());
    if let Ok(answers) = super::probe::unicast(SocketAddr::from((host, wsd::PORT)), wait).await {
        for a in answers {
            found.push(wsd_sighting(&a, SocketAddr::from((host, wsd::PORT))));
        }
    }
    found
}

/// A scan's sighting of `host`: its HTTP and HTTPS ports, each with whether it spoke
/// ISAPI (a challenge for deviceInfo: Hikvision).
fn scanned(host: Ipv4Addr, http: Option<(u16, bool)>, https: Option<(u16, bool)>) -> Sighting {
    let isapi = http.is_some_and(|(_, i)| i) || https.is_some_and(|(_, i)| i);
    Sighting {
        source: Some(Source::Scan),
        address: Some(IpAddr::V4(host)),
        http_port: http.map(|(p, _)| p),
        https_port: https.map(|(p, _)| p),
        vendor: isapi.then(|| "hikvision".to_string()),
        ..Default::default()
    }
}
