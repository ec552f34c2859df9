//! Portcullis desktop: a thin Tauri shell over `portcullis-core`. Commands (`commands`)
//! adapt IPC calls to small orchestrations (`ops`) over the engine; the IPC types
//! (`dto`) are exported to TypeScript for the UI. `--demo` (or the UI's toggle) starts
//! a simulated site in-process on loopback (`demo`).
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic))]

pub mod command_list;
pub mod commands;
#[cfg(feature = "demo")]
pub mod demo;
#[cfg(not(feature = "demo"))]
#[path = "demo_off.rs"]
pub mod demo;
pub mod dto;
pub mod error;
pub mod ops;
pub mod picker;
pub mod session;

use tauri::{Builder, Runtime};

use crate::dto::AppInfo;
use crate::error::{IpcError, IpcResult};
use crate::picker::Picking;
use crate::session::{AppState, Session};

/// The app, choosing files in native dialogs (see `app_builder_with`).
pub fn app_builder<R: Runtime>(builder: Builder<R>, state: AppState) -> Builder<R> {
    app_builder_with(builder, state, Picking::at_startup())
}

/// Every command the UI may call: the names of `commands.txt` (`tests/tidy.rs` checks).
/// The dialog plugin is here for our commands' native dialogs (`picking`); the webview
/// may not call it (the capability file grants none of its permissions).
pub fn app_builder_with<R: Runtime>(builder: Builder<R>, state: AppState, picking: Picking) -> Builder<R> {
    builder.plugin(tauri_plugin_dialog::init()).manage(state).manage(picking).invoke_handler(tauri::generate_handler![
        commands::app_info,
        commands::set_demo,
        commands::list_devices,
        commands::device_detail,
        commands::import_inventory,
        commands::discover,
        commands::audit,
        commands::site_score,
        commands::baselines,
        commands::plan,
        commands::apply,
        commands::history,
        commands::verify_history,
        commands::vault_entries,
        commands::set_site_credentials,
        commands::get_settings,
        commands::set_settings,
        commands::kept_accounts,
        commands::export_report,
        commands::ui_ready,
        commands::report_preview,
        commands::export_handover,
        commands::cancel_apply,
        commands::set_device_credentials,
        commands::certificates,
        commands::import_site_ca,
        commands::accept_certificate,
        commands::accept_devices,
        commands::reject_devices,
        commands::drift,
        commands::interfaces,
        commands::use_baseline_file,
        commands::clear_baseline_file,
        commands::renew_certificates,
        commands::verify_report,
        commands::import_credentials,
        commands::export_site_ca,
        commands::forget_credentials,
        commands::firmware_library,
        commands::add_firmware_image,
        commands::baseline_from_device,
    ])
}

/// When the process started, for the startup figure (`ui_ready`).
pub static STARTED: std::sync::OnceLock<std::time::Instant> = std::sync::OnceLock::new();

/// The UI has drawn its first screen with the site's devices: how long that took from
/// process start. With `PORTCULLIS_STARTUP_PROBE=1` (the startup benchmark) the figure
/// goes to stdout and the app quits.
pub fn ui_ready<R: Runtime>(app: &tauri::AppHandle<R>, state: &AppState) -> u32 {
    let ms = STARTED.get().map_or(0, |t| t.elapsed().as_millis() as u32);
    let devices = state.session().ok().and_then(|s| s.ws.store.all().ok()).map_or(0, |d| d.len());
    tracing::info!(ms, devices, "interactive");
    if std::env::var("PORTCULLIS_STARTUP_PROBE").as_deref() == Ok("1") {
        #[allow(clippy::print_stdout)]
        {
            println!("startup_ms={ms} devices={devices}");
        }
        app.exit(0);
    }
    ms
}

pub fn app_info(state: &AppState) -> IpcResult<AppInfo> {
    let s = state.session()?;
    Ok(AppInfo {
        name: "Portcullis".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        demo: s.demo.is_some(),
        data_dir: s.ws.home.display().to_string(),
        vault: s.ws.vault.describe(),
        devices: s.ws.store.all()?.len() as u32,
    })
}

/// Switch the demo site on (starting it the first time) or off.
pub async fn set_demo(state: &AppState, on: bool) -> IpcResult<AppInfo> {
    if on && !state.has_demo() {
        state.put_demo(demo::start().await?)?;
    } else {
        // Opening the user's data reads the keyring (the history key), whose client
        // runs its own event loop: off this async task, on a thread of its own.
        std::thread::scope(|t| t.spawn(|| state.use_demo(on)).join())
            .map_err(|_| IpcError::local("opening the data directory failed"))??;
    }
    app_info(state)
}

/// Open what the command line asks for: the demo site with `--demo` (the user's own
/// data stays closed until the demo is switched off), otherwise the user's data. A
/// failure (no home, no keyring, no loopback) still opens the window, which says why.
pub fn initial_state(demo: bool) -> AppState {
    if demo {
        match tauri::async_runtime::block_on(demo::start()) {
            Ok(s) => return AppState::new(None, Some(s)),
            Err(e) => tracing::error!("demo site: {e}"),
        }
    }
    match Session::from_env() {
        Ok(s) => AppState::new(Some(s), None),
        Err(e) => {
            tracing::warn!("user data: {e}");
            AppState::without_user_data(e.message)
        }
    }
}

pub fn run(demo: bool) -> Result<(), IpcError> {
    let app = app_builder(Builder::default(), initial_state(demo))
        .build(tauri::generate_context!())
        .map_err(|e| IpcError::local(format!("the window could not start: {e}")))?;
    app.run(|app, event| {
        if let tauri::RunEvent::Exit = event {
            use tauri::Manager;
            app.state::<AppState>().end_demo();
        }
    });
    Ok(())
}
