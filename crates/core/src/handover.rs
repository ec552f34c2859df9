//! The credential handover: each device's account and password from the vault, as a
//! text that exists only in memory (wiped on drop) and leaves the process only
//! age-encrypted — to a passphrase or to the customer's public keys.

use std::collections::HashMap;
use std::io::Write;
use std::str::FromStr;

use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::inventory::store::Store;
use crate::secret::Credentials;
use crate::vault::{Scope, Vault};

/// Shortest passphrase accepted for a handover file.
pub const MIN_PASSPHRASE: usize = 12;

/// How the handover is encrypted.
pub enum Recipients {
    Passphrase(Zeroizing<String>),
    /// age public keys (`age1…`).
    Keys(Vec<String>),
}

impl std::fmt::Debug for Recipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Recipients::Passphrase(_) => f.write_str("Passphrase(<redacted>)"),
            Recipients::Keys(k) => f.debug_tuple("Keys").field(k).finish(),
        }
    }
}

/// What a handover holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Contents {
    /// Every device's admin account, and the site's service accounts (the customer's).
    #[default]
    Everything,
    /// The service accounts only: for the recorder's or VMS's operator, who needs
    /// them and must not get the admin passwords.
    ServiceAccounts,
}

/// The encrypted file and what it holds.
#[derive(Debug)]
pub struct Handover {
    pub ciphertext: Vec<u8>,
    pub devices: usize,
    /// Devices the vault had a password for.
    pub with_password: usize,
    /// Service-account lines (their passwords, for the recorder's operator).
    pub service_accounts: usize,
}

/// One account's line: a device's admin, or one of its service accounts.
struct Row {
    label: String,
    site: String,
    model: String,
    serial: String,
    mac: String,
    creds: Option<Credentials>,
    /// When its password was last set, and how (`2026-12-04 rotated`).
    set: String,
    /// `admin` or `service`.
    kind: &'static str,
}

/// Build the handover for a site (or every site) and encrypt it.
pub fn build(
    store: &Store,
    vault: &Vault,
    history: &crate::history::History,
    site: Option<&str>,
    operator: &str,
    to: &Recipients,
    contents: Contents,
) -> Result<Handover> {
    let recipients = recipients(to)?;
    let records = history.query(&Default::default())?;
    let (text, devices, with_password, service_accounts) = document(store, vault, &records, site, operator, contents)?;
    let encryptor = age::Encryptor::with_recipients(recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient))
        .map_err(|e| Error::Local(format!("encryption: {e}")))?;
    let mut ciphertext = Vec::new();
    let fail = |e: std::io::Error| Error::Local(format!("encryption: {e}"));
    let mut w = encryptor.wrap_output(&mut ciphertext).map_err(fail)?;
    w.write_all(text.as_bytes()).map_err(fail)?;
    w.finish().map_err(fail)?;
    Ok(Handover { ciphertext, devices, with_password, service_accounts })
}

/// What a handover file holds, counted (both shells' summary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct Counts {
    pub devices: usize,
    /// Devices the vault had a password for.
    pub with_password: usize,
    /// Service-account lines.
    pub service_accounts: usize,
}

/// Build the workspace's handover (`site`'s devices, or every device), encrypted; write it
/// with [`Handover::write`].
pub fn for_workspace(
    ws: &crate::workspace::Workspace,
    site: Option<&str>,
    to: &Recipients,
    contents: Contents,
) -> Result<Handover> {
    build(&ws.store, &ws.vault, &ws.history, site, &crate::workspace::operator(None), to, contents)
}

impl Handover {
    /// Write the ciphertext, and nothing else, to `path`, readable by its owner only.
    pub fn write(&self, path: &std::path::Path) -> Result<Counts> {
        crate::files::write_private(path, &self.ciphertext)?;
        Ok(Counts { devices: self.devices, with_password: self.with_password, service_accounts: self.service_accounts })
    }
}

/// What opens a handover file.
pub enum Opener {
    Passphrase(Zeroizing<String>),
    /// An age identity file's text: its first `AGE-SECRET-KEY-1…` line is used.
    Identity(Zeroizing<String>),
}

impl std::fmt::Debug for Opener {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Opener::Passphrase(_) => "Passphrase(<redacted>)",
            Opener::Identity(_) => "Identity(<redacted>)",
        })
    }
}

