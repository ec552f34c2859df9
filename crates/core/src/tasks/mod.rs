//! Whole tasks, written once for both shells: each takes the [`Workspace`], an options
//! struct, a [`Clock`] and an event sink, and returns a typed result. The CLI renders
//! the events and results as tables or JSON lines; the desktop turns them into IPC
//! events and views. Neither shell sequences engine calls of its own.
//!
//! [`Workspace`]: crate::workspace::Workspace
//! [`Clock`]: crate::workspace::Clock

pub mod apply;
pub mod audit;
pub mod baselines;
pub mod certs;
pub mod discover;
pub mod golden;
pub mod import;
pub mod inventory;
mod moves;
pub mod plan;
pub mod restore;
mod upgrade;

use std::collections::HashMap;
use std::sync::Arc;

use serde::Serialize;

use crate::audit::DeviceAudit;
use crate::error::{Error, Result};
use crate::inventory::Sighting;
use crate::secret::Credentials;
use crate::workspace::{Subject, Workspace};

/// What a task reports while it runs.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// Discovery heard a device.
    Sighting(Box<Sighting>),
    /// A device's audit finished.
    Audited(Box<DeviceAudit>),
    /// A device read by the audit that gets no plan, and why.
    NotPlanned { device: String, reason: String },
    /// An interrupted password rotation was resolved (or left alone).
    Recovered(crate::apply::Recovered),
    /// Intents a killed run left open, closed from what the devices now show.
    IntentsClosed { count: usize },
    /// Apply's progress.
    Apply(crate::apply::Event),
    /// A firmware canary was judged: the other devices taking its image were upgraded
    /// only if it passed (`held_back`: how many were not, because it failed).
    Canary { device: String, version: String, passed: bool, detail: String, held_back: usize },
}

/// Where a task's events go. Any `Fn(Event)` is a sink.
pub trait Sink: Send + Sync {
    fn event(&self, e: Event);
}

impl<F: Fn(Event) + Send + Sync> Sink for F {
    fn event(&self, e: Event) {
        self(e)
    }
}

/// A sink that drops everything.
#[derive(Debug, Clone, Copy, Default)]
pub struct Quiet;

impl Sink for Quiet {
    fn event(&self, _: Event) {}
}

/// The vault's credentials for each device, looked up once before the work starts, off
/// the async threads: the file vault decrypts (about a second), the keyring may ask.
pub(crate) async fn credentials_of(ws: &Arc<Workspace>, devices: &[Subject]) -> Result<HashMap<String, Credentials>> {
    let ws = ws.clone();
    let wanted: Vec<(String, Option<String>)> = devices.iter().map(|s| (s.label(), s.site.clone())).collect();
    tokio::task::spawn_blocking(move || ws.vault.lookup_many(&wanted))
        .await
        .map_err(|e| Error::Local(format!("vault lookup: {e}")))?
}
