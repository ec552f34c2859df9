//! The commands through Tauri's IPC on the mock runtime (no display needed): the demo
//! site end to end (discover, audit, plan, apply, history), errors as `{code,
//! message}`, and no secret in any response.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};

use common::call;

use portcullis_desktop::picker::{Picking, PresetPicks};
use portcullis_desktop::session::AppState;
use serde_json::{json, Value};
use tauri::test::{mock_builder, mock_context, noop_assets, MockRuntime};
use tauri::{Listener, WebviewWindow, WebviewWindowBuilder};

fn app_with(state: AppState) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    app_with_picks(state, Picking::native())
}

/// The app with its file dialogs answered from `picking` (set here, on the Rust side).
fn app_with_picks(state: AppState, picking: Picking) -> (tauri::App<MockRuntime>, WebviewWindow<MockRuntime>) {
    let app = portcullis_desktop::app_builder_with(mock_builder(), state, picking)
        .build(mock_context(noop_assets()))
        .unwrap();
    let webview = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    (app, webview)
}

#[test]
fn without_a_data_directory_commands_fail_with_a_code() {
    let (_app, w) = app_with(AppState::new(None, None));
    let e = call(&w, "list_devices", json!({})).unwrap_err();
    assert_eq!(e["code"], "no_session", "{e}");
    assert!(e["message"].as_str().unwrap().contains("PORTCULLIS_HOME"));
    // Commands that need no session still answer.
    let b = call(&w, "baselines", json!({})).unwrap();
    let names: Vec<&str> = b.as_array().unwrap().iter().map(|x| x["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["hikvision-hardening", "onvif-baseline"]);
    assert!(b[0]["controls"][0]["nist_csf_2"].as_array().is_some_and(|m| !m.is_empty()));
}

#[test]
fn data_that_could_not_be_opened_says_why_instead_of_showing_an_empty_site() {
    let (_app, w) =
        app_with(AppState::without_user_data("the vault passphrase must have at least 12 characters".into()));
    let e = call(&w, "list_devices", json!({})).unwrap_err();
    assert_eq!(e["code"], "no_session", "{e}");
    assert!(e["message"].as_str().unwrap().contains("vault passphrase must have at least 12 characters"), "{e}");
}

#[test]
fn demo_site_end_to_end_through_ipc() {
    let demo = tauri::async_runtime::block_on(portcullis_desktop::demo::start()).unwrap();
    // The fleet's passwords, straight from the vault: none may appear in any response.
    let labels: Vec<String> =
        demo.ws.store.all().unwrap().iter().filter_map(|d| d.target()).map(|t| t.label()).collect();
    let secrets: Vec<String> = labels
        .iter()
        .filter_map(|l| demo.ws.vault.lookup(l, None).unwrap())
        .map(|c| c.password.expose().to_string())
        .collect();
    assert!(secrets.len() >= 8, "the fleet's credentials are in the vault: {}", secrets.len());
    let vault = demo.ws.vault.clone();
    // The answers to the import's file dialogs below, in order (the last pair succeeds).
    let files = std::env::temp_dir().join(format!("pc-customer-ca-{}", std::process::id()));
    let (cert_path, key_path) = (files.join("ca.pem"), files.join("ca.key"));
    let (cert, key) = (Some(cert_path.clone()), Some(key_path.clone()));
    let picks = Arc::new(PresetPicks::new([cert.clone(), cert.clone(), cert.clone(), None, cert, key]));
    let (app, w) = app_with_picks(AppState::new(None, Some(demo)), Picking::preset(picks.clone()));
    let mut seen = String::new();
    let mut ok = |cmd: &str, args: Value| {
        let v = call(&w, cmd, args).unwrap_or_else(|e| panic!("{cmd}: {e}"));
        seen.push_str(&v.to_string());
        v
    };

    let info = ok("app_info", json!({}));
    assert_eq!(info["demo"], true);
    assert_eq!(info["devices"], 12);
    assert!(info["vault"].as_str().unwrap().contains("encrypted file"));

    let sightings = Arc::new(Mutex::new(Vec::<String>::new()));
    let s2 = sightings.clone();
    app.listen_any("discover-sighting", move |e| s2.lock().unwrap().push(e.payload().to_string()));
    let found = ok(
        "discover",
        json!({ "request": { "interfaces": ["eth0"], "scan": ["10.0.0.0/8"], "timeout_s": 1.0, "wsd": true, "sadp": true } }),
    );
    assert!(found["searched"].as_str().unwrap().starts_with("loopback only"), "{found}");
    assert!(!found["searched"].as_str().unwrap().contains("10.0.0.0"), "demo discovery ignores other ranges");
    assert!(found["devices"].as_u64().unwrap() >= 10, "{found}");
    assert!(!sightings.lock().unwrap().is_empty());
    for s in sightings.lock().unwrap().iter() {
        let v: Value = serde_json::from_str(s).unwrap();
        let a = v["address"].as_str().unwrap_or("127.0.0.1");
        assert!(a.starts_with("127."), "sighting off loopback: {s}");
    }

    let rows = ok("list_devices", json!({}));
    let rows = rows.as_array().unwrap().clone();
    assert_eq!(rows.len(), 12, "discovery merged into the imported devices");
    let ids: Vec<Value> = rows.iter().map(|r| r["id"].clone()).collect();

    let progress = Arc::new(Mutex::new(0u32));
    let p2 = progress.clone();
    app.listen_any("job-progress", move |_| *p2.lock().unwrap() += 1);
    let summary = ok("audit", json!({ "ids": ids }));
    assert_eq!(summary["devices"], 12, "{summary}");
    assert!(summary["site_score"].as_u64().is_some());
    assert_eq!(*progress.lock().unwrap(), 12);

    let rows = ok("list_devices", json!({}));
    assert!(rows.as_array().unwrap().iter().all(|r| r["audited"] == true));
    let inactive = rows.as_array().unwrap().iter().find(|r| r["activated"] == false).expect("a factory-new camera");
    assert_eq!(inactive["audit_error"]["code"], "not_activated");
    let failing = rows.as_array().unwrap().iter().find(|r| r["failing"].as_u64().unwrap_or(0) > 0).unwrap();

    let detail = ok("device_detail", json!({ "id": failing["id"] }));
    assert!(detail["findings"].as_array().unwrap().iter().any(|f| f["status"] == "fail" && f["evidence"] != ""));
    assert_eq!(detail["credentials"]["source"], "device");
    assert!(detail["credentials"].get("password").is_none());

    let plans = ok("plan", json!({ "ids": [failing["id"]] }));
    let steps = plans[0]["steps"].as_array().unwrap();
    assert!(!steps.is_empty());
    assert!(steps.iter().any(|s| s["phase"] == "backup"));
    // The demo's naming pattern gives the device a site name.
    let rename = steps.iter().find(|s| s["setting"] == "device.name").expect("a rename step");
    assert!(rename["to"].as_str().unwrap().starts_with("demo-"), "{rename}");
    // Accounts besides admin: named in the plan, and deleted only when the person ticks it.
    let all_ids: Vec<Value> = rows.as_array().unwrap().iter().map(|r| r["id"].clone()).collect();
    let account_steps = |plans: &Value| -> Vec<Value> {
        plans
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|p| p["steps"].as_array().unwrap().clone())
            .filter(|s| s["setting"] == "account.users")
            .collect()
    };
    let held = account_steps(&ok("plan", json!({ "ids": all_ids })));
    assert!(!held.is_empty(), "the demo has a camera with a forgotten account");
    assert!(held.iter().all(|s| s["blocked"].as_str().is_some_and(|b| b.contains("--delete-accounts"))), "{held:?}");
    let chosen = account_steps(&ok("plan", json!({ "ids": all_ids, "deleteAccounts": true })));
    assert!(
        chosen.iter().all(|s| s["blocked"].is_null() && s["action"].as_str().unwrap().contains("installer")),
        "{chosen:?}"
    );
    // Not through `ok`: the catalogue's rationale quotes the factory default (admin/12345),
    // which is also the legacy camera's password in the demo vault.
    let profiles = call(&w, "baselines", json!({})).unwrap();
    let ids: Vec<&str> = profiles[0]["controls"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert!(["SITE-NAME", "SITE-TZ", "SITE-NTP", "SITE-MGMT"].iter().all(|s| ids.contains(s)), "{ids:?}");

    let check = ok("verify_history", json!({}));
    assert_eq!((check["first_bad"].clone(), check["head"].clone()), (json!(null), json!("genesis")));

    // Apply the failing device's plan: steps reported as they finish, recorded in history.
    *progress.lock().unwrap() = 0;
    // A stop asked for before the run does not carry over into it: each apply has its own flag.
    ok("cancel_apply", json!({}));
    let applied = ok("apply", json!({ "ids": [failing["id"]] }));
    let dev = &applied["results"][0];
    assert!(dev["verified"].as_u64().unwrap() > 0, "{applied}");
    assert!(dev["error"].is_null(), "{applied}");
    assert_eq!((dev["cancelled"].clone(), applied["cancelled"].clone()), (json!(false), json!(0)), "{applied}");
    assert_eq!(
        (applied["devices"].clone(), applied["ok"].clone(), applied["problems"].clone()),
        (json!(1), json!(1), json!(0)),
        "{applied}"
    );
    assert!(*progress.lock().unwrap() >= dev["verified"].as_u64().unwrap() as u32);
    let history = ok("history", json!({ "device": failing["label"] }));
    assert!(history.as_array().unwrap().iter().any(|r| r["outcome"] == "verified"), "{history}");
    let check = ok("verify_history", json!({}));
    assert!(check["first_bad"].is_null() && check["records"].as_u64() > Some(0), "{check}");
    // Nothing audited since the apply: no drift to show yet.
    assert_eq!(ok("drift", json!({})), json!([]));
    assert!(check["records"].as_u64().unwrap() > 1);
    let rows = ok("list_devices", json!({}));
    let after = rows.as_array().unwrap().iter().find(|r| r["id"] == failing["id"]).unwrap();
    assert!(after["last_change"].is_string(), "{after}");
    assert_eq!(after["audited"], false, "the old audit no longer describes the device");
    // Audit again: fewer failing controls than before.
    ok("audit", json!({ "ids": [failing["id"]] }));
    let detail2 = ok("device_detail", json!({ "id": failing["id"] }));
    let fails = |d: &Value| d["findings"].as_array().unwrap().iter().filter(|f| f["status"] == "fail").count();
    assert!(fails(&detail2) < fails(&detail), "{} → {}", fails(&detail), fails(&detail2));
    // Issue #18: the demo's address plan moves its fourth camera to .204 of the /24; the
    // apply follows it there, and the inventory shows it at its new address.
    let moving =
        rows.as_array().unwrap().iter().find(|r| r["label"].as_str().unwrap().contains(".4:")).unwrap().clone();
    let plans = ok("plan", json!({ "ids": [moving["id"]] }));
    let step = plans[0]["steps"].as_array().unwrap().iter().find(|s| s["setting"] == "network.ipv4").cloned();
    let step = step.unwrap_or_else(|| panic!("no move in {plans}"));
    assert!(step["action"].as_str().unwrap().contains(".204/24"), "{step}");
    let applied = ok("apply", json!({ "ids": [moving["id"]] }));
    assert!(applied["results"][0]["error"].is_null(), "{applied}");
    let rows_after = ok("list_devices", json!({}));
    let labels: Vec<&str> = rows_after.as_array().unwrap().iter().filter_map(|r| r["label"].as_str()).collect();
    assert!(labels.iter().any(|l| l.contains(".204:")), "{labels:?}");
    assert!(!labels.iter().any(|l| l.contains(".0.4:") || l.ends_with(".4:20080")), "{labels:?}");

    // Reports from the audits and the history, written to the data directory.
    for format in ["json", "html", "pdf", "csv"] {
        let r = ok(
            "export_report",
            json!({ "request": { "format": format, "choose_location": false, "open_after": false } }),
        );
        let path = std::path::PathBuf::from(r["path"].as_str().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, r["bytes"].as_u64().unwrap());
        assert!(r["changes"].as_u64().unwrap() > 0 && r["history_intact"] == true, "{r}");
        assert!(std::fs::read_to_string(format!("{}.sha256", path.display()))
            .unwrap()
            .contains(r["file_sha256"].as_str().unwrap()));
        if format != "pdf" {
            let text = String::from_utf8_lossy(&bytes);
            assert!(secrets.iter().all(|s| !text.contains(s.as_str())), "a secret in the {format} report");
        }
    }
    let docx = json!({ "request": { "format": "docx", "choose_location": false, "open_after": false } });
    assert_eq!(call(&w, "export_report", docx).unwrap_err()["code"], "input");

    // The preview says what the report will: the whole site, the changes, the chain.
    let preview = ok("report_preview", json!({}));
    assert_eq!(preview["devices"], 12, "{preview}");
    assert!(preview["changes"].as_u64().unwrap() > 0 && preview["history_intact"] == true, "{preview}");
    assert_eq!(preview["failing"].as_array().unwrap().len(), 4);
    assert!(!preview["worst"].as_array().unwrap().is_empty());

    // The handover: a short passphrase is refused; a good one gets an age file that
    // opens with it and holds the vault's current passwords.
    let e = call(&w, "export_handover", json!({ "request": { "passphrase": "short", "site": null } })).unwrap_err();
    assert_eq!(e["code"], "input", "{e}");
    let phrase = "customer handover passphrase";
    let h = ok("export_handover", json!({ "request": { "passphrase": phrase, "site": null } }));
    assert_eq!(h["devices"], 12, "{h}");
    let cipher = std::fs::read(h["path"].as_str().unwrap()).unwrap();
    assert!(secrets.iter().all(|s| !String::from_utf8_lossy(&cipher).contains(s.as_str())));
    let plain = age::decrypt(&age::scrypt::Identity::new(phrase.to_string().into()), &cipher).unwrap();
    let plain = String::from_utf8(plain).unwrap();
    let current: Vec<String> =
        labels.iter().filter_map(|l| vault.lookup(l, None).unwrap()).map(|c| c.password.expose().to_string()).collect();
    assert!(current.iter().all(|p| plain.contains(p.as_str())), "every current password is in the handover");
    // For the recorder's operator: the service accounts only (the demo site has none),
    // and no admin password.
    let only = json!({ "request": { "passphrase": phrase, "site": null, "service_accounts_only": true } });
    let h = ok("export_handover", only);
    assert_eq!(h["service_accounts"], 0, "{h}");
    let cipher = std::fs::read(h["path"].as_str().unwrap()).unwrap();
    let plain = age::decrypt(&age::scrypt::Identity::new(phrase.to_string().into()), &cipher).unwrap();
    let plain = String::from_utf8(plain).unwrap();
    assert!(current.iter().all(|p| !plain.contains(p.as_str())), "no admin password: {plain}");

    // A factory-new camera is activated and, in the same run, audited and hardened: a
    // second plan has nothing left to do but what is blocked.
    let applied = ok("apply", json!({ "ids": [inactive["id"]] }));
    let dev = &applied["results"][0];
    assert!(dev["verified"].as_u64().unwrap() > 1, "activation and then its hardening: {applied}");
    ok("audit", json!({ "ids": [inactive["id"]] }));
    let again = ok("plan", json!({ "ids": [inactive["id"]] }));
    let left: Vec<&Value> = again[0]["steps"].as_array().unwrap().iter().filter(|s| s["blocked"].is_null()).collect();
    assert!(left.is_empty(), "{left:?}");
    // The handover action: asked for, the same device's password rotates, vault first.
    let before = vault.lookup(dev["device"].as_str().unwrap(), None).unwrap().unwrap();
    let rotate = ok("plan", json!({ "ids": [inactive["id"]], "rotatePasswords": true }));
    let steps = rotate[0]["steps"].as_array().unwrap();
    assert!(steps.iter().any(|s| s["setting"] == "account.password"), "{rotate}");
    let rotated = ok("apply", json!({ "ids": [inactive["id"]], "rotatePasswords": true }));
    assert_eq!(rotated["problems"], 0, "{rotated}");
    let after = vault.lookup(dev["device"].as_str().unwrap(), None).unwrap().unwrap();
    assert_ne!(before.password.expose(), after.password.expose(), "a new password, in the vault");

    // Nothing to apply: an error with its code, nothing changed.
    let e = call(&w, "apply", json!({ "ids": ["mac:no-such"] })).unwrap_err();
    assert_eq!(e["code"], "nothing_to_apply", "{e}");

    let e = call(&w, "device_detail", json!({ "id": "mac:no-such" })).unwrap_err();
    assert_eq!(e["code"], "not_found");

    // The site CA was created by the apply above, and the device's certificate pinned.
    let certs = ok("certificates", json!({}));
    assert!(certs["ca"]["subject"].as_str().unwrap().contains("Portcullis site CA"), "{certs}");
    assert!(!certs["pins"].as_array().unwrap().is_empty(), "{certs}");
    assert!(!certs.to_string().contains("PRIVATE KEY"));
    // Renewal is the engine's task too: nothing is due within a day; within ten years, the
    // pinned certificate is re-issued, installed and pinned anew.
    let e = call(&w, "renew_certificates", json!({ "days": 1 })).unwrap_err();
    assert_eq!(e["code"], "nothing_to_renew", "{e}");
    // Only certificates we installed are renewed; the others are pinned as first seen.
    let installed: Vec<&Value> =
        certs["pins"].as_array().unwrap().iter().filter(|p| p["origin"] == "installed").collect();
    let pin = (*installed.first().expect("the apply installed a certificate")).clone();
    let renewed = ok("renew_certificates", json!({ "days": 3650 }));
    let pinned = installed.len();
    assert_eq!((renewed["ok"].clone(), renewed["problems"].clone()), (json!(pinned), json!(0)), "{renewed}");
    let after = ok("certificates", json!({}));
    let pinned = after["pins"].as_array().unwrap().iter().find(|p| p["device"] == pin["device"]).unwrap();
    assert_ne!(pinned["fingerprint"], pin["fingerprint"], "a new certificate is pinned");

    // A device's own credentials: write-only too, and only for a device the inventory knows.
    let device_canary = "canary-Device-Pa55";
    let e = call(
        &w,
        "set_device_credentials",
        json!({ "credentials": { "device": "192.0.2.1:80", "username": "admin", "password": device_canary } }),
    )
    .unwrap_err();
    assert_eq!(e["code"], "not_found", "{e}");
    // Not the device audited below with the site's own baseline (this password is a
    // canary, not its own), and one the inventory knows now (one camera moved).
    let listed = ok("list_devices", json!({}));
    let some_label = listed
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|r| r["label"].as_str())
        .find(|l| *l != failing["label"].as_str().unwrap())
        .unwrap()
        .to_string();
    eprintln!("DEBUG some_label {some_label} failing {}", failing["label"]);
    ok(
        "set_device_credentials",
        json!({ "credentials": { "device": some_label, "username": "admin", "password": device_canary } }),
    );
    assert_eq!(vault.lookup(&some_label, None).unwrap().unwrap().password.expose(), device_canary);

    // Write-only credentials: stored, listed by name, never returned.
    let canary = "canary-Site-Pa55";
    let r =
        ok("set_site_credentials", json!({ "credentials": { "site": "demo", "username": "ops", "password": canary } }));
    assert_eq!(r, Value::Null);
    let entries = ok("vault_entries", json!({}));
    assert!(entries.as_array().unwrap().iter().any(|e| e["scope"] == "site" && e["name"] == "demo"));
    let e =
        call(&w, "set_site_credentials", json!({ "credentials": { "site": "", "username": "x", "password": "y" } }))
            .unwrap_err();
    assert_eq!(e["code"], "input");

    // The demo site comes with its parameters; a bad one is refused with its field named.
    let mut settings = ok("get_settings", json!({}));
    assert_eq!(settings["management_hosts"], json!(["127.0.0.1"]), "{settings}");
    settings["time_zone"] = json!("Europe/Paris");
    let e = call(&w, "set_settings", json!({ "settings": settings.clone() })).unwrap_err();
    assert_eq!(e["code"], "input", "{e}");
    assert!(e["message"].as_str().unwrap().contains("time_zone"), "{e}");
    settings["time_zone"] = json!("CET-1");
    settings["concurrency"] = json!(4);
    ok("set_settings", json!({ "settings": settings.clone() }));
    assert_eq!(ok("get_settings", json!({}))["concurrency"], 4);
    // Accounts the site keeps: shown before apply, and never in a plan to delete, even
    // from an audit read before the site said so.
    settings["keep_accounts"] = json!(["install*"]);
    ok("set_settings", json!({ "settings": settings.clone() }));
    assert_eq!(ok("kept_accounts", json!({})), json!(["install*"]));
    let kept = account_steps(&ok("plan", json!({ "ids": all_ids, "deleteAccounts": true })));
    assert!(kept.is_empty(), "{kept:?}");
    settings["keep_accounts"] = json!([]);
    ok("set_settings", json!({ "settings": settings }));

    // A site's own baseline file: errors name the line; a good one is used by audits
    // (its overrides and [site] table included) until cleared.
    let bad = "[baseline]\nname = \"x\"\nversion = \"1\"\ntitle = \"X\"\nextends = \"hikvision-hardening\"\n\n[[override]]\ncontrol = \"HIK-99\"\nenabled = false\n";
    let e = call(&w, "use_baseline_file", json!({ "file": { "name": "acme.toml", "text": bad } })).unwrap_err();
    assert_eq!(e["code"], "baseline", "{e}");
    assert!(e["message"].as_str().unwrap().starts_with("acme.toml:8:"), "{e}");
    let good = bad.replace("HIK-99", "HIK-23") + "\n[site]\nname = \"acme\"\ndevice_name = \"{site}-cam-{n}\"\n";
    // (`call`, not `ok`: the catalogue quotes admin/12345, the legacy camera's password.)
    let list = call(&w, "use_baseline_file", json!({ "file": { "name": "acme.toml", "text": good } })).unwrap();
    assert_eq!((list[0]["name"].clone(), list[0]["active"].clone()), (json!("x"), json!(true)), "{list}");
    let ids: Vec<&str> = list[0]["controls"].as_array().unwrap().iter().filter_map(|c| c["id"].as_str()).collect();
    assert!(!ids.contains(&"HIK-23") && ids.contains(&"SITE-NAME"), "{ids:?}");
    let audited = ok("audit", json!({ "ids": [failing["id"]] }));
    assert_eq!(audited["devices"], 1, "{audited}");
    let detail = ok("device_detail", json!({ "id": failing["id"] }));
    assert!(detail["baseline"].as_str().is_some_and(|b| b.starts_with("x@1")), "{detail}");
    let list = call(&w, "clear_baseline_file", json!({})).unwrap();
    assert!(list.as_array().unwrap().iter().all(|b| b["source"] == "built-in"), "{list}");

    // Issue #18: the hardened camera as the site's baseline (a golden camera), from the
    // device screen: written, shown, and used only when the person says so.
    let golden = ok("baseline_from_device", json!({ "id": failing["id"], "keepWeaker": false }));
    let text = golden["text"].as_str().unwrap();
    assert!(text.contains(&format!("extends = \"{}\"", golden["extends"].as_str().unwrap())), "{text}");
    assert!(golden["as_built_in"].as_u64().unwrap() > 0 && golden["copied"].as_u64().is_some(), "{golden}");
    let in_use = call(&w, "baselines", json!({})).unwrap();
    assert!(in_use.as_array().unwrap().iter().all(|b| b["source"] == "built-in"), "nothing used yet");
    let list = call(&w, "use_baseline_file", json!({ "file": { "name": "golden.toml", "text": text } })).unwrap();
    assert_eq!((list[0]["name"].clone(), list[0]["active"].clone()), (json!("site"), json!(true)), "{list}");
    call(&w, "clear_baseline_file", json!({})).unwrap();

    // The customer's CA becomes the site CA: the files come from the shell's dialogs
    // (preset above), never from the webview; the key goes to the vault.
    let data_dir = std::path::PathBuf::from(info["data_dir"].as_str().unwrap());
    let (ca_pem, ca_key) = customer_ca();
    std::fs::create_dir_all(&files).unwrap();
    std::fs::write(&cert_path, &ca_pem).unwrap();
    std::fs::write(&key_path, &ca_key).unwrap();
    let request = |replace: bool| json!({ "request": { "replace": replace } });
    // Paths from the webview are refused before anything is read or asked.
    let named = json!({ "request": { "cert_path": cert_path, "key_path": key_path, "replace": true } });
    let e = call(&w, "import_site_ca", named).unwrap_err();
    assert!(e.to_string().contains("cert_path"), "{e}");
    // Replacing needs `replace` (the UI confirms first): refused before any dialog.
    let e = call(&w, "import_site_ca", request(false)).unwrap_err();
    assert_eq!(e["code"], "input", "{e}");
    assert!(e["message"].as_str().unwrap().contains("replacing"), "the apply above made a site CA: {e}");
    assert_eq!(picks.left(), 6, "no dialog opened");
    let e = call(&w, "import_site_ca", request(true)).unwrap_err();
    assert_eq!(e["code"], "input", "a certificate is no key: {e}");
    let e = call(&w, "import_site_ca", request(true)).unwrap_err();
    assert_eq!(e["code"], "cancelled", "the key's dialog closed without a choice: {e}");
    assert_eq!(picks.left(), 2);
    let kept = ok("certificates", json!({}));
    assert!(kept["ca"]["subject"].as_str().unwrap().contains("Portcullis site CA"), "nothing kept from a refusal");
    let imported = ok("import_site_ca", request(true));
    assert!(imported["ca"]["subject"].as_str().unwrap().contains("Customer Issuing CA"), "{imported}");
    assert_eq!(ok("certificates", json!({}))["ca"], imported["ca"]);
    let key_body: String = ca_key.lines().filter(|l| !l.starts_with("-----")).collect();
    assert!(
        !files_under(&data_dir).iter().any(|f| f.replace(['\n', '\r'], "").contains(&key_body)),
        "no key in a file"
    );
    let _ = std::fs::remove_dir_all(&files);

    let rotated: Vec<String> =
        labels.iter().filter_map(|l| vault.lookup(l, None).unwrap()).map(|c| c.password.expose().to_string()).collect();
    for s in secrets.iter().chain(&rotated).map(String::as_str).chain([canary, device_canary, key_body.as_str()]) {
        assert!(!seen.contains(s), "a secret crossed IPC");
    }
}

/// A customer's issuing CA: its certificate and its private key, PEM.
fn customer_ca() -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "Customer Issuing CA");
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    (params.self_signed(&key).unwrap().pem(), key.serialize_pem())
}

