//! Trust on first use: the certificate a device first shows is pinned; a different one
//! later (a factory reset, or someone in the middle) is refused, nothing goes to the
//! device over HTTPS, and only an operator's accept (checked against the fingerprint)
//! lets it through again, recorded in the history.

use portcullis_sim::config::FleetConfig;
use portcullis_sim::profile::Profile;
use portcullis_sim::tls::ServerIdentity;
use portcullis_sim::Fleet;

use crate::Home;

fn lines(text: &str) -> Vec<serde_json::Value> {
    text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

fn pins(home: &Home) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(home.dir.join("pins.json")).expect("pins.json")).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_changed_certificate_is_refused_until_an_operator_accepts_it() {
    let fleet = Fleet::start(FleetConfig::for_tests(1, Profile::HikvisionCurrent)).await.unwrap();
    let camera = fleet.camera(0).unwrap();
    let device = &fleet.devices()[0];
    assert!(device.https_port.is_some(), "the camera serves HTTPS: {device:?}");
    let address = device.address.to_string();
    let home = Home::new("tofu");
    let file = home.dir.join("fleet.json");
    std::fs::write(&file, serde_json::json!({ "devices": fleet.devices() }).to_string()).unwrap();
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);

    // First contact: the certificate is pinned as first seen.
    let first = home.run(&["audit", "--json", "--timeout", "5"]).await;
    assert!(first.ok, "{}", first.text);
    let pin = pins(&home)["devices"][&address].clone();
    assert_eq!(pin["origin"], "first_seen", "{pin}");
    let pinned = pin["fingerprint"].as_str().unwrap().to_string();

    // The device now presents another certificate: refused, reported, kept for review.
    let tls = camera.state().access.tls.clone();
    camera.state().certs.server = ServerIdentity::self_signed("SOMEONE-ELSE", &address, &tls).unwrap();
    let audit = home.run(&["audit", "--json", "--timeout", "5"]).await;
    let read = lines(&audit.text).into_iter().find(|l| l["type"] == "device").expect(&audit.text);
    assert_eq!(read["error"]["code"], "certificate_changed", "{read}");
    let pin = pins(&home)["devices"][&address].clone();
    assert_eq!(pin["fingerprint"], pinned.as_str(), "a change never replaces the pin by itself");
    let presented = pin["changed_to"]["fingerprint"].as_str().expect("the change is kept").to_string();
    assert_ne!(presented, pinned);
    let list = home.run(&["certs", "list"]).await;
    assert!(list.text.contains("CHANGED") && list.text.contains(&presented), "{}", list.text);

    // Apply sends nothing: the password stays, no request reached the device over HTTPS.
    let password = camera.state().account("admin").unwrap().password.clone();
    let run = home
        .run(&[
            "apply",
            "--yes",
            "--json",
            "--timeout",
            "5",
            "--management-host",
            "127.0.0.1",
            "--ntp-server",
            "192.0.2.1",
        ])
        .await;
    assert_eq!(camera.state().account("admin").unwrap().password, password, "{}", run.text);
    assert!(run.text.contains("not_planned") && run.text.contains("not the pinned"), "{}", run.text);

    // Accepting takes the fingerprint the operator checked, and only that one.
    let wrong = home.run(&["certs", "accept", &address, "--fingerprint", &format!("sha256:{pinned}")]).await;
    assert!(!wrong.ok && wrong.text.contains("nothing accepted"), "{}", wrong.text);
    let accepted = home.run(&["certs", "accept", &address, "--fingerprint", &format!("sha256:{presented}")]).await;
    assert!(accepted.ok, "{}", accepted.text);
    assert_eq!(pins(&home)["devices"][&address]["fingerprint"], presented.as_str());
    let history = home.run(&["history", "--json"]).await;
    let record = lines(&history.text).into_iter().find(|r| r["setting"] == "tls.certificate.trusted");
    let record = record.unwrap_or_else(|| panic!("no record of the decision:\n{}", history.text));
    assert_eq!(record["before"], format!("sha256:{pinned}").as_str(), "{record}");
    assert_eq!(record["after"], format!("sha256:{presented}").as_str(), "{record}");

    let again = home.run(&["audit", "--json", "--timeout", "5"]).await;
    let read = lines(&again.text).into_iter().find(|l| l["type"] == "device").expect(&again.text);
    assert!(read["error"].is_null(), "{read}");
    drop(fleet);
}

