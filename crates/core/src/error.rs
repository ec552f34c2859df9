//! Errors classified by whose fault they are, each with a stable code that the CLI's
//! `--json` output and the desktop UI branch on. Messages never carry a secret.

/// Whose fault an error is: decides whether retrying can help.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Fault {
    /// The network or the device's availability: retry later.
    Network,
    /// The device refused our credentials or is locked: a human must act.
    Credentials,
    /// The device answered something we cannot use (malformed, unexpected).
    Device,
    /// The device does not implement the operation.
    Unsupported,
    /// Our input: a file, a flag, a baseline.
    Input,
    /// Local storage or the vault.
    Local,
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{address}: unreachable: {reason}")]
    Unreachable { address: String, reason: String },
    #[error("{address}: no answer within {seconds} s")]
    Timeout { address: String, seconds: u64 },
    #[error("{address}: the device refused the credentials for {username}; no further login attempts this run (lockout protection)")]
    AuthRefused { address: String, username: String },
    #[error("{address}: not trying {username}: a login was already refused on this device in this run (lockout protection); check the credentials and run again")]
    LoginWithheld { address: String, username: String },
    #[error("{address}: the device presents certificate sha256:{presented}, not the pinned sha256:{pinned}: nothing goes to it over HTTPS until an operator accepts the change (portcullis certs accept)")]
    CertificateChanged { address: String, pinned: String, presented: String },
    #[error("{address}: the device reports a login lock ({unlock_in_s} s left); left alone")]
    Locked { address: String, unlock_in_s: u64 },
    #[error("{address}: not activated (factory-new): activate it first")]
    NotActivated { address: String },
    #[error("{address}: no credentials stored for this device or its site")]
    NoCredentials { address: String },
    #[error("{address}: {operation} is not supported by this device")]
    Unsupported { address: String, operation: String },
    #[error("{address}: malformed answer to {operation}: {reason}")]
    Malformed { address: String, operation: String, reason: String },
    #[error("{address}: {operation} failed: {reason}")]
    Device { address: String, operation: String, reason: String },
    #[error("{0}")]
    Input(String),
    #[error("{0}")]
    Local(String),
}

impl Error {
    pub fn fault(&self) -> Fault {
        match self {
            Error::Unreachable { .. } | Error::Timeout { .. } => Fault::Network,
            Error::AuthRefused { .. }
            | Error::LoginWithheld { .. }
            | Error::Locked { .. }
            | Error::NotActivated { .. }
            | Error::NoCredentials { .. } => Fault::Credentials,
            Error::Unsupported { .. } => Fault::Unsupported,
            Error::Malformed { .. } | Error::Device { .. } | Error::CertificateChanged { .. } => Fault::Device,
            Error::Input(_) => Fault::Input,
            Error::Local(_) => Fault::Local,
        }
    }

    /// A stable, machine-readable code.
    pub fn kind(&self) -> ErrorCode {
        match self {
            Error::Unreachable { .. } => ErrorCode::Unreachable,
            Error::Timeout { .. } => ErrorCode::Timeout,
            Error::AuthRefused { .. } => ErrorCode::AuthRefused,
            Error::LoginWithheld { .. } => ErrorCode::LoginWithheld,
            Error::CertificateChanged { .. } => ErrorCode::CertificateChanged,
            Error::Locked { .. } => ErrorCode::Locked,
            Error::NotActivated { .. } => ErrorCode::NotActivated,
            Error::NoCredentials { .. } => ErrorCode::NoCredentials,
            Error::Unsupported { .. } => ErrorCode::Unsupported,
            Error::Malformed { .. } => ErrorCode::Malformed,
            Error::Device { .. } => ErrorCode::DeviceError,
            Error::Input(_) => ErrorCode::Input,
            Error::Local(_) => ErrorCode::Local,
        }
    }

    /// The code as the CLI's `--json` output spells it.
    pub fn code(&self) -> &'static str {
        self.kind().as_str()
    }
}

/// The engine's error codes: what the CLI's JSON and the desktop's UI branch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub enum ErrorCode {
    Unreachable,
    Timeout,
    AuthRefused,
    LoginWithheld,
    CertificateChanged,
    Locked,
    NotActivated,
    NoCredentials,
    Unsupported,
    Malformed,
    DeviceError,
    Input,
    Local,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::Unreachable => "unreachable",
            ErrorCode::Timeout => "timeout",
            ErrorCode::AuthRefused => "auth_refused",
            ErrorCode::LoginWithheld => "login_withheld",
            ErrorCode::CertificateChanged => "certificate_changed",
            ErrorCode::Locked => "locked",
            ErrorCode::NotActivated => "not_activated",
            ErrorCode::NoCredentials => "no_credentials",
            ErrorCode::Unsupported => "unsupported",
            ErrorCode::Malformed => "malformed",
            ErrorCode::DeviceError => "device_error",
            ErrorCode::Input => "input",
            ErrorCode::Local => "local",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<crate::baseline::BaselineError> for Error {
    fn from(e: crate::baseline::BaselineError) -> Self {
        Error::Input(e.to_string())
    }
}

impl From<crate::inventory::file::InventoryError> for Error {
    fn from(e: crate::inventory::file::InventoryError) -> Self {
        Error::Input(e.to_string())
    }
}
