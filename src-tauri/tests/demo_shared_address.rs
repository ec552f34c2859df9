//! The demo site where loopback holds only 127.0.0.1 (macOS): every camera at 127.0.0.1
//! on ports of its own, found by discovery without conflicts, audited, hardened and
//! audited again through IPC, each camera with its own vault entry and pin. Forced here
//! with `PORTCULLIS_DEMO_SHARED_ADDRESS=1` (its own test binary: the variable is read
//! when the demo starts, and no other test in this process starts one).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::call;
use portcullis_desktop::picker::Picking;
use portcullis_desktop::session::AppState;
use serde_json::{json, Value};
use tauri::test::{mock_builder, mock_context, noop_assets};
use tauri::WebviewWindowBuilder;

#[test]
fn the_demo_runs_with_every_camera_on_one_address() {
    std::env::set_var("PORTCULLIS_DEMO_SHARED_ADDRESS", "1");
    let demo = tauri::async_runtime::block_on(portcullis_desktop::demo::start()).unwrap();
    let ws = demo.ws.clone();
    let app = portcullis_desktop::app_builder_with(mock_builder(), AppState::new(None, Some(demo)), Picking::native())
        .build(mock_context(noop_assets()))
        .unwrap();
    let w = WebviewWindowBuilder::new(&app, "main", Default::default()).build().unwrap();
    let ok = |cmd: &str, args: Value| -> Value { call(&w, cmd, args).unwrap_or_else(|e| panic!("{cmd}: {e}")) };

    let found = ok(
        "discover",
        json!({ "request": { "interfaces": [], "scan": [], "timeout_s": 1.0, "wsd": false, "sadp": false } }),
    );
    assert!(found["searched"].as_str().unwrap().contains("127.0.0.1/32"), "{found}");
    assert_eq!((found["devices"].as_u64(), found["conflicts"].as_u64()), (Some(12), Some(0)), "{found}");
    let rows = ok("list_devices", json!({}));
    let rows = rows.as_array().unwrap().clone();
    assert_eq!(rows.len(), 12, "discovery merged into the imported devices");
    assert!(rows.iter().all(|r| r["address"] == "127.0.0.1" && r["conflicts"] == json!([])), "{rows:?}");
    let ids: Vec<Value> = rows.iter().map(|r| r["id"].clone()).collect();

    let audited = ok("audit", json!({ "ids": ids }));
    assert_eq!(audited["devices"], 12, "{audited}");
    let rows = ok("list_devices", json!({}));
    let errors: Vec<&Value> = rows.as_array().unwrap().iter().filter(|r| !r["audit_error"].is_null()).collect();
    // Only the factory-new camera, which is activated by the apply.
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0]["audit_error"]["code"], "not_activated");

    let applied = ok("apply", json!({ "ids": ids }));
    for d in applied["results"].as_array().unwrap() {
        assert!(d["error"].is_null(), "{d}");
    }
    ok("audit", json!({ "ids": ids }));
    let rows = ok("list_devices", json!({}));
    for r in rows.as_array().unwrap() {
        assert!(r["audit_error"].is_null(), "{r}");
    }
    // Each camera's password under its own `127.0.0.1:port`, none under the bare address.
    let keys: Vec<String> = ws
        .vault
        .list()
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.scope {
            portcullis_core::vault::Scope::Device(d) => Some(d),
            _ => None,
        })
        .collect();
    assert!(keys.iter().all(|k| k.starts_with("127.0.0.1:")), "{keys:?}");
    let distinct: std::collections::HashSet<&String> = keys.iter().collect();
    assert_eq!(distinct.len(), 12, "{keys:?}");
}
