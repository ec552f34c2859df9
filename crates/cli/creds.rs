//! `portcullis creds set|import|list|forget`. Passwords come in on standard input or in
//! a file, go straight to the vault, and are never printed.

use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args as ClapArgs, Subcommand};
use portcullis_core::secret::{Credentials, Secret};
use portcullis_core::vault::{Scope, Vault};

use crate::output::Output;

#[derive(Debug, ClapArgs)]
#[group(required = true, multiple = false)]
pub struct Target {
    /// A device, as ADDR or ADDR:PORT.
    #[arg(long)]
    device: Option<String>,
    /// A site's default credentials (`default` applies to every device).
    #[arg(long)]
    site: Option<String>,
}

impl Target {
    fn scope(&self) -> anyhow::Result<Scope> {
        match (&self.device, &self.site) {
            (Some(d), None) => Ok(Scope::device(d).context("--device")?),
            (None, Some(s)) if !s.trim().is_empty() => Ok(Scope::Site(s.trim().to_string())),
            _ => bail!("give --device ADDR[:PORT] or --site NAME"),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Store a password, read from standard input.
    Set {
        #[command(flatten)]
        target: Target,
        #[arg(long, default_value = "admin")]
        user: String,
        /// Read the password from standard input (the only way: never on the command line).
        #[arg(long, required = true)]
        password_stdin: bool,
    },
    /// Store passwords from a CSV file with `address,username,password` columns.
    Import { file: PathBuf },
    /// List what the vault holds (never the passwords).
    List,
    /// End the file vault's unlock window now: the next command asks scrypt again
    /// (PORTCULLIS_VAULT_UNLOCK_SECONDS sets the window; 0 turns it off).
    Lock,
    /// Remove stored credentials.
    Forget {
        #[command(flatten)]
        target: Target,
        #[arg(long)]
        user: Option<String>,
    },
}

pub fn run(cmd: Command, out: &Output) -> anyhow::Result<ExitCode> {
    let home = portcullis_core::paths::home()?;
    let vault = Vault::from_env(&home)?;
    match cmd {
        Command::Set { target, user, .. } => {
            let scope = target.scope()?;
            let mut raw = String::new();
            std::io::stdin().read_to_string(&mut raw).context("reading the password from standard input")?;
            let password = Secret::new(raw.trim_end_matches(['\r', '\n']));
            raw.clear();
            if password.is_empty() {
                bail!("empty password on standard input");
            }
            vault.set(scope.clone(), &Credentials { username: user.clone(), password })?;
            if out.json {
                out.record("stored", &serde_json::json!({ "scope": scope, "username": user }));
            } else {
                println!("Stored the password of {user} for {scope:?} in {}.", vault.describe());
            }
        }
        Command::Import { file } => {
            let text = portcullis_core::files::read_chosen_text(&file)?;
            let n = portcullis_core::tasks::import::credentials(&vault, &text)
                .with_context(|| file.display().to_string())?;
            if out.json {
                out.record("import", &serde_json::json!({ "stored": n }));
            } else {
                println!("Stored {n} credential(s) in {}.", vault.describe());
            }
        }
        Command::Lock => {
            let held = vault.lock()?;
            if out.json {
                out.record("locked", &serde_json::json!({ "was_unlocked": held }));
            } else if held {
                println!(
                    "Locked: the vault's unsealed key is forgotten; the next command unseals it with the passphrase."
                );
            } else {
                println!("Nothing to lock: no unsealed key is held for {}.", vault.describe());
            }
        }
        Command::List => {
            let list = vault.list()?;
            if out.json {
                for e in &list {
                    out.record("credential", e);
                }
            } else {
                println!("{:<32} {:<16} UPDATED", "FOR", "USER");
                for e in &list {
                    let who = match &e.scope {
                        Scope::Device(d) => format!("device {d}"),
                        Scope::Site(s) => format!("site {s}"),
                        Scope::Pending(d) => format!("device {d} (rotation pending)"),
                        Scope::Service(d) => format!("device {d} (service account)"),
                        Scope::ServicePending(d) => format!("device {d} (service account pending)"),
                        Scope::Ca(n) => format!("{n} certificate authority"),
                        Scope::Key(n) => format!("{n} key (Portcullis's own)"),
                    };
                    println!("{who:<32} {:<16} {}", e.username, e.updated);
                }
                println!("{} entr{} in {}", list.len(), if list.len() == 1 { "y" } else { "ies" }, vault.describe());
            }
        }
        Command::Forget { target, user } => {
            let n = vault.forget(&target.scope()?, user.as_deref())?;
            if out.json {
                out.record("forgotten", &serde_json::json!({ "removed": n }));
            } else {
                println!("Removed {n} credential(s).");
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
