//! Site parameters: what an integrator sets on every camera of a deployment — device
//! names from a pattern, the time zone, NTP servers and the management hosts the IP
//! filter must admit. A baseline carries them in its `[site]` table; each becomes a
//! control (`SITE-*`), so they are audited, planned, applied and verified like any other.

pub mod addresses;
pub mod names;
pub mod passwords;
pub mod service;
pub mod tz;

use crate::setting::Setting;
use serde::{Deserialize, Serialize};

use crate::baseline::{AppliesTo, Control, Expect, Mappings, Severity, WhenUnsupported};

/// The `[site]` table of a baseline file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SiteSection {
    /// The site's short name, `{site}` in the naming pattern.
    #[serde(default)]
    pub name: Option<String>,
    /// Device names, e.g. `{site}-{model}-{n:02}`.
    #[serde(default)]
    pub device_name: Option<String>,
    /// A POSIX TZ string, e.g. `CET-1CEST,M3.5.0,M10.5.0/3`.
    #[serde(default)]
    pub time_zone: Option<String>,
    #[serde(default)]
    pub ntp_servers: Vec<String>,
    /// Hosts the IP filter must always admit (the management host first).
    #[serde(default)]
    pub management_hosts: Vec<String>,
    /// Let passwords cross the LAN over plain HTTP when a device has no HTTPS. Off by
    /// default; when on, every such change says so in the history and the reports.
    #[serde(default)]
    pub allow_plaintext_secrets: bool,
    /// What the site CA may name: address ranges (`10.20.0.0/16`) and DNS suffixes
    /// (`cams.example.com`). A CA Portcullis creates carries them as name constraints,
    /// and no certificate is issued for a name outside them. Empty: no limit.
    #[serde(default)]
    pub ca_scope: Vec<String>,
    /// Accounts the site keeps (a recorder's, a VMS's): names, or a prefix ending in `*`
    /// (`vms-*`). The audit does not count them as extra accounts, and no plan deletes them.
    #[serde(default)]
    pub keep_accounts: Vec<String>,
    /// Accounts the site ensures on every device, each with its role and its own
    /// generated password (`[[site.service_accounts]]`): a recorder's, a VMS's. Kept,
    /// like `keep_accounts`.
    #[serde(default)]
    pub service_accounts: Vec<service::ServiceAccount>,
    /// Every device's admin password must be its own (`SITE-PW-UNIQUE`, compared in
    /// the vault: the shared installer password fails it).
    #[serde(default)]
    pub unique_passwords: bool,
    /// No admin password older than this many days (`SITE-PW-AGE`, from the history).
    #[serde(default)]
    pub password_max_age_days: Option<u32>,
    /// How long each kind of device operation may take (`[site.timing]`, seconds).
    #[serde(default)]
    pub timing: crate::driver::Timings,
    /// The oldest firmware the site accepts, by vendor and models
    /// (`[[site.firmware_minimum]]`, `SITE-FW-MIN`).
    #[serde(default)]
    pub firmware_minimum: Vec<crate::firmware::Minimum>,
    /// The address plan: each device's address, mask, gateway, DNS and host name, by
    /// MAC or serial (`[[site.addresses]]`, or `--address-plan FILE.csv`).
    #[serde(default)]
    pub addresses: Vec<addresses::AddressEntry>,
}

/// The account name in an account entry as devices list them (`nvr (Operator)` → `nvr`).
pub fn account_name(entry: &str) -> &str {
    entry.rsplit_once(" (").map_or(entry, |(name, _)| name).trim()
}

/// Whether one of these keep patterns names the account (case-insensitive).
pub fn keeps(patterns: &[String], entry: &str) -> bool {
    let name = account_name(entry).to_ascii_lowercase();
    patterns.iter().map(|p| p.trim().to_ascii_lowercase()).any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == p,
    })
}

impl SiteSection {
    /// Every account the site keeps: those it names, and its service accounts.
    pub fn kept_accounts(&self) -> Vec<String> {
        let services: Vec<String> = self.service_accounts.iter().map(|a| a.name.clone()).collect();
        let mut all = self.keep_accounts.clone();
        all.extend(services.into_iter().filter(|n| !self.keep_accounts.contains(n)));
        all
    }

    /// The naming pattern with `{site}` filled in.
    pub fn name_pattern(&self) -> Result<Option<names::NamePattern>, String> {
        let Some(p) = &self.device_name else { return Ok(None) };
        if p.contains("{site}") && self.name.as_deref().is_none_or(str::is_empty) {
            return Err("device_name uses {site}: set `name` in [site]".into());
        }
        names::NamePattern::parse(p, self.name.as_deref().unwrap_or_default()).map(Some)
    }

