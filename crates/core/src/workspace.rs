//! The workspace: one data directory, opened once per run (CLI) or app session
//! (desktop). It holds the inventory, history, vault, audit snapshots, the site CA and
//! the site policy, so that every task finds them in one place and opens each once.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use crate::audit::{BaselineChoice, DeviceAudit};
use crate::baseline::Baseline;
use crate::certs::SiteCa;
use crate::driver::Target;
use crate::error::{Error, Result};
use crate::history::History;
use crate::inventory::store::Store;
use crate::inventory::Device;
use crate::plan::SiteParameters;
use crate::site::SiteSection;
use crate::snapshots::Snapshots;
use crate::vault::Vault;

/// The file a site keeps its own baseline in, in the data directory. Both shells use
/// it for every device instead of the built-in pair when it is there.
pub const SITE_BASELINE: &str = "site-baseline.toml";

/// One data directory, open.
#[derive(Debug)]
pub struct Workspace {
    pub home: PathBuf,
    pub store: Store,
    /// Shared with apply runs.
    pub history: Arc<History>,
    pub vault: Arc<Vault>,
    /// Every audit run, kept for reports (before/after) and drift.
    pub snapshots: Snapshots,
    site_baseline: RwLock<Option<Arc<Baseline>>>,
    ca: Mutex<Option<Arc<SiteCa>>>,
}

impl Workspace {
    /// Open (creating it if need be) the data directory `home` with this vault.
    pub fn open(home: &Path, vault: Vault) -> Result<Workspace> {
        crate::files::check_home(home)?;
        // Evaluations and reports match firmware against this site's advisory database.
        crate::advisories::activate(home);
        Ok(Workspace {
            home: home.to_path_buf(),
            store: Store::open(home)?,
            history: Arc::new(History::open(home, vault.history_key()?)?),
            vault: Arc::new(vault),
            snapshots: Snapshots::open(home)?,
            site_baseline: RwLock::new(load_site_baseline(home)?),
            ca: Mutex::new(None),
        })
    }

    /// The data directory the environment names (`PORTCULLIS_HOME` or the platform
    /// default) with the vault it asks for (`PORTCULLIS_VAULT`).
    pub fn from_env() -> Result<Workspace> {
        let home = crate::paths::home().map_err(|e| Error::Local(e.to_string()))?;
        let vault = Vault::from_env(&home)?;
        Workspace::open(&home, vault)
    }

    pub fn site_baseline_path(&self) -> PathBuf {
        self.home.join(SITE_BASELINE)
    }

    /// The site's own baseline, if it keeps one.
    pub fn site_baseline(&self) -> Option<Arc<Baseline>> {
        self.site_baseline.read().ok().and_then(|b| b.clone())
    }

    /// Keep `text` as the site's baseline: checked first (errors name the line).
    pub fn set_site_baseline(&self, name: &str, text: &str) -> Result<()> {
        let b = Baseline::parse(name, text)?;
        crate::files::write_private(&self.site_baseline_path(), text.as_bytes())?;
        *self.site_baseline.write().map_err(|_| Error::Local("baseline lock poisoned".into()))? = Some(Arc::new(b));
        Ok(())
    }