/// The text of every file under a directory (unreadable ones as empty).
fn files_under(dir: &std::path::Path) -> Vec<String> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(String::from_utf8_lossy(&std::fs::read(&path).unwrap_or_default()).into_owned());
        }
    }
    out
}

#[test]
fn the_demo_toggle_starts_the_site_and_switches_back_to_the_users_data() {
    let home = std::env::temp_dir().join(format!("pc-desktop-home-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&home);
    // Only this test reads PORTCULLIS_HOME (the demo never does). Opening the user's
    // data reads the history key from the vault: a file vault here (no keyring in CI's
    // test phase; the keyring tests run in a D-Bus session of their own).
    std::env::set_var("PORTCULLIS_HOME", &home);
    std::env::set_var("PORTCULLIS_VAULT", "file");
    std::env::set_var("PORTCULLIS_VAULT_PASSPHRASE", "desktop ipc tests only");
    let (_app, w) = app_with(AppState::new(None, None));
    assert_eq!(call(&w, "app_info", json!({})).unwrap_err()["code"], "no_session");
    let on = call(&w, "set_demo", json!({ "on": true })).unwrap();
    assert_eq!((on["demo"].clone(), on["devices"].clone()), (json!(true), json!(12)));
    assert_eq!(call(&w, "list_devices", json!({})).unwrap().as_array().unwrap().len(), 12);
    let off = call(&w, "set_demo", json!({ "on": false })).unwrap();
    assert_eq!(off["demo"], false);
    assert_eq!(off["data_dir"], home.display().to_string());
    assert_eq!(call(&w, "list_devices", json!({})).unwrap(), json!([]));
    // Back on: the same demo, still running.
    assert_eq!(call(&w, "set_demo", json!({ "on": true })).unwrap()["devices"], 12);
    let _ = std::fs::remove_dir_all(&home);
}

/// Issue #14: with the app's real ACL (its capability file), the webview may call our
/// commands but not the dialog plugin: it can neither open a dialog nor learn a path.
#[test]
fn the_webview_cannot_call_the_dialog_plugin() {
    let app = portcullis_desktop::app_builder_with(mock_builder(), AppState::new(None, None), Picking::native())
        .build(tauri::generate_context!())
        .unwrap();
    let w = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    assert!(call(&w, "baselines", json!({})).is_ok(), "our own commands pass the ACL");
    for name in ["open", "save", "message"] {
        let e = call(&w, &format!("plugin:dialog|{name}"), json!({ "options": {} })).unwrap_err().to_string();
        // Refused for want of a permission (the plugin is there; no capability grants it).
        assert!(e.contains(&format!("dialog.{name} not allowed. Permissions associated")), "{name}: {e}");
    }
}

/// Issue #16: what the CLI does with files, the window does through native dialogs,
/// the files read and written on the Rust side (a password in an inventory never passes
/// through the webview): a report saved where the person chooses and opened, then
/// verified from a file; an inventory and a credentials CSV imported; the site CA saved;
/// credentials forgotten (a device's or a site's only). A cancelled dialog changes nothing.
#[test]
fn files_are_chosen_in_native_dialogs_and_read_on_the_rust_side() {
    let demo = tauri::async_runtime::block_on(portcullis_desktop::demo::start()).unwrap();
    let dir = std::env::temp_dir().join(format!("pc-dialogs-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (report, altered, ca) = (dir.join("site report.json"), dir.join("altered.json"), dir.join("ca.pem"));
    let (inventory, creds) = (dir.join("new cameras.csv"), dir.join("creds.csv"));
    std::fs::write(&inventory, "address,http_port,username,password\n192.0.2.77,80,admin,Inv3ntory-Secret!\n").unwrap();
    std::fs::write(&creds, "address,http_port,username,password\n192.0.2.78,80,admin,Cr3ds-Secret!\n").unwrap();
    let picks = Arc::new(PresetPicks::new([
        None, // the first export: cancelled
        Some(report.clone()),
        Some(report.clone()),
        Some(altered.clone()),
        Some(inventory),
        Some(creds),
        Some(ca.clone()),
    ]));
    let vault = demo.ws.vault.clone();
    let (_app, w) = app_with_picks(AppState::new(None, Some(demo)), Picking::preset(picks.clone()));
    let ok = |cmd: &str, args: Value| call(&w, cmd, args).unwrap_or_else(|e| panic!("{cmd}: {e}"));
    let ids: Vec<Value> = ok("list_devices", json!({})).as_array().unwrap().iter().map(|r| r["id"].clone()).collect();
    ok("audit", json!({ "ids": ids }));

    let save = json!({ "request": { "format": "json", "choose_location": true, "open_after": true } });
    let e = call(&w, "export_report", save.clone()).unwrap_err();
    assert_eq!(e["code"], "cancelled", "{e}");
    assert!(!report.exists() && picks.opened().is_empty());
    let r = ok("export_report", save);
    assert_eq!(r["path"], report.display().to_string());
    assert!(report.exists() && dir.join("site report.json.sha256").exists());
    assert_eq!(picks.opened(), std::slice::from_ref(&report), "opened after export");
    let check = ok("verify_report", json!({}));
    assert!(check["ok"] == true && check["digest_ok"] == true && check["head_found"] == true, "{check}");
    let text = std::fs::read_to_string(&report).unwrap().replacen("\"devices\"", "\"devices \"", 1);
    std::fs::write(&altered, text).unwrap();
    let check = ok("verify_report", json!({}));
    assert!(check["ok"] == false && !check["problems"].as_array().unwrap().is_empty(), "{check}");

    let imported = ok("import_inventory", json!({ "site": null }));
    assert_eq!(
        (imported["devices"].as_u64(), imported["credentials_stored"].as_u64()),
        (Some(1), Some(1)),
        "{imported}"
    );
    assert_eq!(ok("import_credentials", json!({})), 1);
    let entries = ok("vault_entries", json!({}));
    let names = entries.to_string();
    assert!(names.contains("192.0.2.77:80") && names.contains("192.0.2.78:80"), "{names}");
    assert!(!names.contains("Inv3ntory-Secret!") && !names.contains("Cr3ds-Secret!"));

    let saved = ok("export_site_ca", json!({}));
    assert_eq!(saved, ca.display().to_string());
    assert!(std::fs::read_to_string(&ca).unwrap().contains("BEGIN CERTIFICATE"));

    // Not while a rotation on that device is unresolved: its old password may be the way in.
    let pending = portcullis_core::vault::Scope::Pending("192.0.2.78".into());
    vault.set(pending.clone(), &portcullis_core::secret::Credentials::new("admin", "Rotating-Now-1!")).unwrap();
    let forget = json!({ "request": { "scope": "device", "name": "192.0.2.78:80" } });
    assert_eq!(call(&w, "forget_credentials", forget.clone()).unwrap_err()["code"], "input");
    vault.forget(&pending, None).unwrap();
    let left = ok("forget_credentials", forget);
    assert!(!left.to_string().contains("192.0.2.78:80"), "{left}");
    for (scope, name) in [("pending", "192.0.2.77"), ("key", "history")] {
        let e = call(&w, "forget_credentials", json!({ "request": { "scope": scope, "name": name } })).unwrap_err();
        assert_eq!(e["code"], "input", "{scope}: {e}");
    }
    let e = call(&w, "forget_credentials", json!({ "request": { "scope": "site", "name": "nowhere" } })).unwrap_err();
    assert_eq!(e["code"], "not_found", "{e}");
    assert_eq!(picks.left(), 0, "every dialog was answered once");
    let _ = std::fs::remove_dir_all(&dir);
}