/// Decrypt a handover file (in memory only; wiped when dropped).
pub fn open(ciphertext: &[u8], with: &Opener) -> Result<Zeroizing<Vec<u8>>> {
    let refused = |e: age::DecryptError| Error::Input(format!("the handover does not open: {e}"));
    let plain = match with {
        Opener::Passphrase(p) => age::decrypt(&age::scrypt::Identity::new(p.to_string().into()), ciphertext),
        Opener::Identity(keys) => {
            let id = keys
                .lines()
                .map(str::trim)
                .find(|l| l.starts_with("AGE-SECRET-KEY-"))
                .and_then(|l| age::x25519::Identity::from_str(l).ok())
                .ok_or_else(|| Error::Input("no AGE-SECRET-KEY-1… line in the identity file".into()))?;
            age::decrypt(&id, ciphertext)
        }
    };
    plain.map(Zeroizing::new).map_err(refused)
}

fn recipients(to: &Recipients) -> Result<Vec<Box<dyn age::Recipient + Send>>> {
    match to {
        Recipients::Passphrase(p) => {
            if p.chars().count() < MIN_PASSPHRASE {
                return Err(Error::Input(format!("the passphrase must have at least {MIN_PASSPHRASE} characters")));
            }
            Ok(vec![Box::new(age::scrypt::Recipient::new(p.to_string().into()))])
        }
        Recipients::Keys(keys) if keys.is_empty() => Err(Error::Input("no recipient key given".into())),
        Recipients::Keys(keys) => keys
            .iter()
            .map(|k| {
                age::x25519::Recipient::from_str(k)
                    .map(|r| Box::new(r) as Box<dyn age::Recipient + Send>)
                    .map_err(|e| Error::Input(format!("recipient {k}: {e}")))
            })
            .collect(),
    }
}

