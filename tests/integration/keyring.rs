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

/// Issue #16: Windows' Credential Manager keeps about 2.5 KB per credential, and a CA
/// key in PEM is larger. A value over the vault's entry limit is sealed in a file whose
/// key is in the keyring; the same limit holds on every platform, so this drives the
/// Windows path here, with a 4 KB secret.
#[test]
#[ignore = "needs a D-Bus session with gnome-keyring-daemon (scripts/test.sh provides one)"]
fn keyring_a_secret_larger_than_a_credential_is_sealed_in_a_file_whose_key_is_in_the_keyring() {
    use portcullis_core::secret::Credentials;
    use portcullis_core::vault::{Keyring, Scope, Vault, ENTRY_LIMIT};
    assert!(std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(), "run inside dbus-run-session");
    let home = Home::new("keyring-large");
    let keyring = Keyring::new(&home.dir);
    keyring.self_test().expect("gnome-keyring keeps what it is given");
    let big: String = (0..4096).map(|i| char::from(b'A' + (i % 26) as u8)).collect();
    assert!(big.len() > ENTRY_LIMIT);
    let vault = Vault::new(Box::new(keyring), &home.dir);
    let scope = Scope::Ca("site".into());
    vault.set(scope.clone(), &Credentials::new("pkcs8", big.clone())).unwrap();
    vault.set(Scope::Site("default".into()), &Credentials::new("admin", "small-one")).unwrap();

    // Another process reads it back whole.
    let fresh = Vault::new(Box::new(Keyring::new(&home.dir)), &home.dir);
    let read = fresh.lookup_scope(&scope, "pkcs8").unwrap().unwrap();
    assert_eq!(read.password.expose(), big);
    assert_eq!(fresh.lookup("192.0.2.1", None).unwrap().unwrap().password.expose(), "small-one");
    // One sealed file, for the large value only, and no plaintext in it.
    let dir = home.dir.join("large-secrets");
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let sealed = std::fs::read(&files[0]).unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains(&big[..64]));

    // Forgetting it removes the file too.
    assert_eq!(fresh.forget(&scope, None).unwrap(), 1);
    assert!(fresh.lookup_scope(&scope, "pkcs8").unwrap().is_none());
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    fresh.forget(&Scope::Site("default".into()), None).unwrap();
}