    /// Back to the built-in baselines.
    pub fn clear_site_baseline(&self) -> Result<()> {
        match std::fs::remove_file(self.site_baseline_path()) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(Error::Local(format!("{}: {e}", self.site_baseline_path().display()))),
        }
        *self.site_baseline.write().map_err(|_| Error::Local("baseline lock poisoned".into()))? = None;
        Ok(())
    }

    /// The site policy in force: `given` says what the shell adds (an explicit
    /// baseline, site values from flags or settings).
    pub fn policy(&self, given: &PolicyInput) -> Result<SitePolicy> {
        let (baseline, label) = match &given.baseline {
            Some(name) => (Some(Arc::new(Baseline::load(name)?)), name.clone()),
            None => match self.site_baseline() {
                Some(b) => (Some(b), self.site_baseline_path().display().to_string()),
                None => (None, "builtin".to_string()),
            },
        };
        let own = baseline.as_ref().and_then(|b| b.site.clone());
        let site = match own {
            Some(own) if given.site_is_default => own,
            own => merge_sections(&own.unwrap_or_default(), &given.site).map_err(Error::Input)?,
        };
        Ok(SitePolicy { baseline, label, site, rotate_passwords: false, delete_accounts: false, observe: Vec::new() })
    }

    /// The site CA, created on first use; loaded once per workspace.
    pub fn site_ca(&self) -> Result<Arc<SiteCa>> {
        self.site_ca_within(&[])
    }

    /// The site CA; one created now is limited to `scope` (`[site] ca_scope` of the
    /// run's baseline), or else to the site baseline's scope, if either states one.
    pub fn site_ca_within(&self, scope: &[String]) -> Result<Arc<SiteCa>> {
        let mut slot = self.ca.lock().map_err(|_| Error::Local("CA lock poisoned".into()))?;
        if let Some(ca) = slot.as_ref() {
            return Ok(ca.clone());
        }
        let own = self.site_baseline().and_then(|b| b.site.clone()).map(|s| s.ca_scope).unwrap_or_default();
        let scope = crate::certs::CaScope::parse(if scope.is_empty() { &own } else { scope }).map_err(Error::Input)?;
        let ca = Arc::new(SiteCa::load_or_create(&self.home, &self.vault, "site", &scope)?);
        *slot = Some(ca.clone());
        Ok(ca)
    }

    /// Forget the loaded CA (after an import replaced it).
    pub fn reload_site_ca(&self) {
        if let Ok(mut slot) = self.ca.lock() {
            *slot = None;
        }
    }

    /// The devices a selection names, each with its site and inventory id.
    /// Devices discovery found that the operator has not accepted are never chosen
    /// (no credentials, no changes); naming one is an error that says how to accept it.
    pub fn select(&self, selection: &Selection) -> Result<Vec<Subject>> {
        let (devices, unconfirmed): (Vec<Device>, Vec<Device>) =
            self.store.all()?.into_iter().partition(|d| d.confirmed);
        if let Selection::Specs(specs) = selection {
            for spec in specs {
                let address = spec.rsplit_once(':').map_or(spec.as_str(), |(a, _)| a).trim_matches(['[', ']']);
                let named = |d: &&Device| d.address.is_some_and(|a| a.to_string() == address);
                if let (Some(d), false) = (unconfirmed.iter().find(named), devices.iter().any(|d| named(&d))) {
                    return Err(Error::Input(format!(
                        "{} was found by discovery and is not accepted yet: check it, then \
                         `portcullis inventory accept {}` (nothing is sent to it before)",
                        d.label(),
                        d.id
                    )));
                }
            }
        }
        // Devices the operator accepted at one address (behind a forwarding address, or the
        // demo on a loopback that holds only 127.0.0.1) are told apart by port.
        let shared = crate::inventory::shared_addresses(&devices);
        let known = |d: &Device| {
            let target = d.target()?;
            let sharing = shared.contains(&target.address);
            Some(Subject { id: Some(d.id.clone()), target: target.sharing(sharing), site: d.site.clone() })
        };
        match selection {
            Selection::All => Ok(devices.iter().filter_map(known).collect()),
            Selection::Ids(ids) => Ok(devices.iter().filter(|d| ids.contains(&d.id)).filter_map(known).collect()),
            Selection::Labels(labels) => {
                Ok(devices.iter().filter_map(known).filter(|s| labels.contains(&s.target.label())).collect())
            }
            Selection::Specs(specs) => specs
                .iter()
                .map(|spec| subject_of_spec(spec, &devices))
                .map(|s| {
                    s.map(|mut s| {
                        let sharing = shared.contains(&s.target.address);
                        s.target = s.target.sharing(sharing);
                        s
                    })
                })
                .collect(),
        }
    }

    /// The last audit of each device that still describes it (no change recorded since).
    pub fn current_audits(&self) -> Result<std::collections::BTreeMap<String, DeviceAudit>> {
        Ok(crate::snapshots::current_audits(self.snapshots.latest()?, &self.history.last_changes()?)
            .into_iter()
            .map(|(target, (_, audit))| (target, audit))
            .collect())
    }
}

/// The site baseline file, if the data directory has one; a file that does not parse
/// is an error (a site that keeps a baseline must not be audited against another).
fn load_site_baseline(home: &Path) -> Result<Option<Arc<Baseline>>> {
    let path = home.join(SITE_BASELINE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(Arc::new(Baseline::parse(&path.display().to_string(), &text)?))),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::Local(format!("{}: {e}", path.display()))),
    }
}

/// What a shell adds to the site's policy.
#[derive(Debug, Clone, Default)]
pub struct PolicyInput {
    /// A baseline for every device (a built-in name or a file), instead of the site's.
    pub baseline: Option<String>,
    /// Site values given outside the baseline (CLI flags, desktop settings): they fill
    /// what the baseline's `[site]` table leaves empty; a contradiction is an error.
    pub site: SiteSection,
    /// The values are the shell's standing defaults (the desktop's settings), not a
    /// request for this run: a baseline with a `[site]` table of its own replaces them.
    pub site_is_default: bool,
}

