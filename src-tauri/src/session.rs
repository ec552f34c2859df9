//! What the app holds open: a session is one data directory (inventory, history, vault)
//! plus this run's audit results. The app keeps the user's own session and, when the
//! demo is on, a demo session over a simulated fleet in a temporary directory; the
//! toggle switches which one commands see.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};

use portcullis_core::audit::DeviceAudit;
use portcullis_core::vault::Vault;
use portcullis_core::workspace::{PolicyInput, SitePolicy, Workspace};

use crate::demo::DemoSite;
use crate::dto::Settings;
use crate::error::{IpcError, IpcResult};

/// One data directory, open, and what the window shows of it.
#[derive(Debug)]
pub struct Session {
    /// The engine's workspace: inventory, history, vault, snapshots, CA, site policy.
    pub ws: Arc<Workspace>,
    /// The UI's cache: the last audit of each device, by target label (`address:port`).
    pub audits: Mutex<BTreeMap<String, DeviceAudit>>,
    pub settings: Mutex<Settings>,
    /// The running apply's stop flag (`cancel_apply`).
    pub cancel: Mutex<Arc<std::sync::atomic::AtomicBool>>,
    /// Declared last: dropped after the stores, so the temporary directory goes last.
    pub demo: Option<DemoSite>,
}

impl Session {
    pub fn open(home: &Path, vault: Vault, demo: Option<DemoSite>) -> IpcResult<Session> {
        let ws = Workspace::open(home, vault)?;
        // The last audits that still describe their devices: a restarted app shows the
        // site as it was left, not as never audited.
        let audits = ws.current_audits()?;
        Ok(Session {
            ws: Arc::new(ws),
            audits: Mutex::new(audits),
            cancel: Mutex::new(Arc::default()),
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

    /// What the shell adds to the site's policy: the settings' site values.
    pub fn policy_input(&self) -> IpcResult<PolicyInput> {
        Ok(PolicyInput {
            baseline: None,
            site: self.settings()?.site_section().map_err(IpcError::input)?,
            site_is_default: true,
        })
    }

    /// The site policy in force (the site's baseline file with the settings filling gaps).
    pub fn policy(&self) -> IpcResult<SitePolicy> {
        Ok(self.ws.policy(&self.policy_input()?)?)
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
                crate::error::ShellCode::NoSession,
                format!("your data could not be opened: {why}. Fix this and restart, or switch the demo site on"),
            ),
            _ => IpcError::new(
                crate::error::ShellCode::NoSession,
                "no data directory is open (set PORTCULLIS_HOME, or switch the demo site on)",
            ),
        })
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

    /// Stop the demo site (its fleet, and its data directory once no command holds it):
    /// when the app exits, which runs no destructor of its own.
    pub fn end_demo(&self) {
        if let Ok(mut s) = self.inner.write() {
            s.demo = None;
            s.demo_active = false;
        }
    }

    /// Switch between the demo site and the user's data; the demo keeps running. The
    /// user's data is opened the first time it is needed (`--demo` starts without it).
    pub fn use_demo(&self, on: bool) -> IpcResult<()> {
        let mut s = self.inner.write().map_err(|_| IpcError::local("state lock poisoned"))?;
        if on && s.demo.is_none() {
            return Err(IpcError::new(crate::error::ShellCode::Demo, "the demo site is not running"));
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
                site: None,
                protocol: None,
                baseline: None,
                identity: None,
                findings: Vec::new(),
                score: Some(64),
                error: None,
            };
            s.ws.snapshots.save("2026-11-28T10:00:00Z", "t", "builtin", &[audit]).unwrap();
        }
        let s = Session::open(&home, vault(), None).unwrap();
        assert_eq!(s.audits().unwrap().get("127.1.0.1:80").and_then(|a| a.score), Some(64));
        drop(s);
        let _ = std::fs::remove_dir_all(&home);
    }
}
