//! The IPC surface: one-line adapters from the UI's calls to `ops`. Long work reports
//! through events (`EVENT_*`); every error reaches the UI as `{code, message}`.
//! Nothing here returns a secret.
// Tauri deserialises each argument into an owned value and hands it over by value.
#![allow(clippy::needless_pass_by_value)]

use tauri::{AppHandle, Emitter, Runtime, State};

use crate::dto::*;
use crate::error::{IpcError, IpcResult};
use crate::ops;
use crate::picker::Picking;
use crate::session::AppState;

/// A sighting as discovery hears it (`SightingEvent`).
pub const EVENT_SIGHTING: &str = "discover-sighting";
/// One device done in a long job (`Progress`).
pub const EVENT_PROGRESS: &str = "job-progress";

fn emitter<R: Runtime, T: serde::Serialize + Clone>(
    app: &AppHandle<R>,
    event: &'static str,
) -> impl Fn(T) + Send + Sync + 'static {
    let app = app.clone();
    move |payload: T| {
        // A closed window is no reason to stop the work.
        let _ = app.emit(event, payload);
    }
}

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> IpcResult<AppInfo> {
    crate::app_info(&state)
}

#[tauri::command]
pub async fn set_demo(state: State<'_, AppState>, on: bool) -> IpcResult<AppInfo> {
    crate::set_demo(&state, on).await
}

#[tauri::command]
pub fn list_devices(state: State<'_, AppState>) -> IpcResult<Vec<DeviceRow>> {
    ops::inventory::rows(&*state.session()?)
}

#[tauri::command]
pub fn device_detail(state: State<'_, AppState>, id: String) -> IpcResult<DeviceDetail> {
    ops::inventory::detail(&*state.session()?, &id)
}

/// The person checked the devices discovery found and accepts them (issue #14).
#[tauri::command]
pub fn accept_devices(state: State<'_, AppState>, decision: DeviceDecision) -> IpcResult<Vec<DeviceRow>> {
    ops::inventory::accept(&*state.session()?, &decision)
}

/// Forget devices discovery found that are not the site's.
#[tauri::command]
pub fn reject_devices(state: State<'_, AppState>, decision: DeviceDecision) -> IpcResult<Vec<DeviceRow>> {
    ops::inventory::reject(&*state.session()?, &decision)
}

#[tauri::command]
pub async fn import_inventory<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    picking: State<'_, Picking>,
    site: Option<String>,
) -> IpcResult<ImportResult> {
    with_dialogs(&app, &state, &picking, move |s, p| ops::inventory::import_file(s, p, site.as_deref())).await
}

/// Work that opens native dialogs, on a blocking thread: the dialog plugin needs the
/// main thread free to show them. The files are chosen there, never named by the
/// webview (issue #14).
async fn with_dialogs<R: Runtime, T: Send + 'static>(
    app: &AppHandle<R>,
    state: &State<'_, AppState>,
    picking: &State<'_, Picking>,
    work: impl FnOnce(&crate::session::Session, &dyn crate::picker::FilePicker) -> IpcResult<T> + Send + 'static,
) -> IpcResult<T> {
    let (session, picker) = (state.session()?, picking.picker(app));
    tauri::async_runtime::spawn_blocking(move || work(&session, &*picker))
        .await
        .map_err(|e| IpcError::local(format!("stopped: {e}")))?
}

#[tauri::command]
pub async fn discover<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    request: DiscoverRequest,
) -> IpcResult<DiscoverSummary> {
    ops::discover::run(&*state.session()?, request, emitter(&app, EVENT_SIGHTING)).await
}

#[tauri::command]
pub async fn audit<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    ids: Vec<String>,
) -> IpcResult<AuditSummary> {
    ops::audit::run(state.session()?, ids, emitter(&app, EVENT_PROGRESS)).await
}

#[tauri::command]
pub fn site_score(state: State<'_, AppState>) -> IpcResult<Option<u8>> {
    ops::audit::site_score(&*state.session()?)
}

