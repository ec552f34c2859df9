//! `portcullis discover` on a simulated site, inside a loopback-only network namespace:
//! every device found, by every path that should find it, exactly once.

use std::collections::HashMap;

use portcullis_sim::{CameraConfig, Fleet, FleetConfig};

use crate::Home;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "multicast: run only inside ../shared/peers/netns-run.sh"]
async fn netns_discover_finds_every_device_by_every_path_exactly_once() {
    let mut cfg = FleetConfig {
        count: 10,
        base_address: std::net::Ipv4Addr::new(127, 1, 0, 1),
        wsd_max_delay_ms: 200,
        ..FleetConfig::default()
    };
    cfg.cameras = vec![CameraConfig { index: 0, discoverable: Some(false), ..Default::default() }];
    let fleet = Fleet::start(cfg).await.unwrap();
    let devices = fleet.devices();
    let home = Home::new("discover");
    let o =
        home.run(&["discover", "--json", "--timeout", "2", "--scan", "127.1.0.0/28", "--scan-ports", "80,443"]).await;
    assert!(o.ok, "{}", o.text);
    let lines: Vec<serde_json::Value> = o.text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let summary = lines.iter().find(|l| l["type"] == "summary").unwrap();
    assert_eq!(summary["devices"], 10, "{}", o.text);

    // Which paths saw which address.
    let mut paths: HashMap<String, Vec<String>> = HashMap::new();
    for s in lines.iter().filter(|l| l["type"] == "sighting") {
        paths
            .entry(s["address"].as_str().unwrap_or("").to_string())
            .or_default()
            .push(s["source"].as_str().unwrap_or("").to_string());
    }
    for d in &devices {
        let seen = paths.get(&d.address.to_string()).cloned().unwrap_or_default();
        assert!(seen.contains(&"scan".to_string()), "{}: the scan finds everything: {seen:?}", d.address);
        assert_eq!(seen.contains(&"ws_discovery".to_string()), d.discoverable, "{}: WS-Discovery: {seen:?}", d.address);
        assert_eq!(seen.contains(&"sadp".to_string()), d.sadp_discoverable, "{}: SADP: {seen:?}", d.address);
    }
    let list = home.run(&["inventory", "list", "--json"]).await;
    let stored: Vec<serde_json::Value> = list.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(stored.len(), 10, "{}", list.text);
    let factory_new = devices.iter().find(|d| !d.activated).unwrap();
    let rec = stored.iter().find(|s| s["address"] == factory_new.address.to_string()).unwrap();
    assert_eq!(rec["activated"], false, "SADP tells the factory-new camera apart: {rec}");
    assert_eq!(rec["mac"], factory_new.mac);
}
