//! Firmware upgrades against a simulated site: the library, the canary, a dropped
//! upload sent again, the version read back and recorded, and a failed canary that
//! keeps the image off every other camera.

use portcullis_sim::{Fleet, FleetConfig, Profile, Trigger};

use crate::Home;

const SITE: &[&str] = &["--management-host", "127.0.0.1", "--ntp-server", "192.0.2.1"];
/// Outside CVE-2017-7921's published range for DS-2CD2xx2F-I (V5.2.0 – V5.4.0 build 160530).
const FIXED: &str = "V5.5.0 build 170725";

fn lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

/// Three legacy cameras (V5.3.0 build 151016, inside the range), imported, and an image
/// for their model line in the library.
async fn legacy_site(tag: &str) -> (Fleet, Home, Vec<String>) {
    legacy_cameras(tag, 3).await
}

async fn legacy_cameras(tag: &str, n: usize) -> (Fleet, Home, Vec<String>) {
    let fleet = Fleet::start(FleetConfig::for_tests(n, Profile::HikvisionLegacy)).await.unwrap();
    let home = Home::new(tag);
    crate::import_fleet(&home, &fleet).await;
    let image = home.dir.join("IPC_R0_EN_STD_5.5.0_170725.dav");
    std::fs::write(&image, portcullis_sim::firmware::image("hikvision", &["DS-2CD2xx2F-I"], FIXED, 256 * 1024))
        .unwrap();
    let added = home.run(&["firmware", "add", image.to_str().unwrap()]).await;
    assert!(added.ok && added.text.contains("read from the image"), "{}", added.text);
    // Labels as the history keeps them (by HTTP port, which the hardening then closes).
    let labels = (0..n).map(|i| label(&fleet, i)).collect();
    (fleet, home, labels)
}

fn label(fleet: &Fleet, i: usize) -> String {
    let d = &fleet.devices()[i];
    format!("{}:{}", d.address, d.http_port.unwrap_or(80))
}

