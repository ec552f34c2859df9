//! Proof that a switched-off service is gone: a real TCP connect that now fails.

use crate::setting::Setting;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crate::driver::Target;

/// The TCP port a switch-off must close, where the service has one. Telnet and SSH
/// are checked on their standard ports (the inventory does not record others yet).
pub fn port_of(setting: Setting, target: &Target) -> Option<u16> {
    match setting {
        Setting::ServiceTelnetEnabled => Some(23),
        Setting::ServiceSshEnabled => Some(22),
        Setting::ServiceHttpEnabled => target.http_port,
        _ => None,
    }
}

/// Whether something accepts a TCP connection at `address:port` now (one try).
pub async fn accepts(address: IpAddr, port: u16) -> bool {
    let to = SocketAddr::new(address, port);
    matches!(tokio::time::timeout(Duration::from_millis(500), tokio::net::TcpStream::connect(to)).await, Ok(Ok(_)))
}

/// `Ok` once connecting fails; the device closes the listener just after answering,
/// so a few tries over two seconds are allowed.
pub async fn closed(address: IpAddr, port: u16) -> Result<(), String> {
    for _ in 0..10 {
        // Refused, unreachable or silently dropped (an IP filter): closed to us.
        if !accepts(address, port).await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("port {port} still accepts connections"))
}
