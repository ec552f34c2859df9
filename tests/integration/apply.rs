//! `portcullis apply` and `portcullis recover` against a simulated site: every change
//! verified on the device itself, recorded once, rolled back when it does not hold,
//! idempotent, and password rotations that survive a crash.

use portcullis_core::secret::Secret;
use portcullis_core::vault::{FileVault, Vault};
use portcullis_sim::{Port, Trigger};

use crate::inventory::mixed_fleet;
use crate::{Home, ALL_OUTPUT};

pub(crate) const SITE: &[&str] = &["--management-host", "127.0.0.1", "--ntp-server", "192.0.2.1"];

pub(crate) fn lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

pub(crate) fn summary(text: &str) -> serde_json::Value {
    lines(text).into_iter().rev().find(|l| l["type"] == "summary").unwrap_or_else(|| panic!("no summary:\n{text}"))
}

/// The test's view of the vault the binary uses.
pub(crate) fn vault(home: &Home) -> Vault {
    let store = FileVault::new(home.dir.join("vault.age"), Secret::new("integration tests only"));
    Vault::new(Box::new(store), &home.dir)
}

fn legacy_label(fleet: &portcullis_sim::Fleet) -> String {
    let d = &fleet.devices()[1];
    format!("{}:{}", d.address, d.http_port.unwrap_or(80))
}

