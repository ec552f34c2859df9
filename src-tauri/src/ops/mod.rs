//! The orchestration the commands adapt: small sequences of engine calls, written once
//! here (as the CLI writes its own), testable without a window. Each takes the session
//! and, for long work, a callback that the command turns into events.

pub mod audit;
pub mod baseline;
pub mod creds;
pub mod discover;
pub mod history;
pub mod inventory;
pub mod plan;
pub mod report;
pub mod views;

use std::collections::HashMap;
use std::sync::Arc;

use portcullis_core::secret::Credentials;

use crate::error::{IpcError, IpcResult};
use crate::session::Session;

/// The vault's credentials for each (device label, site), looked up once per device
/// before the work starts, off the async threads: the file vault decrypts (about a
/// second), the keyring may ask.
pub(crate) async fn credentials_of(
    session: &Arc<Session>,
    devices: Vec<(String, Option<String>)>,
) -> IpcResult<HashMap<String, Credentials>> {
    let session = session.clone();
    tauri::async_runtime::spawn_blocking(move || -> IpcResult<HashMap<String, Credentials>> {
        let mut creds = HashMap::new();
        for (label, site) in &devices {
            if let Some(c) = session.vault.lookup(label, site.as_deref())? {
                creds.insert(label.clone(), c);
            }
        }
        Ok(creds)
    })
    .await
    .map_err(IpcError::local)?
}