    /// Check every field; the message names the field.
    pub fn validate(&self) -> Result<(), String> {
        if self.name.as_deref().is_some_and(|n| n.contains(['{', '}'])) {
            return Err("name: braces are not allowed in a site name".into());
        }
        self.name_pattern()?;
        if let Some(tz) = &self.time_zone {
            tz::canonical(tz).map_err(|e| format!("time_zone: {e}"))?;
        }
        if self.ntp_servers.len() > 4 {
            return Err(format!("ntp_servers: at most 4 (cameras keep up to 4), got {}", self.ntp_servers.len()));
        }
        crate::certs::CaScope::parse(&self.ca_scope).map_err(|e| format!("ca_scope: {e}"))?;
        self.timing.validate()?;
        if self.password_max_age_days.is_some_and(|d| !(1..=3650).contains(&d)) {
            return Err("password_max_age_days: between 1 and 3650".into());
        }
        if let Some(p) = self.keep_accounts.iter().find(|p| p.trim().trim_end_matches('*').is_empty()) {
            return Err(format!("keep_accounts: {p:?} would keep every account; name them"));
        }
        service::validate(&self.service_accounts)?;
        if let Some(m) = self
            .firmware_minimum
            .iter()
            .find(|m| m.vendor.trim().is_empty() || crate::advisories::Firmware::parse(&m.version).is_none())
        {
            return Err(format!("firmware_minimum: {} {:?} needs a vendor and a version number", m.vendor, m.version));
        }
        addresses::validate(&self.addresses)?;
        for (field, hosts) in [("ntp_servers", &self.ntp_servers), ("management_hosts", &self.management_hosts)] {
            if let Some(h) = hosts.iter().find(|h| h.trim().is_empty() || h.contains(char::is_whitespace)) {
                return Err(format!("{field}: {h:?} is not a host name or address"));
            }
        }
        Ok(())
    }