#[tauri::command]
pub fn baselines(state: State<'_, AppState>) -> IpcResult<Vec<BaselineView>> {
    // Without a session (no data directory) the profiles alone.
    let session = state.session().ok();
    ops::baseline::profiles(session.as_deref())
}

#[tauri::command]
pub fn use_baseline_file(state: State<'_, AppState>, file: BaselineFile) -> IpcResult<Vec<BaselineView>> {
    ops::baseline::use_file(&*state.session()?, &file.name, &file.text)
}

/// A site baseline from this camera's settings, for the person to look at and use.
#[tauri::command]
pub async fn baseline_from_device(
    state: State<'_, AppState>,
    id: String,
    keep_weaker: bool,
) -> IpcResult<portcullis_core::baseline::golden::Summary> {
    ops::baseline::from_device(state.session()?, id, keep_weaker).await
}

#[tauri::command]
pub fn clear_baseline_file(state: State<'_, AppState>) -> IpcResult<Vec<BaselineView>> {
    ops::baseline::clear_file(&*state.session()?)
}

/// The person's choices, both off when left out: `rotate_passwords` (every admin
/// password rotates, even those the audit passed: the handover action) and
/// `delete_accounts` (the accounts the plan lists by name are deleted).
#[tauri::command]
pub fn plan(
    state: State<'_, AppState>,
    ids: Vec<String>,
    rotate_passwords: Option<bool>,
    delete_accounts: Option<bool>,
) -> IpcResult<Vec<PlanView>> {
    let choices = ops::plan::Choices::from_flags(rotate_passwords, delete_accounts);
    ops::plan::plans(&*state.session()?, &ids, choices)
}

#[tauri::command]
pub async fn apply<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    ids: Vec<String>,
    rotate_passwords: Option<bool>,
    delete_accounts: Option<bool>,
) -> IpcResult<ApplySummary> {
    let choices = ops::plan::Choices::from_flags(rotate_passwords, delete_accounts);
    ops::plan::apply(state.session()?, ids, choices, emitter(&app, EVENT_PROGRESS)).await
}

#[tauri::command]
pub fn history(state: State<'_, AppState>, device: Option<String>) -> IpcResult<Vec<portcullis_core::history::Entry>> {
    ops::history::records(&*state.session()?, device)
}

#[tauri::command]
pub fn verify_history(state: State<'_, AppState>) -> IpcResult<ChainCheck> {
    ops::history::verify(&*state.session()?)
}

#[tauri::command]
pub fn vault_entries(state: State<'_, AppState>) -> IpcResult<Vec<VaultEntry>> {
    ops::creds::entries(&*state.session()?)
}

#[tauri::command]
pub fn set_site_credentials(state: State<'_, AppState>, credentials: SiteCredentials) -> IpcResult<()> {
    ops::creds::set_site_default(&*state.session()?, credentials)
}

#[tauri::command]
pub fn get_settings(state: State<'_, AppState>) -> IpcResult<Settings> {
    state.session()?.settings()
}

#[tauri::command]
pub fn set_settings(state: State<'_, AppState>, settings: Settings) -> IpcResult<()> {
    state.session()?.set_settings(settings)
}

/// The accounts the site keeps: the site baseline's and the settings' together.
#[tauri::command]
pub fn kept_accounts(state: State<'_, AppState>) -> IpcResult<Vec<String>> {
    Ok(state.session()?.policy()?.site.keep_accounts)
}

#[tauri::command]
pub async fn export_report<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    picking: State<'_, Picking>,
    request: ReportExport,
) -> IpcResult<ReportFile> {
    with_dialogs(&app, &state, &picking, move |s, p| ops::report::export(s, p, &request)).await
}

/// A JSON report chosen in a native dialog, checked against the local history.
#[tauri::command]
pub async fn verify_report<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    picking: State<'_, Picking>,
) -> IpcResult<ReportCheck> {
    with_dialogs(&app, &state, &picking, ops::report::verify).await
}

/// Device credentials from a CSV chosen in a native dialog, into the vault.
#[tauri::command]
pub async fn import_credentials<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    picking: State<'_, Picking>,
) -> IpcResult<u32> {
    with_dialogs(&app, &state, &picking, ops::creds::import_file).await
}

