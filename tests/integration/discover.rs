//! `portcullis discover` on a simulated site, inside a loopback-only network namespace:
//! every device found, by every path that should find it, exactly once.

use std::collections::HashMap;

use portcullis_sim::{CameraConfig, Fleet, FleetConfig};

use crate::Home;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "multicast: run only inside ../shared/peers/netns-run.sh"]
async fn netns_discover_finds_every_device_by_every_path_exactly_once() {
    let _alone = crate::MULTICAST.lock().await;
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

/// A WS-Discovery Hello as a camera (or anyone on the LAN) multicasts it.
fn spoofed_hello(i: u32) -> String {
    let (b, c) = ((i / 250) % 250, i % 250 + 1);
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://schemas.xmlsoap.org/ws/2004/08/addressing" xmlns:d="http://schemas.xmlsoap.org/ws/2005/04/discovery" xmlns:dn="http://www.onvif.org/ver10/network/wsdl"><s:Header><a:MessageID>urn:uuid:00000000-0000-4000-8000-{i:012}</a:MessageID><a:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</a:To><a:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Hello</a:Action><d:AppSequence InstanceId="1" MessageNumber="{i}"/></s:Header><s:Body><d:Hello><a:EndpointReference><a:Address>urn:uuid:5900f00d-0000-4000-8000-{i:012}</a:Address></a:EndpointReference><d:Types>dn:NetworkVideoTransmitter</d:Types><d:Scopes>onvif://www.onvif.org/name/Spoof onvif://www.onvif.org/hardware/X{i}</d:Scopes><d:XAddrs>http://10.{b}.{c}.1/onvif/device_service http://cam{i}.evil.example/onvif/device_service</d:XAddrs><d:MetadataVersion>1</d:MetadataVersion></d:Hello></s:Body></s:Envelope>"#
    )
}

/// Issue #14: 100,000 spoofed Hellos while discovery listens. The run keeps a bounded
/// number of sightings, the inventory a bounded number of unconfirmed devices, the
/// process stays small, nothing announced is trusted (unconfirmed, names only
/// suggested), and the real cameras can still be told apart and kept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "multicast: run only inside ../shared/peers/netns-run.sh"]
async fn netns_a_flood_of_spoofed_hellos_leaves_the_inventory_usable_and_bounded() {
    const FLOOD: u32 = 100_000;
    let _alone = crate::MULTICAST.lock().await;
    let cfg = FleetConfig {
        count: 2,
        base_address: std::net::Ipv4Addr::new(127, 1, 9, 1),
        wsd_max_delay_ms: 100,
        ..FleetConfig::default()
    };
    let fleet = Fleet::start(cfg).await.unwrap();
    let home = Home::new("flood");
    // The file vault is made (and its key held for the next command) by a first command,
    // as on any site: making it costs scrypt's memory (age picks up to 256 MB by timing
    // the machine), which would otherwise be what this measures instead of discovery.
    assert!(home.run(&["inventory", "list"]).await.ok);
    let dir = home.dir.clone();
    let discover = tokio::task::spawn_blocking(move || {
        let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(["discover", "--json", "--timeout", "15", "--no-sadp"])
            .env("PORTCULLIS_HOME", &dir)
            .env("PORTCULLIS_VAULT", "file")
            .env("PORTCULLIS_VAULT_PASSPHRASE", "integration tests only")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Its output is read as it comes (a full pipe would stop it).
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut stdout, &mut text).map(|_| text).unwrap_or_default()
        });
        // The peak resident size, read while it runs (the kernel keeps the high-water mark).
        let status = format!("/proc/{}/status", child.id());
        let mut peak_kb = 0u64;
        while child.try_wait().unwrap().is_none() {
            if let Ok(s) = std::fs::read_to_string(&status) {
                let hwm = s.lines().find_map(|l| l.strip_prefix("VmHWM:")).map(|v| v.trim().trim_end_matches(" kB"));
                peak_kb = peak_kb.max(hwm.and_then(|v| v.trim().parse().ok()).unwrap_or(0));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let ok = child.wait().unwrap().success();
        (ok, reader.join().unwrap(), peak_kb)
    });
    // Flood from the start, so the real cameras' answers arrive in the middle of it (the
    // half second lets the listener open; most of the flood must reach it).
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let started = std::time::Instant::now();
    tokio::task::spawn_blocking(|| {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..FLOOD {
            let _ = sock.send_to(spoofed_hello(i).as_bytes(), "239.255.255.250:3702");
            if i % 250 == 249 {
                std::thread::sleep(std::time::Duration::from_millis(4));
            }
        }
    })
    .await
    .unwrap();
    let sent_in = started.elapsed();
    let (ok, text, peak_kb) = discover.await.unwrap();
    assert!(ok, "{text}");
    let lines: Vec<serde_json::Value> = text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    let summary = lines.iter().find(|l| l["type"] == "summary").unwrap();
    let (kept, ignored) = (summary["sightings"].as_u64().unwrap(), summary["ignored"].as_u64().unwrap());
    eprintln!(
        "flood: {FLOOD} Hellos sent in {:.1} s; kept {kept}, ignored {ignored}; peak RSS {} MB",
        sent_in.as_secs_f64(),
        peak_kb / 1024
    );
    assert!(kept + ignored > 10_000, "the flood must reach discovery in volume to test anything: {summary}");
    assert!(kept <= portcullis_core::tasks::discover::MAX_SIGHTINGS as u64, "{summary}");
    // The Hellos took at most their share; the answers had room.
    let hellos = lines
        .iter()
        .filter(|l| l["type"] == "sighting" && l["address"].as_str().is_some_and(|a| a.starts_with("10.")))
        .count();
    assert!(hellos <= portcullis_core::tasks::discover::MAX_ANNOUNCEMENTS, "{hellos} Hellos kept");
    assert!(peak_kb < 200 * 1024, "discovery stayed small under the flood: {peak_kb} kB");

    let list = home.run(&["inventory", "list", "--json"]).await;
    let stored: Vec<serde_json::Value> = list.text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect();
    assert!(stored.len() <= portcullis_core::inventory::store::MAX_UNCONFIRMED, "{}", stored.len());
    assert!(stored.iter().all(|d| d["confirmed"] == false), "discovery confirms nothing");
    assert!(stored.iter().all(|d| d["hostnames"].as_array().unwrap().is_empty()), "announced names are suggestions");
    // The real cameras are there; the operator keeps them and forgets the rest.
    for d in fleet.devices() {
        let a = d.address.to_string();
        assert!(stored.iter().any(|s| s["address"] == a.as_str()), "{a} not found under the flood");
        assert!(home.run(&["inventory", "accept", &a]).await.ok);
    }
    let rejected = home.run(&["inventory", "reject", "--all"]).await;
    assert!(rejected.ok, "{}", rejected.text);
    let left = home.run(&["inventory", "list", "--json"]).await;
    assert_eq!(left.text.lines().count(), fleet.devices().len(), "{}", left.text);
}