/// The baseline and site parameters a run works to.
#[derive(Debug, Clone)]
pub struct SitePolicy {
    /// One baseline for every device; `None`: the built-in pair by protocol.
    pub baseline: Option<Arc<Baseline>>,
    /// How the snapshot names what was used (`builtin`, a name or a file).
    pub label: String,
    pub site: SiteSection,
    /// Rotate every admin password now, whatever the audit says (at handover; the
    /// operator asks for it: `apply --rotate-passwords`, or the app's action).
    pub rotate_passwords: bool,
    /// Delete the accounts the audit found besides admin and the kept ones: only when the
    /// operator says so (`apply --delete-accounts`), having seen them listed by name.
    pub delete_accounts: bool,
    /// Settings read besides the baseline's controls (a golden camera's site values).
    pub observe: Vec<crate::setting::Setting>,
}

impl SitePolicy {
    /// What audits score against, with the site parameters as `SITE-*` controls.
    pub fn choice(&self) -> Result<BaselineChoice> {
        let choice = match &self.baseline {
            Some(b) => BaselineChoice::Fixed(b.clone()),
            None => BaselineChoice::builtin()?,
        };
        Ok(choice.with_site(&self.site).map_err(Error::Input)?.observing(&self.observe))
    }

    /// The site parameters the plan needs.
    pub fn parameters(&self) -> Result<SiteParameters> {
        let mut p = SiteParameters::merge(Some(&self.site), &[], &[]).map_err(Error::Input)?;
        p.rotate_passwords = self.rotate_passwords;
        p.delete_accounts = self.delete_accounts;
        Ok(p)
    }

    /// Every baseline an audit under this policy may have used, with the site's
    /// controls (for the report's standards mapping).
    pub fn baselines(&self) -> Result<Vec<Baseline>> {
        let mut out = Vec::new();
        if let Some(b) = &self.baseline {
            out.push((**b).clone().with_site(self.site.clone()).map_err(Error::Input)?);
        }
        for (name, _) in crate::baseline::BUILTIN {
            if !out.iter().any(|b| b.baseline.name == *name) {
                out.push(Baseline::load(name)?.with_site(self.site.clone()).map_err(Error::Input)?);
            }
        }
        Ok(out)
    }
}

/// The baseline's `[site]` values, with `given` filling the gaps. Two different answers
/// to one question are an error: the audit would check one and the plan set the other.
pub fn merge_sections(own: &SiteSection, given: &SiteSection) -> std::result::Result<SiteSection, String> {
    fn one<T: PartialEq + Clone + std::fmt::Debug>(
        field: &str,
        own: &T,
        given: &T,
        empty: impl Fn(&T) -> bool,
    ) -> std::result::Result<T, String> {
        match (empty(own), empty(given)) {
            (false, false) if own != given => Err(format!(
                "{field} {given:?} differs from the baseline's [site] {field} {own:?}: give one or the other"
            )),
            (false, _) => Ok(own.clone()),
            _ => Ok(given.clone()),
        }
    }
    let none = |v: &Option<String>| v.as_deref().is_none_or(|s| s.trim().is_empty());
    let merged = SiteSection {
        name: one("name", &own.name, &given.name, none)?,
        device_name: one("device_name", &own.device_name, &given.device_name, none)?,
        time_zone: one("time_zone", &own.time_zone, &given.time_zone, none)?,
        ntp_servers: one("ntp_servers", &own.ntp_servers, &given.ntp_servers, Vec::is_empty)?,
        management_hosts: one("management_hosts", &own.management_hosts, &given.management_hosts, Vec::is_empty)?,
        // Only the baseline file can allow it: a choice the site writes down, not a flag.
        allow_plaintext_secrets: own.allow_plaintext_secrets,
        ca_scope: own.ca_scope.clone(),
        // Keeping is never a conflict: the site keeps what either names.
        keep_accounts: {
            let mut all = own.keep_accounts.clone();
            all.extend(given.keep_accounts.iter().filter(|p| !own.keep_accounts.contains(p)).cloned());
            all
        },
        // The site's written policy (its baseline file), like the CA scope.
        service_accounts: own.service_accounts.clone(),
        timing: one("timing", &own.timing, &given.timing, |t| *t == crate::driver::Timings::default())?,
        unique_passwords: own.unique_passwords || given.unique_passwords,
        password_max_age_days: one(
            "password_max_age_days",
            &own.password_max_age_days,
            &given.password_max_age_days,
            Option::is_none,
        )?,
        firmware_minimum: one("firmware_minimum", &own.firmware_minimum, &given.firmware_minimum, Vec::is_empty)?,
        addresses: one("addresses", &own.addresses, &given.addresses, Vec::is_empty)?,
    };
    merged.validate()?;
    Ok(merged)
}

