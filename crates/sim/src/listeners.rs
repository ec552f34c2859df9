//! The listener supervisor: which sockets a camera has open follows from its state.
//! Switching a service off closes its port; a reboot closes everything for a while.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;

use socket2::{Domain, Protocol, Socket, Type};
use tokio::task::JoinHandle;

use crate::camera::Camera;
use crate::state::CameraState;

pub const MULTICAST_GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);

/// A kind of listener a camera can have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Port {
    Http,
    Https,
    Rtsp,
    Sdk,
    Telnet,
    Ssh,
    Snmp,
    Upnp,
    Wsd,
    Sadp,
}

impl Port {
    fn is_udp(self) -> bool {
        matches!(self, Port::Snmp | Port::Upnp | Port::Wsd | Port::Sadp)
    }
}

/// For each listener this camera could have: its configured port and whether it should
/// be open now.
pub type Desired = HashMap<Port, (u16, bool)>;

pub fn desired(st: &CameraState) -> Desired {
    let on = st.online;
    let hik = st.is_hikvision();
    let s = &st.services;
    let mut d = Desired::new();
    d.insert(Port::Http, (st.access.http.port, on && st.access.http.enabled));
    d.insert(Port::Https, (st.access.https.port, on && st.access.https.enabled));
    d.insert(Port::Rtsp, (st.access.rtsp.port, on && st.access.rtsp.enabled));
    if hik {
        d.insert(Port::Sdk, (st.access.sdk.port, on && st.access.sdk.enabled));
        d.insert(Port::Sadp, (st.aux_ports.sadp, on && s.sadp_discoverable));
    }
    if s.telnet.present {
        d.insert(Port::Telnet, (st.aux_ports.telnet, on && s.telnet.enabled));
    }
    if s.ssh.present {
        d.insert(Port::Ssh, (st.aux_ports.ssh, on && s.ssh.enabled));
    }
    if s.upnp.present {
        d.insert(Port::Upnp, (st.aux_ports.upnp, on && s.upnp.enabled));
    }
    if hik {
        d.insert(Port::Snmp, (st.aux_ports.snmp, on && s.snmp.any()));
    }
    d.insert(Port::Wsd, (st.aux_ports.wsd, on && st.ws_discovery_on()));
    d
}

/// After binding in ephemeral mode, record the ports the OS chose in the state, so
/// every protocol reports the port the camera really listens on.
pub fn write_back_ports(st: &mut CameraState, assigned: &HashMap<Port, u16>) {
    for (port, n) in assigned {
        let slot = match port {
            Port::Http => &mut st.access.http.port,
            Port::Https => &mut st.access.https.port,
            Port::Rtsp => &mut st.access.rtsp.port,
            Port::Sdk => &mut st.access.sdk.port,
            Port::Telnet => &mut st.aux_ports.telnet,
            Port::Ssh => &mut st.aux_ports.ssh,
            Port::Snmp => &mut st.aux_ports.snmp,
            Port::Upnp => &mut st.aux_ports.upnp,
            Port::Wsd => &mut st.aux_ports.wsd,
            Port::Sadp => &mut st.aux_ports.sadp,
        };
        if *slot == 0 {
            *slot = *n;
        }
    }
}

#[derive(Debug)]
struct Running {
    requested: u16,
    actual: u16,
    task: JoinHandle<()>,
}

#[derive(Debug, Default)]
pub struct Listeners {
    running: HashMap<Port, Running>,
    /// Ports the OS assigned for a requested port 0, kept across close and reopen.
    assigned: HashMap<Port, u16>,
}

impl Drop for Listeners {
    fn drop(&mut self) {
        self.close_all();
    }
}

impl Listeners {
    pub fn open_port(&self, port: Port) -> Option<u16> {
        self.running.get(&port).map(|r| r.actual)
    }

    pub fn assigned(&self) -> HashMap<Port, u16> {
        self.assigned.clone()
    }

    pub fn close_all(&mut self) {
        for (_, r) in self.running.drain() {
            r.task.abort();
        }
    }