fn scoped_baseline(scope: &str) -> String {
    format!(
        "[baseline]\nname = \"scoped\"\nversion = \"1\"\ntitle = \"The site CA names the site only\"\nextends = \"hikvision-hardening\"\n\n[site]\nntp_servers = [\"192.0.2.1\"]\nmanagement_hosts = [\"127.0.0.1\"]\nca_scope = [{scope}]\n"
    )
}

/// `[site] ca_scope`: the site CA Portcullis makes carries it as name constraints, a
/// device inside it gets a certificate that a name-constraint-checking handshake
/// accepts, and nothing outside it is certified.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_site_ca_certifies_nothing_outside_the_sites_scope() {
    let fleet = Fleet::start(FleetConfig::for_tests(1, Profile::HikvisionCurrent)).await.unwrap();
    let camera = fleet.camera(0).unwrap();
    let file_of = |home: &Home| {
        let file = home.dir.join("fleet.json");
        std::fs::write(&file, serde_json::json!({ "devices": fleet.devices() }).to_string()).unwrap();
        file
    };
    let cert_step = |text: &str| {
        lines(text)
            .into_iter()
            .find(|l| l["setting"] == "tls.certificate.self_signed" && l["result"].is_object())
            .unwrap_or_else(|| panic!("no certificate step:\n{text}"))
    };

    // Outside the scope: skipped with the reason, the factory certificate stays.
    let outside = Home::new("ca-scope-out");
    assert!(outside.run(&["inventory", "import", file_of(&outside).to_str().unwrap()]).await.ok);
    let baseline = outside.dir.join("scoped.toml");
    std::fs::write(&baseline, scoped_baseline("\"10.0.0.0/8\", \"cams.example.com\"")).unwrap();
    let run =
        outside.run(&["apply", "--yes", "--json", "--timeout", "5", "--baseline", baseline.to_str().unwrap()]).await;
    let step = cert_step(&run.text);
    assert_eq!(step["result"]["state"], "skipped", "{step}");
    assert!(step["result"]["reason"].as_str().unwrap().contains("outside the site CA's scope"), "{step}");
    assert!(camera.state().certs.server.self_signed, "no certificate was issued");

    // Inside it: issued, installed and proven by a handshake that checks the constraints.
    let inside = Home::new("ca-scope-in");
    assert!(inside.run(&["inventory", "import", file_of(&inside).to_str().unwrap()]).await.ok);
    let baseline = inside.dir.join("scoped.toml");
    std::fs::write(&baseline, scoped_baseline("\"127.0.0.0/8\"")).unwrap();
    let run =
        inside.run(&["apply", "--yes", "--json", "--timeout", "5", "--baseline", baseline.to_str().unwrap()]).await;
    assert_eq!(cert_step(&run.text)["result"]["state"], "verified", "{}", run.text);
    let pem = std::fs::read(inside.dir.join("site-ca.pem")).unwrap();
    let (_, block) = x509_parser::pem::parse_x509_pem(&pem).unwrap();
    let (_, ca) = x509_parser::parse_x509_certificate(&block.contents).unwrap();
    assert!(ca.name_constraints().unwrap().is_some(), "the CA carries the scope");
    drop(fleet);
}

