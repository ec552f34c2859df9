//! The demo site's stand-in in a build without the `demo` feature: there is no
//! simulator in the binary, so `--demo` and the UI's toggle say so instead.

use crate::error::{IpcError, IpcResult};
use crate::session::Session;

/// Never made in this build: the type exists so that sessions keep one shape.
#[derive(Debug)]
pub struct DemoSite {
    pub scan_ports: Vec<u16>,
    never: std::convert::Infallible,
}

impl DemoSite {
    pub fn scan_range(&self) -> IpcResult<ipnet::Ipv4Net> {
        match self.never {}
    }
}

pub async fn start() -> IpcResult<Session> {
    Err(IpcError::new(
        crate::error::ShellCode::Demo,
        "this build has no demo site (it was built without the `demo` feature)",
    ))
}
