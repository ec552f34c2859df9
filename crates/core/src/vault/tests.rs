//! The vault's tests: scopes, the index, lookups, rotations and two handles on one file.

use super::*;

#[test]
fn the_passphrase_leaves_the_environment_once_read() {
    std::env::set_var("PORTCULLIS_VAULT_PASSPHRASE", "read-once passphrase");
    assert_eq!(passphrase_from_env().unwrap().expose(), "read-once passphrase");
    assert!(std::env::var_os("PORTCULLIS_VAULT_PASSPHRASE").is_none(), "a child process would inherit it");
    assert_eq!(passphrase_from_env().unwrap().expose(), "read-once passphrase", "still known to the program");
}

fn temp_home(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pc-vault-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A file vault in `home`, at a work factor tests can afford.
fn file_vault(home: &Path) -> Vault {
    let store = FileVault::new(home.join("vault.age"), Secret::new("correct horse battery")).with_work_factor(4);
    Vault::new(Box::new(store), home)
}

#[test]
fn file_vault_round_trips_without_plaintext_on_disk() {
    let home = temp_home("file");
    let v = file_vault(&home);
    v.set(Scope::Device("127.1.0.1:80".into()), &Credentials::new("admin", "canary-Device-77")).unwrap();
    v.set(Scope::Site("default".into()), &Credentials::new("admin", "canary-Site-88")).unwrap();
    assert_eq!(v.lookup("127.1.0.1:80", None).unwrap().unwrap().password.expose(), "canary-Device-77");
    assert_eq!(v.lookup("127.1.0.9:80", None).unwrap().unwrap().password.expose(), "canary-Site-88");
    for f in std::fs::read_dir(&home).unwrap().flatten() {
        let bytes = std::fs::read(f.path()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("canary"), "{} holds a secret in clear", f.path().display());
    }
    let wrong = FileVault::new(home.join("vault.age"), Secret::new("wrong passphrase!!"));
    let e = wrong.get("device/127.1.0.1:80/admin").unwrap_err().to_string();
    assert!(e.contains("wrong passphrase") && !e.contains("canary"), "{e}");
    assert_eq!(v.forget(&Scope::Device("127.1.0.1:80".into()), None).unwrap(), 1);
    assert_eq!(v.lookup("127.1.0.1:80", None).unwrap().unwrap().password.expose(), "canary-Site-88");
    assert_eq!(v.list().unwrap().len(), 1);
}

/// Devices rotate at once: every rotation's entry must be in the index afterwards,
/// or a device's only password would be unreachable.
#[test]
fn looking_up_many_devices_at_once_finds_what_one_at_a_time_finds() {
    let home = temp_home("many");
    let v = file_vault(&home);
    v.set(Scope::Device("127.1.0.1:80".into()), &Credentials::new("admin", "by-label")).unwrap();
    v.set(Scope::Device("127.1.0.2".into()), &Credentials::new("admin", "by-address")).unwrap();
    v.set(Scope::Site("lobby".into()), &Credentials::new("installer", "lobby-default")).unwrap();
    v.set(Scope::Site("default".into()), &Credentials::new("admin", "site-default")).unwrap();
    v.set(Scope::Pending("127.1.0.3".into()), &Credentials::new("admin", "never-for-a-login")).unwrap();
    let devices: Vec<(String, Option<String>)> = vec![
        ("127.1.0.1:80".into(), None),
        ("127.1.0.2:8080".into(), Some("lobby".into())),
        ("127.1.0.3:80".into(), Some("lobby".into())),
        ("127.1.0.4:80".into(), None),
        ("127.1.0.5:80".into(), Some("elsewhere".into())),
    ];
    let many = v.lookup_many(&devices).unwrap();
    for (label, site) in &devices {
        let one = v.lookup(label, site.as_deref()).unwrap();
        let got = many.get(label);
        assert_eq!(
            got.map(|c| (c.username.clone(), c.password.expose().to_string())),
            one.map(|c| (c.username, c.password.expose().to_string())),
            "{label}"
        );
    }
    assert_eq!(many["127.1.0.3:80"].password.expose(), "lobby-default", "a pending entry is never a login");
    assert_eq!(many["127.1.0.2:8080"].password.expose(), "by-address");
    let _ = std::fs::remove_dir_all(&home);
}

/// The entry the app shows for a device is the one a login would use, found
/// without reading a secret.
#[test]
fn the_entry_for_a_device_is_the_one_its_login_uses() {
    let home = temp_home("entry-for");
    let v = file_vault(&home);
    v.set(Scope::Device("127.1.0.2".into()), &Credentials::new("own", "a")).unwrap();
    v.set(Scope::Site("lobby".into()), &Credentials::new("lobby", "b")).unwrap();
    v.set(Scope::Site("default".into()), &Credentials::new("everyone", "c")).unwrap();
    let user = |label: &str, site: Option<&str>| v.entry_for(label, site).unwrap().map(|e| e.username);
    for (label, site) in [("127.1.0.2:8080", None), ("127.1.0.3", Some("lobby")), ("127.1.0.4", Some("elsewhere"))] {
        assert_eq!(user(label, site), v.lookup(label, site).unwrap().map(|c| c.username), "{label}");
    }
    assert_eq!(user("127.1.0.3", Some("lobby")).as_deref(), Some("lobby"));
    // Where each login comes from, as the app shows it.
    let source = |label: &str, site: Option<&str>| v.login_entry(label, site).unwrap().source;
    assert_eq!(source("127.1.0.2:8080", Some("lobby")), LoginSource::Device);
    assert_eq!(source("127.1.0.3", Some("lobby")), LoginSource::Site);
    assert_eq!(source("127.1.0.4", Some("elsewhere")), LoginSource::Default);
    v.forget(&Scope::Site("default".into()), None).unwrap();
    assert_eq!(user("127.1.0.4", None), None);
    let none = v.login_entry("127.1.0.4", None).unwrap();
    assert_eq!((none.source, none.username, none.updated), (LoginSource::None, None, None));
    // An entry's kind and name, as the index writes them.
    v.set(Scope::ServicePending("127.1.0.9".into()), &Credentials::new("nvr", "d")).unwrap();
    assert!(v.list().unwrap().iter().any(|e| e.scope.kind() == "service_pending"));
    for e in v.list().unwrap() {
        let written = serde_json::to_value(&e.scope).unwrap();
        assert_eq!((written["scope"].as_str(), written["name"].as_str()), (Some(e.scope.kind()), Some(e.scope.name())));
    }
    let _ = std::fs::remove_dir_all(&home);
}

/// While a device's password is being rotated, the entries it may still log in
/// with stay: its own (by any port of its address) and every site's default.
#[test]
fn what_a_rotating_device_logs_in_with_is_not_forgotten() {
    let home = temp_home("forget-rotating");
    let v = file_vault(&home);
    v.set(Scope::Device("127.1.0.1:8001".into()), &Credentials::new("admin", "old")).unwrap();
    v.set(Scope::Device("127.1.0.2".into()), &Credentials::new("admin", "other")).unwrap();
    v.set(Scope::Site("default".into()), &Credentials::new("admin", "site")).unwrap();
    v.set(Scope::Pending("127.1.0.1".into()), &Credentials::new("admin", "new")).unwrap();
    for scope in
        [Scope::Device("127.1.0.1:8001".into()), Scope::Device("127.1.0.1".into()), Scope::Site("default".into())]
    {
        let refused = v.forget(&scope, None).unwrap_err();
        assert!(refused.to_string().contains("rotation is unresolved"), "{scope:?}: {refused}");
    }
    assert_eq!(v.list().unwrap().len(), 4, "nothing was forgotten");
    assert_eq!(v.forget(&Scope::Device("127.1.0.2".into()), None).unwrap(), 1, "another device's entry may go");
    v.promote_pending("127.1.0.1", &Credentials::new("admin", "new")).unwrap();
    assert_eq!(v.forget(&Scope::Site("default".into()), None).unwrap(), 1, "once settled, it may go");
    let _ = std::fs::remove_dir_all(&home);
}

#[test]
fn a_device_scope_is_an_address_with_an_optional_port() {
    assert_eq!(Scope::device(" 192.0.2.9:8443 ").unwrap(), Scope::Device("192.0.2.9:8443".into()));
    assert_eq!(Scope::device("192.0.2.9").unwrap(), Scope::Device("192.0.2.9".into()));
    for bad in ["lobby", "192.0.2.9:http", "192.0.2.9:70000", ""] {
        assert!(Scope::device(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn two_processes_on_one_file_vault_lose_nothing() {
    // Two handles stand for two processes (the desktop app and a CLI run): each
    // keeps what it read, and each one's change must keep the other's.
    let home = temp_home("two-processes");
    let handle = || {
        let store = FileVault::new(home.join("vault.age"), Secret::new("correct horse battery")).with_work_factor(4);
        Vault::new(Box::new(store), &home)
    };
    let (desktop, cli) = (handle(), handle());
    desktop.set(Scope::Device("127.1.0.1".into()), &Credentials::new("admin", "first-one")).unwrap();
    assert!(cli.lookup("127.1.0.1", None).unwrap().is_some(), "the CLI reads it");
    cli.set(Scope::Service("127.1.0.1".into()), &Credentials::new("nvr", "from-the-cli")).unwrap();
    desktop.set(Scope::Device("127.1.0.2".into()), &Credentials::new("admin", "second-one")).unwrap();
    let fresh = handle();
    let service = fresh.lookup_scope(&Scope::Service("127.1.0.1".into()), "nvr").unwrap();
    assert_eq!(service.map(|c| c.password.expose().to_string()), Some("from-the-cli".into()), "not lost");
    for (device, password) in [("127.1.0.1", "first-one"), ("127.1.0.2", "second-one")] {
        let c = cli.lookup(device, None).unwrap().map(|c| c.password.expose().to_string());
        assert_eq!(c.as_deref(), Some(password), "the CLI sees the desktop's later write");
    }
}

#[test]
fn concurrent_changes_lose_no_entry() {
    let home = temp_home("concurrent");
    let store = FileVault::new(home.join("vault.age"), Secret::new("correct horse battery")).with_work_factor(4);
    let v = std::sync::Arc::new(Vault::new(Box::new(store), &home));
    let threads: Vec<_> = (0..16)
        .map(|i| {
            let v = v.clone();
            std::thread::spawn(move || {
                let address = format!("127.1.0.{i}");
                let new = Credentials::new("admin", format!("rotated-{i}"));
                v.set(Scope::Pending(address.clone()), &new).unwrap();
                v.promote_pending(&address, &new).unwrap();
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    assert!(v.pending_devices().unwrap().is_empty());
    for i in 0..16 {
        let found = v.lookup(&format!("127.1.0.{i}:80"), None).unwrap();
        assert_eq!(found.map(|c| c.password.expose().to_string()), Some(format!("rotated-{i}")));
    }
}

/// The passphrase guards the vault's own key (scrypt, once per process); the secrets
/// are encrypted to that key, so a write costs no scrypt. A vault from before the
/// key file is read with the passphrase and moves to the key on its next write.
#[test]
fn the_passphrase_guards_a_key_and_an_old_vault_moves_to_it() {
    let home = temp_home("keyed");
    let stanza = |path: &Path| {
        let data = std::fs::read(path).unwrap();
        String::from_utf8_lossy(&data).lines().nth(1).unwrap_or_default().split(' ').nth(1).map(String::from)
    };
    // An old vault: the map encrypted with the passphrase itself.
    let mut old = age::scrypt::Recipient::new("correct horse battery".to_string().into());
    old.set_work_factor(4);
    let map = serde_json::json!({ "device/127.1.0.1:80/admin": "canary-Old-11" });
    std::fs::write(home.join("vault.age"), age::encrypt(&old, map.to_string().as_bytes()).unwrap()).unwrap();
    let open = || FileVault::new(home.join("vault.age"), Secret::new("correct horse battery")).with_work_factor(4);
    let v = open();
    assert_eq!(v.get("device/127.1.0.1:80/admin").unwrap().unwrap().expose(), "canary-Old-11");
    v.set("device/127.1.0.2:80/admin", &Secret::new("canary-New-22")).unwrap();
    assert_eq!(stanza(&home.join("vault-key.age")).as_deref(), Some("scrypt"), "the key: the passphrase");
    assert_eq!(stanza(&home.join("vault.age")).as_deref(), Some("X25519"), "the secrets: the key");
    drop(v);
    let again = open();
    assert_eq!(again.get("device/127.1.0.1:80/admin").unwrap().unwrap().expose(), "canary-Old-11");
    assert_eq!(again.get("device/127.1.0.2:80/admin").unwrap().unwrap().expose(), "canary-New-22");
    let wrong = FileVault::new(home.join("vault.age"), Secret::new("wrong passphrase!!"));
    assert!(wrong.get("device/127.1.0.1:80/admin").unwrap_err().to_string().contains("wrong passphrase"));
    for f in ["vault.age", "vault-key.age"] {
        let text = String::from_utf8_lossy(&std::fs::read(home.join(f)).unwrap()).into_owned();
        assert!(!text.contains("canary") && !text.contains("AGE-SECRET-KEY"), "{f} holds a secret in clear");
    }
}
