//! `portcullis inventory import` reads the simulator's fleet JSON.

use portcullis_sim::{Fleet, FleetConfig, Profile};

use crate::{portcullis, text};

#[tokio::test]
async fn the_simulator_fleet_imports_and_lists_without_its_passwords() {
    let mut cfg = FleetConfig::for_tests(10, Profile::HikvisionCurrent);
    cfg.profile = portcullis_sim::config::ProfileChoice::Mixed;
    let fleet = Fleet::start(cfg).await.unwrap();
    let devices = fleet.devices();
    let doc = serde_json::json!({ "generator": "portcullis-sim", "devices": devices });
    let dir = std::env::temp_dir().join(format!("pc-inv-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fleet.json");
    std::fs::write(&file, doc.to_string()).unwrap();

    let o = portcullis(&["inventory", "import", file.to_str().unwrap()]);
    let t = text(&o);
    assert!(o.status.success(), "{t}");
    for d in &devices {
        assert!(t.contains(&d.address.to_string()), "{} missing:\n{t}", d.address);
        if let Some(pw) = &d.password {
            assert!(!t.contains(pw.as_str()), "a password leaked into the listing:\n{t}");
        }
    }
    assert!(t.contains("10 device(s)"));
    assert!(t.contains("NO"), "the factory-new camera shows as not activated:\n{t}");

    let json = portcullis(&["inventory", "import", file.to_str().unwrap(), "--json"]);
    let lines: Vec<serde_json::Value> =
        String::from_utf8_lossy(&json.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 10);
    assert!(lines.iter().all(|l| l.get("password").is_none()));
}

#[test]
fn a_broken_file_gets_a_clear_error_with_its_line() {
    let dir = std::env::temp_dir().join(format!("pc-inv-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("broken.json");
    std::fs::write(&file, "{\n \"devices\": [\n  {\"address\": }\n").unwrap();
    let o = portcullis(&["inventory", "import", file.to_str().unwrap()]);
    assert!(!o.status.success());
    let t = text(&o);
    assert!(t.contains("line 3") && t.contains("broken.json"), "{t}");
    assert!(!t.contains("panicked"), "{t}");
}
