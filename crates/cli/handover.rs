//! `portcullis handover --out FILE (--passphrase-env VAR | --recipient KEY)` and
//! `portcullis handover open FILE [--out FILE]`: each device's account and password from
//! the vault, age-encrypted for the customer. The plaintext exists only in memory (and is
//! wiped when dropped); the tool writes only ciphertext, unless the user of `open`
//! explicitly names a file for the decrypted text.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::Subcommand;
use portcullis_core::handover;
use portcullis_core::workspace::Workspace;
use zeroize::Zeroizing;

use crate::output::Output;

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Where to write the encrypted file.
    #[arg(long)]
    out: Option<PathBuf>,
    /// Encrypt with the passphrase in this environment variable (at least 12 characters).
    #[arg(long, conflicts_with = "recipient")]
    passphrase_env: Option<String>,
    /// Encrypt to this age public key (`age1…`); repeatable.
    #[arg(long)]
    recipient: Vec<String>,
    /// Only devices of this site.
    #[arg(long)]
    site: Option<String>,
    /// Only the site's service accounts (for the recorder's or VMS's operator): no
    /// admin password goes in the file.
    #[arg(long)]
    service_accounts: bool,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Decrypt a handover file to the terminal, or to the file named with --out.
    Open {
        file: PathBuf,
        /// Write the decrypted text here instead of the terminal (your explicit choice).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The passphrase is in this environment variable.
        #[arg(long, conflicts_with = "identity")]
        passphrase_env: Option<String>,
        /// An age identity file (AGE-SECRET-KEY-1…) for a file encrypted to a recipient key.
        #[arg(long)]
        identity: Option<PathBuf>,
    },
}

fn passphrase(var: &str) -> anyhow::Result<Zeroizing<String>> {
    let p =
        Zeroizing::new(std::env::var(var).map_err(|_| anyhow::anyhow!("the environment variable {var} is not set"))?);
    if p.chars().count() < handover::MIN_PASSPHRASE {
        anyhow::bail!("the passphrase in {var} must have at least {} characters", handover::MIN_PASSPHRASE);
    }
    Ok(p)
}

pub fn run(args: &Args, out: &Output) -> anyhow::Result<ExitCode> {
    if let Some(Command::Open { file, out: to, passphrase_env, identity }) = &args.command {
        return open(file, to.as_deref(), passphrase_env.as_deref(), identity.as_deref(), out);
    }
    let Some(path) = &args.out else { anyhow::bail!("say where the handover file goes: --out FILE") };
    let to = match (&args.passphrase_env, args.recipient.as_slice()) {
        (Some(var), []) => handover::Recipients::Passphrase(passphrase(var)?),
        (None, keys) if !keys.is_empty() => handover::Recipients::Keys(keys.to_vec()),
        _ => anyhow::bail!("say how to encrypt: --passphrase-env VAR or --recipient age1…"),
    };
    let ws = Workspace::from_env()?;
    let contents =
        if args.service_accounts { handover::Contents::ServiceAccounts } else { handover::Contents::Everything };
    let counts = handover::for_workspace(&ws, args.site.as_deref(), &to, contents)?.write(path)?;
    if out.json {
        #[derive(serde::Serialize)]
        struct Written<'a> {
            file: &'a Path,
            #[serde(flatten)]
            counts: handover::Counts,
        }
        out.record("handover", &Written { file: path, counts });
    } else {
        println!(
            "Wrote {} (age-encrypted): {} device(s), {} with a password from the vault, {} service account(s)",
            path.display(),
            counts.devices,
            counts.with_password,
            counts.service_accounts
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn open(
    file: &Path,
    to: Option<&Path>,
    passphrase_env: Option<&str>,
    identity: Option<&Path>,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    let cipher = portcullis_core::files::read_bounded(file, portcullis_core::files::CHOSEN_LIMIT)?;
    let opener = match (passphrase_env, identity) {
        (Some(var), _) => handover::Opener::Passphrase(passphrase(var)?),
        (None, Some(path)) => {
            handover::Opener::Identity(Zeroizing::new(portcullis_core::files::read_chosen_text(path)?))
        }
        (None, None) => anyhow::bail!("say how to decrypt: --passphrase-env VAR or --identity FILE"),
    };
    let plain = handover::open(&cipher, &opener).with_context(|| match identity {
        Some(keys) => format!("{} with the identity in {}", file.display(), keys.display()),
        None => file.display().to_string(),
    })?;
    match to {
        Some(path) => {
            write_private(path, &plain)?;
            if out.json {
                out.record("handover_opened", &serde_json::json!({ "file": path }));
            } else {
                println!(
                    "Decrypted to {} (readable only by you). Delete it once the credentials are stored.",
                    path.display()
                );
            }
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            stdout.write_all(&plain)?;
            stdout.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The user asked for the plaintext in this file: create it new, readable by its owner
/// only (on Windows it takes the ACL of the folder chosen, the user's own under their
/// profile: see `portcullis_core::files`).
pub(crate) fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let mut f = portcullis_core::files::create_new_private(path)
        .with_context(|| format!("{} (it must not exist yet)", path.display()))?;
    f.write_all(data)?;
    Ok(())
}
