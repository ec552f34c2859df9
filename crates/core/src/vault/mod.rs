//! The vault: where passwords live. The OS keyring (Secret Service on Linux) by
//! default; a passphrase-encrypted file (age, scrypt) as the explicit fallback for
//! headless machines. Values never leave as anything but a [`Secret`].
//!
//! The keyring cannot list its entries, so the vault keeps an index of entry names,
//! users and dates (never a secret) in `PORTCULLIS_HOME/vault-index.json`.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::secret::{Credentials, Secret};

const SERVICE: &str = "portcullis";

/// What the index knows of an entry (no secret).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryInfo {
    pub scope: Scope,
    pub username: String,
    pub updated: String,
}

/// Which credentials a device's login would use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub enum LoginSource {
    /// Its own.
    Device,
    /// Its site's defaults.
    Site,
    /// The `default` site's.
    Default,
    /// None: it cannot be logged in to.
    None,
}

/// A device's login, as the index knows it (never the password).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename = "CredentialState", export_to = "../../ui/src/lib/ipc/bindings/")
)]
pub struct LoginEntry {
    pub source: LoginSource,
    pub username: Option<String>,
    pub updated: Option<String>,
}

/// Where secret values are kept.
pub trait SecretStore: Send + Sync + std::fmt::Debug {
    fn get(&self, key: &str) -> Result<Option<Secret>>;
    fn set(&self, key: &str, value: &Secret) -> Result<()>;
    fn delete(&self, key: &str) -> Result<()>;
    fn describe(&self) -> String;
    /// Forget any unsealed key held to open the store without its passphrase (the file
    /// vault's unlock window); whether one was held.
    fn lock(&self) -> Result<bool> {
        Ok(false)
    }
    /// Several values at once (the file vault opens its file once for all of them).
    fn get_many(&self, keys: &[String]) -> Result<std::collections::HashMap<String, Secret>> {
        let mut found = std::collections::HashMap::new();
        for k in keys {
            if let Some(v) = self.get(k)? {
                found.insert(k.clone(), v);
            }
        }
        Ok(found)
    }
    /// Store several values at once (one encryption for the file vault).
    fn set_many(&self, items: &[(String, Secret)]) -> Result<()> {
        for (k, v) in items {
            self.set(k, v)?;
        }
        Ok(())
    }
}

mod file;
mod os_keyring;
mod scope;
mod unlocked;

pub use file::FileVault;
pub use os_keyring::{Keyring, ENTRY_LIMIT};
pub use scope::Scope;

/// The file vault's passphrase, taken from `PORTCULLIS_VAULT_PASSPHRASE` the first time
/// it is asked for and removed from the environment then, so that no child process
/// inherits it. Kept here, in a buffer wiped on exit.
fn passphrase_from_env() -> Option<Secret> {
    static PASSPHRASE: std::sync::OnceLock<Option<Secret>> = std::sync::OnceLock::new();
    PASSPHRASE
        .get_or_init(|| {
            let value = std::env::var("PORTCULLIS_VAULT_PASSPHRASE").ok().map(Secret::new);
            // Safe in edition 2021; the first call is made while the program opens its
            // vault, before it starts anything that reads the environment.
            std::env::remove_var("PORTCULLIS_VAULT_PASSPHRASE");
            value
        })
        .clone()
}

/// A change's hold on the vault; released when dropped (closing the file unlocks it).
struct Changing<'a> {
    _in_process: std::sync::MutexGuard<'a, ()>,
    _across_processes: std::fs::File,
}

/// The vault: a secret store plus the index of what it holds.
#[derive(Debug)]
pub struct Vault {
    store: Box<dyn SecretStore>,
    index_path: PathBuf,
    /// Held by every change, from reading the index to writing it back: devices rotate
    /// concurrently, and two read-modify-writes of the index would lose an entry (a
    /// password on a device and nowhere else).
    changing: std::sync::Mutex<()>,
}

impl Vault {
    pub fn new(store: Box<dyn SecretStore>, home: &Path) -> Self {
        Vault { store, index_path: home.join("vault-index.json"), changing: std::sync::Mutex::new(()) }
    }