/// The handover text: a header and one line per device. Built in memory only.
fn document(
    store: &Store,
    vault: &Vault,
    history: &[crate::history::Record],
    site: Option<&str>,
    operator: &str,
    contents: Contents,
) -> Result<(Zeroizing<String>, usize, usize, usize)> {
    let index = vault.list()?;
    let rotated = crate::site::passwords::rotations(history);
    let set = |label: &str| {
        crate::site::passwords::last_set(label, &rotated, &index)
            .map_or_else(|| "-".to_string(), |(when, how)| format!("{} {how}", when.format("%Y-%m-%d")))
    };
    let mut rows: Vec<Row> = Vec::new();
    let opt = |s: &Option<String>| s.clone().filter(|v| !v.is_empty()).unwrap_or_else(|| "-".into());
    let devices: Vec<_> =
        store.all()?.into_iter().filter(|d| site.is_none_or(|s| d.site.as_deref() == Some(s))).collect();
    let targets: Vec<(String, Option<String>)> =
        devices.iter().filter_map(|d| Some((d.target()?.label(), d.site.clone()))).collect();
    // Every device's credentials in one read of the vault (per device, a site's worth of
    // lookups each read the whole index: quadratic).
    let found = vault.lookup_many(&targets)?;
    for (d, (label, _)) in devices.iter().filter(|d| d.target().is_some()).zip(targets) {
        let creds = found.get(&label).cloned();
        rows.push(Row {
            set: set(&label),
            label,
            site: opt(&d.site),
            model: opt(&d.model),
            serial: opt(&d.serial),
            mac: opt(&d.mac),
            creds,
            kind: "admin",
        });
    }
    // Device entries in the vault that the inventory does not know.
    if site.is_none() {
        let known: std::collections::HashSet<String> = rows
            .iter()
            .flat_map(|r| [r.label.clone(), r.label.split(':').next().unwrap_or_default().to_string()])
            .collect();
        for e in &index {
            if let Scope::Device(name) = &e.scope {
                if !known.contains(name) {
                    let creds = vault.lookup(name, None)?;
                    let dash = || "-".to_string();
                    rows.push(Row {
                        label: name.clone(),
                        site: dash(),
                        model: dash(),
                        serial: dash(),
                        mac: dash(),
                        creds,
                        set: set(name),
                        kind: "admin",
                    });
                }
            }
        }
    }
    let devices = rows.len();
    let with_password = rows.iter().filter(|r| r.creds.is_some()).count();
    let services = ServiceEntries::of(&index, history);
    let mut lines = Vec::new();
    for admin in rows {
        let services = service_rows(&admin, vault, &services)?;
        if contents == Contents::Everything {
            lines.push(admin);
        }
        lines.extend(services);
    }
    let service_accounts = lines.iter().filter(|r| r.kind == "service").count();
    let rows = lines;
    // A service-only file holds no admin password: its counts say what it does hold.
    let (devices, with_password) = match contents {
        Contents::Everything => (devices, with_password),
        Contents::ServiceAccounts => {
            let labels: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.label.as_str()).collect();
            (labels.len(), 0)
        }
    };
    let mut t = Zeroizing::new(String::new());
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    t.push_str("PORTCULLIS CREDENTIAL HANDOVER\n");
    t.push_str(&format!(
        "Site: {}\nCreated: {now}\nBy: {operator}\nDevices: {devices}\n\n",
        site.unwrap_or("all sites")
    ));
    t.push_str("Keep this text secret. Store it in a password manager, then delete any copy of it.\n\n");
    if contents == Contents::ServiceAccounts {
        t.push_str("Service accounts only: the admin passwords are not in this file.\n\n");
    }
    let widths = [22, 16, 18, 34, 18, 30, 8, 16];
    let header = ["DEVICE", "SITE", "MODEL", "SERIAL", "MAC", "PASSWORD SET", "ACCOUNT", "USER"];
    let mut line = String::new();
    for (h, width) in header.iter().zip(widths) {
        line.push_str(&format!("{h:<width$} "));
    }
    t.push_str(&line);
    t.push_str("PASSWORD\n");
    for r in &rows {
        let (user, pass) = match &r.creds {
            Some(c) => (c.username.as_str(), c.password.expose()),
            None => ("-", "(none in the vault)"),
        };
        let cells = [r.label.as_str(), &r.site, &r.model, &r.serial, &r.mac, &r.set, r.kind, user];
        let mut l = Zeroizing::new(String::new());
        for (c, width) in cells.iter().zip(widths) {
            l.push_str(&format!("{c:<width$} "));
        }
        l.push_str(pass);
        t.push_str(&l);
        t.push('\n');
    }
    Ok((t, devices, with_password, service_accounts))
}

/// The vault's service-account entries by the address (or label) they belong to, and
/// the last verified change that stored each: gathered once for the whole handover.
struct ServiceEntries<'a> {
    by_owner: HashMap<&'a str, Vec<&'a crate::vault::EntryInfo>>,
    /// Entry name → the last verified change that used it.
    set_by: HashMap<&'a str, &'a crate::history::Record>,
}

impl<'a> ServiceEntries<'a> {
    fn of(index: &'a [crate::vault::EntryInfo], history: &'a [crate::history::Record]) -> Self {
        let mut by_owner: HashMap<&str, Vec<&crate::vault::EntryInfo>> = HashMap::new();
        for e in index {
            if let Scope::Service(owner) = &e.scope {
                by_owner.entry(owner.as_str()).or_default().push(e);
            }
        }
        let set_by = history
            .iter()
            .filter(|r| r.change.outcome == crate::history::Outcome::Verified)
            .filter_map(|r| Some((r.change.vault_entry.as_deref()?, r)))
            .collect();
        ServiceEntries { by_owner, set_by }
    }
}

