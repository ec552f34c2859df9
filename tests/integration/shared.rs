//! Cameras that share one address and differ by port (the demo where loopback holds
//! only 127.0.0.1, as on macOS; cameras behind one forwarding address): each keeps its
//! own vault entry, certificate pin and login budget, keyed `address:port`.

use portcullis_core::secret::Secret;
use portcullis_core::vault::{FileVault, Vault};
use portcullis_sim::config::ProfileChoice;
use portcullis_sim::{Fleet, FleetConfig, Profile};

use crate::{import_fleet, Home};

const SITE: &[&str] = &["--management-host", "127.0.0.1", "--ntp-server", "192.0.2.1"];

fn lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn summary(text: &str) -> serde_json::Value {
    lines(text).into_iter().rev().find(|l| l["type"] == "summary").unwrap_or_else(|| panic!("no summary:\n{text}"))
}

async fn apply(home: &Home) -> crate::Outcome {
    let mut args = vec!["apply", "--yes", "--json", "--timeout", "5"];
    args.extend_from_slice(SITE);
    home.run(&args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cameras_on_one_address_are_told_apart_by_port() {
    let mut config = FleetConfig::for_tests(4, Profile::HikvisionCurrent);
    config.profile = ProfileChoice::Mixed;
    config.shared_address = true;
    config.base_address = std::net::Ipv4Addr::LOCALHOST;
    let fleet = Fleet::start(config).await.unwrap();
    let devices = fleet.devices();
    assert!(devices.iter().all(|d| d.address == std::net::Ipv4Addr::LOCALHOST), "one address for all");
    let home = Home::new("shared");
    import_fleet(&home, &fleet).await;
    let inventory = home.run(&["inventory", "list", "--json"]).await;
    assert_eq!(lines(&inventory.text).iter().filter(|l| l["address"] == "127.0.0.1").count(), 4, "{}", inventory.text);

    // Activation, rotation, certificates and HTTP off, on every camera.
    let first = apply(&home).await;
    let s = summary(&first.text);
    assert_eq!((s["devices"].as_u64(), s["problems"].as_u64()), (Some(4), Some(0)), "{}", first.text);
    let label = |i: usize| format!("127.0.0.1:{}", devices[i].http_port.unwrap());
    let store = FileVault::new(home.dir.join("vault.age"), Secret::new("integration tests only"));
    let vault = Vault::new(Box::new(store), &home.dir);
    let pins: serde_json::Value = serde_json::from_slice(&std::fs::read(home.dir.join("pins.json")).unwrap()).unwrap();
    let mut fingerprints = std::collections::HashSet::new();
    for (i, cam) in fleet.cameras().iter().enumerate() {
        // Each camera's own password, under its own key; nothing under the bare address.
        let on_device = cam.state().account("admin").unwrap().password.clone();
        let stored = vault.lookup(&label(i), None).unwrap().unwrap();
        assert_eq!(stored.password.expose(), on_device, "camera {i}");
        assert!(!cam.state().certs.server.self_signed, "camera {i}: {}", first.text);
        let pin = pins["devices"][&label(i)]["fingerprint"].as_str().unwrap_or_default().to_string();
        assert_eq!(pin.len(), 64, "camera {i} pinned by address and port: {pins}");
        fingerprints.insert(pin);
    }
    assert_eq!(fingerprints.len(), 4, "four certificates, four pins");
    assert!(pins["devices"].get("127.0.0.1").is_none(), "{pins}");
    assert!(vault.pending_devices().unwrap().is_empty());

    // Read back over HTTPS, each held to its own pin; a second apply changes nothing.
    let audit = home.run(&["audit", "--json", "--timeout", "5"]).await;
    let audited: Vec<_> = lines(&audit.text).into_iter().filter(|l| l["type"] == "device").collect();
    assert_eq!(audited.len(), 4, "{}", audit.text);
    assert!(audited.iter().all(|a| a["error"].is_null()), "{}", audit.text);
    let second = apply(&home).await;
    let s = summary(&second.text);
    assert_eq!((s["problems"].as_u64(), s["steps"].as_u64()), (Some(0), Some(0)), "{}", second.text);

    // A refused login spends one camera's budget, not its neighbours'.
    let refused = fleet.camera(0).unwrap();
    refused.state().account_mut("admin").unwrap().password = "Changed-Elsewhere-1#".into();
    let audit = home.run(&["audit", "--json", "--timeout", "5"]).await;
    let audited: Vec<_> = lines(&audit.text).into_iter().filter(|l| l["type"] == "device").collect();
    let failed: Vec<_> = audited.iter().filter(|a| !a["error"].is_null()).collect();
    assert_eq!(failed.len(), 1, "{}", audit.text);
    assert!(failed[0]["target"].as_str().unwrap_or_default().starts_with(&label(0)), "{}", audit.text);
    assert_eq!(refused.state().refused_logins, 1);
    drop(fleet);
}