    pub fn reconcile(&mut self, cam: &Arc<Camera>, desired: &Desired) -> std::io::Result<()> {
        let ip = cam.address();
        let mut first_err = None;
        // Close what is no longer wanted, or wanted on another port.
        self.running.retain(|port, r| {
            let keep = matches!(desired.get(port), Some((want, true)) if *want == r.requested || *want == r.actual);
            if !keep {
                r.task.abort();
            }
            keep
        });
        for (&port, &(requested, wanted)) in desired {
            if self.running.contains_key(&port) {
                continue;
            }
            let bind_port = if requested == 0 { self.assigned.get(&port).copied().unwrap_or(0) } else { requested };
            // The OS may hand a port reserved for a service that is off to another of this
            // camera's services; a real camera never reports one port for two services
            // (its ISAPI refuses such a change with portError), so neither may we.
            let taken = self.taken_by_others(port, desired);
            if !wanted {
                // Ephemeral mode: learn a port now so the camera can report one for a
                // service that is off, and reopen it there when switched on.
                if bind_port == 0 {
                    match distinct(&taken, || reserve(port, ip).map(|p| (p, ()))) {
                        Ok((p, ())) => {
                            self.assigned.insert(port, p);
                        }
                        Err(e) => first_err = first_err.or(Some(e)),
                    }
                }
                continue;
            }
            let started = if bind_port == 0 {
                distinct(&taken, || start(cam, port, ip, 0))
            } else {
                start(cam, port, ip, bind_port)
            };
            match started {
                Ok((actual, task)) => {
                    if requested == 0 {
                        self.assigned.insert(port, actual);
                    }
                    self.running.insert(port, Running { requested, actual, task });
                }
                Err(e) => {
                    tracing::error!(%ip, ?port, bind_port, "cannot listen: {e}");
                    first_err = first_err.or(Some(e));
                }
            }
        }
        first_err.map_or(Ok(()), Err)
    }
}

impl Listeners {
    /// The port numbers of this camera's other services of the same transport: asked for,
    /// assigned, or open.
    fn taken_by_others(&self, port: Port, desired: &Desired) -> Vec<u16> {
        let other = |p: &Port| *p != port && p.is_udp() == port.is_udp();
        let asked = desired.iter().filter(|(p, _)| other(p)).map(|(_, (n, _))| *n);
        let assigned = self.assigned.iter().filter(|(p, _)| other(p)).map(|(_, n)| *n);
        let open = self.running.iter().filter(|(p, _)| other(p)).map(|(_, r)| r.actual);
        asked.chain(assigned).chain(open).filter(|n| *n != 0).collect()
    }
}

/// Bind on a port the OS chooses until it is none of `taken` (the ones refused are
/// dropped: an aborted listener or a reservation).
fn distinct<T: Dropped>(
    taken: &[u16],
    mut bind: impl FnMut() -> std::io::Result<(u16, T)>,
) -> std::io::Result<(u16, T)> {
    for _ in 0..16 {
        let (n, held) = bind()?;
        if !taken.contains(&n) {
            return Ok((n, held));
        }
        held.release();
    }
    Err(std::io::Error::new(std::io::ErrorKind::AddrInUse, "the OS kept choosing ports this camera already uses"))
}

/// What binding a port left running, released when the port is refused.
trait Dropped {
    fn release(self);
}

impl Dropped for () {
    fn release(self) {}
}

impl Dropped for JoinHandle<()> {
    fn release(self) {
        self.abort();
    }
}

fn reserve(port: Port, ip: Ipv4Addr) -> std::io::Result<u16> {
    let s = if port.is_udp() { udp_socket(ip, 0)? } else { tcp_socket(ip, 0)? };
    Ok(s.local_addr()?.as_socket().map(|a| a.port()).unwrap_or(0))
}

fn tcp_socket(ip: Ipv4Addr, port: u16) -> std::io::Result<Socket> {
    let s = Socket::new(Domain::IPV4, Type::STREAM, Some(Protocol::TCP))?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::V4(SocketAddrV4::new(ip, port)).into())?;
    Ok(s)
}

