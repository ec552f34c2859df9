//! `portcullis report` and `portcullis handover` from the real history of a simulated
//! site: import, audit, apply, audit again, then every report format, `report verify`,
//! and the handover round trip. The canary: no password the cameras have ever had
//! reaches any report, any output, or the handover's ciphertext; the decrypted handover
//! holds the passwords the cameras have now.

use portcullis_sim::{Fleet, FleetConfig, Profile};

use crate::{Home, Outcome, ALL_OUTPUT};

/// Run the binary like `Home::run`, with one more environment variable (a passphrase).
pub(crate) async fn run_env(home: &Home, args: &[&str], var: &str, value: &str) -> Outcome {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let (dir, var, value) = (home.dir.clone(), var.to_string(), value.to_string());
    tokio::task::spawn_blocking(move || {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_portcullis"))
            .args(&args)
            .env("PORTCULLIS_HOME", &dir)
            .env("PORTCULLIS_VAULT", "file")
            .env("PORTCULLIS_VAULT_PASSPHRASE", "integration tests only")
            .env(var, value)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        ALL_OUTPUT.lock().unwrap().push_str(&text);
        Outcome { ok: out.status.success(), code: out.status.code(), text }
    })
    .await
    .unwrap()
}

fn passwords(fleet: &Fleet) -> Vec<String> {
    fleet
        .cameras()
        .iter()
        .flat_map(|c| c.state().accounts.iter().map(|a| a.password.clone()).collect::<Vec<_>>())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_and_handover_from_a_simulated_site_without_leaking_a_password() {
    let mut cfg = FleetConfig::for_tests(3, Profile::HikvisionCurrent);
    cfg.profile = portcullis_sim::config::ProfileChoice::Mixed;
    let fleet = Fleet::start(cfg).await.unwrap();
    let home = Home::new("report");
    // The fleet file holds the factory passwords: it lives outside the home the canary searches.
    let file = std::env::temp_dir().join(format!("pc-fleet-report-{}.json", std::process::id()));
    std::fs::write(&file, serde_json::json!({ "generator": "portcullis-sim", "devices": fleet.devices() }).to_string())
        .unwrap();
    let mut canaries = passwords(&fleet);

    assert!(home.run(&["inventory", "import", file.to_str().unwrap(), "--site", "harbour"]).await.ok);
    let first = home.run(&["audit"]).await;
    assert!(first.ok, "{}", first.text);
    let apply = home
        .run(&[
            "apply",
            "--yes",
            "--management-host",
            "127.0.0.1",
            "--ntp-server",
            "ntp.site.example",
            "--operator",
            "j.doe",
        ])
        .await;
    let history = home.run(&["history", "--json"]).await;
    assert!(history.text.lines().count() > 0, "apply recorded nothing:\n{}\n{}", apply.text, history.text);
    assert!(home.run(&["audit"]).await.ok);
    canaries.extend(passwords(&fleet));
    canaries.sort();
    canaries.dedup();
    canaries.retain(|p| p.len() >= 6);
    assert!(!canaries.is_empty());

    // Every format, from the same history and audits.
    let out = home.dir.join("out");
    std::fs::create_dir_all(&out).unwrap();
    let mut files = Vec::new();
    for format in ["pdf", "html", "csv", "json"] {
        let f = out.join(format!("report.{format}"));
        let o = home.run(&["report", "--format", format, "--out", f.to_str().unwrap(), "--before-after"]).await;
        assert!(o.ok, "{format}: {}", o.text);
        assert!(f.exists() && std::fs::metadata(&f).unwrap().len() > 500, "{format}");
        let side = std::fs::read_to_string(out.join(format!("report.{format}.sha256"))).unwrap();
        assert!(side.ends_with(&format!("  report.{format}\n")), "{side}");
        files.push(f);
    }
    let json: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    assert_eq!(json["summary"]["devices"], 3);
    assert!(!json["audits"]["before"].as_array().unwrap().is_empty(), "no before/after comparison");
    assert!(!json["changes"].as_array().unwrap().is_empty(), "the change log is empty");
    let verify_head = home.run(&["history", "verify", "--json"]).await;
    let head: serde_json::Value = serde_json::from_str(verify_head.text.trim()).unwrap();
    assert_eq!(json["history"]["head"], head["head"]);

    // verify: the report checks out; an altered copy does not.
    let v = home.run(&["report", "verify", out.join("report.json").to_str().unwrap()]).await;
    assert!(v.ok && v.text.starts_with("OK"), "{}", v.text);
    let altered = out.join("altered.json");
    let text = std::fs::read_to_string(out.join("report.json")).unwrap();
    std::fs::write(&altered, text.replacen("\"operator\": \"", "\"operator\": \"x", 1)).unwrap();
    let bad = home.run(&["report", "verify", altered.to_str().unwrap()]).await;
    assert!(!bad.ok && bad.text.contains("altered"), "{}", bad.text);

    // Filters: one device, and a site with nothing in it.
    let f = out.join("one.json");
    let device = json["devices"][0]["target"].as_str().unwrap().to_string();
    assert!(home.run(&["report", "--format", "json", "--out", f.to_str().unwrap(), "--device", &device]).await.ok);
    let j: serde_json::Value = serde_json::from_slice(&std::fs::read(&f).unwrap()).unwrap();
    assert_eq!(j["devices"].as_array().unwrap().len(), 1);
    let none = home.run(&["report", "--format", "json", "--out", f.to_str().unwrap(), "--site", "elsewhere"]).await;
    assert!(!none.ok && none.text.contains("no audit"), "{}", none.text);

    // Handover: passphrase, then open to the terminal.
    let handover = out.join("handover.age");
    let o = run_env(
        &home,
        &["handover", "--out", handover.to_str().unwrap(), "--passphrase-env", "HANDOVER_PASS"],
        "HANDOVER_PASS",
        "customer handover 2026",
    )
    .await;
    assert!(o.ok, "{}", o.text);
    let cipher = std::fs::read(&handover).unwrap();
    assert!(cipher.starts_with(b"age-encryption.org/v1"));
    let opened = run_env(
        &home,
        &["handover", "open", handover.to_str().unwrap(), "--passphrase-env", "HANDOVER_PASS"],
        "HANDOVER_PASS",
        "customer handover 2026",
    )
    .await;
    assert!(opened.ok, "{}", opened.text);
    let now: Vec<String> = fleet
        .cameras()
        .iter()
        .filter_map(|c| c.state().accounts.iter().find(|a| a.username == "admin").map(|a| a.password.clone()))
        .collect();
    let activated: Vec<&String> = now.iter().filter(|p| !p.is_empty()).collect();
    assert!(!activated.is_empty());
    for p in &activated {
        assert!(opened.text.contains(p.as_str()), "the handover lacks a camera's current password");
    }
    // Opening to a file is the user's explicit choice; it is private to them.
    let plain = out.join("handover.txt");
    let o = run_env(
        &home,
        &[
            "handover",
            "open",
            handover.to_str().unwrap(),
            "--passphrase-env",
            "HANDOVER_PASS",
            "--out",
            plain.to_str().unwrap(),
        ],
        "HANDOVER_PASS",
        "customer handover 2026",
    )
    .await;
    assert!(o.ok, "{}", o.text);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&plain).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert!(std::fs::read_to_string(&plain).unwrap().contains(activated[0].as_str()));
    std::fs::remove_file(&plain).unwrap();
    // To a recipient key, opened with its identity file.
    let id = age::x25519::Identity::generate();
    let key_file = std::env::temp_dir().join(format!("pc-handover-key-{}.txt", std::process::id()));
    std::fs::write(&key_file, format!("# test key\n{}\n", age::secrecy::ExposeSecret::expose_secret(&id.to_string())))
        .unwrap();
    let to_key = out.join("handover-key.age");
    let recipient = id.to_public().to_string();
    let o = home.run(&["handover", "--out", to_key.to_str().unwrap(), "--recipient", &recipient]).await;
    assert!(o.ok, "{}", o.text);
    let by_key =
        home.run(&["handover", "open", to_key.to_str().unwrap(), "--identity", key_file.to_str().unwrap()]).await;
    assert!(by_key.ok && by_key.text.contains(activated[0].as_str()), "the recipient handover does not open");
    let _ = std::fs::remove_file(&key_file);
    let wrong = run_env(
        &home,
        &["handover", "open", handover.to_str().unwrap(), "--passphrase-env", "HANDOVER_PASS"],
        "HANDOVER_PASS",
        "not the passphrase!",
    )
    .await;
    assert!(!wrong.ok);

    // The canary, over every report, the ciphertext, every file in the home, and every
    // output except the decrypted handover's own.
    let mut outputs = ALL_OUTPUT.lock().unwrap().clone();
    outputs = outputs.replace(&opened.text, "").replace(&by_key.text, "");
    for pw in &canaries {
        assert!(!crate::shows_password(&outputs, pw), "a password reached the output");
        for f in files.iter().chain([&handover, &to_key]) {
            let bytes = std::fs::read(f).unwrap();
            assert!(!crate::shows_password(&String::from_utf8_lossy(&bytes), pw), "{} holds a password", f.display());
        }
        for f in crate::inventory::walk(&home.dir) {
            let bytes = std::fs::read(&f).unwrap();
            assert!(!crate::shows_password(&String::from_utf8_lossy(&bytes), pw), "{} holds a password", f.display());
        }
    }
    // PDF text too (its streams are compressed, so read it as a person would).
    if let Ok(t) = std::process::Command::new("pdftotext").arg(out.join("report.pdf")).arg("-").output() {
        let t = String::from_utf8_lossy(&t.stdout);
        assert!(t.contains("Camera security report"));
        for pw in &canaries {
            assert!(!t.contains(pw.as_str()), "the PDF holds a password");
        }
    }
    drop(fleet);
}