/// Issue #15: a site whose cameras share the installer's password (neither default nor
/// weak, so the audit passes it) keeps it after `apply`; `apply --rotate-passwords`
/// gives every camera its own, the vault first, and the old one no longer logs in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shared_password_rotates_on_demand_and_only_then() {
    let fleet = Fleet::start(FleetConfig::for_tests(2, Profile::HikvisionCurrent)).await.unwrap();
    let home = Home::new("rotate-on-demand");
    let file = home.dir.join("fleet.json");
    std::fs::write(&file, serde_json::json!({ "devices": fleet.devices() }).to_string()).unwrap();
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let passwords = || -> Vec<String> {
        fleet.cameras().iter().map(|c| c.state().account("admin").unwrap().password.clone()).collect()
    };
    let site = ["--management-host", "127.0.0.1", "--ntp-server", "192.0.2.1"];
    let mut args = vec!["apply", "--yes", "--json", "--timeout", "10"];
    args.extend_from_slice(&site);
    let first = home.run(&args).await;
    assert!(first.ok, "{}", first.text);
    let kept = passwords();
    // The audit passed the password: apply hardens the rest and leaves it.
    let again = home.run(&args).await;
    assert_eq!(passwords(), kept, "no rotation unless asked: {}", again.text);

    args.push("--rotate-passwords");
    let rotated = home.run(&args).await;
    assert!(rotated.ok, "{}", rotated.text);
    let now = passwords();
    for (old, new) in kept.iter().zip(&now) {
        assert_ne!(old, new, "every camera got a new password");
    }
    assert_ne!(now[0], now[1], "each its own");
    let history = lines(&home.run(&["history", "--json"]).await.text);
    let rotations =
        history.iter().filter(|r| r["setting"] == "account.password" && r["outcome"]["state"] == "verified").count();
    assert!(rotations >= 2, "each rotation is recorded and verified");
    // The vault holds what the cameras now take: the next run logs in with it.
    let audit = home.run(&["audit", "--json", "--timeout", "10"]).await;
    let errors: Vec<_> =
        lines(&audit.text).into_iter().filter(|l| l["type"] == "device" && !l["error"].is_null()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    drop(fleet);
}

