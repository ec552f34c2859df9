//! Choosing files (issue #14): in a native dialog opened by the Rust side, never a path
//! the webview names, so a script in the window cannot make the shell read a file of its
//! choosing. Commands take a `FilePicker`: the app's is the native dialog
//! (tauri-plugin-dialog, whose own JS permissions the capability file leaves out); tests
//! preset the answers from the Rust side.

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
}

impl Pick {
    fn title(self) -> &'static str {
        match self {
            Pick::CaCertificate => "The customer's CA certificate (PEM)",
            Pick::CaKey => "The CA's private key (PEM, unencrypted)",
        }
    }

    fn extensions(self) -> &'static [&'static str] {
        match self {
            Pick::CaCertificate => &["pem", "crt", "cer"],
            Pick::CaKey => &["pem", "key"],
        }
    }
}

/// One file, chosen by the person at the machine: `Ok(None)` when they cancel.
pub trait FilePicker: Send + Sync {
    fn pick(&self, what: Pick) -> IpcResult<Option<PathBuf>>;
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
        let mut dialog = self.0.dialog().file().set_title(what.title()).add_filter("PEM", what.extensions());
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
}

/// Answers set in advance by Rust code, taken in order (`None` is a cancel); once they
/// run out, every pick is a cancel. For tests and the E2E run, which cannot click a
/// native dialog.
#[derive(Debug, Default)]
pub struct PresetPicks(Mutex<VecDeque<Option<PathBuf>>>);

impl PresetPicks {
    pub fn new(picks: impl IntoIterator<Item = Option<PathBuf>>) -> Self {
        PresetPicks(Mutex::new(picks.into_iter().collect()))
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