pub(crate) async fn apply(home: &Home, extra: &[&str]) -> crate::Outcome {
    let mut args = vec!["apply", "--yes", "--json", "--timeout", "5"];
    args.extend_from_slice(SITE);
    args.extend_from_slice(extra);
    home.run(&args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apply_hardens_the_site_verifies_each_change_and_a_second_apply_changes_nothing() {
    let (fleet, file) = mixed_fleet(5).await;
    let home = Home::new("apply");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let legacy = fleet.camera(1).unwrap();
    let old_password = legacy.state().account("admin").unwrap().password.clone();
    assert!(legacy.open_port(Port::Telnet).is_some());
    let legacy_device = legacy_label(&fleet);

    // (The legacy camera's forgotten installer account goes too: the operator chose so.)
    let first = apply(&home, &["--delete-accounts"]).await;
    let s = summary(&first.text);
    // Every device is done cleanly, the factory-new one activated and then hardened too.
    assert_eq!(s["devices"], 5, "{}", first.text);
    assert_eq!(s["problems"], 0, "{}", first.text);
    assert_eq!(s["failed"], 0, "{}", first.text);
    assert_eq!(s["rolled_back"], 0, "{}", first.text);
    assert!(s["verified"].as_u64().unwrap() >= 40, "{s}");
    // The records are what docs/cli-json.md says, field for field.
    let keys = |v: &serde_json::Value| {
        let mut keys: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys.join(",")
    };
    assert_eq!(
        keys(&s),
        "cancelled,devices,failed,ok,problems,recovered,rolled_back,rotations_pending,skipped,type,verified"
    );
    let done = lines(&first.text).into_iter().find(|l| l["event"] == "device_done").unwrap();
    assert_eq!(
        keys(&done),
        "activated,cancelled,device,error,event,failed,https_port,lost,moved_to,rolled_back,rotation_pending,skipped,type,verified"
    );

    // The devices themselves say so: services off, ports closed, lock on, password rotated.
    {
        let st = legacy.state();
        assert!(!st.services.telnet.enabled && !st.services.ssh.enabled && !st.services.upnp.enabled);
        assert!(!st.access.http.enabled && st.access.https.enabled, "{}", first.text);
        assert!(st.lock.enabled);
        assert!(st.ip_filter.enabled && st.ip_filter.entries.contains(&"127.0.0.1".to_string()));
        assert_ne!(st.account("admin").unwrap().password, old_password);
        assert!(st.accounts.iter().all(|a| a.username == "admin" || a.web_level.is_none()), "extra users deleted");
    }
    assert!(legacy.open_port(Port::Telnet).is_none() && legacy.open_port(Port::Http).is_none());
    let new_password = legacy.state().account("admin").unwrap().password.clone();
    let address = legacy.address().to_string();
    let in_vault = vault(&home).lookup(&address, None).unwrap().unwrap();
    assert_eq!(in_vault.password.expose(), new_password, "the vault holds what the device accepts");
    assert!(vault(&home).pending_devices().unwrap().is_empty());
    let fresh = fleet.camera(2).unwrap();
    assert!(fresh.state().activation.activated);
    let first_password = fresh.state().account("admin").unwrap().password.clone();
    let stored = vault(&home).lookup(&fresh.address().to_string(), None).unwrap().unwrap();
    assert_eq!(stored.password.expose(), first_password, "the activation password is in the vault");
    assert!(!fresh.state().services.telnet.enabled || !fresh.state().services.telnet.present);

    // Every intent has exactly one outcome, and the chain verifies.
    let history = home.run(&["history", "--json"]).await;
    let records = lines(&history.text);
    let mut open = std::collections::HashMap::new();
    for r in &records {
        let key = (r["device"].to_string(), r["setting"].to_string());
        match r["outcome"]["state"].as_str().unwrap() {
            "intent" => assert!(open.insert(key, ()).is_none(), "two intents without an outcome: {r}"),
            _ => {
                if r["setting"] != "configuration" {
                    assert!(open.remove(&key).is_some(), "an outcome without its intent: {r}");
                }
            }
        }
    }
    assert!(open.is_empty(), "intents left open: {open:?}");
    assert!(records.iter().all(|r| r["operator"].as_str().is_some_and(|o| !o.is_empty())));
    assert!(home.run(&["history", "verify"]).await.ok);

    // The audit now passes what was changed, over HTTPS (HTTP is gone).
    let audit = home.run(&["audit", "--json", "--timeout", "5"]).await;
    let legacy_audit = lines(&audit.text)
        .into_iter()
        .find(|l| l["type"] == "device" && l["target"].as_str().unwrap().starts_with(&address))
        .unwrap();
    assert!(legacy_audit["error"].is_null(), "{legacy_audit}");

    // The certificate from the site CA is what the device presents, and it is pinned:
    // a device that swaps it (a replaced camera, a man in the middle) is refused.
    assert!(!legacy.state().certs.server.self_signed);
    let pins: serde_json::Value = serde_json::from_slice(&std::fs::read(home.dir.join("pins.json")).unwrap()).unwrap();
    assert!(pins["devices"][&address]["fingerprint"].as_str().is_some_and(|f| f.len() == 64), "{pins}");
    // The generic ONVIF camera got its certificate through Advanced Security: a key it
    // made itself, the site CA's signature, one Replace of the served path.
    let onvif = fleet.camera(3).unwrap();
    {
        let st = onvif.state();
        assert!(!st.certs.server.self_signed, "{}", first.text);
        let ks = &st.certs.keystore;
        let served = ks.path(&ks.assigned[0]).unwrap();
        assert_eq!(served.alias.as_deref(), Some("portcullis"));
        assert_eq!(served.certificate_ids.len(), 2, "leaf and site CA");
        let leaf = ks.certificate(&served.certificate_ids[0]).unwrap();
        assert!(!ks.key(&leaf.key_id).unwrap().externally_generated, "the camera's own key");
    }
    assert!(pins["devices"][&onvif.address().to_string()]["fingerprint"].is_string(), "{pins}");
    let exported = home.dir.join("exported-ca.pem");
    assert!(home.run(&["certs", "export-ca", "--out", exported.to_str().unwrap()]).await.ok);
    assert!(std::fs::read_to_string(&exported).unwrap().starts_with("-----BEGIN CERTIFICATE"));

    // Idempotent: nothing left to change but what needs a person.
    let second = apply(&home, &[]).await;
    let s2 = summary(&second.text);
    assert_eq!(s2["verified"].as_u64().unwrap_or(0), 0, "{}", second.text);
    assert_eq!(s2["failed"].as_u64().unwrap_or(0), 0, "{}", second.text);

    // Drift: someone switches Telnet back on by hand; the audit says what changed since the apply.
    legacy.state().services.telnet.enabled = true;
    let drifted = home.run(&["audit", "--json", "--timeout", "5", "--fail-on-drift", "--device", &legacy_device]).await;
    assert_eq!(drifted.code, Some(3), "a scheduled audit fails on drift: {}", drifted.text);
    let drift: Vec<_> = lines(&drifted.text).into_iter().filter(|l| l["type"] == "drift").collect();
    assert_eq!(drift.len(), 1, "{}", drifted.text);
    assert_eq!(drift[0]["setting"], "service.telnet.enabled");
    assert_eq!((drift[0]["applied"].clone(), drift[0]["now"].clone()), (false.into(), true.into()));
    // The report says so too, with when the setting was last verified (issue #18).
    let file = home.dir.join("drift.json");
    assert!(home.run(&["report", "--format", "json", "--out", file.to_str().unwrap()]).await.ok);
    let report: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    let rows = report["drift"].as_array().unwrap_or_else(|| panic!("no drift section: {report:#}"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0]["setting"].as_str(), rows[0]["control"].as_str()),
        (Some("service.telnet.enabled"), Some("HIK-12"))
    );
    assert_eq!((rows[0]["applied"].clone(), rows[0]["now"].clone()), (false.into(), true.into()));
    assert_eq!(rows[0]["verified_at"], drift[0]["applied_at"]);
    legacy.state().services.telnet.enabled = false;

    {
        let mut st = legacy.state();
        let (serial, addr, tls) = (st.identity.serial.clone(), st.address.to_string(), st.access.tls.clone());
        st.certs.server = portcullis_sim::tls::ServerIdentity::self_signed(&serial, &addr, &tls).unwrap();
    }
    let swapped = home.run(&["audit", "--json", "--timeout", "5", "--device", &legacy_device]).await;
    assert!(swapped.text.contains("pinned"), "{}", swapped.text);

    // Neither the old nor the new password reached any output or any file.
    let outputs = ALL_OUTPUT.lock().unwrap().clone();
    for pw in [&old_password, &new_password, &first_password] {
        assert!(!crate::shows_password(&outputs, pw), "a password reached the output");
        for f in crate::inventory::walk(&home.dir) {
            let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
            assert!(!crate::shows_password(&text, pw), "{} holds a password", f.display());
        }
    }
    drop(fleet);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_the_device_drops_is_rolled_back_and_retried() {
    let (fleet, file) = mixed_fleet(2).await;
    let home = Home::new("rollback");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let legacy = fleet.camera(1).unwrap();
    let device = format!("{}:{}", legacy.address(), fleet.devices()[1].http_port.unwrap());
    let mut faults = legacy.faults();
    faults.drop_before_commit = Trigger::Next(1);
    legacy.set_faults(faults);

    let first = apply(&home, &["--device", &device]).await;
    let s = summary(&first.text);
    // The dropped write (the NTP servers) is undone, and so is what depends on it (NTP mode).
    let rolled_back = s["rolled_back"].as_u64().unwrap();
    assert!((1..=2).contains(&rolled_back), "{}", first.text);
    assert_eq!((s["problems"].as_u64(), s["failed"].as_u64()), (Some(1), Some(0)), "{}", first.text);
    let records = lines(&home.run(&["history", "--json"]).await.text);
    let rolled: Vec<_> = records.iter().filter(|r| r["outcome"]["state"] == "rolled_back").collect();
    assert_eq!(rolled.len() as u64, rolled_back);
    assert!(rolled[0]["outcome"]["reason"].as_str().unwrap().contains("expected"), "{}", rolled[0]);
    assert!(legacy.state().time.ntp_servers.is_empty(), "the device is as it was");

    // --retry-failed picks exactly that device up again and finishes it.
    let retry = apply(&home, &["--retry-failed"]).await;
    let s = summary(&retry.text);
    assert_eq!((s["devices"].as_u64(), s["problems"].as_u64()), (Some(1), Some(0)), "{}", retry.text);
    assert_eq!(s["verified"].as_u64(), Some(rolled_back + 1), "the backup and what was rolled back: {}", retry.text);
    assert!(home.run(&["history", "verify"]).await.ok);
    drop(fleet);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_onvif_camera_that_cannot_make_a_key_gets_one_uploaded_over_tls() {
    let (fleet, file) = mixed_fleet(4).await;
    let home = Home::new("pkcs8");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let onvif = fleet.camera(3).unwrap();
    let d = &fleet.devices()[3];
    let device = format!("{}:{}", d.address, d.http_port.unwrap());
    let mut faults = onvif.faults();
    faults.unsupported = vec!["CreateRSAKeyPair".into()];
    onvif.set_faults(faults);
    // Runs killed mid-install left keys of ours behind, until the keystore is full:
    // the install must clear them first.
    {
        let ks = &mut onvif.state().certs.keystore;
        while ks.keys.len() < portcullis_sim::keystore::MAX_KEYS {
            let der = rcgen::KeyPair::generate().unwrap().serialize_der();
            ks.upload_key_pair(&der, Some("portcullis".into())).unwrap();
        }
    }

    let run = apply(&home, &["--device", &device]).await;
    let s = summary(&run.text);
    assert_eq!((s["problems"].as_u64(), s["failed"].as_u64()), (Some(0), Some(0)), "{}", run.text);
    let (first_path, keys, certificates) = {
        let st = onvif.state();
        assert!(!st.certs.server.self_signed, "{}", run.text);
        let ks = &st.certs.keystore;
        let served = ks.path(&ks.assigned[0]).unwrap();
        let leaf = ks.certificate(&served.certificate_ids[0]).unwrap();
        assert!(ks.key(&leaf.key_id).unwrap().externally_generated, "the key was made here and uploaded");
        (served.id.clone(), ks.keys.len(), ks.certificates.len())
    };

    // A renewal replaces the served path and removes the one Portcullis put there
    // before, so renewals do not fill the keystore.
    let renew = home.run(&["certs", "renew", "--within", "400d", "--yes", "--json"]).await;
    assert!(renew.ok, "{}", renew.text);
    let st = onvif.state();
    let ks = &st.certs.keystore;
    assert_ne!(ks.assigned[0], first_path, "{}", renew.text);
    assert!(ks.path(&first_path).is_err(), "the old path is gone");
    assert_eq!((ks.keys.len(), ks.certificates.len()), (keys, certificates), "nothing piles up");
    drop(st);
    drop(fleet);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_imported_customer_ca_signs_what_apply_installs() {
    let (fleet, file) = mixed_fleet(4).await;
    let home = Home::new("import-ca");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "Customer Issuing CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    let ca_pem = params.self_signed(&key).unwrap().pem();
    let outside = std::env::temp_dir().join(format!("pc-customer-ca-{}", std::process::id()));
    std::fs::create_dir_all(&outside).unwrap();
    let (cert_file, key_file) = (outside.join("ca.pem"), outside.join("ca.key"));
    std::fs::write(&cert_file, &ca_pem).unwrap();
    std::fs::write(&key_file, key.serialize_pem()).unwrap();

    // The integrator knows the camera's DNS name: it goes into the certificate.
    let d0 = &fleet.devices()[0];
    let names = outside.join("names.csv");
    std::fs::write(
        &names,
        format!("address,http_port,hostnames\n{},{},cam-0.site.example\n", d0.address, d0.http_port.unwrap()),
    )
    .unwrap();
    assert!(home.run(&["inventory", "import", names.to_str().unwrap()]).await.ok);
    let import = home
        .run(&[
            "certs",
            "import-ca",
            "--cert",
            cert_file.to_str().unwrap(),
            "--key",
            key_file.to_str().unwrap(),
            "--json",
        ])
        .await;
    assert!(import.ok && import.text.contains("Customer Issuing CA"), "{}", import.text);
    for i in [0, 3] {
        let d = &fleet.devices()[i];
        let run = apply(&home, &["--device", &format!("{}:{}", d.address, d.http_port.unwrap())]).await;
        assert_eq!(summary(&run.text)["problems"].as_u64(), Some(0), "{}", run.text);
        let st = fleet.camera(i).unwrap().state();
        assert!(!st.certs.server.self_signed && st.certs.server.chain_pem.contains(ca_pem.trim()), "device {i}");
        let (_, pem) = x509_parser::pem::parse_x509_pem(st.certs.server.chain_pem.as_bytes()).unwrap();
        let leaf = pem.parse_x509().unwrap();
        let dns: Vec<String> = leaf
            .subject_alternative_name()
            .unwrap()
            .map(|s| s.value.general_names.iter())
            .into_iter()
            .flatten()
            .filter_map(|n| match n {
                x509_parser::extensions::GeneralName::DNSName(d) => Some(d.to_string()),
                _ => None,
            })
            .collect();
        assert_eq!(dns, if i == 0 { vec!["cam-0.site.example".to_string()] } else { vec![] }, "device {i}");
    }
    // The key went to the vault only.
    for f in crate::inventory::walk(&home.dir) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(!text.contains("PRIVATE KEY"), "{} holds a private key", f.display());
    }
    let _ = std::fs::remove_dir_all(&outside);
    drop(fleet);
}

/// A write the device made but whose answer was lost is judged by the read-back: done,
/// not rolled back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_answer_to_a_write_that_took_effect_is_verified_by_reading_back() {
    let (fleet, file) = mixed_fleet(2).await;
    let home = Home::new("lost-answer");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let legacy = fleet.camera(1).unwrap();
    let device = format!("{}:{}", legacy.address(), fleet.devices()[1].http_port.unwrap());
    let mut faults = legacy.faults();
    faults.drop_after_commit = Trigger::Next(1);
    legacy.set_faults(faults);
    let first = apply(&home, &["--device", &device]).await;
    let s = summary(&first.text);
    assert_eq!((s["rolled_back"].as_u64(), s["failed"].as_u64()), (Some(0), Some(0)), "{}", first.text);
    assert_eq!(s["problems"].as_u64(), Some(0), "{}", first.text);
    assert!(!legacy.state().time.ntp_servers.is_empty(), "the first write (NTP servers) took effect and stays");
    drop(fleet);
}

/// A baseline that leaves HTTPS as it is (off on the legacy camera).
const NO_HTTPS: &str = r#"
[baseline]
name = "keep-http"
version = "1"
title = "Rotate passwords, leave the web server as it is"
extends = "hikvision-hardening"

[[override]]
control = "HIK-05"
enabled = false

[[override]]
control = "HIK-06"
enabled = false

[[override]]
control = "HIK-07"
enabled = false
"#;

/// A new password never crosses the LAN in clear: a camera without HTTPS keeps its
/// password (the step says why) unless the site baseline allows plain HTTP, and then
/// the history says that it did.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_goes_over_https_or_not_at_all_unless_the_site_allows_it() {
    let (fleet, file) = mixed_fleet(3).await;
    let home = Home::new("secrets-tls");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let legacy = fleet.camera(1).unwrap();
    let old = legacy.state().account("admin").unwrap().password.clone();
    assert!(legacy.open_port(Port::Https).is_none(), "the legacy camera serves no HTTPS");
    let baseline = home.dir.join("keep-http.toml");
    std::fs::write(&baseline, NO_HTTPS).unwrap();
    let run = apply(&home, &["--baseline", baseline.to_str().unwrap()]).await;
    let rotation = lines(&run.text)
        .into_iter()
        .find(|l| l["device"] == legacy_label(&fleet) && l["setting"] == "account.default_password")
        .unwrap_or_else(|| panic!("no rotation step:\n{}", run.text));
    assert_eq!(rotation["result"]["state"], "skipped", "{rotation}");
    assert!(rotation["result"]["reason"].as_str().unwrap().contains("never sent in clear"), "{rotation}");
    assert_eq!(legacy.state().account("admin").unwrap().password, old);

    // The site opts in: the password goes, and the history records the choice first.
    let allowed = format!("{NO_HTTPS}\n[site]\nallow_plaintext_secrets = true\nntp_servers = [\"192.0.2.1\"]\nmanagement_hosts = [\"127.0.0.1\"]\n");
    std::fs::write(&baseline, allowed).unwrap();
    let b = baseline.to_str().unwrap();
    let run = home.run(&["apply", "--yes", "--json", "--timeout", "5", "--baseline", b]).await;
    assert_ne!(legacy.state().account("admin").unwrap().password, old, "{}", run.text);
    let history = home.run(&["history", "--json"]).await;
    let choice = lines(&history.text)
        .into_iter()
        .find(|r| r["setting"] == "site.allow_plaintext_secrets" && r["device"] == legacy_label(&fleet));
    assert!(choice.is_some(), "{}", history.text);
    drop(fleet);
}

/// Issue #15: a loaded laptop. Busy threads compete for both cores while `apply` rotates
/// every password on ten cameras with the site's default time-outs; with no fault
/// injected, nothing may time out, roll back or fail. (It did: the file vault's scrypt
/// ran on the async workers and starved every other device's exchange.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "loads every core: scripts/test.sh runs busy_ tests alone"]
async fn busy_machine_apply_rolls_nothing_back_when_no_fault_is_injected() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let (_fleet, file) = mixed_fleet(10).await;
    let home = Home::new("busy");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let stop = std::sync::Arc::new(AtomicBool::new(false));
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let busy: Vec<_> = (0..cores * 2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut x = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                }
            })
        })
        .collect();
    let mut args = vec!["apply", "--yes", "--json", "--rotate-passwords"];
    args.extend_from_slice(SITE);
    let run = home.run(&args).await;
    stop.store(true, Ordering::Relaxed);
    busy.into_iter().for_each(|t| t.join().unwrap());
    let s = summary(&run.text);
    assert_eq!(s["devices"], 10, "{}", run.text);
    assert_eq!(s["rolled_back"], 0, "{}", run.text);
    assert_eq!(s["failed"], 0, "{}", run.text);
    assert_eq!(s["problems"], 0, "{}", run.text);
    assert!(!run.text.contains("no answer within"), "{}", run.text);
}