    /// Held for a change: this process's threads, and other processes (the desktop
    /// app beside a CLI run) through a lock file next to the index.
    fn change(&self) -> Result<Changing<'_>> {
        let in_process = self.changing.lock().map_err(|_| Error::Local("vault: an earlier change panicked".into()))?;
        let path = self.index_path.with_file_name("vault-index.lock");
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| Error::Local(format!("{}: {e}", path.display())))?;
        file.lock().map_err(|e| Error::Local(format!("{}: {e}", path.display())))?;
        Ok(Changing { _in_process: in_process, _across_processes: file })
    }

    /// Run vault work on a blocking thread, for async callers. A file vault write is a
    /// whole scrypt re-encryption (about a second, by design) and a keyring call may
    /// wait on D-Bus: on an async worker either stalls every other device's exchange
    /// until its clock runs out (the spurious time-outs of a loaded machine, #15).
    pub async fn blocking<T: Send + 'static>(
        self: &std::sync::Arc<Self>,
        work: impl FnOnce(&Vault) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let vault = self.clone();
        tokio::task::spawn_blocking(move || work(&vault)).await.map_err(|e| Error::Local(format!("vault: {e}")))?
    }

    /// The vault this environment asks for: `PORTCULLIS_VAULT=file` (passphrase in
    /// `PORTCULLIS_VAULT_PASSPHRASE`) or the OS keyring.
    pub fn from_env(home: &Path) -> Result<Vault> {
        match std::env::var("PORTCULLIS_VAULT").ok().as_deref() {
            None | Some("") | Some("keyring") => {
                let keyring = Keyring::new(home);
                // Before anything is trusted to it: a store that forgets would lose cameras.
                keyring.self_test()?;
                Ok(Vault::new(Box::new(keyring), home))
            }
            Some("file") => {
                let pass = passphrase_from_env()
                    .ok_or_else(|| Error::Input("PORTCULLIS_VAULT=file needs PORTCULLIS_VAULT_PASSPHRASE".into()))?;
                if pass.expose().chars().count() < 12 {
                    return Err(Error::Input("the vault passphrase must have at least 12 characters".into()));
                }
                Ok(Vault::new(Box::new(FileVault::new(home.join("vault.age"), pass)), home))
            }
            Some(other) => Err(Error::Input(format!("PORTCULLIS_VAULT={other:?}: use keyring or file"))),
        }
    }

    pub fn describe(&self) -> String {
        self.store.describe()
    }

    /// End the file vault's unlock window now (`portcullis creds lock`).
    pub fn lock(&self) -> Result<bool> {
        self.store.lock()
    }

    fn index(&self) -> Result<Vec<EntryInfo>> {
        match std::fs::read(&self.index_path) {
            Ok(d) => {
                serde_json::from_slice(&d).map_err(|e| Error::Local(format!("{}: {e}", self.index_path.display())))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(Error::Local(format!("{}: {e}", self.index_path.display()))),
        }
    }

    fn save_index(&self, list: &[EntryInfo]) -> Result<()> {
        let data = serde_json::to_vec_pretty(list).map_err(|e| Error::Local(e.to_string()))?;
        crate::files::write_private(&self.index_path, &data)
    }

    pub fn set(&self, scope: Scope, creds: &Credentials) -> Result<()> {
        self.set_many(vec![(scope, creds.clone())])
    }

    /// Store several credentials: the values first, then the index that names them.
    pub fn set_many(&self, items: Vec<(Scope, Credentials)>) -> Result<()> {
        let _changing = self.change()?;
        self.set_many_unlocked(items)
    }

    fn set_many_unlocked(&self, items: Vec<(Scope, Credentials)>) -> Result<()> {
        let values: Vec<(String, Secret)> =
            items.iter().map(|(s, c)| (s.key(&c.username), c.password.clone())).collect();
        self.store.set_many(&values)?;
        let mut idx = self.index()?;
        let now = chrono::Utc::now().to_rfc3339();
        for (scope, c) in items {
            idx.retain(|e| !(e.scope == scope && e.username == c.username));
            idx.push(EntryInfo { scope, username: c.username.clone(), updated: now.clone() });
        }
        idx.sort_by(|a, b| (&a.scope, &a.username).cmp(&(&b.scope, &b.username)));
        self.save_index(&idx)
    }

    pub fn list(&self) -> Result<Vec<EntryInfo>> {
        self.index()
    }

    /// Forget entries, as a person asks (`creds forget`, the app's Settings). A device's
    /// or a site's entry is refused while a password rotation is unresolved on a device
    /// that may log in with it: it may hold the only password the device still takes
    /// (recovery proves which one holds by logging in with both).
    pub fn forget(&self, scope: &Scope, username: Option<&str>) -> Result<usize> {
        let _changing = self.change()?;
        let rotating = self.pending_devices()?;
        let at_risk = match scope {
            Scope::Device(label) => rotating.iter().any(|p| address_of(p) == address_of(label)),
            Scope::Site(_) => !rotating.is_empty(),
            _ => false,
        };
        if at_risk {
            return Err(Error::Input(
                "a password rotation is unresolved: apply (or portcullis recover) settles it first; forgetting \
                 an old password now could lose the camera"
                    .into(),
            ));
        }
        self.forget_unlocked(scope, username)
    }

    /// Where a device's login would come from, by name and date (no secret is read).
    pub fn login_entry(&self, device: &str, site: Option<&str>) -> Result<LoginEntry> {
        let Some(entry) = self.entry_for(device, site)? else {
            return Ok(LoginEntry { source: LoginSource::None, username: None, updated: None });
        };
        let source = match &entry.scope {
            Scope::Site(s) if Some(s.as_str()) != site => LoginSource::Default,
            Scope::Site(_) => LoginSource::Site,
            _ => LoginSource::Device,
        };
        Ok(LoginEntry { source, username: Some(entry.username), updated: Some(entry.updated) })
    }

    /// The entry [`Vault::lookup`] would log a device in with, from the index alone (no
    /// secret is read): its own, its site's default or the `default` site's.
    pub fn entry_for(&self, device: &str, site: Option<&str>) -> Result<Option<EntryInfo>> {
        let idx = self.index()?;
        Ok(lookup_order(device, site).into_iter().find_map(|scope| idx.iter().find(|e| e.scope == scope).cloned()))
    }

    fn forget_unlocked(&self, scope: &Scope, username: Option<&str>) -> Result<usize> {
        let mut idx = self.index()?;
        let (gone, kept): (Vec<_>, Vec<_>) =
            idx.drain(..).partition(|e| &e.scope == scope && username.is_none_or(|u| u == e.username));
        for e in &gone {
            self.store.delete(&e.scope.key(&e.username))?;
        }
        self.save_index(&kept)?;
        Ok(gone.len())
    }

    /// A device's own entries (its credentials by label and by address, its service
    /// accounts) copied to its new label: a device that moves keeps them, and they are
    /// in place before it is told to move. Returns how many.
    pub fn copy_device(&self, from_label: &str, to_label: &str) -> Result<usize> {
        let _changing = self.change()?;
        let items: Vec<(Scope, Credentials)> = self
            .index()?
            .into_iter()
            .filter_map(|e| {
                let to = device_scope_moved(&e.scope, from_label, to_label)?;
                let password = self.store.get(&e.scope.key(&e.username)).ok()??;
                Some((to, Credentials { username: e.username, password }))
            })
            .collect();
        let n = items.len();
        if n > 0 {
            self.set_many_unlocked(items)?;
        }
        Ok(n)
    }

    /// Forget a device's own entries at this label (after it moved away, or back).
    pub fn forget_device(&self, label: &str) -> Result<usize> {
        let _changing = self.change()?;
        let address = label.split(':').next().unwrap_or(label).to_string();
        let mut n = 0;
        for scope in [Scope::Device(label.to_string()), Scope::Device(address.clone()), Scope::Service(address)] {
            n += self.forget_unlocked(&scope, None)?;
        }
        Ok(n)
    }

    /// One entry by its exact scope and user name.
    pub fn lookup_scope(&self, scope: &Scope, username: &str) -> Result<Option<Credentials>> {
        if !self.index()?.iter().any(|e| &e.scope == scope && e.username == username) {
            return Ok(None);
        }
        Ok(self.store.get(&scope.key(username))?.map(|password| Credentials { username: username.into(), password }))
    }

    /// The key that seals the change history: made on first use, kept here only.
    pub fn history_key(&self) -> Result<crate::history::HistoryKey> {
        let _changing = self.change()?;
        let scope = Scope::Key("history".into());
        if let Some(c) = self.lookup_scope(&scope, "hmac-sha256")? {
            let bytes = hex::decode(c.password.expose())
                .ok()
                .and_then(|b| <[u8; 32]>::try_from(b).ok())
                .ok_or_else(|| Error::Local("the vault's history key is not 32 bytes of hex".into()))?;
            return Ok(crate::history::HistoryKey::new(bytes));
        }
        let key = crate::history::HistoryKey::generate();
        let creds = Credentials { username: "hmac-sha256".into(), password: Secret::new(hex::encode(key.bytes())) };
        self.set_many_unlocked(vec![(scope, creds)])?;
        Ok(key)
    }

    /// The key configuration backups are sealed to: made on first use, kept here only.
    pub fn backup_key(&self) -> Result<crate::backups::BackupIdentity> {
        let _changing = self.change()?;
        let scope = Scope::Key("backups".into());
        if let Some(c) = self.lookup_scope(&scope, "age-x25519")? {
            return crate::backups::BackupIdentity::parse(&c.password);
        }
        let key = crate::backups::BackupIdentity::generate();
        self.set_many_unlocked(vec![(
            scope,
            Credentials { username: "age-x25519".into(), password: key.to_secret() },
        )])?;
        Ok(key)
    }

    /// The password being rotated on a device, if a rotation is unresolved.
    pub fn pending(&self, address: &str) -> Result<Option<Credentials>> {
        let scope = Scope::Pending(address.to_string());
        for e in self.index()?.into_iter().filter(|e| e.scope == scope) {
            if let Some(secret) = self.store.get(&scope.key(&e.username))? {
                return Ok(Some(Credentials { username: e.username, password: secret }));
            }
        }
        Ok(None)
    }

    /// Every device with an unresolved rotation.
    pub fn pending_devices(&self) -> Result<Vec<String>> {
        Ok(self
            .index()?
            .into_iter()
            .filter_map(|e| match e.scope {
                Scope::Pending(d) => Some(d),
                _ => None,
            })
            .collect())
    }

    /// A rotated password proved itself: it becomes the device's own entry (by address,
    /// so it holds whichever port the device is reached on), replacing any by port.
    pub fn promote_pending(&self, address: &str, creds: &Credentials) -> Result<()> {
        let _changing = self.change()?;
        self.set_many_unlocked(vec![(Scope::Device(address.to_string()), creds.clone())])?;
        let prefix = format!("{address}:");
        let stale: Vec<Scope> = self
            .index()?
            .into_iter()
            .filter(|e| matches!(&e.scope, Scope::Device(d) if d.starts_with(&prefix)) && e.username == creds.username)
            .map(|e| e.scope)
            .collect();
        for scope in stale {
            self.forget_unlocked(&scope, Some(&creds.username))?;
        }
        self.forget_unlocked(&Scope::Pending(address.to_string()), None)?;
        Ok(())
    }

    /// Service-account passwords being set, unresolved: (address, credentials).
    pub fn service_pending(&self) -> Result<Vec<(String, Credentials)>> {
        let mut out = Vec::new();
        for e in self.index()? {
            if let Scope::ServicePending(d) = &e.scope {
                if let Some(secret) = self.store.get(&e.scope.key(&e.username))? {
                    out.push((d.clone(), Credentials { username: e.username.clone(), password: secret }));
                }
            }
        }
        Ok(out)
    }

    /// A service account's new password proved itself on the device: it becomes the
    /// account's entry, and the pending one goes.
    pub fn promote_service(&self, address: &str, creds: &Credentials) -> Result<()> {
        let _changing = self.change()?;
        self.set_many_unlocked(vec![(Scope::Service(address.to_string()), creds.clone())])?;
        self.forget_unlocked(&Scope::ServicePending(address.to_string()), Some(&creds.username))?;
        Ok(())
    }

    /// The credentials for a device: its own entry, else its site's default, else the
    /// `default` site's.
    pub fn lookup(&self, device: &str, site: Option<&str>) -> Result<Option<Credentials>> {
        let idx = self.index()?;
        for scope in lookup_order(device, site) {
            for e in idx.iter().filter(|e| e.scope == scope) {
                if let Some(secret) = self.store.get(&scope.key(&e.username))? {
                    return Ok(Some(Credentials { username: e.username.clone(), password: secret }));
                }
            }
        }
        Ok(None)
    }

    /// [`Vault::lookup`] for many devices (label, site) at once: the index is read once
    /// and the store asked once, not once per device (per device, both grow with the
    /// site: quadratic for a whole-site audit).
    pub fn lookup_many(
        &self,
        devices: &[(String, Option<String>)],
    ) -> Result<std::collections::HashMap<String, Credentials>> {
        let mut users: std::collections::BTreeMap<&Scope, Vec<&str>> = std::collections::BTreeMap::new();
        let idx = self.index()?;
        for e in &idx {
            users.entry(&e.scope).or_default().push(&e.username);
        }
        // Each device's candidates, best first; every entry any of them names, fetched once.
        let candidates: Vec<(&String, Vec<(String, &str)>)> = devices
            .iter()
            .map(|(label, site)| {
                let keys = lookup_order(label, site.as_deref())
                    .into_iter()
                    .flat_map(|scope| {
                        let names = users.get(&scope).cloned().unwrap_or_default();
                        names.into_iter().map(move |u| (scope.key(u), u))
                    })
                    .collect();
                (label, keys)
            })
            .collect();
        let mut wanted: Vec<String> = candidates.iter().flat_map(|(_, c)| c.iter().map(|(k, _)| k.clone())).collect();
        wanted.sort_unstable();
        wanted.dedup();
        let secrets = self.store.get_many(&wanted)?;
        let mut out = std::collections::HashMap::new();
        for (label, keys) in candidates {
            if let Some((key, user)) = keys.iter().find(|(k, _)| secrets.contains_key(k)) {
                if let Some(password) = secrets.get(key) {
                    out.insert(label.clone(), Credentials { username: user.to_string(), password: password.clone() });
                }
            }
        }
        Ok(out)
    }
}

