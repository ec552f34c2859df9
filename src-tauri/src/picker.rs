//! Choosing files (issue #14): in a native dialog opened by the Rust side, never a path
//! the webview names, so a script in the window cannot make the shell read or write a
//! file of its choosing. Commands take a `FilePicker`: the app's is the native dialog
//! (tauri-plugin-dialog, whose own JS permissions the capability file leaves out) and the
//! system's viewer for a file the app wrote; tests preset the answers from the Rust side.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use tauri::{AppHandle, Manager, Runtime};
use tauri_plugin_dialog::DialogExt;

use crate::error::{IpcError, IpcResult};

/// What a dialog asks for: it sets the title and the file types offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pick {
    /// A CA certificate, PEM.
    CaCertificate,
    /// That CA's private key, PEM.
    CaKey,
    /// An inventory, CSV or JSON (passwords in it go to the vault, read here, never
    /// through the webview).
    Inventory,
    /// Device credentials, CSV.
    Credentials,
    /// A JSON report to verify.
    ReportJson,
    /// A firmware image for the library.
    FirmwareImage,
}

/// Where to write a file the app makes: a save dialog with this name suggested.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Save {
    /// A report in this format (its extension).
    Report(String),
    /// An age-encrypted handover.
    Handover,
    /// The site CA's certificate (PEM, public).
    SiteCa,
}

impl Save {
    fn title(&self) -> &'static str {
        match self {
            Save::Report(_) => "Save the report",
            Save::Handover => "Save the encrypted credential handover",
            Save::SiteCa => "Save the site CA certificate",
        }
    }

    fn filter(&self) -> (&'static str, Vec<String>) {
        match self {
            Save::Report(ext) => ("Report", vec![ext.clone()]),
            Save::Handover => ("age-encrypted", vec!["age".into()]),
            Save::SiteCa => ("PEM", vec!["pem".into(), "crt".into()]),
        }
    }
}

impl Pick {
    fn title(self) -> &'static str {
        match self {
            Pick::CaCertificate => "The customer's CA certificate (PEM)",
            Pick::CaKey => "The CA's private key (PEM, unencrypted)",
            Pick::Inventory => "An inventory (CSV or JSON)",
            Pick::Credentials => "Device credentials (CSV)",
            Pick::ReportJson => "A Portcullis report (JSON) to verify",
            Pick::FirmwareImage => "A firmware image for the library",
        }
    }

    fn filter(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Pick::CaCertificate => ("PEM", &["pem", "crt", "cer"]),
            Pick::CaKey => ("PEM", &["pem", "key"]),
            Pick::Inventory => ("Inventory", &["csv", "json"]),
            Pick::Credentials => ("CSV", &["csv"]),
            Pick::ReportJson => ("JSON", &["json"]),
            Pick::FirmwareImage => ("Firmware", &["dav", "bin", "img", "pkg"]),
        }
    }
}

/// Files chosen by the person at the machine (`Ok(None)` when they cancel), and the
/// system's viewer for a file the app wrote.
pub trait FilePicker: Send + Sync {
    fn pick(&self, what: Pick) -> IpcResult<Option<PathBuf>>;
    fn save(&self, what: &Save, suggested: &str) -> IpcResult<Option<PathBuf>>;
    /// Open a file the app just wrote where the person chose, with the system's viewer.
    fn open(&self, path: &std::path::Path) -> IpcResult<()>;
}

/// The native open-file dialog, over the main window.
pub struct NativePicker<R: Runtime>(pub AppHandle<R>);

impl<R: Runtime> std::fmt::Debug for NativePicker<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NativePicker")
    }
}

impl<R: Runtime> FilePicker for NativePicker<R> {
    fn pick(&self, what: Pick) -> IpcResult<Option<PathBuf>> {
        let (name, extensions) = what.filter();
        let mut dialog = self.0.dialog().file().set_title(what.title()).add_filter(name, extensions);
        if let Some(window) = self.0.get_webview_window("main") {
            dialog = dialog.set_parent(&window);
        }
        // Blocks this thread until the person answers; the plugin runs the dialog on the
        // main thread, so callers must not be on it (`commands::import_site_ca`).
        dialog
            .blocking_pick_file()
            .map(|f| f.into_path().map_err(|e| IpcError::input(format!("the file chosen has no local path: {e}"))))
            .transpose()
    }

