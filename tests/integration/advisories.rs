//! Issue #17: the advisory database is data. An audit matches a camera's firmware against
//! the database in use, the report cites the source and range of each match, and a
//! newer database installed offline (with its checksum) changes what the next audit finds.

use portcullis_sim::{Fleet, FleetConfig, Profile};
use sha2::Digest;

use crate::Home;

fn firmware_rows(report: &serde_json::Value) -> Vec<serde_json::Value> {
    report["firmware"].as_array().cloned().unwrap_or_default()
}

async fn report_json(home: &Home, name: &str) -> serde_json::Value {
    let file = home.dir.join(name);
    let r = home.run(&["report", "--format", "json", "--out", file.to_str().unwrap()]).await;
    assert!(r.ok, "{}", r.text);
    serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_advisory_database_installed_offline_changes_what_the_audit_finds() {
    let mut cfg = FleetConfig::for_tests(2, Profile::HikvisionLegacy);
    cfg.cameras =
        vec![portcullis_sim::CameraConfig { index: 1, profile: Some(Profile::HikvisionCurrent), ..Default::default() }];
    let fleet = Fleet::start(cfg).await.unwrap();
    let home = Home::new("advisories");
    let file = home.dir.join("fleet.json");
    std::fs::write(&file, serde_json::json!({ "devices": fleet.devices() }).to_string()).unwrap();
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    assert!(home.run(&["audit", "--json", "--timeout", "10"]).await.ok);

    // The shipped database: the legacy camera (V5.3.0 build 151016) is inside
    // CVE-2017-7921's published range, and the report says whose range that is.
    let report = report_json(&home, "before.json").await;
    let rows = firmware_rows(&report);
    let legacy = rows.iter().find(|r| r["model"] == "DS-2CD2132F-IS").expect("the legacy camera's firmware row");
    let hit =
        legacy["advisories"].as_array().unwrap().iter().find(|a| a["cve"].as_str().unwrap().contains("CVE-2017-7921"));
    let hit = hit.unwrap_or_else(|| panic!("{legacy:#}"));
    assert!(hit["url"].as_str().unwrap().starts_with("https://"), "{hit:#}");
    assert!(hit["range"].as_str().unwrap().contains("V5.4.0"), "{hit:#}");
    let current = rows.iter().find(|r| r["model"] == "DS-2CD2386G2-IU").unwrap();
    assert!(current["advisories"].as_array().unwrap().is_empty(), "{current:#}");
    assert!(report["advisory_database"].as_str().unwrap().starts_with("version "), "{report:#}");

    // A newer file names the current camera's firmware.
    let shown = home.run(&["advisories", "show", "--json"]).await;
    let head: serde_json::Value = serde_json::from_str(shown.text.lines().next().unwrap()).unwrap();
    let shipped_version = head["version"].as_u64().unwrap();
    let newer = format!(
        r#"format = 1
version = {}
published = "2026-12-05"

[[advisory]]
id = "CVE-2099-0001"
cves = ["CVE-2099-0001"]
vendor = "hikvision"
title = "A test advisory covering the simulator's current firmware"
severity = "high"
sources = [{{ name = "Test advisory", url = "https://example.invalid/advisory" }}]

[[advisory.affected]]
models = ["DS-2CD2xx6G2"]
before = "V5.7.16 build 240101"
fixed = "V5.7.16"
source = "Test advisory"
"#,
        shipped_version + 1
    );
    let update = home.dir.join("advisories-next.toml");
    std::fs::write(&update, &newer).unwrap();
    let digest = hex::encode(sha2::Sha256::digest(newer.as_bytes()));

    let refused = home.run(&["advisories", "update", update.to_str().unwrap(), "--sha256", &"ab".repeat(32)]).await;
    assert!(!refused.ok && refused.text.contains("not installed"), "{}", refused.text);
    let unsure = home.run(&["advisories", "update", update.to_str().unwrap()]).await;
    assert!(!unsure.ok && unsure.text.contains("no checksum"), "{}", unsure.text);
    let installed = home.run(&["advisories", "update", update.to_str().unwrap(), "--sha256", &digest]).await;
    assert!(installed.ok, "{}", installed.text);
    let again = home.run(&["advisories", "update", update.to_str().unwrap(), "--sha256", &digest]).await;
    assert!(!again.ok && again.text.contains("not newer"), "{}", again.text);

    let audit = home.run(&["audit", "--json", "--timeout", "10"]).await;
    assert!(audit.ok, "{}", audit.text);
    let report = report_json(&home, "after.json").await;
    let rows = firmware_rows(&report);
    let current = rows.iter().find(|r| r["model"] == "DS-2CD2386G2-IU").unwrap();
    let cves: Vec<&str> =
        current["advisories"].as_array().unwrap().iter().map(|a| a["cve"].as_str().unwrap()).collect();
    assert_eq!(cves, ["CVE-2099-0001"], "{current:#}");
    assert_eq!(current["advisories"][0]["source"], "Test advisory");
    assert_eq!(
        report["advisory_database"].as_str().unwrap().split(',').next(),
        Some(&*format!("version {}", shipped_version + 1))
    );
    drop(fleet);
}
