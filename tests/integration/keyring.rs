//! The OS keyring for real: Secret Service through a running gnome-keyring-daemon.
//! `scripts/test.sh` runs these inside `dbus-run-session` with an unlocked keyring.

use portcullis_sim::{Fleet, FleetConfig, Profile};

use crate::Home;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs a D-Bus session with gnome-keyring-daemon (scripts/test.sh provides one)"]
async fn keyring_secret_service_holds_the_credentials_the_audit_uses() {
    assert!(std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(), "run inside dbus-run-session");
    let fleet = Fleet::start(FleetConfig::for_tests(1, Profile::HikvisionCurrent)).await.unwrap();
    let d = fleet.devices().remove(0);
    let device = format!("{}:{}", d.address, d.http_port.unwrap());
    let home = Home::new("keyring");
    let pw = d.password.clone().unwrap();
    let set = home
        .run_with_vault(&["creds", "set", "--device", &device, "--password-stdin"], &format!("{pw}\n"), "keyring")
        .await;
    assert!(set.ok && set.text.contains("OS keyring"), "{}", set.text);
    // Nothing secret on disk: only the index.
    let index = std::fs::read_to_string(home.dir.join("vault-index.json")).unwrap();
    assert!(index.contains(&device) && !index.contains(&pw));
    assert!(!home.dir.join("vault.age").exists());
    let audit = home.run_with_vault(&["audit", "--device", &device, "--json"], "", "keyring").await;
    assert!(audit.ok && audit.text.contains("\"error\":null"), "{}", audit.text);
    assert!(!audit.text.contains(&pw));
    let forget = home.run_with_vault(&["creds", "forget", "--device", &device], "", "keyring").await;
    assert!(forget.text.contains("Removed 1"), "{}", forget.text);
    let again = home.run_with_vault(&["audit", "--device", &device, "--json"], "", "keyring").await;
    assert!(again.text.contains("no_credentials"), "{}", again.text);
}
