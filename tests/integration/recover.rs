//! Interrupted applies: `recover` after a crash (each gap of the rotation journal),
//! Ctrl-C between steps, and the login budget across recovery and the apply's own login.

use portcullis_core::secret::Credentials;
use portcullis_core::vault::Scope;

use crate::apply::{apply, lines, summary, vault, SITE};
use crate::inventory::mixed_fleet;
use crate::Home;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_resolves_rotations_a_crash_interrupted_either_way() {
    let (fleet, file) = mixed_fleet(3).await;
    let home = Home::new("recover");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let (took, kept) = (fleet.camera(0).unwrap(), fleet.camera(1).unwrap());
    let v = vault(&home);
    // Crashed after the device took the new password, before the vault was told.
    let landed = "Landed-Pw-7788#";
    v.set(Scope::Pending(took.address().to_string()), &Credentials::new("admin", landed)).unwrap();
    took.state().account_mut("admin").unwrap().password = landed.into();
    // Crashed before the device was touched.
    let old = kept.state().account("admin").unwrap().password.clone();
    v.set(Scope::Pending(kept.address().to_string()), &Credentials::new("admin", "Never-Sent-5544#")).unwrap();

    // The CLI, like the app, keeps what a rotating camera may still log in with.
    let forget = home.run(&["creds", "forget", "--device", &took.address().to_string()]).await;
    assert!(!forget.ok && forget.text.contains("rotation is unresolved"), "{}", forget.text);

    let refused = |i: usize| fleet.camera(i).unwrap().state().refused_logins;
    let o = home.run(&["recover", "--json"]).await;
    assert!(!o.ok, "a rotation is still pending, and the exit status says so: {}", o.text);
    let done = lines(&o.text);
    let kept_of = |done: &[serde_json::Value], a: String| {
        done.iter().find(|r| r["device"] == a).map(|r| r["kept"].clone()).unwrap()
    };
    assert_eq!(kept_of(&done, took.address().to_string()), "new");
    // The new password is refused: that is this run's one refused login on the device,
    // so the old one waits for the next run.
    assert_eq!(kept_of(&done, kept.address().to_string()), "pending", "{}", o.text);
    assert_eq!((refused(0), refused(1)), (1, 1), "the proof that the old password is gone, and the new one refused");
    let o2 = home.run(&["recover", "--json"]).await;
    assert!(o2.ok, "{}", o2.text);
    assert_eq!(kept_of(&lines(&o2.text), kept.address().to_string()), "old", "{}", o2.text);
    assert_eq!(refused(1), 1, "the second run starts with the old password, which logs in");
    let v = vault(&home);
    assert!(v.pending_devices().unwrap().is_empty());
    let label = |i: usize| format!("{}:{}", fleet.devices()[i].address, fleet.devices()[i].http_port.unwrap());
    assert_eq!(v.lookup(&label(0), None).unwrap().unwrap().password.expose(), landed);
    assert_eq!(v.lookup(&label(1), None).unwrap().unwrap().password.expose(), old);
    for cam in [took, kept] {
        assert!(cam.state().failures.values().all(|f| f.locked_until.is_none()));
    }
    for text in [&o.text, &o2.text] {
        assert!(!text.contains(landed) && !text.contains("Never-Sent-5544#"));
    }
    assert!(home.run(&["history", "verify"]).await.ok);
    drop(fleet);
}

