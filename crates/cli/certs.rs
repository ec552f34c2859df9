//! `portcullis certs`: the site CA's certificate for the customer's trust stores,
//! renewal of device certificates that are about to expire, and the operator's decision
//! on a device certificate that changed since it was pinned.

use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use portcullis_core::certs::{PinOrigin, SiteCa};
use portcullis_core::vault::Vault;

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write the site CA's certificate (public, PEM) to a file.
    ExportCa {
        #[arg(long)]
        out: std::path::PathBuf,
    },
    /// Use the customer's CA (or an intermediate) as the site CA: devices get
    /// certificates it signs from then on. The key goes to the vault, never to a file.
    ImportCa {
        /// The CA certificate, PEM (its own chain may follow it).
        #[arg(long)]
        cert: std::path::PathBuf,
        /// Its private key, PEM (PKCS#8, or RSA in PKCS#1), unencrypted.
        #[arg(long)]
        key: std::path::PathBuf,
        /// Replace the site CA that exists.
        #[arg(long)]
        replace: bool,
    },
    /// Re-issue the certificates of devices whose certificate ends within DAYS days.
    Renew {
        /// Days: `30` or `30d`.
        #[arg(long, default_value = "30", value_parser = parse_days)]
        within: i64,
        /// Renew without asking (for scripts).
        #[arg(long)]
        yes: bool,
    },
    /// The pinned device certificates: where each came from (installed by apply, or
    /// first seen), when it ends, and any different certificate a device presented since.
    List,
    /// Accept the certificate a device now presents in place of its pinned one (after
    /// a factory reset, say). Until then nothing goes to the device over HTTPS.
    Accept {
        /// The device's address, as `certs list` shows it.
        device: String,
        /// The fingerprint you checked (`sha256:…` from `certs list`, or from the
        /// device's web page): refused if the certificate waiting is another.
        #[arg(long)]
        fingerprint: Option<String>,
        /// Who decides (default: $PORTCULLIS_OPERATOR, then $USER).
        #[arg(long)]
        operator: Option<String>,
    },
}

pub fn run(command: Command, out: &Output) -> anyhow::Result<ExitCode> {
    let home = portcullis_core::paths::home()?;
    match command {
        Command::ExportCa { out: file } => {
            // Through the workspace: a CA made now takes the site baseline's scope.
            let ca = portcullis_core::workspace::Workspace::from_env()?.site_ca()?;
            std::fs::write(&file, &ca.cert_pem)?;
            if out.json {
                out.record("ca", &serde_json::json!({ "out": file }));
            } else {
                println!("Wrote the site CA certificate to {}", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::ImportCa { cert, key, replace } => {
            let vault = Vault::from_env(&home)?;
            SiteCa::import_files(&home, &vault, &cert, &key, replace)?;
            let info = portcullis_core::certs::ca_info(&home)?.context("the imported CA was not kept")?;
            if out.json {
                out.record("ca", &info);
            } else {
                println!("The site CA is now {} (ends {}, sha256:{}).", info.subject, info.not_after, info.fingerprint);
                println!("Its key is in the vault; you may delete {} now.", key.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::List => {
            // Flat records: the pin's fields beside its device, and whether it ends within 30 days.
            for row in portcullis_core::tasks::certs::pin_rows(&home, 30)? {
                if out.json {
                    out.record("pin", &row);
                    continue;
                }
                let (device, pin) = (&row.device, &row.pin);
                let origin = match pin.origin {
                    PinOrigin::Installed => "installed ",
                    PinOrigin::FirstSeen => "first seen",
                };
                let soon = if row.expiring { "  (ends within 30 days: certs renew)" } else { "" };
                println!("{device:<18} {origin}  ends {}  sha256:{}{soon}", pin.not_after, pin.fingerprint);
                if let Some(c) = &pin.changed_to {
                    println!(
                        "{:<18} CHANGED     seen {}, now presents sha256:{} — refused until \
                         `portcullis certs accept {device} --fingerprint sha256:{}`",
                        "", c.seen, c.fingerprint, c.fingerprint
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Accept { device, fingerprint, operator } => {
            let ws = portcullis_core::workspace::Workspace::from_env()?;
            let clock = portcullis_core::workspace::SystemClock;
            let pin = portcullis_core::tasks::certs::accept(
                &ws,
                &device,
                fingerprint.as_deref(),
                operator.as_deref(),
                &clock,
            )?;
            if out.json {
                out.record(
                    "accepted",
                    &serde_json::json!({ "device": device, "fingerprint": pin.fingerprint, "not_after": pin.not_after }),
                );
            } else {
                println!(
                    "{device}: sha256:{} is now the certificate it is held to (recorded in the history).",
                    pin.fingerprint
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Renew { within, yes } => crate::apply::renew(within, yes, out),
    }
}

/// `30` or `30d`: a number of days.
fn parse_days(s: &str) -> Result<i64, String> {
    let n = s.strip_suffix('d').unwrap_or(s);
    n.parse::<i64>().ok().filter(|d| *d >= 0).ok_or_else(|| format!("{s:?}: a number of days, like 30 or 30d"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn days_read_with_or_without_their_unit() {
        assert_eq!(super::parse_days("30d"), Ok(30));
        assert_eq!(super::parse_days("7"), Ok(7));
        assert!(super::parse_days("-1").is_err() && super::parse_days("a month").is_err());
    }
}
