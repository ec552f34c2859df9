//! Configuration backups at rest: apply seals each export with age to the vault's key,
//! byte for byte (exports are binary); only `backups open` with that vault reads one,
//! and what it writes matches the digest the history recorded.

use portcullis_sim::config::FleetConfig;
use portcullis_sim::profile::Profile;
use portcullis_sim::Fleet;

use crate::Home;

fn lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_backup_is_never_on_disk_in_clear() {
    let fleet = Fleet::start(FleetConfig::for_tests(1, Profile::HikvisionCurrent)).await.unwrap();
    let serial = fleet.devices()[0].serial.clone();
    let home = Home::new("backups");
    let file = home.dir.join("fleet.json");
    std::fs::write(&file, serde_json::json!({ "devices": fleet.devices() }).to_string()).unwrap();
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let args =
        ["apply", "--yes", "--json", "--timeout", "5", "--management-host", "127.0.0.1", "--ntp-server", "192.0.2.1"];
    let run = home.run(&args).await;
    assert!(run.ok, "{}", run.text);

    let listed = lines(&home.run(&["backups", "list", "--json"]).await.text);
    let backup = listed.iter().find(|l| l["type"] == "backup").expect("a backup was taken");
    let path = backup["path"].as_str().unwrap();
    let sealed = std::fs::read(path).unwrap();
    assert!(sealed.starts_with(b"age-encryption.org/v1"), "sealed with age");
    assert!(!sealed.windows(serial.len()).any(|w| w == serial.as_bytes()), "nothing of the configuration in clear");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    let out = home.dir.join("restored.cfg");
    let opened = home.run(&["backups", "open", path, "--out", out.to_str().unwrap()]).await;
    assert!(opened.ok, "{}", opened.text);
    let plain = std::fs::read(&out).unwrap();
    assert!(plain.starts_with(&[0x48, 0x4b, 0xff, 0xfe]), "binary, byte for byte");
    assert!(plain.windows(serial.len()).any(|w| w == serial.as_bytes()));
    let digest = format!("sha256:{}", backup["sha256"].as_str().unwrap());
    let history = lines(&home.run(&["history", "--json"]).await.text);
    assert!(
        history.iter().any(|r| r["setting"] == "configuration" && r["after"] == digest.as_str()),
        "the history records the digest of what was opened"
    );
    // (`fingerprint` is SHA-256 in hex, of any bytes.)
    assert_eq!(format!("sha256:{}", portcullis_core::certs::fingerprint(&plain)), digest);
    // It is never overwritten.
    assert!(!home.run(&["backups", "open", path, "--out", out.to_str().unwrap()]).await.ok);
    drop(fleet);
}