/// A crash in any gap of a password change's journal (intent → pending entry → device →
/// decision recorded → vault) is finished by the next `recover`: nothing stays open,
/// nothing is recorded twice, and a decision the history holds costs no refused login.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recover_finishes_each_gap_of_the_journal_from_the_history() {
    use portcullis_core::history::{Change, History, Outcome};
    use portcullis_core::setting::Setting;
    let (fleet, file) = mixed_fleet(3).await;
    let home = Home::new("journal");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let label = |i: usize| format!("{}:{}", fleet.devices()[i].address, fleet.devices()[i].http_port.unwrap());
    let address = |i: usize| fleet.devices()[i].address.to_string();
    let old: Vec<String> =
        (0..3).map(|i| fleet.camera(i).unwrap().state().account("admin").unwrap().password.clone()).collect();
    let v = vault(&home);
    for (i, password) in old.iter().enumerate() {
        v.set(Scope::Device(label(i)), &Credentials::new("admin", password)).unwrap();
    }
    let history = History::open(&home.dir, v.history_key().unwrap()).unwrap();
    let record = |i: usize, outcome: Outcome, entry: Option<String>| {
        let change = Change {
            operator: "crashed run".into(),
            device: label(i),
            site: None,
            control: None,
            setting: Setting::AccountPassword,
            before: None,
            after: None,
            outcome,
            vault_entry: entry,
        };
        history.append(change, "2026-12-04T00:00:00Z").unwrap();
    };
    let pending = |i: usize| Scope::Pending(address(i));
    // 0: stopped after the intent, before the pending entry was stored.
    record(0, Outcome::Intent, Some(pending(0).entry_name("admin")));
    // 1: the device took the new password and the decision was recorded; the vault had not followed.
    let landed = "Landed-Pw-7788#";
    record(1, Outcome::Intent, Some(pending(1).entry_name("admin")));
    v.set(pending(1), &Credentials::new("admin", landed)).unwrap();
    fleet.camera(1).unwrap().state().account_mut("admin").unwrap().password = landed.into();
    record(1, Outcome::Verified, Some(Scope::Device(address(1)).entry_name("admin")));
    // 2: the device kept the old one, as recorded; the pending entry was not dropped yet.
    record(2, Outcome::Intent, Some(pending(2).entry_name("admin")));
    v.set(pending(2), &Credentials::new("admin", "Refused-Pw-1234#")).unwrap();
    record(2, Outcome::RolledBack { reason: "the device kept the old password".into() }, None);
    drop(history);

    let o = home.run(&["recover", "--json"]).await;
    assert!(o.ok, "{}", o.text);
    let kept: Vec<String> = (0..3)
        .map(|i| {
            lines(&o.text).iter().find(|r| r["device"] == address(i)).map(|r| r["kept"].to_string()).unwrap_or_default()
        })
        .collect();
    assert_eq!(kept, ["\"old\"", "\"new\"", "\"old\""], "{}", o.text);
    let refused: Vec<u32> = (0..3).map(|i| fleet.camera(i).unwrap().state().refused_logins).collect();
    // Only device 1 is proven by logging in: the new password, then the old one (refused: gone).
    assert_eq!(refused, [0, 1, 0]);
    let v = vault(&home);
    assert!(v.pending_devices().unwrap().is_empty());
    assert_eq!(v.lookup(&label(1), None).unwrap().unwrap().password.expose(), landed);
    for i in [0, 2] {
        assert_eq!(v.lookup(&label(i), None).unwrap().unwrap().password.expose(), old[i]);
        assert_eq!(fleet.camera(i).unwrap().state().account("admin").unwrap().password, old[i]);
    }
    let history = History::open(&home.dir, v.history_key().unwrap()).unwrap();
    assert!(portcullis_core::apply::interrupted::open_intents(&history).unwrap().is_empty());
    let outcomes = |i: usize| -> Vec<String> {
        let all = history.all().unwrap();
        all.iter()
            .filter(|r| r.change.device == label(i))
            .map(|r| r.change.outcome.kind().as_str().to_string())
            .collect()
    };
    assert_eq!(outcomes(0), ["intent", "rolled_back"]);
    assert_eq!(outcomes(1), ["intent", "verified"], "the decision is not recorded twice");
    assert_eq!(outcomes(2), ["intent", "rolled_back"]);
    drop(history);
    assert!(home.run(&["history", "verify"]).await.ok);
    drop(fleet);
}

