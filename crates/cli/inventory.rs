//! `portcullis inventory import|list`.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use portcullis_core::tasks;
use portcullis_core::workspace::Workspace;

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
    let ws = Workspace::from_env()?;
    match cmd {
        Command::Import { file: path, site } => {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let done = tasks::import::run(&ws, &path.to_string_lossy(), &text, site.as_deref())
                .with_context(|| path.display().to_string())?;
            if out.json {
                out.record("import", &done);
            } else {
                println!(
                    "Imported {} device(s) from {}; {} credential(s) stored in the vault.",
                    done.read,
                    path.display(),
                    done.credentials_stored
                );
            }
        }
        Command::List => {
            let devices = ws.store.all()?;
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