/// Issue #15: each kind of operation has its own clock. Cameras that take several
/// seconds to make a key (as real ones do) get their certificates although reads and
/// writes may take only two: key generation keeps the site's longer limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_camera_slow_to_make_its_key_is_waited_for_while_reads_keep_a_short_clock() {
    let mut cfg = portcullis_sim::FleetConfig::for_tests(4, portcullis_sim::Profile::HikvisionCurrent);
    cfg.profile = portcullis_sim::config::ProfileChoice::Mixed;
    cfg.key_generation_seconds = 4.0;
    let fleet = portcullis_sim::Fleet::start(cfg).await.unwrap();
    let file = home_file(&fleet);
    let home = Home::new("slow-keys");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let mut args = vec!["apply", "--yes", "--json", "--timeout", "2"];
    args.extend_from_slice(SITE);
    let run = home.run(&args).await;
    let s = summary(&run.text);
    assert_eq!((s["failed"].as_u64(), s["rolled_back"].as_u64()), (Some(0), Some(0)), "{}", run.text);
    for (i, cam) in fleet.cameras().iter().enumerate() {
        assert!(!cam.state().certs.server.self_signed, "camera {i} got its certificate: {}", run.text);
    }
}

/// The fleet as an inventory file.
fn home_file(fleet: &portcullis_sim::Fleet) -> std::path::PathBuf {
    let doc = serde_json::json!({ "generator": "portcullis-sim", "devices": fleet.devices() });
    let file = std::env::temp_dir().join(format!("pc-slow-keys-{}.json", std::process::id()));
    std::fs::write(&file, doc.to_string()).unwrap();
    file
}
