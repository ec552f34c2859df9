//! What the app holds open: a session is one data directory (inventory, history, vault)
//! plus this run's audit results. The app keeps the user's own session and, when the
//! demo is on, a demo session over a simulated fleet in a temporary directory; the
//! toggle switches which one commands see.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use portcullis_core::audit::DeviceAudit;
use portcullis_core::history::History;
use portcullis_core::inventory::store::Store;
use portcullis_core::snapshots::Snapshots;
use portcullis_core::vault::Vault;

use portcullis_core::audit::BaselineChoice;
use portcullis_core::baseline::Baseline;
use portcullis_core::site::SiteSection;

use crate::demo::DemoSite;
use crate::dto::Settings;
use crate::error::{IpcError, IpcResult};

/// One data directory, open.
#[derive(Debug)]
pub struct Session {
    pub home: PathBuf,
    pub store: Store,
    /// Shared with apply runs (`ApplyContext`).
    pub history: Arc<History>,
    pub vault: Arc<Vault>,
    /// Every audit run, kept for reports (before/after).
    pub snapshots: Snapshots,
    /// The last audit of each device this run, by target label (`address:port`).
    pub audits: Mutex<BTreeMap<String, DeviceAudit>>,
    pub settings: Mutex<Settings>,
    /// The site's own baseline file (`site-baseline.toml` in the data directory), used
    /// for every device instead of the built-in pair when set.
    pub site_baseline: Mutex<Option<Arc<Baseline>>>,
    /// The running apply's stop flag (`cancel_apply`).
    pub cancel: Mutex<Arc<std::sync::atomic::AtomicBool>>,
    /// Declared last: dropped after the stores, so the temporary directory goes last.
    pub demo: Option<DemoSite>,
}

impl Session {
    pub fn open(home: &Path, vault: Vault, demo: Option<DemoSite>) -> IpcResult<Session> {
        std::fs::create_dir_all(home).map_err(|e| IpcError::local(format!("{}: {e}", home.display())))?;
        let history = Arc::new(History::open(home)?);
        let snapshots = Snapshots::open(home)?;
        // The last audits that still describe their devices: a restarted app shows the
        // site as it was left, not as never audited.
        let records = history.query(&portcullis_core::history::Filter::default())?;
        let audits: BTreeMap<String, DeviceAudit> =
            portcullis_core::snapshots::current_audits(&snapshots.all()?, &records)
                .into_iter()
                .map(|(target, (_, result))| (target, result.to_audit()))
                .collect();
        Ok(Session {
            home: home.to_path_buf(),
            store: Store::open(home)?,
            history,
            vault: Arc::new(vault),
            snapshots,
            audits: Mutex::new(audits),
            cancel: Mutex::new(Arc::default()),
            site_baseline: Mutex::new(load_site_baseline(home)),
            settings: Mutex::new(if demo.is_some() { Settings::demo() } else { Settings::default() }),
            demo,
        })
    }

    /// The user's own data directory (`PORTCULLIS_HOME` or the platform default) and
    /// the vault the environment asks for.
    pub fn from_env() -> IpcResult<Session> {
        let home = portcullis_core::paths::home().map_err(IpcError::local)?;
        let vault = Vault::from_env(&home)?;
        Session::open(&home, vault, None)
    }

    pub fn audits(&self) -> IpcResult<std::sync::MutexGuard<'_, BTreeMap<String, DeviceAudit>>> {
        self.audits.lock().map_err(|_| IpcError::local("audit results lock poisoned"))
    }

    pub fn settings(&self) -> IpcResult<Settings> {
        self.settings.lock().map(|s| s.clone()).map_err(|_| IpcError::local("settings lock poisoned"))
    }

    /// Where the site's baseline file is kept.
    pub fn site_baseline_path(&self) -> PathBuf {
        self.home.join(SITE_BASELINE)
    }

    pub fn site_baseline(&self) -> IpcResult<Option<Arc<Baseline>>> {
        self.site_baseline.lock().map(|b| b.clone()).map_err(|_| IpcError::local("baseline lock poisoned"))
    }

    pub fn set_site_baseline(&self, b: Option<Baseline>) -> IpcResult<()> {
        *self.site_baseline.lock().map_err(|_| IpcError::local("baseline lock poisoned"))? = b.map(Arc::new);
        Ok(())
    }

    /// The site parameters in force: the baseline file's `[site]` table when it has
    /// one, otherwise the settings'.
    pub fn site_section(&self) -> IpcResult<SiteSection> {
        if let Some(site) = self.site_baseline()?.and_then(|b| b.site.clone()) {
            return Ok(site);
        }
        self.settings()?.site_section().map_err(IpcError::input)
    }

    /// What audits score against: the site's file for every device, or the built-in
    /// pair by protocol; either with the site parameters as SITE-* controls.
    pub fn baseline_choice(&self) -> IpcResult<BaselineChoice> {
        let site = self.site_section()?;
        let choice = match self.site_baseline()? {
            Some(b) => BaselineChoice::Fixed(b),
            None => BaselineChoice::builtin()?,
        };
        choice.with_site(&site).map_err(IpcError::input)
    }

    /// A fresh stop flag for an apply that is starting.
    pub fn new_cancel_flag(&self) -> IpcResult<Arc<std::sync::atomic::AtomicBool>> {
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        *self.cancel.lock().map_err(|_| IpcError::local("cancel lock poisoned"))? = flag.clone();
        Ok(flag)
    }

    /// Ask the running apply to stop after the steps in hand.
    pub fn cancel_apply(&self) -> IpcResult<()> {
        let flag = self.cancel.lock().map_err(|_| IpcError::local("cancel lock poisoned"))?.clone();
        flag.store(true, std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }

    pub fn set_settings(&self, s: Settings) -> IpcResult<()> {
        s.site_section().map_err(IpcError::input)?;
        let mut g = self.settings.lock().map_err(|_| IpcError::local("settings lock poisoned"))?;
        *g = s;
        Ok(())
    }
}

