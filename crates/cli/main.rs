//! `portcullis`: the command-line front end of the Portcullis engine.
#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use portcullis_core::inventory;

const PLANNED: &str = "\
Planned subcommands (arriving with their issues):
  discover     find cameras by WS-Discovery, SADP and CIDR scan
  creds        store, import, list and forget credentials (OS keyring)
  audit        score devices against a hardening baseline
  plan         show the changes a baseline would make
  apply        make those changes, verified, with rollback
  recover      resolve password rotations interrupted by a crash
  certs        site CA, device certificates, renewal
  history      the tamper-evident change log, and its verification
  report       PDF, HTML, CSV and JSON reports for the customer
  handover     the encrypted credential handover file";

/// Find, audit and harden the IP cameras of a site.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, after_help = PLANNED)]
struct Cli {
    /// Machine-readable output (JSON).
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The device inventory.
    Inventory {
        #[command(subcommand)]
        command: InventoryCommand,
    },
    /// Where Portcullis keeps its data (PORTCULLIS_HOME or the platform data directory).
    Home,
}

#[derive(Debug, Subcommand)]
enum InventoryCommand {
    /// Read an inventory file (JSON, including `portcullis-sim` output) and list it.
    Import { file: PathBuf },
}

fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Home => {
            println!("{}", portcullis_core::paths::home()?.display());
        }
        Command::Inventory { command: InventoryCommand::Import { file } } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let devices = inventory::parse_json(&text).with_context(|| format!("{}", file.display()))?;
            if cli.json {
                for d in &devices {
                    println!("{}", serde_json::to_string(d)?);
                }
            } else {
                print_table(&devices);
            }
        }
    }
    Ok(())
}

fn print_table(devices: &[inventory::InventoryEntry]) {
    let opt = |s: &Option<String>| s.clone().unwrap_or_else(|| "-".into());
    println!("{:<16} {:<12} {:<18} {:<22} {:<18} {:<9}", "ADDRESS", "VENDOR", "MODEL", "FIRMWARE", "MAC", "ACTIVATED");
    for d in devices {
        let activated = match d.activated {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "?",
        };
        println!(
            "{:<16} {:<12} {:<18} {:<22} {:<18} {:<9}",
            d.address.to_string(),
            opt(&d.manufacturer),
            opt(&d.model),
            opt(&d.firmware),
            opt(&d.mac),
            activated
        );
    }
    println!("{} device(s)", devices.len());
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis: {e:#}");
            ExitCode::FAILURE
        }
    }
}
