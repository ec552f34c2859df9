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
    crate::import_fleet(&home, &fleet).await;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_goes_back_only_to_its_own_camera_keeps_its_name_and_is_recorded() {
    let fleet = Fleet::start(FleetConfig::for_tests(2, Profile::HikvisionCurrent)).await.unwrap();
    let home = Home::new("restore");
    crate::import_fleet(&home, &fleet).await;
    let site = ["--management-host", "127.0.0.1", "--ntp-server", "192.0.2.1"];
    let first = home.run(&[&["apply", "--yes", "--json", "--timeout", "5"][..], &site].concat()).await;
    assert!(first.ok, "{}", first.text);
    let (one, other) = (fleet.camera(0).unwrap(), fleet.camera(1).unwrap());
    assert!(!one.state().services.upnp.enabled, "hardened: UPnP off");
    one.state().identity.device_name = "lobby-07".into();
    let addr = |i: usize| fleet.devices()[i].address.to_string();

    // The backup apply took of the first camera (before hardening: UPnP on).
    let listed = lines(&home.run(&["backups", "list", "--json"]).await.text);
    let mine = |i: usize| {
        listed
            .iter()
            .find(|b| b["device"].as_str().unwrap().starts_with(&addr(i)))
            .unwrap_or_else(|| panic!("{listed:?}"))
            .clone()
    };
    let backup = mine(0);
    assert_eq!(backup["meta"]["serial"], one.state().identity.serial.as_str(), "{backup}");
    let sha = backup["sha256"].as_str().unwrap().to_string();

    // Scripted runs confirm with --yes; without it, nothing happens.
    let unasked = home.run(&["backups", "restore", "--json", "--device", &addr(0), &sha]).await;
    assert!(!unasked.ok && unasked.text.contains("--yes"), "{}", unasked.text);
    // Another camera's backup, even in this camera's folder, is refused before the camera is touched.
    let theirs = std::path::PathBuf::from(mine(1)["path"].as_str().unwrap());
    let from = std::path::PathBuf::from(backup["path"].as_str().unwrap());
    for ext in [".cfg.age", ".json"] {
        let name = format!("{sha}{ext}");
        std::fs::copy(from.with_file_name(&name), theirs.with_file_name(&name)).unwrap();
    }
    let upnp_before = other.state().services.upnp.enabled;
    let wrong = home.run(&["backups", "restore", "--yes", "--device", &addr(1), &sha[..12]]).await;
    assert!(!wrong.ok && wrong.text.contains("only to the camera it came from"), "{}", wrong.text);
    assert_eq!(other.state().services.upnp.enabled, upnp_before);

    // Its own camera takes it: UPnP is back on as it was, the name stays as it is now.
    let done = home.run(&["backups", "restore", "--yes", "--json", "--device", &addr(0), &sha[..12]]).await;
    assert!(done.ok, "{}", done.text);
    let restored = lines(&done.text).into_iter().find(|l| l["type"] == "restored").unwrap();
    assert!(one.state().services.upnp.enabled, "the backup's setting is back");
    assert_eq!(one.state().identity.device_name, "lobby-07", "the name is the device's own");
    let history = lines(&home.run(&["history", "--json"]).await.text);
    let records: Vec<_> =
        history.iter().filter(|r| r["setting"] == "configuration" && r["outcome"]["state"] == "verified").collect();
    assert!(
        records.iter().any(|r| r["after"] == format!("sha256:{sha}")
            && r["before"] == format!("sha256:{}", restored["replaced"].as_str().unwrap())),
        "{history:?}"
    );

    // After a password rotation, a backup from before it would bring the old password back.
    let rotate = home
        .run(
            &[&["apply", "--yes", "--json", "--timeout", "5", "--rotate-passwords", "--device", &addr(0)][..], &site]
                .concat(),
        )
        .await;
    assert!(rotate.ok, "{}", rotate.text);
    let stale = home.run(&["backups", "restore", "--yes", "--device", &addr(0), &sha]).await;
    assert!(!stale.ok && stale.text.contains("password"), "{}", stale.text);
}

/// The address plan for these cameras: each one's own /24, host .100 + its index, the
/// gateway at .254, and a host name (ONVIF cameras keep one).
fn address_plan(fleet: &Fleet, chosen: &[usize]) -> String {
    address_plan_at(fleet, chosen, 100)
}

