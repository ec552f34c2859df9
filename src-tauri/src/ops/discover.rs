//! Discovery: sightings stream to the UI as they arrive, then merge into the
//! inventory. In the demo the search is pinned to loopback: interface 127.0.0.1, no
//! multicast, and a TCP scan of the fleet's own /24 (or its one shared address) only.

use std::net::Ipv4Addr;
use std::time::Duration;

use portcullis_core::discover::runner::{self, DiscoverOptions};
use portcullis_core::inventory::Sighting;
use portcullis_core::tasks::Event;

use crate::dto::{DiscoverRequest, DiscoverSummary, InterfaceView, SightingEvent};
use crate::error::{IpcError, IpcResult};
use crate::session::Session;

/// What discovery may touch, decided before anything is sent.
pub fn options(session: &Session, req: &DiscoverRequest) -> IpcResult<(DiscoverOptions, String)> {
    let timeout = portcullis_core::tasks::discover::listening_time(req.timeout_s);
    if let Some(demo) = &session.demo {
        let range = demo.scan_range()?;
        let opts = DiscoverOptions {
            interfaces: vec![Ipv4Addr::LOCALHOST],
            wsd: false,
            sadp: false,
            scan: vec![range],
            scan_ports: demo.scan_ports.clone(),
            timeout: timeout.min(Duration::from_secs(2)),
            ..DiscoverOptions::default()
        };
        let ports = demo.scan_ports.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ");
        let searched = format!("loopback only: TCP scan of {range} port {ports}");
        return Ok((opts, searched));
    }
    let interfaces = req.interfaces.iter().map(|i| runner::interface(i)).collect::<Result<Vec<_>, _>>()?;
    let scan = req
        .scan
        .iter()
        .map(|r| r.trim().parse::<ipnet::Ipv4Net>().map_err(|e| IpcError::input(format!("{r}: {e}"))))
        .collect::<IpcResult<Vec<_>>>()?;
    let shown = if interfaces.is_empty() { runner::default_interfaces() } else { interfaces.clone() };
    let methods = match (req.wsd, req.sadp) {
        (true, true) => "WS-Discovery and SADP",
        (true, false) => "WS-Discovery",
        (false, true) => "SADP",
        (false, false) => "no multicast",
    };
    let mut searched = format!("{methods} on {}", shown.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "));
    if !scan.is_empty() {
        searched.push_str(&format!("; TCP scan of {}", req.scan.join(", ")));
    }
    Ok((
        DiscoverOptions { interfaces, scan, timeout, wsd: req.wsd, sadp: req.sadp, ..DiscoverOptions::default() },
        searched,
    ))
}

pub fn sighting_event(s: &Sighting) -> SightingEvent {
    SightingEvent {
        source: s.source,
        address: s.address.map(|a| a.to_string()),
        vendor: s.vendor.clone(),
        model: s.model.clone(),
        mac: s.mac.clone(),
        endpoint_reference: s.endpoint_reference.clone(),
    }
}

/// Run discovery to its end; `each` sees every sighting as it arrives.
pub async fn run(
    session: &Session,
    req: DiscoverRequest,
    each: impl Fn(SightingEvent) + Send + Sync,
) -> IpcResult<DiscoverSummary> {
    let (opts, searched) = options(session, &req)?;
    let sink = |e: Event| {
        if let Event::Sighting(s) = e {
            each(sighting_event(&s));
        }
    };
    let found = portcullis_core::tasks::discover::run(&session.ws, opts, None, &sink).await?;
    Ok(DiscoverSummary { counts: found.counts(), searched })
}

/// The interfaces the user may pick for multicast discovery.
pub fn interfaces() -> Vec<InterfaceView> {
    runner::list_interfaces()
        .into_iter()
        .map(|(name, a)| InterfaceView { name, address: a.to_string(), loopback: a.is_loopback() })
        .collect()
}
