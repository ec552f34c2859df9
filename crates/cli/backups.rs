//! `portcullis backups list` and `portcullis backups open FILE --out FILE`: the
//! configuration backups apply takes before changing a device, age-encrypted to a key
//! in the vault. Opening one is the operator's explicit act (to restore a device by
//! its own web page); the plaintext goes only to a new file of theirs, 0600.

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
                    println!("{:<24} {}  {:>9} B  sha256:{}  {}", b.device, b.written, b.bytes, b.sha256, b.path);
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
    }
    Ok(ExitCode::SUCCESS)
}
