//! `portcullis inventory import|list`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use portcullis_core::inventory::{file, store::Store};
use portcullis_core::vault::{Scope, Vault};

use crate::output::{opt, print_devices, Output};

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Import devices from a CSV or JSON file (including `portcullis-sim` output).
    /// Passwords in the file go to the vault, never to the inventory.
    Import {
        file: PathBuf,
        /// Put every imported device on this site.
        #[arg(long)]
        site: Option<String>,
    },
    /// List the inventory.
    List,
}

pub fn run(cmd: Command, out: &Output) -> anyhow::Result<ExitCode> {
    let home = portcullis_core::paths::home()?;
    let store = Store::open(&home)?;
    match cmd {
        Command::Import { file: path, site } => {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let entries = file::parse(&path.to_string_lossy(), &text).with_context(|| path.display().to_string())?;
            let mut sightings = Vec::new();
            let mut creds = Vec::new();
            for mut e in entries {
                if site.is_some() {
                    e.sighting.site = site.clone();
                }
                if let (Some(c), Some(a)) = (e.credentials.take(), e.sighting.address) {
                    let label = match e.sighting.http_port.or(e.sighting.https_port) {
                        Some(p) => format!("{a}:{p}"),
                        None => a.to_string(),
                    };
                    creds.push((label, c));
                }
                sightings.push(e.sighting);
            }
            let n = sightings.len();
            let devices = store.record(sightings)?;
            let stored = if creds.is_empty() {
                0
            } else {
                let vault = Vault::from_env(&home)?;
                let n = creds.len();
                vault.set_many(creds.into_iter().map(|(label, c)| (Scope::Device(label), c)).collect())?;
                n
            };
            if out.json {
                out.record(
                    "import",
                    &serde_json::json!({ "read": n, "devices": devices.len(), "credentials_stored": stored }),
                );
            } else {
                println!("Imported {n} device(s) from {}; {stored} credential(s) stored in the vault.", path.display());
            }
        }
        Command::List => {
            let devices = store.all()?;
            if out.json {
                for d in &devices {
                    out.record("device", d);
                }
            } else {
                print_devices(&devices, "SITE", |d| opt(&d.site));
                println!("{} device(s)", devices.len());
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