    fn save(&self, what: &Save, suggested: &str) -> IpcResult<Option<PathBuf>> {
        let (name, extensions) = what.filter();
        let extensions: Vec<&str> = extensions.iter().map(String::as_str).collect();
        let mut dialog =
            self.0.dialog().file().set_title(what.title()).set_file_name(suggested).add_filter(name, &extensions);
        if let Some(window) = self.0.get_webview_window("main") {
            dialog = dialog.set_parent(&window);
        }
        dialog
            .blocking_save_file()
            .map(|f| f.into_path().map_err(|e| IpcError::input(format!("the place chosen has no local path: {e}"))))
            .transpose()
    }

    fn open(&self, path: &std::path::Path) -> IpcResult<()> {
        // Detached: the viewer outlives nothing of ours, and a slow one blocks nothing.
        open::that_detached(path).map_err(|e| IpcError::local(format!("{} could not be opened: {e}", path.display())))
    }
}

/// Answers set in advance by Rust code, taken in order (`None` is a cancel); once they
/// run out, every pick is a cancel. For tests and the E2E run, which cannot click a
/// native dialog.
#[derive(Debug, Default)]
pub struct PresetPicks(Mutex<VecDeque<Option<PathBuf>>>, Mutex<Vec<PathBuf>>);

impl PresetPicks {
    pub fn new(picks: impl IntoIterator<Item = Option<PathBuf>>) -> Self {
        PresetPicks(Mutex::new(picks.into_iter().collect()), Mutex::default())
    }

    /// The files the app asked to open (tests check it; nothing is opened).
    pub fn opened(&self) -> Vec<PathBuf> {
        self.1.lock().map(|o| o.clone()).unwrap_or_default()
    }

    /// How many answers are left (tests check what was asked).
    pub fn left(&self) -> usize {
        self.0.lock().map_or(0, |q| q.len())
    }
}

impl FilePicker for PresetPicks {
    fn pick(&self, _what: Pick) -> IpcResult<Option<PathBuf>> {
        let mut q = self.0.lock().map_err(|_| IpcError::local("preset picks lock poisoned"))?;
        Ok(q.pop_front().flatten())
    }

    fn save(&self, _what: &Save, _suggested: &str) -> IpcResult<Option<PathBuf>> {
        self.pick(Pick::ReportJson)
    }

    fn open(&self, path: &std::path::Path) -> IpcResult<()> {
        self.1.lock().map_err(|_| IpcError::local("preset picks lock poisoned"))?.push(path.to_path_buf());
        Ok(())
    }
}

/// Which picker the commands use (managed state): the native dialog unless Rust code
/// preset the answers. The webview has no say in it.
#[derive(Debug, Clone, Default)]
pub struct Picking(Option<Arc<PresetPicks>>);

impl Picking {
    pub fn native() -> Self {
        Picking(None)
    }

    pub fn preset(picks: Arc<PresetPicks>) -> Self {
        Picking(Some(picks))
    }

    /// The native dialog; a debug build started with `PORTCULLIS_TEST_PICKS` (paths
    /// joined as in `PATH`, an empty entry a cancel) answers from it instead, for the
    /// E2E run. A release build never reads it.
    pub fn at_startup() -> Self {
        #[cfg(debug_assertions)]
        if let Some(list) = std::env::var_os("PORTCULLIS_TEST_PICKS") {
            tracing::warn!("PORTCULLIS_TEST_PICKS: file dialogs answer from preset paths");
            let picks = std::env::split_paths(&list).map(|p| Some(p).filter(|p| !p.as_os_str().is_empty()));
            return Picking::preset(Arc::new(PresetPicks::new(picks)));
        }
        Picking::native()
    }

    pub fn picker<R: Runtime>(&self, app: &AppHandle<R>) -> Arc<dyn FilePicker> {
        match &self.0 {
            Some(preset) => preset.clone(),
            None => Arc::new(NativePicker(app.clone())),
        }
    }
}
