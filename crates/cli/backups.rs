//! `portcullis backups list` and `portcullis backups open FILE --out FILE`: the
//! configuration backups apply takes before changing a device, age-encrypted to a key
//! in the vault. Opening one is the operator's explicit act (to restore a device by
//! its own web page); the plaintext goes only to a new file of theirs, 0600.
//! `portcullis backups restore --device ADDR SHA256` puts one back on the camera it came
//! from, after a confirmation that names its date and digest.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;
use portcullis_core::vault::Vault;

use crate::output::Output;

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Every backup (device, digest, size, when), newest first.
    List,
    /// Decrypt a backup into a new file (refused if it exists), checked against its digest.
    Open {
        file: PathBuf,
        #[arg(long)]
        out: PathBuf,
    },
    /// Restore a backup to the camera it came from (its configuration now is backed up
    /// first; its name is kept). Refused for another model or serial, and for a backup
    /// older than the device's current password.
    Restore {
        /// The camera: ADDR or ADDR:PORT.
        #[arg(long)]
        device: String,
        /// The backup's SHA-256, or at least its first 8 hex digits (`backups list`).
        sha256: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
        /// The name the history records for this change.
        #[arg(long)]
        operator: Option<String>,
    },
}

pub fn run(command: Command, out: &Output) -> anyhow::Result<ExitCode> {
    let home = portcullis_core::paths::home()?;
    match command {
        Command::List => {
            let all = portcullis_core::backups::list(&home)?;
            for b in &all {
                if out.json {
                    out.record("backup", b);
                } else {
                    let from =
                        b.meta.as_ref().map(|m| format!("{} {}", m.model, m.serial)).unwrap_or_else(|| "-".into());
                    println!(
                        "{:<24} {}  {:>9} B  sha256:{}  {from}  {}",
                        b.device, b.written, b.bytes, b.sha256, b.path
                    );
                }
            }
            if !out.json {
                println!("{} backup(s), each age-encrypted to the vault's backup key", all.len());
            }
        }
        Command::Open { file, out: to } => {
            let vault = Vault::from_env(&home)?;
            let plain = portcullis_core::backups::open(&vault.backup_key()?, &file)?;
            crate::handover::write_private(&to, &plain)?;
            if out.json {
                out.record("backup_opened", &serde_json::json!({ "file": file, "out": to, "bytes": plain.len() }));
            } else {
                println!(
                    "Wrote {} bytes to {} (only you can read it; delete it when done).",
                    plain.len(),
                    to.display()
                );
            }
        }
        Command::Restore { device, sha256, yes, operator } => return restore(device, sha256, yes, operator, out),
    }
    Ok(ExitCode::SUCCESS)
}

fn restore(
    device: String,
    sha256: String,
    yes: bool,
    operator: Option<String>,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    use portcullis_core::tasks::restore::{choose, run, RestoreRequest};
    use portcullis_core::workspace::{Selection, SystemClock, Workspace};
    let ws = std::sync::Arc::new(Workspace::from_env()?);
    let req = RestoreRequest { device: Selection::Specs(vec![device]), backup: sha256, operator };
    let (_, chosen) = choose(&ws, &req)?;
    if !yes {
        if out.json {
            anyhow::bail!("restore replaces the device's configuration: pass --yes with --json");
        }
        let question = format!(
            "Restore the backup of {} {} taken {} (sha256:{}) to {}? Its configuration now is backed up first; the \
             device restarts.",
            chosen.meta.model, chosen.meta.serial, chosen.meta.taken_at, chosen.file.sha256, chosen.device
        );
        if !crate::output::confirm(&question)? {
            println!("Nothing changed.");
            return Ok(ExitCode::SUCCESS);
        }
    }
    let done = crate::audit::runtime()?.block_on(run(&ws, &req, &SystemClock))?;
    if out.json {
        out.record("restored", &done);
    } else {
        println!(
            "Restored sha256:{} (taken {}) to {}; the configuration it replaced is backup sha256:{}.",
            done.sha256, done.taken_at, done.device, done.replaced
        );
    }
    Ok(ExitCode::SUCCESS)
}
