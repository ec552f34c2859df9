//! `portcullis certs`: the site CA's certificate for the customer's trust stores, and
//! renewal of device certificates that are about to expire.

use std::process::ExitCode;

use clap::Subcommand;
use portcullis_core::certs::{Pins, SiteCa};
use portcullis_core::vault::Vault;

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the site CA's certificate (public, PEM) to a file.
    ExportCa {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Re-issue the certificates of devices whose certificate ends within DAYS days.
    Renew {
        #[arg(long, default_value_t = 30)]
        within: i64,
        /// Renew without asking (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// The pinned device certificates and when each one ends.
    List,
}

pub fn run(command: Command, out: &Output) -> anyhow::Result<ExitCode> {
    let home = portcullis_core::paths::home()?;
    match command {
        Command::ExportCa { out: file } => {
            let vault = Vault::from_env(&home)?;
            let ca = SiteCa::load_or_create(&home, &vault, "site")?;
            std::fs::write(&file, &ca.cert_pem)?;
            if out.json {
                out.record("ca", &serde_json::json!({ "out": file }));
            } else {
                println!("Wrote the site CA certificate to {}", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::List => {
            let pins = Pins::load(&home)?;
            for (device, pin) in &pins.devices {
                if out.json {
                    out.record("pin", &serde_json::json!({ "device": device, "fingerprint": pin.fingerprint, "not_after": pin.not_after }));
                } else {
                    println!("{device:<18} ends {}  sha256:{}", pin.not_after, pin.fingerprint);
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Renew { within, yes } => {
            let due = Pins::load(&home)?.expiring_within(within);
            if due.is_empty() {
                if !out.json {
                    println!("No device certificate ends within {within} days.");
                }
                return Ok(ExitCode::SUCCESS);
            }
            crate::apply::renew(&due, yes, out)
        }
    }
}
