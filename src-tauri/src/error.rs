//! The one error shape that crosses IPC: a stable code the UI branches on and a message
//! a person can read. Core errors keep their own codes (`Error::code`); the shell adds
//! a few of its own (`not_available`, `not_audited`, `demo`, `baseline`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/ipc/bindings/")]
pub struct IpcError {
    pub code: String,
    pub message: String,
}

impl IpcError {
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        IpcError { code: code.to_string(), message: message.into() }
    }

    pub fn local(message: impl std::fmt::Display) -> Self {
        IpcError::new("local", message.to_string())
    }

    /// Something the user typed that cannot be used.
    pub fn input(message: impl std::fmt::Display) -> Self {
        IpcError::new("input", message.to_string())
    }
}

impl std::fmt::Display for IpcError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl From<portcullis_core::error::Error> for IpcError {
    fn from(e: portcullis_core::error::Error) -> Self {
        IpcError::new(e.code(), e.to_string())
    }
}

impl From<&portcullis_core::audit::Problem> for IpcError {
    fn from(p: &portcullis_core::audit::Problem) -> Self {
        IpcError { code: p.code.clone(), message: p.message.clone() }
    }
}

impl From<portcullis_core::baseline::BaselineError> for IpcError {
    fn from(e: portcullis_core::baseline::BaselineError) -> Self {
        IpcError::new("baseline", e.to_string())
    }
}

impl From<portcullis_core::inventory::file::InventoryError> for IpcError {
    fn from(e: portcullis_core::inventory::file::InventoryError) -> Self {
        IpcError::new("input", e.to_string())
    }
}

pub type IpcResult<T> = Result<T, IpcError>;