fn firmware_records(history: &str) -> Vec<serde_json::Value> {
    lines(history).into_iter().filter(|r| r["setting"] == "firmware.version").collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_is_upgraded_canary_first_a_dropped_upload_is_sent_again_and_each_version_is_recorded() {
    let (fleet, home, labels) = legacy_site("firmware").await;
    let plan = home.run(&["plan", "--json"]).await;
    assert!(plan.text.contains("upgrade the firmware to V5.5.0 build 170725"), "{}", plan.text);
    // The last camera drops its first upload.
    let last = fleet.camera(2).unwrap();
    let mut f = last.faults();
    f.firmware_upload_dropped = Trigger::Next(1);
    last.set_faults(f);

    let first = home.run(&[&["apply", "--yes", "--json", "--timeout", "5"], SITE].concat()).await;
    let out = lines(&first.text);
    let canary: Vec<_> = out.iter().filter(|l| l["type"] == "canary").collect();
    assert_eq!(canary.len(), 1, "one canary for one image: {}", first.text);
    assert_eq!(canary[0]["passed"], true, "{}", first.text);
    assert_eq!(canary[0]["device"].as_str().unwrap(), labels[0], "the first in address order");
    let summary = out.iter().rev().find(|l| l["type"] == "summary").unwrap();
    assert_eq!(summary["problems"], 0, "{}", first.text);
    assert_eq!(last.faults().firmware_upload_dropped, Trigger::Next(0), "the drop happened");
    for cam in fleet.cameras() {
        let st = cam.state();
        assert_eq!((st.identity.firmware_version.as_str(), st.identity.firmware_build.as_str()), ("V5.5.0", "170725"));
        // The new firmware has no Telnet at all: planned from what it shows after the upgrade.
        assert!(!st.services.telnet.present);
    }

    let history = home.run(&["history", "--json"]).await.text;
    let records = firmware_records(&history);
    for device in &labels {
        let mine: Vec<_> = records.iter().filter(|r| r["device"] == device.as_str()).collect();
        let states: Vec<&str> = mine.iter().map(|r| r["outcome"]["state"].as_str().unwrap()).collect();
        assert_eq!(states, ["intent", "verified"], "one upgrade per device, the drop inside it: {mine:?}");
        assert_eq!(mine[1]["before"], "V5.3.0 build 151016", "{}", mine[1]);
        assert_eq!(mine[1]["after"], FIXED, "{}", mine[1]);
    }
    assert!(home.run(&["history", "verify"]).await.ok);

    // The report shows each upgrade, before and after, with the advisory the old firmware was in.
    assert!(home.run(&["audit", "--json", "--timeout", "5"]).await.ok);
    let file = home.dir.join("report.json");
    let made = home.run(&["report", "--format", "json", "--out", file.to_str().unwrap()]).await;
    assert!(made.ok, "{}", made.text);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let upgrades = report["firmware_upgrades"].as_array().unwrap();
    assert_eq!(upgrades.len(), 3, "{report}");
    for u in upgrades {
        assert_eq!((u["before"].as_str().unwrap(), u["after"].as_str().unwrap()), ("V5.3.0 build 151016", FIXED));
        let left = u["left"].as_array().unwrap();
        assert!(
            left.iter()
                .any(|a| a["cve"].as_str().unwrap().contains("CVE-2017-7921")
                    && !a["source"].as_str().unwrap().is_empty()),
            "{u}"
        );
    }
    assert!(
        report["firmware"].as_array().unwrap().iter().all(|f| f["advisories"].as_array().unwrap().is_empty()),
        "none left"
    );

    // Applying again finds nothing to upgrade (and nothing else to change).
    let again = home.run(&[&["apply", "--yes", "--json", "--timeout", "5"], SITE].concat()).await;
    assert!(!again.text.contains("\"canary\""), "{}", again.text);
    assert_eq!(firmware_records(&home.run(&["history", "--json"]).await.text).len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_canary_that_comes_back_on_the_old_version_keeps_the_image_off_every_other_camera() {
    let (fleet, home, labels) = legacy_site("firmware-canary").await;
    let canary = fleet.camera(0).unwrap();
    let mut f = canary.faults();
    f.firmware_version_unchanged = true;
    canary.set_faults(f);

    let run = home.run(&[&["apply", "--yes", "--json", "--timeout", "5"], SITE].concat()).await;
    let out = lines(&run.text);
    let verdict = out.iter().find(|l| l["type"] == "canary").unwrap_or_else(|| panic!("{}", run.text));
    assert_eq!(verdict["passed"], false, "{verdict}");
    assert_eq!(verdict["held_back"], 2, "{verdict}");
    assert!(verdict["detail"].as_str().unwrap().contains("V5.3.0"), "{verdict}");
    for cam in fleet.cameras() {
        let st = cam.state();
        assert_eq!(st.identity.firmware_version, "V5.3.0", "nobody is upgraded past a failed canary");
        // The rest of their hardening still ran, on the firmware they have.
        assert!(!st.services.telnet.enabled);
    }
    let history = home.run(&["history", "--json"]).await.text;
    let records = firmware_records(&history);
    assert!(records.iter().all(|r| r["device"] == labels[0].as_str()), "{records:?}");
    let outcome = &records.last().unwrap()["outcome"];
    assert_eq!(outcome["state"], "failed", "{outcome}");
    assert!(outcome["reason"].as_str().unwrap().contains("came back on V5.3.0"), "{outcome}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn onvif_cameras_below_the_sites_minimum_are_upgraded_by_start_firmware_upgrade_or_else_mtom() {
    let fleet = Fleet::start(FleetConfig::for_tests(2, Profile::GenericOnvif)).await.unwrap();
    // The second camera's firmware predates StartFirmwareUpgrade: the image goes inside
    // an UpgradeSystemFirmware call, as an MTOM attachment.
    let older = fleet.camera(1).unwrap();
    let mut f = older.faults();
    f.unsupported = vec!["StartFirmwareUpgrade".into()];
    older.set_faults(f);
    let home = Home::new("firmware-onvif");
    crate::import_fleet(&home, &fleet).await;
    let baseline = home.dir.join("site.toml");
    std::fs::write(
        &baseline,
        "[baseline]\nname = \"acme\"\nversion = \"1\"\ntitle = \"Acme\"\nextends = \"onvif-baseline\"\n\n\
         [site]\nmanagement_hosts = [\"127.0.0.1\"]\n\n\
         [[site.firmware_minimum]]\nvendor = \"acme vision\"\nversion = \"2.5.0\"\n",
    )
    .unwrap();
    let b = baseline.to_str().unwrap();
    // No image yet: a manual step that names the version wanted.
    let plan = home.run(&["plan", "--json", "--baseline", b]).await;
    assert!(plan.text.contains("2.5.0 or later (the site's minimum)"), "{}", plan.text);
    let image = home.dir.join("av-ip4-2.5.0.bin");
    std::fs::write(
        &image,
        portcullis_sim::firmware::image("acme vision", &["AV-IP4"], "2.5.0 build 230101", 64 * 1024),
    )
    .unwrap();
    assert!(home.run(&["firmware", "add", image.to_str().unwrap()]).await.ok);

    let run = home.run(&["apply", "--yes", "--json", "--timeout", "5", "--baseline", b]).await;
    let out = lines(&run.text);
    let verdict = out.iter().find(|l| l["type"] == "canary").unwrap_or_else(|| panic!("{}", run.text));
    assert_eq!(verdict["passed"], true, "{verdict}");
    for cam in fleet.cameras() {
        assert_eq!(cam.state().identity.firmware_version, "2.5.0", "{}", run.text);
    }
    let audit = home.run(&["audit", "--json", "--baseline", b]).await;
    let fw: Vec<_> = lines(&audit.text)
        .into_iter()
        .filter(|l| l["type"] == "device")
        .flat_map(|d| d["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["control"] == "SITE-FW-MIN")
        .collect();
    assert_eq!(fw.len(), 2, "{}", audit.text);
    assert!(fw.iter().all(|f| f["status"] == "pass"), "{fw:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_image_and_a_restart_that_never_ends_are_reported_and_left_to_the_operator() {
    // A camera that refuses the image keeps its firmware; the step fails with its words.
    let (fleet, home, labels) = legacy_cameras("firmware-refused", 1).await;
    let cam = fleet.camera(0).unwrap();
    let mut f = cam.faults();
    f.firmware_refused = Trigger::Always;
    cam.set_faults(f);
    let run = home.run(&[&["apply", "--yes", "--json", "--timeout", "5"], SITE].concat()).await;
    assert!(!run.ok, "a failed upgrade needs attention: {}", run.text);
    assert_eq!(cam.state().identity.firmware_version, "V5.3.0");
    let records = firmware_records(&home.run(&["history", "--json"]).await.text);
    let last = records.last().unwrap_or_else(|| panic!("{}", run.text));
    assert_eq!(last["device"], labels[0].as_str());
    assert_eq!(last["outcome"]["state"], "failed", "{last}");
    assert!(last["outcome"]["reason"].as_str().unwrap().contains("image refused"), "{last}");
    assert!(last["outcome"]["reason"].as_str().unwrap().contains("keeps V5.3.0"), "{last}");

    // A camera that never comes back from its restart: reported after the site's reboot time.
    let (fleet, home, _) = legacy_cameras("firmware-dark", 1).await;
    let cam = fleet.camera(0).unwrap();
    let mut f = cam.faults();
    f.firmware_reboot_hangs = true;
    cam.set_faults(f);
    let baseline = crate::quick_site_baseline(&home, 4);
    let started = std::time::Instant::now();
    let run = home.run(&["apply", "--yes", "--json", "--timeout", "5", "--baseline", baseline.to_str().unwrap()]).await;
    assert!(!run.ok, "{}", run.text);
    assert!(started.elapsed() < std::time::Duration::from_secs(90), "bounded by the site's reboot time");
    let records = firmware_records(&home.run(&["history", "--json"]).await.text);
    let reason = records.last().unwrap()["outcome"]["reason"].as_str().unwrap().to_string();
    assert!(reason.contains("did not come back") && reason.contains("left to the operator"), "{reason}");
    let canary = lines(&run.text).into_iter().find(|l| l["type"] == "canary").unwrap();
    assert_eq!(canary["passed"], false, "{canary}");
}