/// The service accounts the vault holds for a device (by its address), each with when
/// its password was set: the last verified change that stored it, else the vault's date.
fn service_rows(device: &Row, vault: &Vault, entries: &ServiceEntries<'_>) -> Result<Vec<Row>> {
    // `192.0.2.7:80` or `[2001:db8::7]:80` → the address (vault entries are by address),
    // or the label itself for a device that shares its address with others.
    let address =
        device.label.parse::<std::net::SocketAddr>().map_or_else(|_| device.label.clone(), |a| a.ip().to_string());
    let mut owners = vec![address.as_str()];
    if device.label != address {
        owners.push(device.label.as_str());
    }
    let mut out = Vec::new();
    for e in owners.iter().filter_map(|o| entries.by_owner.get(o)).flatten() {
        let scope = e.scope.clone();
        let entry = scope.entry_name(&e.username);
        let set = match entries.set_by.get(entry.as_str()) {
            Some(r) => {
                let how = match &r.change.after {
                    Some(crate::posture::Value::Text(t)) if t.ends_with("created") => "created",
                    _ => "rotated",
                };
                format!("{} {how}", r.time.get(..10).unwrap_or(&r.time))
            }
            None => format!("{} stored in the vault", e.updated.get(..10).unwrap_or(&e.updated)),
        };
        out.push(Row {
            label: device.label.clone(),
            site: device.site.clone(),
            model: device.model.clone(),
            serial: device.serial.clone(),
            mac: device.mac.clone(),
            creds: vault.lookup_scope(&scope, &e.username)?,
            set,
            kind: "service",
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use crate::vault::FileVault;

    #[test]
    fn the_file_opens_with_the_passphrase_only_and_holds_every_password() {
        let dir = std::env::temp_dir().join(format!("pc-handover-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir).unwrap();
        let vault = Vault::new(Box::new(FileVault::new(dir.join("v.age"), Secret::new("t")).with_work_factor(4)), &dir);
        let creds = Credentials { username: "admin".into(), password: Secret::new("Canary-Pa55-word") };
        vault.set(Scope::Device("192.0.2.7:80".into()), &creds).unwrap();
        let short = Recipients::Passphrase(Zeroizing::new("short".into()));
        let no_history = crate::history::History::open(&dir, crate::history::HistoryKey::generate()).unwrap();
        assert!(matches!(
            build(&store, &vault, &no_history, None, "tester", &short, Contents::Everything),
            Err(Error::Input(_))
        ));
        drop(no_history);
        let to = Recipients::Passphrase(Zeroizing::new("a long handover passphrase".into()));
        let history = crate::history::History::open(&dir, crate::history::HistoryKey::generate()).unwrap();
        let h = build(&store, &vault, &history, None, "tester", &to, Contents::Everything).unwrap();
        assert_eq!((h.devices, h.with_password), (1, 1));
        assert!(!String::from_utf8_lossy(&h.ciphertext).contains("Canary-Pa55-word"));
        let plain =
            open(&h.ciphertext, &Opener::Passphrase(Zeroizing::new("a long handover passphrase".into()))).unwrap();
        let text = String::from_utf8(plain.to_vec()).unwrap();
        assert!(text.contains("192.0.2.7:80") && text.contains("Canary-Pa55-word"), "{text}");
        // When its password was set: here, the day it was stored (no rotation recorded).
        let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
        assert!(text.contains(&format!("{today} stored in the vault")), "{text}");
        let wrong = Opener::Passphrase(Zeroizing::new("another long passphrase".into()));
        assert!(matches!(open(&h.ciphertext, &wrong), Err(Error::Input(_))));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_file_for_a_key_opens_with_its_identity_file_only() {
        use age::secrecy::ExposeSecret;
        let dir = std::env::temp_dir().join(format!("pc-handover-key-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Store::open(&dir).unwrap();
        let vault = Vault::new(Box::new(FileVault::new(dir.join("v.age"), Secret::new("t")).with_work_factor(4)), &dir);
        let history = crate::history::History::open(&dir, crate::history::HistoryKey::generate()).unwrap();
        let key = age::x25519::Identity::generate();
        let to = Recipients::Keys(vec![key.to_public().to_string()]);
        let h = build(&store, &vault, &history, None, "tester", &to, Contents::Everything).unwrap();
        let file =
            format!("# created: today\n# public key: {}\n{}\n", key.to_public(), key.to_string().expose_secret());
        let plain = open(&h.ciphertext, &Opener::Identity(Zeroizing::new(file))).unwrap();
        assert!(String::from_utf8_lossy(&plain).contains("tester"), "the header names the operator");
        let other = age::x25519::Identity::generate().to_string().expose_secret().to_string();
        assert!(matches!(open(&h.ciphertext, &Opener::Identity(Zeroizing::new(other))), Err(Error::Input(_))));
        let e = open(&h.ciphertext, &Opener::Identity(Zeroizing::new("not a key".into()))).unwrap_err();
        assert!(e.to_string().contains("no AGE-SECRET-KEY-1"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
