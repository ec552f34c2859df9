//! The one error shape that crosses IPC: a stable code the UI branches on and a message
//! a person can read. The code is the engine's (`ErrorCode`) or one of the shell's own
//! (`ShellCode`); both are exported to TypeScript as one union (`IpcCode`).

use portcullis_core::error::ErrorCode;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// What only the shell reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
#[ts(export, export_to = "../../ui/src/lib/ipc/bindings/")]
pub enum ShellCode {
    /// No data directory is open (it could not be, or the demo is off and none was).
    NoSession,
    /// The demo site could not start, or is not in this build.
    Demo,
    /// A baseline file that cannot be used (the message names the line).
    Baseline,
    NothingToApply,
    NothingToRenew,
    NothingToReport,
    /// A report could not be built or written.
    Report,
    NotFound,
    /// The person closed a file dialog without choosing: nothing was changed.
    Cancelled,
}

/// Every code an IPC error may carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(untagged)]
#[ts(export, export_to = "../../ui/src/lib/ipc/bindings/")]
pub enum IpcCode {
    Engine(ErrorCode),
    Shell(ShellCode),
}

impl From<ErrorCode> for IpcCode {
    fn from(c: ErrorCode) -> Self {
        IpcCode::Engine(c)
    }
}

impl From<ShellCode> for IpcCode {
    fn from(c: ShellCode) -> Self {
        IpcCode::Shell(c)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/ipc/bindings/")]
pub struct IpcError {
    pub code: IpcCode,
    pub message: String,
}

impl IpcError {
    pub fn new(code: impl Into<IpcCode>, message: impl Into<String>) -> Self {
        IpcError { code: code.into(), message: message.into() }
    }

    pub fn local(message: impl std::fmt::Display) -> Self {
        IpcError::new(ErrorCode::Local, message.to_string())
    }

    /// Something the user typed that cannot be used.
    pub fn input(message: impl std::fmt::Display) -> Self {
        IpcError::new(ErrorCode::Input, message.to_string())
    }
}

impl std::fmt::Display for IpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let code = serde_json::to_value(self.code).ok().and_then(|v| v.as_str().map(String::from)).unwrap_or_default();
        write!(f, "{code}: {}", self.message)
    }
}

impl From<portcullis_core::error::Error> for IpcError {
    fn from(e: portcullis_core::error::Error) -> Self {
        IpcError::new(e.kind(), e.to_string())
    }
}

impl From<portcullis_core::baseline::BaselineError> for IpcError {
    fn from(e: portcullis_core::baseline::BaselineError) -> Self {
        IpcError::new(ShellCode::Baseline, e.to_string())
    }
}

impl From<portcullis_core::inventory::file::InventoryError> for IpcError {
    fn from(e: portcullis_core::inventory::file::InventoryError) -> Self {
        IpcError::input(e)
    }
}

pub type IpcResult<T> = Result<T, IpcError>;