fn address_plan_at(fleet: &Fleet, chosen: &[usize], first: usize) -> String {
    let mut csv = String::from("serial,address,mask,gateway,dns,hostname\n");
    for &i in chosen {
        let st = fleet.camera(i).unwrap().state();
        let [a, b, c, _] = st.address.octets();
        let host = first + i;
        csv.push_str(&format!(
            "{},{a}.{b}.{c}.{host},255.255.255.0,{a}.{b}.{c}.254,192.0.2.53,cam-{i:02}\n",
            st.identity.serial
        ));
    }
    csv
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mixed_site_moves_to_its_address_plan_and_a_camera_that_does_not_come_back_is_rolled_back() {
    let (fleet, file) = crate::inventory::mixed_fleet(6).await;
    let home = Home::new("readdress");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let chosen: Vec<usize> = (0..6).filter(|&i| fleet.camera(i).unwrap().state().activation.activated).collect();
    assert!(chosen.len() >= 4, "{chosen:?}");
    let kinds: Vec<bool> = chosen.iter().map(|&i| fleet.camera(i).unwrap().state().is_hikvision()).collect();
    assert!(kinds.contains(&true) && kinds.contains(&false), "ISAPI and ONVIF cameras both: {kinds:?}");
    let before: Vec<std::net::Ipv4Addr> = chosen.iter().map(|&i| fleet.camera(i).unwrap().address()).collect();
    // One camera takes the change, restarts, and comes back on its old address.
    let stubborn = chosen[1];
    let cam = fleet.camera(stubborn).unwrap();
    let mut f = cam.faults();
    f.address_change_lost = true;
    cam.set_faults(f);

    let plan_file = home.dir.join("addresses.csv");
    std::fs::write(&plan_file, address_plan(&fleet, &chosen)).unwrap();
    let p = plan_file.to_str().unwrap();
    // The simulator restarts in half a second: a camera not back in 8 s is not coming.
    let baseline = crate::quick_site_baseline(&home, 8);
    let site = ["--baseline", baseline.to_str().unwrap()];

    // A plan that gives two cameras one address is refused, naming the lines.
    let clash = home.dir.join("clash.csv");
    let mut text = address_plan(&fleet, &chosen[..2]);
    let first_address = text.lines().nth(1).unwrap().split(',').nth(1).unwrap().to_string();
    let second_address = text.lines().nth(2).unwrap().split(',').nth(1).unwrap().to_string();
    text = text.replace(&second_address, &first_address);
    std::fs::write(&clash, text).unwrap();
    let refused = home.run(&[&["plan", "--json", "--address-plan", clash.to_str().unwrap()][..], &site].concat()).await;
    assert!(
        !refused.ok && refused.text.contains("line 2") && refused.text.contains("line 1's address"),
        "{}",
        refused.text
    );

    // The plan shows each move.
    let plan = home.run(&[&["plan", "--json", "--timeout", "5", "--address-plan", p][..], &site].concat()).await;
    assert!(plan.ok, "{}", plan.text);
    let moves = plan.text.matches("move to 127.").count();
    assert_eq!(moves, chosen.len(), "{}", plan.text);

    let run =
        home.run(&[&["apply", "--yes", "--json", "--timeout", "5", "--address-plan", p][..], &site].concat()).await;
    for (n, &i) in chosen.iter().enumerate() {
        let st = fleet.camera(i).unwrap().state();
        if i == stubborn {
            assert_eq!(st.address, before[n], "the stubborn camera is where it was: {}", run.text);
        } else {
            assert_eq!(st.address.octets()[3], 100 + i as u8, "camera {i} moved: {}", run.text);
            assert_eq!(st.network.gateway.map(|g| g.octets()[3]), Some(254));
        }
    }
    // The history says so: verified moves, and the one rolled back with its reason.
    let history = lines(&home.run(&["history", "--json"]).await.text);
    let moves: Vec<_> = history.iter().filter(|r| r["setting"] == "network.ipv4").collect();
    let verified = moves.iter().filter(|r| r["outcome"]["state"] == "verified").count();
    assert_eq!(verified, chosen.len() - 1, "{moves:?}");
    let back = moves.iter().find(|r| r["outcome"]["state"] == "rolled_back").unwrap_or_else(|| panic!("{moves:?}"));
    assert!(back["outcome"]["reason"].as_str().unwrap().contains("old address"), "{back}");

    // The inventory follows them, and a second apply at the new addresses changes nothing
    // but the camera that stayed (its move is tried again, and rolled back again).
    let listed = home.run(&["inventory", "list", "--json"]).await.text;
    for &i in chosen.iter().filter(|&&i| i != stubborn) {
        let st = fleet.camera(i).unwrap().state();
        assert!(listed.contains(&format!("\"{}\"", st.address)), "{i} at {} in {listed}", st.address);
    }
    cam.set_faults(Default::default());
    let audit = home.run(&[&["audit", "--json", "--timeout", "5", "--address-plan", p][..], &site].concat()).await;
    let failing: Vec<_> = lines(&audit.text)
        .into_iter()
        .filter(|l| {
            l["type"] == "device" && l["target"].as_str().is_some_and(|t| !t.starts_with(&format!("{}:", before[1])))
        })
        .flat_map(|d| d["findings"].as_array().cloned().unwrap_or_default())
        .filter(|f| f["control"].as_str().is_some_and(|c| c.starts_with("SITE-")) && f["status"] == "fail")
        .collect();
    assert!(failing.is_empty(), "the moved cameras are on the plan: {failing:?}");

    // A hardened camera moved again gets a certificate that names its new address.
    let again = chosen[0];
    let second = home.dir.join("again.csv");
    std::fs::write(&second, address_plan_at(&fleet, &[again], 150)).unwrap();
    let moved = home
        .run(
            &[&["apply", "--yes", "--json", "--timeout", "5", "--address-plan", second.to_str().unwrap()][..], &site]
                .concat(),
        )
        .await;
    let now = fleet.camera(again).unwrap().address();
    assert_eq!(now.octets()[3], 150 + again as u8, "{}", moved.text);
    let history = lines(&home.run(&["history", "--json"]).await.text);
    let renewed = history.iter().any(|r| {
        r["setting"] == "tls.certificate.self_signed"
            && r["outcome"]["state"] == "verified"
            && r["device"].as_str().is_some_and(|d| d.starts_with(&format!("{now}:")))
    });
    assert!(renewed, "no certificate for {now}: {}", moved.text);
}

/// Cameras on one factory address are told apart only at layer 2: a move for one of them
/// is a manual step that names every MAC at the address, and nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cameras_that_share_an_address_are_left_to_sadp_with_their_macs() {
    let fleet = Fleet::start(FleetConfig::for_tests(1, Profile::HikvisionCurrent)).await.unwrap();
    let home = Home::new("shared-address");
    crate::import_fleet(&home, &fleet).await;
    // A second camera answers at the same address (another MAC, another serial).
    let d = &fleet.devices()[0];
    let twin = serde_json::json!({ "devices": [{ "address": d.address, "http_port": d.http_port,
        "mac": "44:19:b6:aa:bb:cc", "serial": "DS-2CD2386G2-IU20230101AAWR999999999" }] });
    let twin_file = home.dir.join("twin.json");
    std::fs::write(&twin_file, twin.to_string()).unwrap();
    home.run(&["inventory", "import", twin_file.to_str().unwrap()]).await;

    let plan_file = home.dir.join("addresses.csv");
    std::fs::write(&plan_file, address_plan(&fleet, &[0])).unwrap();
    let site = ["--management-host", "127.0.0.1", "--ntp-server", "192.0.2.1"];
    let plan = home
        .run(
            &[&["plan", "--json", "--timeout", "5", "--address-plan", plan_file.to_str().unwrap()][..], &site].concat(),
        )
        .await;
    let step = lines(&plan.text)
        .into_iter()
        .filter(|l| l["type"] == "plan")
        .flat_map(|p| p["steps"].as_array().cloned().unwrap_or_default())
        .find(|s| s["setting"] == "network.ipv4")
        .unwrap_or_else(|| panic!("{}", plan.text));
    let why = step["blocked"].as_str().unwrap_or_default();
    assert_eq!(step["phase"], "manual", "{step}");
    assert!(
        why.contains("SADP") && why.contains("44:19:b6:aa:bb:cc") && why.contains(&d.mac.to_ascii_lowercase()),
        "{step}"
    );
    let before = fleet.camera(0).unwrap().address();
    let run = home
        .run(
            &[
                &["apply", "--yes", "--json", "--timeout", "5", "--address-plan", plan_file.to_str().unwrap()][..],
                &site,
            ]
            .concat(),
        )
        .await;
    assert_eq!(fleet.camera(0).unwrap().address(), before, "nothing sent: {}", run.text);
}
