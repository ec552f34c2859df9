//! Plan: turn a device's failing findings into ordered steps. Pure: it reads findings
//! and site parameters, and writes nothing anywhere.
//!
//! The order is a safety rule (design.md §1): back up first; prove HTTPS before HTTP is
//! switched off; never let the IP filter exclude the management host; credentials last.

use crate::setting::Setting;
use serde::{Deserialize, Serialize};

use crate::baseline::eval::{Finding, Status};
use crate::posture::Value;

/// Steps run phase by phase, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A factory-new camera: set its first password before anything else can happen.
    Activate,
    Backup,
    /// The address plan: the device's interface (address, mask, gateway, DNS, host name)
    /// in one step. A device that moves is followed to its new address and planned
    /// again there, so nothing else of its plan runs before the move.
    Address,
    /// A firmware upgrade from the library: after the backup, before any setting (a new
    /// firmware changes defaults, so the device is read and planned again after it).
    Firmware,
    /// Site parameters that change no security setting: the device name.
    Identity,
    Time,
    Services,
    Authentication,
    /// Certificate, then HTTPS on, then old TLS off.
    Tls,
    /// HTTP off: only after HTTPS has been proven in the TLS phase.
    HttpOff,
    AccessControl,
    Discovery,
    Accounts,
    /// Password rotation: last, so nothing else runs on credentials about to change.
    Credentials,
    /// Things only a person can do (a firmware update with no image in the library).
    Manual,
}

/// One change to make on one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct Step {
    pub phase: Phase,
    pub control: Option<String>,
    pub setting: Setting,
    pub from: Option<Value>,
    pub to: Value,
    /// What the step does, in words.
    pub action: String,
    /// Why it cannot run yet, if it cannot (a missing site parameter, a manual task).
    pub blocked: Option<String>,
}

/// What a site tells the plan that no device knows.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SiteParameters {
    pub ntp_servers: Vec<String>,
    /// Hosts the IP filter must always let in (the management host first).
    pub management_hosts: Vec<String>,
    /// The site's time zone, canonical POSIX TZ.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// The site's naming pattern, if it has one (`name_devices` fills `device_names`).
    #[serde(skip)]
    pub name_pattern: Option<crate::site::names::NamePattern>,
    /// The name each device is to get (device label → name), from the site pattern.
    #[serde(default)]
    pub device_names: std::collections::BTreeMap<String, String>,
    /// The site baseline lets secrets travel over plain HTTP (`allow_plaintext_secrets`).
    #[serde(default)]
    pub allow_plaintext_secrets: bool,
    /// What the site CA may name (`[site] ca_scope`); empty: no limit.
    #[serde(default)]
    pub ca_scope: Vec<String>,
    /// Rotate every activated device's admin password, even one the audit passed.
    #[serde(default)]
    pub rotate_passwords: bool,
    /// Accounts the site keeps (`[site] keep_accounts`, and its service accounts):
    /// never deleted.
    #[serde(default)]
    pub keep_accounts: Vec<String>,
    /// Accounts the site ensures, with their roles (`[[site.service_accounts]]`).
    #[serde(default)]
    pub service_accounts: Vec<crate::site::service::ServiceAccount>,
    /// The operator chose to delete the accounts listed (`apply --delete-accounts`).
    #[serde(default)]
    pub delete_accounts: bool,
    /// How long each kind of device operation may take (`[site.timing]`).
    #[serde(default)]
    pub timings: crate::driver::Timings,
    /// What to do about each device's firmware (device label → decision), from the
    /// advisories, the site's minimums and the firmware library (`firmware::decide`).
    #[serde(default)]
    pub firmware: std::collections::BTreeMap<String, crate::firmware::Decision>,
    /// Each device's interface from the address plan (device label → interface).
    #[serde(default)]
    pub addresses: std::collections::BTreeMap<String, crate::site::addresses::Interface>,
    /// Devices whose move cannot run, and why (device label → reason): the address is
    /// another device's, or the device shares its own with others.
    #[serde(default)]
    pub address_blocked: std::collections::BTreeMap<String, String>,
}