/// Issue #15: the site's rotation policy. Every camera carries the installer's one
/// password; with `[site] unique_passwords` the audit fails each (compared in the
/// vault, the password never shown), apply gives each its own, the audit then passes,
/// the history dates each rotation for the age control, and a second apply changes
/// nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_that_wants_unique_passwords_gets_them_once() {
    const SHARED: &str = "Install3r-Shared!";
    let mut cfg = FleetConfig::for_tests(3, Profile::HikvisionCurrent);
    cfg.cameras = (0..3)
        .map(|index| portcullis_sim::CameraConfig { index, password: Some(SHARED.into()), ..Default::default() })
        .collect();
    let fleet = Fleet::start(cfg).await.unwrap();
    let home = Home::new("unique-passwords");
    let file = home.dir.join("fleet.json");
    std::fs::write(&file, serde_json::json!({ "devices": fleet.devices() }).to_string()).unwrap();
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let baseline = home.dir.join("site.toml");
    std::fs::write(
        &baseline,
        "[baseline]\nname = \"rotation\"\nversion = \"1\"\ntitle = \"Rotation policy\"\nextends = \"hikvision-hardening\"\n\n[site]\nntp_servers = [\"192.0.2.1\"]\nmanagement_hosts = [\"127.0.0.1\"]\nunique_passwords = true\npassword_max_age_days = 30\n",
    )
    .unwrap();
    let b = baseline.to_str().unwrap();
    let finding = |text: &str, control: &str| -> Vec<serde_json::Value> {
        lines(text)
            .into_iter()
            .filter(|l| l["type"] == "device")
            .map(|d| d["findings"].as_array().unwrap().iter().find(|f| f["control"] == control).cloned().unwrap())
            .collect()
    };

    let audit = home.run(&["audit", "--json", "--timeout", "10", "--baseline", b]).await;
    assert!(!audit.text.contains(SHARED), "the password is never shown");
    let unique = finding(&audit.text, "SITE-PW-UNIQUE");
    assert_eq!(unique.len(), 3);
    assert!(
        unique.iter().all(|f| f["status"] == "fail" && f["evidence"].as_str().unwrap().contains("2 other")),
        "{unique:?}"
    );
    assert!(finding(&audit.text, "SITE-PW-AGE").iter().all(|f| f["status"] == "pass"), "stored today");

    let run = home.run(&["apply", "--yes", "--json", "--timeout", "10", "--baseline", b]).await;
    assert!(run.ok && !run.text.contains(SHARED), "{}", run.text);
    let now: Vec<String> =
        fleet.cameras().iter().map(|c| c.state().account("admin").unwrap().password.clone()).collect();
    assert!(now.iter().all(|p| p != SHARED), "every camera rotated: {}", run.text);
    assert!(now[0] != now[1] && now[1] != now[2] && now[0] != now[2], "each its own");

    let audit = home.run(&["audit", "--json", "--timeout", "10", "--baseline", b]).await;
    assert!(finding(&audit.text, "SITE-PW-UNIQUE").iter().all(|f| f["status"] == "pass"), "{}", audit.text);
    let age = finding(&audit.text, "SITE-PW-AGE");
    assert!(
        age.iter().all(|f| f["status"] == "pass" && f["evidence"].as_str().unwrap().starts_with("rotated 0 day")),
        "{age:?}"
    );

    let again = home.run(&["apply", "--yes", "--json", "--timeout", "10", "--baseline", b]).await;
    let after: Vec<String> =
        fleet.cameras().iter().map(|c| c.state().account("admin").unwrap().password.clone()).collect();
    assert_eq!(after, now, "the second apply rotates nothing: {}", again.text);

    // The handover says when each password was set, and how.
    let sealed = home.dir.join("handover.age");
    let sealed = sealed.to_str().unwrap();
    let pass = ("HANDOVER_PASS", "rotation handover 2026");
    let made =
        crate::report::run_env(&home, &["handover", "--out", sealed, "--passphrase-env", pass.0], pass.0, pass.1).await;
    assert!(made.ok, "{}", made.text);
    let opened =
        crate::report::run_env(&home, &["handover", "open", sealed, "--passphrase-env", pass.0], pass.0, pass.1).await;
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(opened.text.matches(&format!("{today} rotated")).count(), 3, "{}", opened.text);
    drop(fleet);
}

