//! `portcullis`: the command-line front end of the Portcullis engine. Each command is a
//! thin adapter: parse, call core, print (a table, or one JSON object per line with
//! `--json`).
#![allow(clippy::print_stdout, clippy::print_stderr)]

/// jemalloc, not the platform's allocator: an audit makes and frees many small buffers per
/// request (hyper, rustls, XML), and glibc's malloc spent about 15 % of its CPU on them.
/// Measured on 1,000 hardened cameras (README, steady-state audit benchmark): 2.0 ms of
/// CPU per camera instead of 2.2–2.5, and a lower peak (80–83 MB against 88–99 MB);
/// mimalloc was as fast but doubled the peak. Its options are set where it is built
/// (`.cargo/config.toml`: freed pages go back at once). jemalloc does not build for MSVC:
/// Windows keeps the system allocator.
// elsewhere: (MSVC) no `#[global_allocator]`, so Rust's default, the system allocator.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

mod advisories;
mod apply;
mod audit;
mod backups;
mod baseline;
mod certs;
mod creds;
mod discover;
mod firmware;
mod handover;
mod history;
mod inventory;
mod output;
mod plan;
mod report;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

const PLANNED: &str = "\
Environment:
  PORTCULLIS_HOME              data directory (default: the platform data directory)
  PORTCULLIS_VAULT             keyring (default) or file
  PORTCULLIS_VAULT_PASSPHRASE  passphrase of the file vault";

/// The version and the commit it was built from.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), " (commit ", env!("PORTCULLIS_COMMIT"), ")");

/// Find, audit and harden the IP cameras of a site.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version = VERSION, after_help = PLANNED)]
struct Cli {
    /// Machine-readable output: one JSON object per line.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Find cameras: WS-Discovery and SADP multicast, and a TCP scan of ranges.
    Discover(discover::Args),
    /// The device inventory.
    Inventory {
        #[command(subcommand)]
        command: inventory::Command,
    },
    /// Credentials in the vault (the OS keyring, or the encrypted file vault).
    Creds {
        #[command(subcommand)]
        command: creds::Command,
    },
    /// Score devices against a hardening baseline. Changes nothing on any device.
    Audit(audit::Command),
    /// The tamper-evident change log (written by `apply`), and its verification.
    History(history::Args),
    /// Show the ordered changes each device needs (`setting: current → target`). Writes nothing.
    Plan(plan::Args),
    /// Make the planned changes: each one recorded, verified by reading it back, and
    /// rolled back if it does not hold. Asks first unless --yes.
    Apply(apply::Args),
    /// The site CA and the device certificates it issued.
    Certs {
        #[command(subcommand)]
        command: certs::Command,
    },
    /// Resolve password rotations a crash interrupted (also done at the start of apply).
    Recover(apply::RecoverArgs),
    /// Write a report (PDF, HTML, CSV or JSON) from the audits and the history, or verify a JSON one.
    Report(report::Args),
    /// Write each device's account and password into an age-encrypted file, or open one.
    Handover(handover::Args),
    /// Configuration backups taken before changes (age-encrypted), and opening one.
    Backups {
        #[command(subcommand)]
        command: backups::Command,
    },
    /// The firmware advisory database audits match devices against, and its offline update.
    Advisories {
        #[command(subcommand)]
        command: advisories::Command,
    },
    /// Site baselines: write one from a reference camera.
    Baseline {
        #[command(subcommand)]
        command: baseline::Command,
    },
    /// The firmware library: images firmware upgrade steps upload.
    Firmware {
        #[command(subcommand)]
        command: firmware::Command,
    },
    /// Where Portcullis keeps its data.
    Home,
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish).
    Completions { shell: clap_complete::Shell },
    /// Write the manual pages (portcullis.1 and one per command) into a folder.
    Man {
        #[arg(long)]
        out: std::path::PathBuf,
    },
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let out = output::Output { json: cli.json };
    match cli.command {
        Command::Home => {
            println!("{}", portcullis_core::paths::home()?.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Inventory { command } => inventory::run(command, &out),
        Command::Creds { command } => creds::run(command, &out),
        Command::Audit(args) => audit::run(&args, &out),
        Command::Discover(args) => discover::run(&args, &out),
        Command::History(args) => history::run(&args, &out),
        Command::Plan(args) => plan::run(&args, &out),
        Command::Apply(args) => apply::run(&args, &out),
        Command::Recover(args) => apply::recover(&args, &out),
        Command::Certs { command } => certs::run(command, &out),
        Command::Report(args) => report::run(&args, &out),
        Command::Handover(args) => handover::run(&args, &out),
        Command::Backups { command } => backups::run(command, &out),
        Command::Advisories { command } => advisories::run(command, &out),
        Command::Firmware { command } => firmware::run(command, &out),
        Command::Baseline { command } => baseline::run(command, &out),
        Command::Completions { shell } => {
            use clap::CommandFactory;
            clap_complete::generate(shell, &mut Cli::command(), "portcullis", &mut std::io::stdout());
            Ok(ExitCode::SUCCESS)
        }
        Command::Man { out: dir } => {
            use clap::CommandFactory;
            std::fs::create_dir_all(&dir)?;
            clap_mangen::generate_to(Cli::command(), &dir)?;
            println!("Wrote the manual pages to {}", dir.display());
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let json = cli.json;
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            if json {
                let code = e.downcast_ref::<portcullis_core::error::Error>().map(|x| x.code()).unwrap_or("error");
                println!("{}", serde_json::json!({ "type": "error", "code": code, "message": format!("{e:#}") }));
            } else {
                eprintln!("portcullis: {e:#}");
            }
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