impl SiteParameters {
    /// The baseline's `[site]` values, with values given elsewhere (command-line flags,
    /// the desktop settings) filling what the baseline leaves empty. Two different
    /// answers to one question are an error: the audit would check one, the plan set
    /// the other.
    pub fn merge(
        site: Option<&crate::site::SiteSection>,
        ntp_servers: &[String],
        management_hosts: &[String],
    ) -> Result<SiteParameters, String> {
        let pick = |field: &str, from_baseline: &[String], given: &[String]| -> Result<Vec<String>, String> {
            match (from_baseline.is_empty(), given.is_empty()) {
                (false, false) if from_baseline != given => Err(format!(
                    "{field} {given:?} differ from the baseline's [site] {field} {from_baseline:?}: give one or the other"
                )),
                (false, _) => Ok(from_baseline.to_vec()),
                _ => Ok(given.to_vec()),
            }
        };
        let empty = crate::site::SiteSection::default();
        let s = site.unwrap_or(&empty);
        Ok(SiteParameters {
            ntp_servers: pick("ntp_servers", &s.ntp_servers, ntp_servers)?,
            management_hosts: pick("management_hosts", &s.management_hosts, management_hosts)?,
            time_zone: s.time_zone.as_deref().map(crate::site::tz::canonical).transpose()?,
            name_pattern: s.name_pattern()?,
            device_names: Default::default(),
            allow_plaintext_secrets: s.allow_plaintext_secrets,
            ca_scope: s.ca_scope.clone(),
            rotate_passwords: false,
            keep_accounts: s.kept_accounts(),
            service_accounts: s.service_accounts.clone(),
            delete_accounts: false,
            timings: s.timing,
            firmware: Default::default(),
            addresses: Default::default(),
            address_blocked: Default::default(),
        })
    }

    /// Give every device whose name does not fit the site's pattern its new name (none
    /// without a pattern). `audits` in address order, so that numbers follow the network.
    pub fn name_devices(&mut self, audits: &[(&str, &crate::audit::DeviceAudit)]) {
        let Some(pattern) = &self.name_pattern else { return };
        let named: Vec<crate::site::names::Named> = audits
            .iter()
            .map(|(label, a)| crate::site::names::Named {
                label: label.to_string(),
                model: a.identity.as_ref().map(|i| i.model.clone()).unwrap_or_default(),
                current: a.findings.iter().find(|f| f.setting == Setting::DeviceName).and_then(|f| match &f.observed {
                    Some(Value::Text(t)) => Some(t.clone()),
                    _ => None,
                }),
            })
            .collect();
        self.device_names = crate::site::names::assign(pattern, &named);
    }
}

/// The plan for one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DevicePlan {
    pub device: String,
    pub steps: Vec<Step>,
}

impl DevicePlan {
    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Steps that would change something (not blocked, not manual).
    pub fn actionable(&self) -> usize {
        self.steps.iter().filter(|s| s.blocked.is_none()).count()
    }
}

fn step(f: &Finding, phase: Phase, to: Value, action: &str) -> Step {
    Step {
        phase,
        control: Some(f.control.clone()),
        setting: f.setting,
        from: f.observed.clone(),
        to,
        action: action.to_string(),
        blocked: None,
    }
}

/// The accounts an extra-accounts finding names that the site does not keep.
fn extra_accounts(f: &Finding, site: &SiteParameters) -> Vec<String> {
    match &f.observed {
        Some(Value::List(l)) => l
            .iter()
            .filter(|e| !crate::site::keeps(&site.keep_accounts, e))
            .map(|e| crate::site::account_name(e).to_string())
            .collect(),
        _ => Vec::new(),
    }
}