/// Issue #15: on a live site a recorder logs in with its own account. `apply` never
/// deletes an account by itself: the plan names them and the step waits for
/// `--delete-accounts`; a kept account (`[site] keep_accounts`) is never deleted, and
/// the recorder logs in all through the run and after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_recorders_account_survives_apply_and_others_go_only_when_asked() {
    use portcullis_sim::state::{Account, WebLevel};
    let mut cfg = FleetConfig::for_tests(1, Profile::HikvisionCurrent);
    // The simulator's live site: the recorder's account comes with the camera.
    cfg.recorder = true;
    let fleet = Fleet::start(cfg).await.unwrap();
    let camera = fleet.camera(0).unwrap().clone();
    camera.state().accounts.push(Account {
        id: 6,
        username: "old-installer".into(),
        password: "Inst4ll-Pass!".into(),
        web_level: Some(WebLevel::Operator),
        onvif_level: None,
        onvif_id: 0,
    });
    let device = fleet.devices()[0].clone();
    // The recorder: logs in with its account every 300 ms while the run goes on, over
    // HTTP and, once the baseline has switched HTTP off, over HTTPS, as a recorder
    // re-pointed at the hardened camera would. Counted as it goes, so that the logins
    // after the run can be told from those before it.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let logged_in = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let recorder = {
        let (stop, logged_in) = (stop.clone(), logged_in.clone());
        let bases = [
            format!("http://{}:{}", device.address, device.http_port.unwrap()),
            format!("https://{}:{}", device.address, device.https_port.unwrap()),
        ];
        let password = device.recorder_password.clone().expect("the fleet's recorder account");
        tokio::spawn(async move {
            let (mut base, mut refused) = (0, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let client = portcullis_core::driver::http::client(std::time::Duration::from_secs(5)).unwrap();
                let creds = portcullis_core::secret::Credentials::new("nvr-recorder", password.clone());
                let guard = client.guards.of(&device.address.to_string());
                let session = portcullis_core::driver::http::HttpSession::new(
                    client,
                    bases[base].clone(),
                    Some(creds),
                    guard,
                    portcullis_core::driver::Timings::reads_and_writes(std::time::Duration::from_secs(5)),
                );
                match session.call("GET", "/ISAPI/System/deviceInfo", None).await {
                    Ok(a) if a.status == 200 => {
                        logged_in.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                    // A scheme switched off, or the camera restarting: not a refused login.
                    Ok(_)
                    | Err(
                        portcullis_core::error::Error::Unreachable { .. }
                        | portcullis_core::error::Error::Timeout { .. },
                    ) => base = 1 - base,
                    Err(e) => refused.push(e.to_string()),
                }
                tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            }
            refused
        })
    };
    let home = Home::new("recorder");
    let file = home.dir.join("fleet.json");
    std::fs::write(&file, serde_json::json!({ "devices": fleet.devices() }).to_string()).unwrap();
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let baseline = home.dir.join("site.toml");
    std::fs::write(
        &baseline,
        "[baseline]\nname = \"live\"\nversion = \"1\"\ntitle = \"A live site\"\nextends = \"hikvision-hardening\"\n\n[site]\nntp_servers = [\"192.0.2.1\"]\nmanagement_hosts = [\"127.0.0.1\"]\nkeep_accounts = [\"nvr-*\"]\n",
    )
    .unwrap();
    let b = baseline.to_str().unwrap();

    // Without the choice: the step names the account to delete and waits.
    let plan = home.run(&["plan", "--json", "--timeout", "10", "--baseline", b]).await;
    assert!(plan.text.contains("delete the accounts old-installer"), "{}", plan.text);
    assert!(!plan.text.contains("delete the accounts nvr-recorder"), "kept: {}", plan.text);
    let run = home.run(&["apply", "--yes", "--json", "--timeout", "10", "--baseline", b]).await;
    assert!(run.ok, "{}", run.text);
    assert!(camera.state().account("old-installer").is_some(), "not without --delete-accounts");

    // With it: the named account goes, the kept one stays.
    let run = home.run(&["apply", "--yes", "--json", "--timeout", "10", "--delete-accounts", "--baseline", b]).await;
    assert!(run.ok, "{}", run.text);
    assert!(camera.state().account("old-installer").is_none(), "{}", run.text);
    assert!(camera.state().account("nvr-recorder").is_some(), "the recorder's account is kept");
    // And the audit no longer counts the kept account as extra.
    let audit = home.run(&["audit", "--json", "--timeout", "10", "--baseline", b]).await;
    let device_line = lines(&audit.text).into_iter().find(|l| l["type"] == "device").unwrap();
    let users = device_line["findings"].as_array().unwrap().iter().find(|f| f["setting"] == "account.users").cloned();
    assert_eq!(users.as_ref().map(|f| f["status"].clone()), Some(serde_json::json!("pass")), "{users:?}");

    let during_the_run = logged_in.load(std::sync::atomic::Ordering::Relaxed);
    // Long enough for three attempts, one of which may go to the scheme that is off.
    tokio::time::sleep(std::time::Duration::from_millis(1000)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let refused = recorder.await.unwrap();
    let after_it = logged_in.load(std::sync::atomic::Ordering::Relaxed) - during_the_run;
    assert!(refused.is_empty(), "the recorder's login was never refused: {refused:?}");
    assert!(during_the_run > 3, "the recorder kept logging in during the run: {during_the_run}");
    assert!(after_it > 0, "and after it");
    drop(fleet);
}

