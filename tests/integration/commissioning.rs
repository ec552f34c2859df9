//! Issue #18, commissioning a deployment: a golden camera's settings as the site's
//! baseline, applied to the others.

use std::collections::BTreeMap;

use portcullis_sim::{Fleet, FleetConfig, Profile};

use crate::Home;

/// The integrator's hand-made settings on the reference camera: the site's clock and
/// management host, on top of the hardening.
const BY_HAND: &str = r#"
[baseline]
name = "by-hand"
version = "1"
title = "What the integrator set on the reference camera"
extends = "hikvision-hardening"

[site]
time_zone = "CET-1CEST,M3.5.0,M10.5.0/3"
ntp_servers = ["192.0.2.10", "192.0.2.11"]
management_hosts = ["127.0.0.1"]
"#;

/// Settings that describe one device: never the same on two.
const OWN: &[&str] = &["device.name", "tls.certificate.self_signed", "firmware.version"];

fn lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Each audited device's readings, by setting (accounts and its own values left out).
fn readings(audit: &str) -> BTreeMap<String, BTreeMap<String, serde_json::Value>> {
    lines(audit)
        .into_iter()
        .filter(|l| l["type"] == "device")
        .map(|d| {
            let values = d["findings"]
                .as_array()
                .cloned()
                .unwrap_or_default()
                .into_iter()
                .map(|f| (f["setting"].as_str().unwrap_or_default().to_string(), f["observed"].clone()))
                .filter(|(s, _)| !s.starts_with("account.") && !OWN.contains(&s.as_str()))
                .collect();
            (d["target"].as_str().unwrap_or_default().to_string(), values)
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_golden_cameras_baseline_leaves_every_other_camera_with_its_settings() {
    let fleet = Fleet::start(FleetConfig::for_tests(3, Profile::HikvisionCurrent)).await.unwrap();
    let home = Home::new("golden");
    let doc = serde_json::json!({ "generator": "portcullis-sim", "devices": fleet.devices() });
    let file = home.dir.join("fleet.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let golden = fleet.devices()[0].address.to_string();

    // The integrator sets the reference camera up.
    let by_hand = home.dir.join("by-hand.toml");
    std::fs::write(&by_hand, BY_HAND).unwrap();
    let set = home
        .run(&[
            "apply",
            "--yes",
            "--json",
            "--timeout",
            "5",
            "--baseline",
            by_hand.to_str().unwrap(),
            "--device",
            &golden,
        ])
        .await;
    assert!(set.ok, "{}", set.text);

    // Its baseline: the site's values, with where each came from.
    let out = home.dir.join("golden.toml");
    let o = out.to_str().unwrap();
    let made = home.run(&["baseline", "from-device", &golden, "--out", o, "--name", "acme", "--timeout", "5"]).await;
    assert!(made.ok, "{}", made.text);
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("extends = \"hikvision-hardening\""), "{text}");
    assert!(text.contains("ntp_servers = [\"192.0.2.10\", \"192.0.2.11\"]"), "{text}");
    assert!(text.contains("# time_zone: read from the reference camera"), "{text}");
    assert!(text.contains("management_hosts = [\"127.0.0.1\"]"), "{text}");
    assert_eq!(text.matches(&golden).count(), 1, "the reference camera's address only in the header comment: {text}");
    let again = home.run(&["baseline", "from-device", &golden, "--out", o]).await;
    assert!(!again.ok && again.text.contains("--force"), "an existing file is not replaced: {}", again.text);

    // Applied to the site, it leaves every camera reading as the reference camera does.
    let apply = home.run(&["apply", "--yes", "--json", "--timeout", "5", "--baseline", o]).await;
    assert!(apply.ok, "{}", apply.text);
    let audit = home.run(&["audit", "--json", "--timeout", "5", "--baseline", o]).await;
    let all = readings(&audit.text);
    assert_eq!(all.len(), 3, "{}", audit.text);
    let reference = all.iter().find(|(t, _)| t.starts_with(&format!("{golden}:"))).map(|(_, v)| v.clone()).unwrap();
    assert!(reference.contains_key("time.zone") && reference.contains_key("time.ntp.servers"), "{reference:?}");
    for (target, values) in &all {
        assert_eq!(values, &reference, "{target} differs from the reference camera");
    }
    let failing: Vec<_> = lines(&audit.text)
        .into_iter()
        .filter(|l| l["type"] == "device")
        .flat_map(|d| d["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["status"] == "fail")
        .collect();
    assert!(failing.is_empty(), "{failing:?}");
}
