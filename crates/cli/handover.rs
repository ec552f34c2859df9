//! `portcullis handover --out FILE (--passphrase-env VAR | --recipient KEY)` and
//! `portcullis handover open FILE [--out FILE]`: each device's account and password from
//! the vault, age-encrypted for the customer. The plaintext exists only in memory (and is
//! wiped when dropped); the tool writes only ciphertext, unless the user of `open`
//! explicitly names a file for the decrypted text.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;

use anyhow::Context;
use clap::Subcommand;
use portcullis_core::inventory::store::Store;
use portcullis_core::vault::{Scope, Vault};
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

fn passphrase(var: &str) -> anyhow::Result<age::secrecy::SecretString> {
    let p =
        Zeroizing::new(std::env::var(var).map_err(|_| anyhow::anyhow!("the environment variable {var} is not set"))?);
    if p.chars().count() < 12 {
        anyhow::bail!("the passphrase in {var} must have at least 12 characters");
    }
    Ok(p.to_string().into())
}

pub fn run(args: &Args, out: &Output) -> anyhow::Result<ExitCode> {
    if let Some(Command::Open { file, out: to, passphrase_env, identity }) = &args.command {
        return open(file, to.as_deref(), passphrase_env.as_deref(), identity.as_deref(), out);
    }
    let Some(path) = &args.out else { anyhow::bail!("say where the handover file goes: --out FILE") };
    let recipients: Vec<Box<dyn age::Recipient + Send>> = match (&args.passphrase_env, args.recipient.as_slice()) {
        (Some(var), []) => vec![Box::new(age::scrypt::Recipient::new(passphrase(var)?))],
        (None, keys) if !keys.is_empty() => keys
            .iter()
            .map(|k| {
                age::x25519::Recipient::from_str(k)
                    .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
                    .map_err(|e| anyhow::anyhow!("--recipient {k}: {e}"))
            })
            .collect::<anyhow::Result<_>>()?,
        _ => anyhow::bail!("say how to encrypt: --passphrase-env VAR or --recipient age1…"),
    };
    let home = portcullis_core::paths::home()?;
    let (text, devices, with_password) = document(&home, args.site.as_deref())?;
    let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient))
        .map_err(|e| anyhow::anyhow!("encryption: {e}"))?;
    let mut cipher = Vec::new();
    let mut w = encryptor.wrap_output(&mut cipher).context("encryption")?;
    w.write_all(text.as_bytes()).context("encryption")?;
    w.finish().context("encryption")?;
    drop(text);
    portcullis_core::vault::write_atomically(path, &cipher)?;
    if out.json {
        out.record(
            "handover",
            &serde_json::json!({ "file": path, "devices": devices, "with_password": with_password }),
        );
    } else {
        println!(
            "Wrote {} (age-encrypted): {devices} device(s), {with_password} with a password from the vault",
            path.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The handover text: a header and one line per device. Built in memory only.
fn document(home: &Path, site: Option<&str>) -> anyhow::Result<(Zeroizing<String>, usize, usize)> {
    let store = Store::open(home)?;
    let vault = Vault::from_env(home)?;
    let mut rows: Vec<(String, String, String, String, String, Option<portcullis_core::secret::Credentials>)> =
        Vec::new();
    for d in store.all()?.iter().filter(|d| site.is_none_or(|s| d.site.as_deref() == Some(s))) {
        let Some(t) = d.target() else { continue };
        let label = t.label();
        let creds = vault.lookup(&label, d.site.as_deref())?;
        let opt = |s: &Option<String>| s.clone().filter(|v| !v.is_empty()).unwrap_or_else(|| "-".into());
        rows.push((label, opt(&d.site), opt(&d.model), opt(&d.serial), opt(&d.mac), creds));
    }
    // Device entries in the vault that the inventory does not know.
    if site.is_none() {
        for e in vault.list()? {
            if let Scope::Device(name) = &e.scope {
                if !rows.iter().any(|r| &r.0 == name || r.0.split(':').next() == Some(name.as_str())) {
                    let creds = vault.lookup(name, None)?;
                    rows.push((name.clone(), "-".into(), "-".into(), "-".into(), "-".into(), creds));
                }
            }
        }
    }
    let devices = rows.len();
    let with_password = rows.iter().filter(|r| r.5.is_some()).count();
    let mut t = Zeroizing::new(String::new());
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    t.push_str("PORTCULLIS CREDENTIAL HANDOVER\n");
    t.push_str(&format!(
        "Site: {}\nCreated: {now}\nBy: {}\nDevices: {devices}\n\n",
        site.unwrap_or("all sites"),
        portcullis_core::snapshots::operator_from_env()
    ));
    t.push_str("Keep this text secret. Store it in a password manager, then delete any copy of it.\n\n");
    let header = ["DEVICE", "SITE", "MODEL", "SERIAL", "MAC", "USER", "PASSWORD"];
    let w: Vec<usize> = vec![22, 16, 18, 34, 18, 12];
    let mut line = String::new();
    for (h, width) in header.iter().zip(w.iter().chain(std::iter::once(&0))) {
        line.push_str(&format!("{h:<width$} "));
    }
    t.push_str(line.trim_end());
    t.push('\n');
    for (label, site, model, serial, mac, creds) in &rows {
        let (user, pass) = match creds {
            Some(c) => (c.username.as_str(), c.password.expose()),
            None => ("-", "(none in the vault)"),
        };
        let cells = [label.as_str(), site, model, serial, mac, user];
        let mut l = Zeroizing::new(String::new());
        for (c, width) in cells.iter().zip(&w) {
            l.push_str(&format!("{c:<width$} "));
        }
        l.push_str(pass);
        t.push_str(&l);
        t.push('\n');
    }
    Ok((t, devices, with_password))
}

fn open(
    file: &Path,
    to: Option<&Path>,
    passphrase_env: Option<&str>,
    identity: Option<&Path>,
    out: &Output,
) -> anyhow::Result<ExitCode> {
    let cipher = std::fs::read(file).with_context(|| format!("{}", file.display()))?;
    let plain = Zeroizing::new(match (passphrase_env, identity) {
        (Some(var), _) => {
            let id = age::scrypt::Identity::new(passphrase(var)?);
            age::decrypt(&id, &cipher).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
        }
        (None, Some(path)) => {
            let keys = Zeroizing::new(std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?);
            let id = keys
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("AGE-SECRET-KEY-"))
                .and_then(|l| age::x25519::Identity::from_str(l).ok())
                .ok_or_else(|| anyhow::anyhow!("{}: no AGE-SECRET-KEY-1… line", path.display()))?;
            age::decrypt(&id, &cipher).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?
        }
        (None, None) => anyhow::bail!("say how to decrypt: --passphrase-env VAR or --identity FILE"),
    });
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

/// The user asked for the plaintext in this file: create it readable by its owner only.
fn write_private(path: &Path, data: &[u8]) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).with_context(|| format!("{} (it must not exist yet)", path.display()))?;
    f.write_all(data)?;
    Ok(())
}
