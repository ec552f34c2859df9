//! `portcullis inventory import|list|accept|reject`.

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
    /// List the inventory: unconfirmed devices (found by discovery, not accepted yet)
    /// and conflicts (sightings that contradicted a known device) are marked.
    List,
    /// Accept devices discovery found, after checking them: only accepted devices get
    /// credentials, audits and changes, and the names they announced their certificates.
    Accept {
        /// Devices by id, address or label, as `inventory list` shows them.
        #[arg(required_unless_present = "all")]
        devices: Vec<String>,
        /// Every unconfirmed device (bulk accept).
        #[arg(long, conflicts_with = "devices")]
        all: bool,
    },
    /// Forget devices discovery found that are not the site's (or that a flood of
    /// spoofed announcements left). Accepted devices are never removed this way.
    Reject {
        #[arg(required_unless_present = "all")]
        devices: Vec<String>,
        /// Every unconfirmed device.
        #[arg(long, conflicts_with = "devices")]
        all: bool,
    },
}

pub fn run(cmd: Command, out: &Output) -> anyhow::Result<ExitCode> {
    let ws = Workspace::from_env()?;
    match cmd {
        Command::Import { file: path, site } => {
            let text = portcullis_core::files::read_chosen_text(&path)?;
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
                if done.conflicts > 0 {
                    println!(
                        "{} entr(ies) contradicted a known device and were not merged: see `portcullis inventory list`.",
                        done.conflicts
                    );
                }
            }
        }
        Command::Accept { devices, all } => {
            let done = tasks::inventory::accept(&ws, &which(devices, all))?;
            decided(out, "accepted", &done);
        }
        Command::Reject { devices, all } => {
            let done = tasks::inventory::reject(&ws, &which(devices, all))?;
            decided(out, "rejected", &done);
        }
        Command::List => {
            let mut devices = ws.store.all()?;
            portcullis_core::inventory::sort_by_address(&mut devices);
            if out.json {
                for d in &devices {
                    out.record("device", d);
                }
            } else {
                print_devices(&devices, "SITE", |d| opt(&d.site));
                println!("{} device(s)", devices.len());
                let unconfirmed = devices.iter().filter(|d| !d.confirmed).count();
                if unconfirmed > 0 {
                    println!(
                        "{unconfirmed} UNCONFIRMED (found by discovery): nothing is sent to them until accepted — \
                         `portcullis inventory accept DEVICE…` or `--all`, or `inventory reject`"
                    );
                }
                for d in devices.iter().filter(|d| !d.conflicts.is_empty()) {
                    for c in &d.conflicts {
                        println!("CONFLICT {}: {}", d.label(), c.claim);
                    }
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn which(devices: Vec<String>, all: bool) -> tasks::inventory::Which {
    if all {
        tasks::inventory::Which::AllUnconfirmed
    } else {
        tasks::inventory::Which::Named(devices)
    }
}

fn decided(out: &Output, what: &str, devices: &[portcullis_core::inventory::Device]) {
    if out.json {
        for d in devices {
            out.record(what, d);
        }
        return;
    }
    for d in devices {
        println!("{what} {} ({})", d.label(), d.id);
    }
    println!("{} device(s) {what}", devices.len());
}