/// One refused login per device per run, whatever the path: a run that recovers a
/// rotation with a wrong pending password, then logs in with a wrong stored one, and
/// reads in parallel, draws one refusal from the camera and withholds the rest.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_refused_login_per_device_per_run_whatever_the_path() {
    let (fleet, file) = mixed_fleet(3).await;
    let home = Home::new("one-refusal");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let cam = fleet.camera(0).unwrap();
    let label = format!("{}:{}", fleet.devices()[0].address, fleet.devices()[0].http_port.unwrap());
    let v = vault(&home);
    v.set(Scope::Pending(cam.address().to_string()), &Credentials::new("admin", "Wrong-Pending-1#")).unwrap();
    v.set(Scope::Device(label.clone()), &Credentials::new("admin", "Wrong-Stored-2#")).unwrap();
    let refused = || cam.state().refused_logins;

    let audit = home.run(&["audit", "--json", "--timeout", "5"]).await;
    assert_eq!(refused(), 1, "audit: {}", audit.text);
    let run = apply(&home, &[]).await;
    assert_eq!(refused(), 2, "apply (recover, then its own login): one more, not three:\n{}", run.text);
    assert!(run.text.contains("not trying admin"), "the withheld login is said: {}", run.text);
    assert!(cam.state().failures.values().all(|f| f.locked_until.is_none()));
    // The other devices were not held back by this one.
    let s = summary(&run.text);
    assert!(s["verified"].as_u64().unwrap() > 0, "{s}");
    drop(fleet);
}

/// Ctrl-C (SIGINT) stops `apply` cleanly: the steps in hand finish and are recorded, no
/// device or step starts after it, every intent has its outcome, and the next apply
/// finishes the job.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_stops_apply_between_steps_and_the_next_run_finishes() {
    let (fleet, file) = mixed_fleet(5).await;
    let home = Home::new("apply-ctrl-c");
    assert!(home.run(&["inventory", "import", file.to_str().unwrap()]).await.ok);
    let out = home.dir.join("first-run.jsonl");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
        .args(["apply", "--yes", "--json", "--timeout", "5", "--concurrency", "2"])
        .args(SITE)
        .env("PORTCULLIS_HOME", &home.dir)
        .env("PORTCULLIS_VAULT", "file")
        .env("PORTCULLIS_VAULT_PASSPHRASE", "integration tests only")
        .stdin(std::process::Stdio::null())
        .stdout(std::fs::File::create(&out).unwrap())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    let text = tokio::task::spawn_blocking(move || {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        // Interrupt once the first step is done.
        while !std::fs::read_to_string(&out).unwrap_or_default().contains("\"step_done\"") {
            assert!(std::time::Instant::now() < deadline, "no step finished");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        std::process::Command::new("kill").args(["-INT", &pid]).status().unwrap();
        let status = child.wait().unwrap();
        assert!(status.code().is_some(), "it exits by itself, not by the signal");
        std::fs::read_to_string(&out).unwrap()
    })
    .await
    .unwrap();
    let s = summary(&text);
    assert!(s["cancelled"].as_u64().unwrap() >= 1, "{text}");
    assert_eq!(s["failed"].as_u64(), Some(0), "{text}");
    let history = home.run(&["history", "--json"]).await;
    let mut open = std::collections::HashSet::new();
    for r in lines(&history.text) {
        let key = (r["device"].to_string(), r["setting"].to_string());
        if r["outcome"]["state"] == "intent" {
            open.insert(key);
        } else {
            open.remove(&key);
        }
    }
    assert!(open.is_empty(), "a step was cut in half: {open:?}");
    assert!(home.run(&["history", "verify"]).await.ok);
    let second = apply(&home, &[]).await;
    let s2 = summary(&second.text);
    assert_eq!((s2["failed"].as_u64(), s2["cancelled"].as_u64()), (Some(0), Some(0)), "{}", second.text);
    assert_eq!(s2["problems"].as_u64(), Some(0), "{}", second.text);
    drop(fleet);
}