/// Make the site's missing service accounts. One present with another role keeps its
/// password (its recorder uses it) until a rotation is asked for, which sets both.
fn service_step(f: &Finding, site: &SiteParameters) -> Step {
    let (missing, wrong) = crate::site::service::missing_and_wrong(f.observed.as_ref(), &site.service_accounts);
    let names =
        |l: &[&crate::site::service::ServiceAccount]| l.iter().map(|a| a.entry()).collect::<Vec<_>>().join(", ");
    let to = Value::List(site.service_accounts.iter().map(|a| a.entry()).collect());
    let mut s = step(f, Phase::Accounts, to, &format!("create the service accounts {}", names(&missing)));
    if site.rotate_passwords {
        s.to = Value::Text("rotated".into());
        s.action = "create or rotate the service accounts, each with a unique generated password (asked for)".into();
    } else if !wrong.is_empty() {
        let why = format!(
            "{} should be {}: changing a role sets a new password, which its recorder must be given \
             (apply --rotate-passwords, then the handover)",
            names(&wrong),
            if wrong.len() == 1 { "its role" } else { "their roles" }
        );
        if missing.is_empty() {
            s.action = format!("give {} their roles", names(&wrong));
            s.blocked = Some(why);
        } else {
            s.action = format!("{}; {why}", s.action);
        }
    }
    s
}