/// The address part of a device label (`address` or `address:port`).
fn address_of(label: &str) -> &str {
    label.split(':').next().unwrap_or(label)
}

/// Where a device's credentials are looked for, best first: its own entry (by label,
/// then by address), its site's default, the `default` site's.
fn lookup_order(device: &str, site: Option<&str>) -> Vec<Scope> {
    let address_only = address_of(device).to_string();
    let mut scopes = vec![Scope::Device(device.to_string())];
    if address_only != device {
        scopes.push(Scope::Device(address_only));
    }
    if let Some(s) = site {
        scopes.push(Scope::Site(s.to_string()));
    }
    scopes.push(Scope::Site("default".into()));
    scopes
}

/// The scope a device's own entry takes at its new label, if it is one of its own.
fn device_scope_moved(scope: &Scope, from_label: &str, to_label: &str) -> Option<Scope> {
    let address = |l: &str| l.split(':').next().unwrap_or(l).to_string();
    match scope {
        Scope::Device(d) if d == from_label => Some(Scope::Device(to_label.to_string())),
        Scope::Device(d) if *d == address(from_label) => Some(Scope::Device(address(to_label))),
        Scope::Service(d) if *d == address(from_label) => Some(Scope::Service(address(to_label))),
        _ => None,
    }
}

#[cfg(test)]
mod tests;