/// Which devices a task works on.
#[derive(Debug, Clone, Default)]
pub enum Selection {
    /// Every device of the inventory.
    #[default]
    All,
    /// By inventory id (the desktop).
    Ids(Vec<String>),
    /// By label (`address:port`, as the history names devices).
    Labels(Vec<String>),
    /// `ADDR` or `ADDR:PORT` as typed (the CLI's `--device`); an address the inventory
    /// does not know is reached on port 80.
    Specs(Vec<String>),
}

impl Selection {
    /// The CLI's form: no specs means the whole inventory.
    pub fn specs(specs: &[String]) -> Selection {
        if specs.is_empty() {
            Selection::All
        } else {
            Selection::Specs(specs.to_vec())
        }
    }

    /// The desktop's form: no ids means the whole inventory.
    pub fn ids(ids: &[String]) -> Selection {
        if ids.is_empty() {
            Selection::All
        } else {
            Selection::Ids(ids.to_vec())
        }
    }
}

/// A device a task works on.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Its inventory id (none for an address the inventory does not know).
    pub id: Option<String>,
    pub target: Target,
    pub site: Option<String>,
}

impl Subject {
    /// `address:port`: how the history, the vault and the audits name the device.
    pub fn label(&self) -> String {
        self.target.label()
    }
}

fn subject_of_spec(spec: &str, devices: &[Device]) -> Result<Subject> {
    let bad = |why: &str| Error::Input(format!("--device {spec}: {why}"));
    let (addr, port) = match spec.rsplit_once(':') {
        Some((a, p)) if !a.contains(':') || a.starts_with('[') => {
            (a.trim_matches(['[', ']']).to_string(), Some(p.parse::<u16>().map_err(|_| bad("bad port"))?))
        }
        _ => (spec.to_string(), None),
    };
    let address = addr.parse().map_err(|_| bad("not an IP address"))?;
    let known = devices
        .iter()
        .find(|d| d.address == Some(address) && (port.is_none() || d.http_port == port || d.https_port == port));
    if let Some(d) = known {
        if let Some(target) = d.target() {
            return Ok(Subject { id: Some(d.id.clone()), target, site: d.site.clone() });
        }
    }
    Ok(Subject {
        id: None,
        target: Target {
            address,
            http_port: Some(port.unwrap_or(80)),
            https_port: None,
            wsd_port: Some(3702),
            shared_port: None,
            said_hikvision: false,
        },
        site: None,
    })
}

/// Who is making the changes, for the history: the name given, else
/// `PORTCULLIS_OPERATOR`, else the login name. One default for both shells.
pub fn operator(given: Option<&str>) -> String {
    given
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .map(str::to_string)
        .or_else(|| {
            ["PORTCULLIS_OPERATOR", "USER", "LOGNAME", "USERNAME"]
                .iter()
                .find_map(|k| std::env::var(k).ok().filter(|v| !v.trim().is_empty()))
        })
        .unwrap_or_else(|| "unknown".into())
}

/// Where the time comes from: tasks take a clock so that tests can fix it.
pub trait Clock: Send + Sync + std::fmt::Debug {
    fn now(&self) -> chrono::DateTime<chrono::Utc>;

    /// RFC 3339 in UTC with milliseconds, as the history writes times.
    fn stamp(&self) -> String {
        self.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    }

    /// RFC 3339 in UTC to the second, as snapshots and reports write times.
    fn stamp_secs(&self) -> String {
        self.now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

/// The system's clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        chrono::Utc::now()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn site_values_fill_gaps_and_contradictions_are_refused() {
        let own = SiteSection { ntp_servers: vec!["192.0.2.1".into()], ..Default::default() };
        let given = SiteSection { time_zone: Some("UTC0".into()), ..Default::default() };
        let m = merge_sections(&own, &given).unwrap();
        assert_eq!((m.ntp_servers.len(), m.time_zone.as_deref()), (1, Some("UTC0")));
        let clash = SiteSection { ntp_servers: vec!["192.0.2.2".into()], ..Default::default() };
        let e = merge_sections(&own, &clash).unwrap_err();
        assert!(e.starts_with("ntp_servers"), "{e}");
    }

    #[test]
    fn one_operator_default() {
        assert_eq!(operator(Some(" ana ")), "ana");
        // Whatever the environment says, an empty name is never recorded.
        assert!(!operator(Some("")).is_empty() && !operator(None).is_empty());
    }

    #[test]
    fn specs_name_known_devices_or_reach_new_ones_on_port_80() {
        let s = subject_of_spec("192.0.2.7", &[]).unwrap();
        assert_eq!((s.label(), s.id), ("192.0.2.7:80".to_string(), None));
        assert!(subject_of_spec("camera", &[]).is_err());
        assert!(subject_of_spec("192.0.2.7:http", &[]).is_err());
    }
}