/// The step that fixes one failing finding.
fn fix(device: &str, f: &Finding, site: &SiteParameters) -> Step {
    let off = |phase, what: &str| step(f, phase, Value::Bool(false), &format!("switch {what} off"));
    match f.setting {
        Setting::AccountActivated => {
            step(f, Phase::Activate, Value::Bool(true), "activate with a unique generated password")
        }
        Setting::AccountDefaultPassword | Setting::AccountWeakPassword => {
            step(f, Phase::Credentials, Value::Bool(false), "rotate the admin password to a unique generated one")
        }
        Setting::AccountPasswordUnique => step(
            f,
            Phase::Credentials,
            Value::Bool(true),
            "rotate the admin password: another device of the site has the same one",
        ),
        Setting::AccountPasswordRecent => step(
            f,
            Phase::Credentials,
            Value::Bool(true),
            "rotate the admin password: it is older than the site allows",
        ),
        Setting::AccountUsers => {
            // By name, and only when asked: a recorder that logs in with one of these
            // stops recording when it goes.
            let names = extra_accounts(f, site);
            let mut s =
                step(f, Phase::Accounts, Value::List(Vec::new()), &format!("delete the accounts {}", names.join(", ")));
            if !site.delete_accounts {
                s.blocked = Some(format!(
                    "deleting {} needs your choice (apply --delete-accounts): a recorder or VMS may log in with one; \
                     keep those with [site] keep_accounts",
                    names.join(", ")
                ));
            }
            s
        }
        Setting::AccountService => service_step(f, site),
        Setting::ServiceHttpsEnabled => step(f, Phase::Tls, Value::Bool(true), "switch HTTPS on"),
        Setting::TlsCertificateSelfSigned => {
            step(f, Phase::Tls, Value::Bool(false), "install a certificate from the site CA, then verify the handshake")
        }
        Setting::TlsV10 | Setting::TlsV11 => {
            off(Phase::Tls, &format!("TLS {}", f.setting.tls_version().unwrap_or_default()))
        }
        Setting::ServiceHttpEnabled => {
            step(f, Phase::HttpOff, Value::Bool(false), "switch plain HTTP off, once HTTPS is proven")
        }
        Setting::AuthWeb | Setting::AuthRtsp => {
            step(f, Phase::Authentication, Value::Text("digest".into()), "allow digest only")
        }
        Setting::OnvifAuth => {
            step(f, Phase::Authentication, Value::Text("digest/wsse".into()), "require HTTP digest for ONVIF")
        }
        Setting::SecurityLoginLockEnabled => {
            step(f, Phase::Authentication, Value::Bool(true), "switch the illegal-login lock on")
        }
        Setting::DeviceName => match site.device_names.get(device) {
            Some(name) if name.chars().count() <= crate::site::names::MAX_LEN => {
                step(f, Phase::Identity, Value::Text(name.clone()), "name the device after the site pattern")
            }
            other => {
                let mut s = step(f, Phase::Identity, Value::Text(other.cloned().unwrap_or_default()), "rename");
                s.blocked = Some(match other {
                    Some(n) => format!("{n:?} is longer than {} characters", crate::site::names::MAX_LEN),
                    None => "no name was assigned (the device's model is unknown)".into(),
                });
                s
            }
        },
        Setting::TimeZone => {
            let to = site.time_zone.clone().unwrap_or_default();
            let mut s = step(f, Phase::Time, Value::Text(to), "set the site's time zone");
            if site.time_zone.is_none() {
                s.blocked = Some("the site has no time zone configured".into());
            }
            s
        }
        Setting::NetworkIpFilterAddresses => {
            let mut list = match &f.observed {
                Some(Value::List(l)) => l.clone(),
                _ => Vec::new(),
            };
            for h in &site.management_hosts {
                if !list.contains(h) {
                    list.push(h.clone());
                }
            }
            let mut s = step(f, Phase::AccessControl, Value::List(list), "add the management hosts to the IP filter");
            if site.management_hosts.is_empty() {
                s.blocked = Some("no management host given".into());
            }
            s
        }
        Setting::TimeNtpServers | Setting::TimeNtpEnabled => {
            let mut s = if f.setting == Setting::TimeNtpServers {
                step(f, Phase::Time, Value::List(site.ntp_servers.clone()), "set the site's NTP servers")
            } else {
                step(f, Phase::Time, Value::Bool(true), "let NTP drive the clock")
            };
            if site.ntp_servers.is_empty() {
                s.blocked = Some("the site has no NTP servers configured".into());
            }
            s
        }
        Setting::NetworkIpFilterEnabled => {
            let mut s = step(f, Phase::AccessControl, Value::Bool(true), "allow only the management hosts");
            if site.management_hosts.is_empty() {
                s.blocked = Some("no management host given: enabling the filter could lock everyone out".into());
            }
            s
        }
        Setting::DiscoveryOnvif => off(Phase::Discovery, "ONVIF WS-Discovery"),
        Setting::DiscoverySadp => off(Phase::Discovery, "SADP"),
        Setting::NetworkIpv4 | Setting::NetworkGateway | Setting::NetworkDns | Setting::NetworkHostname => {
            address_step(device, f, site)
        }
        Setting::FirmwareVersion => match site.firmware.get(device) {
            Some(crate::firmware::Decision::Upgrade(image)) => step(
                f,
                Phase::Firmware,
                Value::Text(image.version.clone()),
                &format!("upgrade the firmware to {} (library image {})", image.version, image.short()),
            ),
            decision => {
                let mut s = step(f, Phase::Manual, Value::Text("a fixed firmware".into()), "update the firmware");
                s.blocked = Some(match decision {
                    Some(crate::firmware::Decision::Manual(why)) => format!("manual: {}; {why}", f.evidence),
                    _ => format!("manual: {}", f.evidence),
                });
                s
            }
        },
        other => {
            let what = other.key().trim_start_matches("service.").trim_end_matches(".enabled").replace('.', " ");
            off(Phase::Services, &what)
        }
    }
}

/// The device's whole interface as the address plan says, in one step (on
/// `network.ipv4`, whichever of its settings differed).
fn address_step(device: &str, f: &Finding, site: &SiteParameters) -> Step {
    let Some(ifc) = site.addresses.get(device) else {
        let mut s = step(f, Phase::Address, Value::Text(String::new()), "set the interface");
        s.setting = Setting::NetworkIpv4;
        s.blocked = Some("the device's line of the address plan was not found".into());
        return s;
    };
    let mut s =
        step(f, Phase::Address, Value::Text(ifc.describe()), &format!("set the interface to {}", ifc.describe()));
    s.setting = Setting::NetworkIpv4;
    s.control = Some("SITE-ADDR".into());
    if let Some(why) = site.address_blocked.get(device) {
        s.phase = Phase::Manual;
        s.blocked = Some(why.clone());
    }
    s
}