/// Issue #15: the site's service accounts. A site baseline names a recorder's account
/// with its role; apply makes it on a Hikvision and an ONVIF camera, each with its own
/// generated password (vault first, proven by the account's own login), with no more
/// privilege than the role; a second apply changes nothing; `--rotate-passwords` gives
/// each a new one; the service-account handover carries them and no admin password;
/// a password a crash left pending is resolved by `recover`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_sites_service_accounts_are_made_rotated_on_demand_and_handed_over() {
    use portcullis_core::secret::{Credentials, Secret};
    use portcullis_core::vault::{FileVault, Scope, Vault};
    use portcullis_sim::state::{OnvifLevel, WebLevel};
    let mut cfg = FleetConfig::for_tests(2, Profile::HikvisionCurrent);
    cfg.cameras =
        vec![portcullis_sim::CameraConfig { index: 1, profile: Some(Profile::GenericOnvif), ..Default::default() }];
    let fleet = Fleet::start(cfg).await.unwrap();
    let cameras = [fleet.camera(0).unwrap().clone(), fleet.camera(1).unwrap().clone()];
    let home = Home::new("service-accounts");
    let file = home.dir.join("fleet.json");
    let devices = fleet.devices();
    std::fs::write(&file, serde_json::json!({ "devices": devices }).to_string()).unwrap();
    let imported = home.run(&["inventory", "import", file.to_str().unwrap()]).await;
    assert!(imported.ok && imported.text.contains("2 device"), "{}", imported.text);
    let baseline = home.dir.join("site.toml");
    std::fs::write(
        &baseline,
        "[baseline]\nname = \"recorded\"\nversion = \"1\"\ntitle = \"A recorded site\"\nextends = \"hikvision-hardening\"\n\n\
         [site]\nntp_servers = [\"192.0.2.1\"]\nmanagement_hosts = [\"127.0.0.1\"]\n\n\
         [[site.service_accounts]]\nname = \"nvr-rec\"\nrole = \"viewer\"\n",
    )
    .unwrap();
    let b = baseline.to_str().unwrap();
    let service_findings = |text: &str| -> Vec<serde_json::Value> {
        lines(text)
            .into_iter()
            .filter(|l| l["type"] == "device")
            .filter_map(|d| d["findings"].as_array().unwrap().iter().find(|f| f["control"] == "SITE-SVC").cloned())
            .collect()
    };
    let passwords = || -> Vec<String> {
        cameras.iter().map(|c| c.state().account("nvr-rec").map(|a| a.password.clone()).unwrap_or_default()).collect()
    };

    let audit = home.run(&["audit", "--json", "--timeout", "10", "--baseline", b]).await;
    let svc = service_findings(&audit.text);
    assert!(svc.len() == 2 && svc.iter().all(|f| f["status"] == "fail"), "{svc:?} {}", audit.text);

    let run = home.run(&["apply", "--yes", "--json", "--timeout", "10", "--baseline", b]).await;
    assert!(run.ok, "{}", run.text);
    let made = passwords();
    assert!(made.iter().all(|p| !p.is_empty()), "made on both: {}", run.text);
    assert_ne!(made[0], made[1], "each its own password");
    let hik_account = cameras[0].state().account("nvr-rec").cloned().unwrap();
    assert_eq!(hik_account.web_level, Some(WebLevel::Viewer), "least privilege on the web");
    assert_eq!(hik_account.onvif_level, Some(OnvifLevel::User), "and on its ONVIF twin");
    assert_eq!(cameras[1].state().account("nvr-rec").unwrap().onvif_level, Some(OnvifLevel::User));
    assert!(!run.text.contains(&made[0]) && !run.text.contains(&made[1]), "never printed");

    // The account logs in with what the vault holds, as a recorder would.
    // One handle for the whole test, beside the CLI's processes: it must see their writes.
    let vault = Vault::new(
        Box::new(FileVault::new(home.dir.join("vault.age"), Secret::new("integration tests only"))),
        &home.dir,
    );
    for (i, device) in devices.iter().enumerate() {
        let held = vault.lookup_scope(&Scope::Service(device.address.to_string()), "nvr-rec").unwrap().unwrap();
        assert_eq!(held.password.expose(), made[i], "the vault holds the device's");
    }

    let audit = home.run(&["audit", "--json", "--timeout", "10", "--baseline", b]).await;
    assert!(service_findings(&audit.text).iter().all(|f| f["status"] == "pass"), "{}", audit.text);
    let again = home.run(&["apply", "--yes", "--json", "--timeout", "10", "--baseline", b]).await;
    assert_eq!(passwords(), made, "a second apply changes nothing: {}", again.text);

    let rotate =
        home.run(&["apply", "--yes", "--json", "--timeout", "10", "--rotate-passwords", "--baseline", b]).await;
    assert!(rotate.ok, "{}", rotate.text);
    let rotated = passwords();
    assert!(rotated.iter().zip(&made).all(|(new, old)| new != old && !new.is_empty()), "{}", rotate.text);
    let history = lines(&home.run(&["history", "--json"]).await.text);
    let verified =
        history.iter().filter(|r| r["setting"] == "account.service" && r["outcome"]["state"] == "verified").count();
    assert_eq!(verified, 4, "made and rotated on each, every one recorded and proven");
    // The customer's report says which account rotated when.
    let report = home.dir.join("report.json");
    let made_report = home.run(&["report", "--format", "json", "--out", report.to_str().unwrap()]).await;
    assert!(made_report.ok, "{}", made_report.text);
    let report = std::fs::read_to_string(&report).unwrap();
    assert_eq!(report.matches("nvr-rec (viewer) rotated").count(), 2, "both rotations, with their times");
    assert!(!rotated.iter().any(|p| report.contains(p.as_str())), "never a password");

    // The recorder's operator gets the service accounts, and no admin password.
    let sealed = home.dir.join("service.age");
    let sealed = sealed.to_str().unwrap();
    let pass = ("HANDOVER_PASS", "recorder handover 2026");
    let args = ["handover", "--service-accounts", "--out", sealed, "--passphrase-env", pass.0];
    let out = crate::report::run_env(&home, &args, pass.0, pass.1).await;
    assert!(out.ok, "{}", out.text);
    let opened =
        crate::report::run_env(&home, &["handover", "open", sealed, "--passphrase-env", pass.0], pass.0, pass.1).await;
    for p in &rotated {
        assert!(opened.text.contains(p.as_str()), "{}", opened.text);
    }
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    assert_eq!(opened.text.matches(&format!("{today} rotated")).count(), 2, "{}", opened.text);
    for c in &cameras {
        let admin = c.state().account("admin").unwrap().password.clone();
        assert!(!opened.text.contains(&admin), "no admin password in the recorder's handover");
    }

    // A crash after the camera took a new password, before the vault heard: recover
    // proves it by the account's own login and makes it the account's entry.
    let taken = "Rec0rder-After!9";
    cameras[0].state().account_mut("nvr-rec").unwrap().password = taken.into();
    let address = devices[0].address.to_string();
    vault.set(Scope::ServicePending(address.clone()), &Credentials::new("nvr-rec", taken)).unwrap();
    let recovered = home.run(&["recover", "--json", "--timeout", "10"]).await;
    assert!(recovered.ok, "{}", recovered.text);
    let held = vault.lookup_scope(&Scope::Service(address.clone()), "nvr-rec").unwrap().unwrap();
    assert_eq!(held.password.expose(), taken, "{}", recovered.text);
    assert!(vault.service_pending().unwrap().is_empty());
    drop(fleet);
}