fn udp_socket(ip: Ipv4Addr, port: u16) -> std::io::Result<Socket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::V4(SocketAddrV4::new(ip, port)).into())?;
    Ok(s)
}

/// A socket bound to the group, joined on the pinned interface only (the network
/// rule: multicast never leaves loopback).
fn multicast_socket(port: u16, interface: Ipv4Addr) -> std::io::Result<tokio::net::UdpSocket> {
    let s = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP))?;
    s.set_reuse_address(true)?;
    s.set_nonblocking(true)?;
    s.bind(&SocketAddr::V4(SocketAddrV4::new(MULTICAST_GROUP, port)).into())?;
    s.join_multicast_v4(&MULTICAST_GROUP, &interface)?;
    s.set_multicast_if_v4(&interface)?;
    s.set_multicast_loop_v4(true)?;
    tokio::net::UdpSocket::from_std(s.into())
}

fn tokio_udp(ip: Ipv4Addr, port: u16, multicast_if: Option<Ipv4Addr>) -> std::io::Result<tokio::net::UdpSocket> {
    let s = udp_socket(ip, port)?;
    if let Some(interface) = multicast_if {
        // Hello/Bye and SADP answers to the group leave through the pinned interface.
        s.set_multicast_if_v4(&interface)?;
        s.set_multicast_loop_v4(true)?;
    }
    tokio::net::UdpSocket::from_std(s.into())
}

fn start(cam: &Arc<Camera>, port: Port, ip: Ipv4Addr, bind_port: u16) -> std::io::Result<(u16, JoinHandle<()>)> {
    let cam = cam.clone();
    let multicast = cam.settings.multicast.then_some(cam.settings.multicast_interface);
    if port.is_udp() {
        let unicast = tokio_udp(ip, bind_port, multicast)?;
        let actual = unicast.local_addr()?.port();
        let task = match port {
            Port::Wsd => {
                let group = multicast.map(|i| multicast_socket(actual, i)).transpose()?;
                tokio::spawn(crate::wsd::serve(cam, unicast, group))
            }
            Port::Sadp => {
                let group = multicast.map(|i| multicast_socket(actual, i)).transpose()?;
                tokio::spawn(crate::sadp::serve(cam, unicast, group))
            }
            _ => tokio::spawn(crate::tcp::serve_udp_sink(unicast)),
        };
        return Ok((actual, task));
    }
    let s = tcp_socket(ip, bind_port)?;
    s.listen(1024)?;
    let listener = tokio::net::TcpListener::from_std(s.into())?;
    let actual = listener.local_addr()?.port();
    let task = match port {
        Port::Http => tokio::spawn(crate::http::serve(cam, listener, false)),
        Port::Https => tokio::spawn(crate::http::serve(cam, listener, true)),
        Port::Rtsp => tokio::spawn(crate::tcp::serve_rtsp(cam, listener)),
        Port::Telnet => tokio::spawn(crate::tcp::serve_telnet(cam, listener)),
        Port::Ssh => tokio::spawn(crate::tcp::serve_ssh(cam, listener)),
        _ => tokio::spawn(crate::tcp::serve_silent(cam, listener)),
    };
    Ok((actual, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts the ports refused.
    struct Held<'a>(&'a std::cell::Cell<u32>);

    impl Dropped for Held<'_> {
        fn release(self) {
            self.0.set(self.0.get() + 1);
        }
    }

    #[test]
    fn a_port_another_service_of_the_camera_holds_is_refused_and_released() {
        let released = std::cell::Cell::new(0);
        let mut offered = [41_000u16, 41_001, 41_002].into_iter();
        let got = distinct(&[41_000, 41_001], || Ok((offered.next().unwrap_or(0), Held(&released)))).unwrap();
        assert_eq!((got.0, released.get()), (41_002, 2));
        let always_taken = distinct(&[41_000], || Ok((41_000, ())));
        assert_eq!(always_taken.unwrap_err().kind(), std::io::ErrorKind::AddrInUse, "gives up rather than spin");
    }
}