/// Steps for one device, in safe order. Only failing findings produce steps, so a
/// device that passes everything has an empty plan (and applying twice is a no-op).
pub fn plan_device(device: &str, findings: &[Finding], site: &SiteParameters) -> DevicePlan {
    let mut steps: Vec<Step> = Vec::new();
    for f in findings.iter().filter(|f| f.status == Status::Fail) {
        // An account the site keeps now, though the audit was read before it said so.
        if f.setting == Setting::AccountUsers && extra_accounts(f, site).is_empty() {
            continue;
        }
        // Two controls on one setting (HIK-22 and SITE-NTP) make one step; so do the
        // interface's settings (one write of the whole interface).
        let folded = match f.setting {
            Setting::NetworkGateway | Setting::NetworkDns | Setting::NetworkHostname => Setting::NetworkIpv4,
            other => other,
        };
        if !steps.iter().any(|s| s.setting == folded) {
            steps.push(fix(device, f, site));
        }
    }
    // On demand: a rotation even where the audit passed the password (a site's shared
    // installer password is neither default nor weak). Activation makes its own.
    let rotating = steps.iter().any(|s| matches!(s.phase, Phase::Credentials | Phase::Activate));
    if site.rotate_passwords && !rotating {
        steps.push(Step {
            phase: Phase::Credentials,
            control: None,
            setting: Setting::AccountPassword,
            from: None,
            to: Value::Text("rotated".into()),
            action: "rotate the admin password to a unique generated one (asked for)".into(),
            blocked: None,
        });
    }
    // On demand too: the service accounts' passwords, where the audit found them all.
    let services_pass = findings.iter().any(|f| f.control == crate::site::service::CONTROL && f.status == Status::Pass);
    if site.rotate_passwords && services_pass {
        steps.push(Step {
            phase: Phase::Accounts,
            control: Some(crate::site::service::CONTROL.into()),
            setting: Setting::AccountService,
            from: None,
            to: Value::Text("rotated".into()),
            action: "rotate the service accounts' passwords to unique generated ones (asked for)".into(),
            blocked: None,
        });
    }
    // The interface step says where the device is now: its address, as read.
    if let Some(s) = steps.iter_mut().find(|s| s.setting == Setting::NetworkIpv4) {
        s.from = findings.iter().find(|f| f.setting == Setting::NetworkIpv4).and_then(|f| f.observed.clone());
        let now = s.from.as_ref().map(|v| v.to_string()).unwrap_or_default();
        let to = site.addresses.get(device).map(|i| i.cidr()).unwrap_or_default();
        if s.blocked.is_none() && !to.is_empty() && now != to {
            s.action = format!("move to {to} (then reached there, identity checked; back to {now} if it is not)",);
            if let Some(ifc) = site.addresses.get(device) {
                s.action.push_str(&format!(": {}", ifc.describe()));
            }
        }
    }
    let changes_something = steps.iter().any(|s| s.blocked.is_none() && s.phase != Phase::Activate);
    if changes_something {
        steps.push(Step {
            phase: Phase::Backup,
            control: None,
            setting: Setting::Configuration,
            from: None,
            to: Value::Text("backed up".into()),
            action: "export the configuration and keep it with the history".into(),
            blocked: None,
        });
    }
    // One rotation covers a default and a weak password alike.
    let mut rotation_seen = false;
    steps.retain(|s| {
        let rotation = s.phase == Phase::Credentials;
        let keep = !(rotation && rotation_seen);
        rotation_seen |= rotation;
        keep
    });
    // Stable: within a phase, the baseline's order, except that NTP servers are set
    // before the clock is switched to NTP, and the management hosts are in the IP
    // filter before it is switched on.
    steps.sort_by_key(|s| (s.phase, matches!(s.setting, Setting::TimeNtpEnabled | Setting::NetworkIpFilterEnabled)));
    DevicePlan { device: device.to_string(), steps }
}

#[cfg(test)]
mod tests;