/// The file a site baseline is kept in, in the data directory.
pub const SITE_BASELINE: &str = "site-baseline.toml";

/// The site's baseline file, if the data directory has a usable one.
fn load_site_baseline(home: &Path) -> Option<Arc<Baseline>> {
    let path = home.join(SITE_BASELINE);
    let text = std::fs::read_to_string(&path).ok()?;
    match Baseline::parse(&path.display().to_string(), &text) {
        Ok(b) => Some(Arc::new(b)),
        Err(e) => {
            tracing::warn!("{e}: using the built-in baselines");
            None
        }
    }
}

/// The sessions the app has and which one is active.
#[derive(Debug, Default)]
pub struct AppState {
    inner: RwLock<Sessions>,
}

#[derive(Debug, Default)]
struct Sessions {
    user: Option<Arc<Session>>,
    demo: Option<Arc<Session>>,
    demo_active: bool,
    /// Why the user's data could not be opened at start, to tell instead of a blank site.
    user_error: Option<String>,
}

impl AppState {
    pub fn new(user: Option<Session>, demo: Option<Session>) -> Self {
        let demo_active = demo.is_some();
        AppState {
            inner: RwLock::new(Sessions {
                user: user.map(Arc::new),
                demo: demo.map(Arc::new),
                demo_active,
                user_error: None,
            }),
        }
    }

    /// No user data: `why` is what went wrong opening it (a vault passphrase too short,
    /// an unreadable data directory), said by every command that needs it.
    pub fn without_user_data(why: String) -> Self {
        AppState { inner: RwLock::new(Sessions { user_error: Some(why), ..Default::default() }) }
    }

    /// The session commands work on.
    pub fn session(&self) -> IpcResult<Arc<Session>> {
        let s = self.inner.read().map_err(|_| IpcError::local("state lock poisoned"))?;
        let active = if s.demo_active { s.demo.clone() } else { s.user.clone() };
        active.ok_or_else(|| match &s.user_error {
            Some(why) if !s.demo_active => IpcError::new(
                "no_session",
                format!("your data could not be opened: {why}. Fix this and restart, or switch the demo site on"),
            ),
            _ => IpcError::new(
                "no_session",
                "no data directory is open (set PORTCULLIS_HOME, or switch the demo site on)",
            ),
        })
    }

    pub fn demo_active(&self) -> bool {
        self.inner.read().map(|s| s.demo_active).unwrap_or(false)
    }

    pub fn has_demo(&self) -> bool {
        self.inner.read().map(|s| s.demo.is_some()).unwrap_or(false)
    }

    pub fn put_demo(&self, demo: Session) -> IpcResult<()> {
        let mut s = self.inner.write().map_err(|_| IpcError::local("state lock poisoned"))?;
        s.demo = Some(Arc::new(demo));
        s.demo_active = true;
        Ok(())
    }

    /// Switch between the demo site and the user's data; the demo keeps running. The
    /// user's data is opened the first time it is needed (`--demo` starts without it).
    pub fn use_demo(&self, on: bool) -> IpcResult<()> {
        let mut s = self.inner.write().map_err(|_| IpcError::local("state lock poisoned"))?;
        if on && s.demo.is_none() {
            return Err(IpcError::new("demo", "the demo site is not running"));
        }
        if !on && s.user.is_none() {
            s.user = Some(Arc::new(Session::from_env()?));
        }
        s.demo_active = on;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portcullis_core::secret::Secret;
    use portcullis_core::snapshots::DeviceResult;
    use portcullis_core::vault::FileVault;

    #[test]
    fn a_reopened_session_shows_the_last_audits() {
        let home = std::env::temp_dir().join(format!("pc-session-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        let vault = || Vault::new(Box::new(FileVault::new(home.join("v.age"), Secret::new("t"))), &home);
        {
            let s = Session::open(&home, vault(), None).unwrap();
            assert!(s.audits().unwrap().is_empty());
            let audit = DeviceAudit {
                target: "127.1.0.1:80".into(),
                protocol: None,
                baseline: None,
                identity: None,
                findings: Vec::new(),
                score: Some(64),
                error: None,
            };
            let result = DeviceResult::from_audit(&audit, None);
            s.snapshots.save("2026-11-28T10:00:00Z", "t", "builtin", vec![result]).unwrap();
        }
        let s = Session::open(&home, vault(), None).unwrap();
        assert_eq!(s.audits().unwrap().get("127.1.0.1:80").and_then(|a| a.score), Some(64));
        drop(s);
        let _ = std::fs::remove_dir_all(&home);
    }
}
