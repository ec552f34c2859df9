//! The app's commands are declared to Tauri's ACL here, so the capability file must
//! allow each one by name (`allow-<command>`): nothing is reachable by default.
fn main() {
    let commands = &[
        "app_info",
        "set_demo",
        "list_devices",
        "device_detail",
        "import_inventory",
        "discover",
        "audit",
        "site_score",
        "baselines",
        "plan",
        "apply",
        "history",
        "verify_history",
        "vault_entries",
        "set_site_credentials",
        "get_settings",
        "set_settings",
        "export_report",
        "ui_ready",
        "report_preview",
        "export_handover",
        "cancel_apply",
        "set_device_credentials",
        "certificates",
        "import_site_ca",
        "drift",
        "interfaces",
        "use_baseline_file",
        "clear_baseline_file",
    ];
    let attrs = tauri_build::Attributes::new().app_manifest(tauri_build::AppManifest::new().commands(commands));
    if let Err(e) = tauri_build::try_build(attrs) {
        // Build scripts report by failing; there is no other channel.
        #[allow(clippy::panic)]
        {
            panic!("tauri-build: {e:#}");
        }
    }
}