/// The firmware library's images.
#[tauri::command]
pub fn firmware_library(state: State<'_, AppState>) -> IpcResult<Vec<portcullis_core::firmware::Image>> {
    ops::firmware::library(&*state.session()?)
}

/// A firmware image chosen in a native dialog, added to the library.
#[tauri::command]
pub async fn add_firmware_image<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    picking: State<'_, Picking>,
    request: portcullis_core::firmware::Given,
) -> IpcResult<portcullis_core::firmware::Image> {
    with_dialogs(&app, &state, &picking, move |s, p| ops::firmware::add(s, p, &request)).await
}

/// The site CA's certificate, saved where the person chooses.
#[tauri::command]
pub async fn export_site_ca<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    picking: State<'_, Picking>,
) -> IpcResult<String> {
    with_dialogs(&app, &state, &picking, ops::creds::export_ca).await
}

/// Off the main thread: the file vault may wait for another process's change.
#[tauri::command]
pub async fn forget_credentials(state: State<'_, AppState>, request: ForgetRequest) -> IpcResult<Vec<VaultEntry>> {
    let session = state.session()?;
    tauri::async_runtime::spawn_blocking(move || ops::creds::forget(&session, &request))
        .await
        .map_err(|e| IpcError::local(format!("stopped: {e}")))?
}

/// The UI's first screen is drawn; the milliseconds since the process started.
#[tauri::command]
pub fn ui_ready<R: Runtime>(app: AppHandle<R>, state: State<'_, AppState>) -> u32 {
    crate::ui_ready(&app, &state)
}

#[tauri::command]
pub fn report_preview(state: State<'_, AppState>) -> IpcResult<ReportPreview> {
    ops::report::preview(&*state.session()?)
}

/// Write-only: the passphrase goes into the encryption and nowhere else.
#[tauri::command]
pub async fn export_handover<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    picking: State<'_, Picking>,
    request: HandoverRequest,
) -> IpcResult<HandoverFile> {
    with_dialogs(&app, &state, &picking, move |s, p| ops::report::handover(s, p, request)).await
}

/// Renew the certificates that end within `days` days (the CLI's `certs renew`).
#[tauri::command]
pub async fn renew_certificates<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    days: u32,
) -> IpcResult<ApplySummary> {
    ops::plan::renew(state.session()?, days, emitter(&app, EVENT_PROGRESS)).await
}

/// Stop the running apply after the steps in hand; its summary says what was left.
#[tauri::command]
pub fn cancel_apply(state: State<'_, AppState>) -> IpcResult<()> {
    state.session()?.cancel_apply()
}

/// Write-only: the password goes to the vault; nothing returns it.
#[tauri::command]
pub fn set_device_credentials(state: State<'_, AppState>, credentials: DeviceCredentials) -> IpcResult<()> {
    ops::creds::set_for_device(&*state.session()?, credentials)
}

#[tauri::command]
pub fn certificates(state: State<'_, AppState>) -> IpcResult<CertificatesView> {
    ops::creds::certificates(&*state.session()?)
}

/// The person saw the fingerprint in the app and confirmed it (issue #14).
#[tauri::command]
pub fn accept_certificate(
    state: State<'_, AppState>,
    request: AcceptCertificateRequest,
) -> IpcResult<CertificatesView> {
    ops::creds::accept_certificate(&*state.session()?, &request)
}

/// The files are chosen in native dialogs here, never named by the webview (issue #14).
/// The dialogs wait on a blocking thread: the plugin needs the main thread free to show them.
#[tauri::command]
pub async fn import_site_ca<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    picking: State<'_, Picking>,
    request: ImportCaRequest,
) -> IpcResult<CertificatesView> {
    with_dialogs(&app, &state, &picking, move |s, p| ops::creds::import_ca(s, p, request.replace)).await
}

#[tauri::command]
pub fn drift(state: State<'_, AppState>) -> IpcResult<Vec<portcullis_core::history::Drift>> {
    ops::history::drift(&*state.session()?)
}

#[tauri::command]
pub fn interfaces() -> Vec<InterfaceView> {
    ops::discover::interfaces()
}
