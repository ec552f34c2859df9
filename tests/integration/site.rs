//! Site parameters from a baseline's `[site]` table: device names from a pattern, the
//! time zone, NTP servers and the management hosts, applied to a mixed simulated site
//! (ISAPI and generic ONVIF) and verified like any other control.

use std::collections::HashSet;

use crate::inventory::mixed_fleet;
use crate::Home;

const SITE_BASELINE: &str = r#"
[baseline]
name = "acme-hq"
version = "1"
title = "ACME headquarters"
extends = "hikvision-hardening"

[site]
name = "hq"
device_name = "{site}-{model}-{n:02}"
time_zone = "CET-1CEST,M3.5.0,M10.5.0/3"
ntp_servers = ["192.0.2.1", "192.0.2.2"]
management_hosts = ["127.0.0.1"]
"#;

fn lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn summary(text: &str) -> serde_json::Value {
    lines(text).into_iter().rev().find(|l| l["type"] == "summary").unwrap_or_else(|| panic!("no summary:\n{text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_table_names_and_configures_every_camera_once() {
    let (fleet, file) = mixed_fleet(5).await;
    let home = Home::new("site-params");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let baseline = home.dir.join("acme.toml");
    std::fs::write(&baseline, SITE_BASELINE).unwrap();
    let b = baseline.to_str().unwrap();

    // The plan says what each camera will be called, before anything changes.
    let plan = home.run(&["plan", "--json", "--timeout", "5", "--baseline", b]).await;
    assert!(plan.ok, "{}", plan.text);
    let renames: Vec<String> = lines(&plan.text)
        .iter()
        .filter(|l| l["type"] == "plan")
        .flat_map(|p| p["steps"].as_array().cloned().unwrap_or_default())
        .filter(|s| s["setting"] == "device.name")
        .map(|s| s["to"].as_str().unwrap_or_default().to_string())
        .collect();
    assert!(renames.len() >= 3, "{}", plan.text);
    assert_eq!(renames.iter().collect::<HashSet<_>>().len(), renames.len(), "names are unique: {renames:?}");

    // A flag that contradicts the site table is refused, not silently preferred.
    let clash = home.run(&["apply", "--yes", "--baseline", b, "--ntp-server", "192.0.2.99"]).await;
    assert!(!clash.ok && clash.text.contains("[site]"), "{}", clash.text);

    let first = home.run(&["apply", "--yes", "--json", "--timeout", "5", "--baseline", b]).await;
    let s = summary(&first.text);
    assert_eq!((s["failed"].as_u64(), s["rolled_back"].as_u64()), (Some(0), Some(0)), "{}", first.text);

    // The cameras themselves carry the site's parameters.
    let mut names = HashSet::new();
    for cam in fleet.cameras() {
        let st = cam.state();
        let name = if st.is_hikvision() {
            st.identity.device_name.clone()
        } else {
            let scopes = st.configurable_scopes.clone().unwrap_or_default();
            let scope = scopes.iter().find_map(|s| s.strip_prefix("onvif://www.onvif.org/name/")).unwrap_or_default();
            scope.to_string()
        };
        assert!(name.starts_with("hq-") && name.len() <= 32, "{}: {name:?}", st.address);
        assert!(names.insert(name.clone()), "{name} given twice");
        if st.is_hikvision() {
            // Hikvision's dialect: CST/DST for names, the summer shift after DST.
            assert_eq!(st.time.time_zone, "CST-1:00:00DST01:00:00,M3.5.0/02:00:00,M10.5.0/03:00:00", "{}", st.address);
        } else {
            assert!(portcullis_core::site::tz::equivalent(&st.time.time_zone, "CET-1CEST,M3.5.0,M10.5.0/3"));
        }
        let ntp: HashSet<&str> = st.time.ntp_servers.iter().map(|n| n.host.as_str()).collect();
        assert_eq!(ntp, HashSet::from(["192.0.2.1", "192.0.2.2"]), "{}", st.address);
        assert!(st.ip_filter.entries.contains(&"127.0.0.1".to_string()), "{}", st.address);
    }

    // Every SITE-* control now passes, and a second apply has nothing to do.
    let audit = home.run(&["audit", "--json", "--timeout", "5", "--baseline", b]).await;
    let site_findings: Vec<serde_json::Value> = lines(&audit.text)
        .iter()
        .filter(|l| l["type"] == "device")
        .flat_map(|d| d["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["control"].as_str().is_some_and(|c| c.starts_with("SITE-")))
        .collect();
    assert_eq!(site_findings.len(), 5 * 4, "{}", audit.text);
    assert!(site_findings.iter().all(|f| f["status"] == "pass"), "{site_findings:#?}");
    let second = home.run(&["apply", "--yes", "--json", "--timeout", "5", "--baseline", b]).await;
    assert_eq!(summary(&second.text)["verified"].as_u64().unwrap_or(0), 0, "{}", second.text);
    drop(fleet);
}

/// `baseline list` shows what audits use: the built-in profiles until the site keeps a
/// file, then that file first and alone in use, its `[site]` values as SITE-* controls.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn baseline_list_shows_the_profiles_in_force_with_their_mappings() {
    let home = Home::new("baseline-list");
    let before = home.run(&["--json", "baseline", "list"]).await;
    assert!(before.ok, "{}", before.text);
    let profiles: Vec<serde_json::Value> = lines(&before.text).into_iter().filter(|l| l["type"] == "profile").collect();
    assert!(profiles.len() >= 2, "{}", before.text);
    assert!(profiles.iter().all(|p| p["active"] == true && p["source"] == "built-in"), "{}", before.text);
    let controls = |p: &serde_json::Value| p["controls"].as_array().cloned().unwrap_or_default();
    assert!(controls(&profiles[0]).iter().any(|c| !c["etsi_en_303_645"].as_array().unwrap().is_empty()));

    let site = crate::quick_site_baseline(&home, 60);
    std::fs::copy(&site, home.dir.join("site-baseline.toml")).unwrap();
    let after = home.run(&["--json", "baseline", "list"]).await;
    let profiles: Vec<serde_json::Value> = lines(&after.text).into_iter().filter(|l| l["type"] == "profile").collect();
    assert!(profiles[0]["source"].as_str().unwrap().starts_with("file "), "{}", after.text);
    let active: Vec<&serde_json::Value> = profiles.iter().filter(|p| p["active"] == true).collect();
    assert_eq!(active.len(), 1, "only the site's file is in use: {}", after.text);
    let ntp = controls(&profiles[0]).into_iter().find(|c| c["id"] == "SITE-NTP").expect("the site's NTP server");
    assert!(ntp["expect"].as_str().unwrap().contains("192.0.2.1"), "{ntp}");
    let text = home.run(&["baseline", "list"]).await;
    assert!(text.text.contains("(audits use it)") && text.text.contains("SITE-NTP"), "{}", text.text);
}
