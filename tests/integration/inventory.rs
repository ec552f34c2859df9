//! `portcullis inventory` and `portcullis audit` against a simulated fleet, with the
//! file vault; secrets never reach any output or any plaintext file.

use portcullis_sim::{Fleet, FleetConfig, Profile};

use crate::{Home, ALL_OUTPUT};

pub(crate) async fn mixed_fleet(n: usize) -> (Fleet, std::path::PathBuf) {
    let mut cfg = FleetConfig::for_tests(n, Profile::HikvisionCurrent);
    cfg.profile = portcullis_sim::config::ProfileChoice::Mixed;
    let fleet = Fleet::start(cfg).await.unwrap();
    let doc = serde_json::json!({ "generator": "portcullis-sim", "devices": fleet.devices() });
    let dir = std::env::temp_dir().join(format!("pc-fleet-{}-{}", std::process::id(), rand_tag()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fleet.json");
    std::fs::write(&file, doc.to_string()).unwrap();
    (fleet, file)
}

fn rand_tag() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn import_list_and_audit_a_simulated_site_without_leaking_a_password() {
    let (fleet, file) = mixed_fleet(10).await;
    let home = Home::new("site");
    let passwords: Vec<String> = fleet.devices().iter().filter_map(|d| d.password.clone()).collect();
    assert_eq!(passwords.len(), 9);

    let o = home.run(&["inventory", "import", file.to_str().unwrap()]).await;
    assert!(o.ok, "{}", o.text);
    assert!(o.text.contains("Imported 10 device(s)") && o.text.contains("9 credential(s)"), "{}", o.text);

    let list = home.run(&["inventory", "list"]).await;
    assert!(list.text.contains("10 device(s)") && list.text.contains("NO"), "{}", list.text);

    let audit = home.run(&["audit", "--json"]).await;
    assert!(audit.ok, "{}", audit.text);
    let lines: Vec<serde_json::Value> = audit.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let devices: Vec<_> = lines.iter().filter(|l| l["type"] == "device").collect();
    assert_eq!(devices.len(), 10);
    let summary = lines.iter().find(|l| l["type"] == "summary").unwrap();
    assert_eq!(summary["errors"], 1, "only the factory-new camera: {summary}");
    for d in &devices {
        if d["error"].is_null() {
            assert!(d["findings"].as_array().unwrap().len() >= 10, "{d}");
        } else {
            assert_eq!(d["error"]["code"], "not_activated");
        }
    }
    let table = home.run(&["audit"]).await;
    assert!(table.text.contains("site score"), "{}", table.text);
    // Nine credentials, and the key that seals the history.
    assert!(home.run(&["creds", "list"]).await.text.contains("10 entries"));

    // The canary: no password in any output, nor in any file under PORTCULLIS_HOME.
    let outputs = ALL_OUTPUT.lock().unwrap().clone();
    for pw in &passwords {
        assert!(!crate::shows_password(&outputs, pw), "a password reached the output");
        for f in walk(&home.dir) {
            let bytes = std::fs::read(&f).unwrap();
            assert!(!crate::shows_password(&String::from_utf8_lossy(&bytes), pw), "{} holds a password", f.display());
        }
    }
    drop(fleet);
}

pub(crate) fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_file_gets_a_clear_error_with_its_line_and_imports_nothing() {
    let home = Home::new("broken");
    let file = home.dir.join("broken.json");
    std::fs::write(&file, "{\n \"devices\": [\n  {\"address\": }\n").unwrap();
    let o = home.run(&["inventory", "import", file.to_str().unwrap()]).await;
    assert!(!o.ok);
    assert!(o.text.contains("line 3") && o.text.contains("broken.json"), "{}", o.text);
    assert!(!o.text.contains("panicked"), "{}", o.text);
    let csv = home.dir.join("site.csv");
    std::fs::write(&csv, "address,site\n127.1.0.1,hq\nnope,hq\n").unwrap();
    let o = home.run(&["inventory", "import", csv.to_str().unwrap()]).await;
    assert!(!o.ok && o.text.contains("line 3"), "{}", o.text);
    assert!(home.run(&["inventory", "list"]).await.text.contains("0 device(s)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn creds_set_reads_stdin_and_a_wrong_password_is_one_failed_login() {
    let (fleet, _) = mixed_fleet(1).await;
    let d = fleet.devices().remove(0);
    let home = Home::new("creds");
    let device = format!("{}:{}", d.address, d.http_port.unwrap());
    let set = home
        .run_stdin(&["creds", "set", "--device", &device, "--user", "admin", "--password-stdin"], "Wrong-Pass-42\n")
        .await;
    assert!(set.ok, "{}", set.text);
    let audit = home.run(&["audit", "--device", &device, "--json"]).await;
    assert!(audit.text.contains("\"auth_refused\""), "{}", audit.text);
    assert_eq!(fleet.cameras()[0].state().failures.values().map(|f| f.count).sum::<u32>(), 1);
    assert!(!audit.text.contains("Wrong-Pass-42"));
    let forget = home.run(&["creds", "forget", "--device", &device]).await;
    assert!(forget.text.contains("Removed 1"), "{}", forget.text);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plan_orders_the_changes_and_changes_nothing() {
    let (fleet, file) = mixed_fleet(3).await;
    let home = Home::new("plan");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let o = home.run(&["plan", "--json", "--management-host", "127.0.0.1", "--ntp-server", "ntp.site.example"]).await;
    assert!(o.ok, "{}", o.text);
    let lines: Vec<serde_json::Value> = o.text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let plans: Vec<_> = lines.iter().filter(|l| l["type"] == "plan").collect();
    assert_eq!(plans.len(), 3);
    let factory_new = plans.iter().find(|p| p["steps"].as_array().unwrap().len() == 1).unwrap();
    assert_eq!(factory_new["steps"][0]["phase"], "activate");
    let legacy = &fleet.devices()[1];
    let lp = plans.iter().find(|p| p["device"] == format!("{}:{}", legacy.address, legacy.http_port.unwrap())).unwrap();
    let phases: Vec<&str> = lp["steps"].as_array().unwrap().iter().map(|s| s["phase"].as_str().unwrap()).collect();
    assert_eq!(phases.first(), Some(&"backup"));
    let https = phases.iter().position(|p| *p == "tls").unwrap();
    let http_off = phases.iter().position(|p| *p == "http_off").unwrap();
    let creds = phases.iter().position(|p| *p == "credentials").unwrap();
    assert!(https < http_off && http_off < creds, "{phases:?}");
    assert_eq!(phases.iter().filter(|p| **p == "credentials").count(), 1);
    // A plan writes nothing: the legacy camera still has Telnet on, and no history exists.
    assert!(fleet.cameras()[1].state().services.telnet.enabled);
    assert!(home.run(&["history", "verify"]).await.text.contains("0 record(s)"));
}