    /// The controls these parameters stand for.
    pub fn controls(&self) -> Result<Vec<Control>, String> {
        self.validate()?;
        let control = |id: &str,
                       title: &str,
                       rationale: &str,
                       setting: Setting,
                       expect,
                       severity,
                       nist: &[&str],
                       iec: &[&str]| {
            Control {
                id: id.into(),
                title: title.into(),
                rationale: rationale.into(),
                setting,
                expect,
                severity,
                applies_to: AppliesTo::default(),
                when_unsupported: WhenUnsupported::Unsupported,
                mappings: Mappings {
                    etsi_en_303_645: Vec::new(),
                    nist_csf_2: nist.iter().map(|s| s.to_string()).collect(),
                    iec_62443_4_2: iec.iter().map(|s| s.to_string()).collect(),
                    vendor_guide: None,
                },
            }
        };
        let mut out = Vec::new();
        if let Some(p) = self.name_pattern()? {
            out.push(control(
                "SITE-NAME",
                "The device name follows the site's naming pattern",
                "A name that says site, model and position lets the customer match every report line to a camera.",
                Setting::DeviceName,
                Expect::NamePattern(p.describe()),
                Severity::Low,
                &["ID.AM-01"],
                &["CR 7.8"],
            ));
        }
        if let Some(t) = &self.time_zone {
            out.push(control(
                "SITE-TZ",
                "The time zone is the site's",
                "Recordings and logs must carry local time that matches the site's other systems.",
                Setting::TimeZone,
                Expect::TimeZone(tz::canonical(t)?),
                Severity::Low,
                &["PR.PS-04"],
                &["CR 2.11"],
            ));
        }
        if !self.ntp_servers.is_empty() {
            out.push(control(
                "SITE-NTP",
                "The NTP servers are the site's",
                "Every camera must take its time from the site's own servers, not a factory default.",
                Setting::TimeNtpServers,
                Expect::SameSet(self.ntp_servers.clone()),
                Severity::Medium,
                &["PR.PS-04"],
                &["CR 2.11"],
            ));
        }
        if !self.management_hosts.is_empty() {
            out.push(control(
                "SITE-MGMT",
                "The IP filter admits the management hosts",
                "An allow-list that leaves out the management host locks the operators out.",
                Setting::NetworkIpFilterAddresses,
                Expect::Includes(self.management_hosts.clone()),
                Severity::Medium,
                &["PR.AA-05", "PR.IR-01"],
                &["CR 1.13", "CR 2.1"],
            ));
        }
        if self.unique_passwords {
            let mut c = control(
                passwords::UNIQUE,
                "The admin password is the device's own",
                "One password shared by every camera opens the whole site to whoever learns it once.",
                Setting::AccountPasswordUnique,
                Expect::Equals(crate::posture::Value::Bool(true)),
                Severity::High,
                &["PR.AA-01", "PR.AA-03"],
                &["CR 1.5", "CR 1.7"],
            );
            c.mappings.etsi_en_303_645 = vec!["5.1-1".into()];
            out.push(c);
        }
        if !self.service_accounts.is_empty() {
            let list: Vec<String> = self.service_accounts.iter().map(service::ServiceAccount::entry).collect();
            let mut c = control(
                service::CONTROL,
                "The site's service accounts exist, each with its role",
                "A recorder that logs in with its own least-privilege account keeps recording when the \
                 admin password rotates, and never holds the admin's.",
                Setting::AccountService,
                Expect::Includes(list),
                Severity::Medium,
                &["PR.AA-05"],
                &["CR 1.3", "CR 2.1"],
            );
            c.mappings.etsi_en_303_645 = vec!["5.1-1".into()];
            out.push(c);
        }
        if let Some(days) = self.password_max_age_days {
            out.push(control(
                passwords::AGE,
                &format!("No admin password is older than {days} days"),
                "A password rotated on a schedule, and at every handover, stops working for whoever left with it.",
                Setting::AccountPasswordRecent,
                Expect::Equals(crate::posture::Value::Bool(true)),
                Severity::Medium,
                &["PR.AA-01"],
                &["CR 1.5"],
            ));
        }
        if !self.addresses.is_empty() {
            let plan = Expect::AddressPlan(self.addresses.clone());
            for (id, title, setting, severity) in [
                (
                    "SITE-ADDR",
                    "The device has its address from the site's plan",
                    Setting::NetworkIpv4,
                    Severity::Medium,
                ),
                ("SITE-GW", "The default gateway is the plan's", Setting::NetworkGateway, Severity::Low),
                ("SITE-DNS", "The DNS servers are the plan's", Setting::NetworkDns, Severity::Low),
                ("SITE-HOST", "The host name is the plan's", Setting::NetworkHostname, Severity::Low),
            ] {
                out.push(control(
                    id,
                    title,
                    "A camera on the address the site's documentation gives is the camera the recorder, the \
                     firewall and the next technician look for.",
                    setting,
                    plan.clone(),
                    severity,
                    &["ID.AM-01", "PR.PS-01"],
                    &["CR 7.6"],
                ));
            }
        }
        if !self.firmware_minimum.is_empty() {
            let mut c = control(
                "SITE-FW-MIN",
                "The firmware is at least the site's minimum",
                "Firmware older than the release the site has qualified lacks its fixes, and differs from \
                 what the site's recorders and VMS were tested with.",
                Setting::FirmwareVersion,
                Expect::FirmwareAtLeast(self.firmware_minimum.clone()),
                Severity::High,
                &["ID.RA-01", "PR.PS-02"],
                &["CR 3.4"],
            );
            c.mappings.etsi_en_303_645 = vec!["5.3-2".into()];
            out.push(c);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_parameter_becomes_a_control() {
        let s = SiteSection {
            name: Some("hq".into()),
            device_name: Some("{site}-{model}-{n:02}".into()),
            time_zone: Some("CET-1:00:00".into()),
            ntp_servers: vec!["192.0.2.1".into()],
            management_hosts: vec!["192.0.2.10".into()],
            allow_plaintext_secrets: false,
            ca_scope: Vec::new(),
            keep_accounts: Vec::new(),
            service_accounts: Vec::new(),
            unique_passwords: false,
            password_max_age_days: None,
            timing: Default::default(),
            firmware_minimum: vec![crate::firmware::Minimum {
                vendor: "hikvision".into(),
                models: vec!["DS-2CD2xx2F-I".into()],
                version: "V5.5.800".into(),
            }],
            addresses: Vec::new(),
        };
        let c = s.controls().unwrap();
        let ids: Vec<&str> = c.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["SITE-NAME", "SITE-TZ", "SITE-NTP", "SITE-MGMT", "SITE-FW-MIN"]);
        // Below the minimum fails, at it passes, another model is not the site's concern.
        let at = |model: &str, version: &str| {
            let mut p = crate::posture::Posture::new(
                crate::posture::Identity {
                    vendor: "hikvision".into(),
                    model: model.into(),
                    firmware_version: version.into(),
                    ..Default::default()
                },
                crate::posture::Protocol::Isapi,
            );
            p.known(Setting::FirmwareVersion, crate::posture::Value::Text(version.into()));
            crate::baseline::eval::evaluate_control(&c[4], &p).status
        };
        use crate::baseline::eval::Status;
        assert_eq!(at("DS-2CD2132F-IS", "V5.4.5"), Status::Fail);
        assert_eq!(at("DS-2CD2132F-IS", "V5.5.800"), Status::Pass);
        assert_eq!(at("DS-2CD2155FWD-I", "V5.4.5"), Status::Pass);
        assert_eq!(c[0].expect, Expect::NamePattern("hq-{model}-{n:02}".into()));
        assert_eq!(c[1].expect, Expect::TimeZone("CET-1".into()));
        assert!(SiteSection::default().controls().unwrap().is_empty());
    }

    #[test]
    fn bad_parameters_name_the_field() {
        let e = SiteSection { device_name: Some("{site}-{n}".into()), ..Default::default() }.validate().unwrap_err();
        assert!(e.contains("name"), "{e}");
        let e = SiteSection { time_zone: Some("Europe/Paris".into()), ..Default::default() }.validate().unwrap_err();
        assert!(e.starts_with("time_zone"), "{e}");
        let e = SiteSection { management_hosts: vec![" ".into()], ..Default::default() }.validate().unwrap_err();
        assert!(e.starts_with("management_hosts"), "{e}");
    }
}
