//! What crosses IPC, and nothing more. These types are the contract with the UI: the
//! TypeScript in `ui/src/lib/ipc/bindings/` is generated from them (`cargo test`
//! exports it; CI regenerates and checks for drift). They carry no secret: a password
//! only ever travels UI → vault (`SiteCredentials`), never back.

use portcullis_core::apply::DeviceReport;
use portcullis_core::audit::Problem;
use portcullis_core::baseline::eval::Finding;
use portcullis_core::history::Entry;
pub use portcullis_core::history::Verification as ChainCheck;
use portcullis_core::inventory::Source;
use portcullis_core::plan::Step;
use portcullis_core::secret::Secret;
use portcullis_core::tasks::apply::ApplyTotals;
pub use portcullis_core::tasks::audit::AuditSummary;
pub use portcullis_core::tasks::baselines::Profile as BaselineView;
pub use portcullis_core::tasks::certs::Overview as CertificatesView;
use portcullis_core::tasks::discover::DiscoverCounts;
use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Generated files land beside the UI's ipc module.
macro_rules! ipc {
    ($($item:item)*) => {
        $(
            #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
            #[ts(export, export_to = "../../ui/src/lib/ipc/bindings/")]
            $item
        )*
    };
}

ipc! {
    /// What the window shows in its title bar and about box.
    pub struct AppInfo {
        pub name: String,
        pub version: String,
        /// Running the simulated demo site.
        pub demo: bool,
        pub data_dir: String,
        /// Where secrets are kept, in words.
        pub vault: String,
        pub devices: u32,
    }

    /// One row of the site's device table.
    pub struct DeviceRow {
        /// The inventory's merge key (`mac:…`, `sn:…`).
        pub id: String,
        /// `address:port`, how the engine names the device.
        pub label: String,
        pub address: Option<String>,
        pub vendor: Option<String>,
        pub model: Option<String>,
        pub firmware: Option<String>,
        pub mac: Option<String>,
        pub serial: Option<String>,
        pub activated: Option<bool>,
        pub site: Option<String>,
        pub seen_by: Vec<Source>,
        /// 0–100 from the last audit this session.
        pub score: Option<u8>,
        pub failing: u32,
        pub audited: bool,
        pub audit_error: Option<Problem>,
        /// Time of the device's latest history record.
        pub last_change: Option<String>,
        /// Imported, or accepted after discovery found it. Nothing goes to an
        /// unconfirmed device (no credentials, no audit, no change).
        pub confirmed: bool,
        /// Sightings that contradicted it (another address, another identity), in words.
        pub conflicts: Vec<String>,
    }

    /// A sighting as discovery reports it, live.
    pub struct SightingEvent {
        pub source: Option<Source>,
        pub address: Option<String>,
        pub vendor: Option<String>,
        pub model: Option<String>,
        pub mac: Option<String>,
        pub endpoint_reference: Option<String>,
    }

    pub struct DiscoverRequest {
        /// Interface names or IPv4 addresses; empty means every up, non-loopback one.
        /// The demo site ignores this and searches loopback only.
        pub interfaces: Vec<String>,
        /// CIDR ranges to scan by TCP.
        pub scan: Vec<String>,
        pub timeout_s: f64,
        /// WS-Discovery multicast probes (ONVIF devices).
        pub wsd: bool,
        /// SADP multicast inquiry (Hikvision, including factory-new cameras).
        pub sadp: bool,
    }

    /// An IPv4 interface discovery can search on.
    pub struct InterfaceView {
        pub name: String,
        pub address: String,
        pub loopback: bool,
    }

    pub struct DiscoverSummary {
        #[serde(flatten)]
        pub counts: DiscoverCounts,
        /// What was searched, in words (e.g. "loopback 127.0.0.1, scan 127.140.0.0/24").
        pub searched: String,
    }

    pub struct ImportResult {
        pub read: u32,
        pub devices: u32,
        pub credentials_stored: u32,
        /// Entries that contradicted a known device: not merged.
        pub conflicts: u32,
    }

    /// Which devices found by discovery the person accepts or rejects: by inventory
    /// id, or every unconfirmed one (bulk).
    #[serde(deny_unknown_fields)]
    pub struct DeviceDecision {
        pub ids: Vec<String>,
        pub all_unconfirmed: bool,
    }

    /// Progress of a long job (audit, apply), one event per finished device.
    pub struct Progress {
        pub job: String,
        pub done: u32,
        pub total: u32,
        pub device: String,
        pub ok: bool,
        pub message: Option<String>,
    }


    pub struct IdentityView {
        pub vendor: String,
        pub manufacturer: String,
        pub model: String,
        pub serial: String,
        pub mac: String,
        pub firmware: String,
        pub device_type: String,
    }

    pub struct DeviceDetail {
        pub row: DeviceRow,
        pub protocol: Option<String>,
        pub baseline: Option<String>,
        pub identity: Option<IdentityView>,
        /// Its firmware against the advisories, the site's minimum and the library
        /// (none until the device is read).
        pub firmware: Option<portcullis_core::firmware::State>,
        pub findings: Vec<Finding>,
        pub history: Vec<Entry>,
        pub credentials: portcullis_core::vault::LoginEntry,
    }

    pub struct PlanView {
        pub device_id: String,
        pub label: String,
        pub steps: Vec<Step>,
        /// Why there is no plan (not audited, unreachable…).
        pub note: Option<String>,
    }

    /// The engine's totals (the same as `apply --json`'s summary line) and each device.
    pub struct ApplySummary {
        pub results: Vec<DeviceReport>,
        #[serde(flatten)]
        pub totals: ApplyTotals,
    }

    /// Which report to write, and where: the data directory's `reports` folder, or a
    /// place the person chooses in a save dialog (then opened, if asked).
    #[serde(deny_unknown_fields)]
    pub struct ReportExport {
        /// pdf, html, csv, json
        pub format: String,
        pub choose_location: bool,
        pub open_after: bool,
    }

    /// A report file checked (`portcullis report verify`): its digest, the chain head it
    /// cites, and each change it lists, against the local history.
    pub struct ReportCheck {
        pub path: String,
        pub ok: bool,
        pub digest_ok: bool,
        pub head_found: bool,
        pub changes_matched: u32,
        pub problems: Vec<String>,
    }

    /// Which credentials to forget: a device's own (`device`, by `address:port` or
    /// address) or a site's defaults (`site`). Nothing else (a rotation in flight, a
    /// CA key, the history's key) can be forgotten from the window.
    #[serde(deny_unknown_fields)]
    pub struct ForgetRequest {
        pub scope: String,
        pub name: String,
    }

    /// A report written to the data directory.
    pub struct ReportFile {
        pub path: String,
        /// pdf, html, csv, json
        pub format: String,
        pub bytes: u32,
        pub devices: u32,
        pub changes: u32,
        /// SHA-256 of the file (also in FILE.sha256 beside it).
        pub file_sha256: String,
        /// The history's head hash the report cites, and whether the chain verified.
        pub history_head: String,
        pub history_intact: bool,
    }

    /// Make a customer's CA (or intermediate) the site CA. No paths: the shell asks for
    /// the certificate and its key (PEM; PKCS#8, or RSA in PKCS#1, unencrypted) in native
    /// dialogs and reads the key straight into the vault; neither path nor key crosses
    /// IPC (issue #14). A request naming paths is refused, not half-read.
    #[serde(deny_unknown_fields)]
    pub struct ImportCaRequest {
        /// Replace the site CA that exists (the UI has had the person confirm it).
        pub replace: bool,
    }

    /// Accept the certificate a device presents in place of its pin. `fingerprint` is
    /// the one the person was shown: the shell refuses if another is waiting.
    #[serde(deny_unknown_fields)]
    pub struct AcceptCertificateRequest {
        pub device: String,
        pub fingerprint: String,
    }

    /// An encrypted credential handover written to the reports folder.
    pub struct HandoverFile {
        pub path: String,
        #[serde(flatten)]
        pub counts: portcullis_core::handover::Counts,
    }

    /// What the report would say, before writing it: its summary and worst devices.
    pub struct ReportPreview {
        pub title: String,
        pub site: String,
        pub devices: u32,
        /// Devices that could not be audited.
        pub errors: u32,
        pub score_before: Option<u8>,
        pub score_after: Option<u8>,
        /// Failing controls now, most severe first: critical, high, medium, low.
        pub failing: Vec<u32>,
        pub changes: u32,
        pub history_intact: bool,
        pub history_head: String,
        pub baselines: Vec<String>,
        /// The lowest-scoring devices (at most ten).
        pub worst: Vec<PreviewDevice>,
    }

    pub struct PreviewDevice {
        pub target: String,
        pub model: String,
        pub score_before: Option<u8>,
        pub score: Option<u8>,
        pub failing: u32,
    }



    /// A vault entry as the index knows it: scope, user, date. Never a value.
    pub struct VaultEntry {
        /// device or site
        pub scope: String,
        pub name: String,
        pub username: String,
        pub updated: String,
    }

    pub struct Settings {
        /// Devices changed at once (apply, renewal), as the CLI's `apply --concurrency`.
        pub concurrency: u32,
        /// Devices read at once by an audit of its own, as the CLI's `audit
        /// --concurrency` (reads cost a camera little; each gets its share of the
        /// engine's connections).
        pub audit_concurrency: u32,
        /// Seconds a read or a write may take; 0 keeps the site's timing (key
        /// generation, uploads and reboots always keep theirs).
        pub read_write_timeout_s: u32,
        pub ntp_servers: Vec<String>,
        pub management_hosts: Vec<String>,
        /// `{site}` in the naming pattern; empty for none.
        pub site_name: String,
        /// Device names, e.g. `{site}-{model}-{n:02}`; empty leaves names alone.
        pub device_name_pattern: String,
        /// POSIX TZ, e.g. `CET-1CEST,M3.5.0,M10.5.0/3`; empty leaves zones alone.
        pub time_zone: String,
        /// Accounts the site keeps (a recorder's, a VMS's): names, or prefixes ending in
        /// `*`. Never deleted; the site baseline's list counts too.
        pub keep_accounts: Vec<String>,
        /// The address plan as CSV (a header naming mac or serial, address, mask, and
        /// optionally gateway, dns, hostname); empty for none.
        #[serde(default)]
        pub address_plan: String,
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            concurrency: portcullis_core::tasks::apply::APPLY_CONCURRENCY as u32,
            audit_concurrency: portcullis_core::tasks::audit::AUDIT_CONCURRENCY as u32,
            read_write_timeout_s: 0,
            ntp_servers: Vec::new(),
            management_hosts: Vec::new(),
            site_name: String::new(),
            device_name_pattern: String::new(),
            time_zone: String::new(),
            keep_accounts: Vec::new(),
            address_plan: String::new(),
        }
    }
}

impl Settings {
    /// The demo site's parameters: every plan step can run on loopback.
    pub fn demo() -> Self {
        Settings {
            ntp_servers: vec!["ntp1.demo.lan".into()],
            management_hosts: vec!["127.0.0.1".into()],
            site_name: "demo".into(),
            device_name_pattern: "{site}-{model}-{n:02}".into(),
            time_zone: "CET-1CEST,M3.5.0,M10.5.0/3".into(),
            ..Settings::default()
        }
    }

    /// The operator's limit for reads and writes, if one is set (else the site's timing).
    pub fn read_write_timeout(&self) -> Option<std::time::Duration> {
        (self.read_write_timeout_s > 0).then(|| std::time::Duration::from_secs(u64::from(self.read_write_timeout_s)))
    }

    /// The site parameters as the engine's `[site]` table; every field checked.
    pub fn site_section(&self) -> Result<portcullis_core::site::SiteSection, String> {
        let text = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
        let section = portcullis_core::site::SiteSection {
            name: text(&self.site_name),
            device_name: text(&self.device_name_pattern),
            time_zone: text(&self.time_zone),
            ntp_servers: self.ntp_servers.clone(),
            management_hosts: self.management_hosts.clone(),
            // The desktop has no such setting yet: passwords never cross plain HTTP (core's default).
            allow_plaintext_secrets: false,
            // Set in a site baseline file only (the site's written policy, like the above).
            ca_scope: Vec::new(),
            keep_accounts: self.keep_accounts.iter().map(|p| p.trim().to_string()).filter(|p| !p.is_empty()).collect(),
            // Like the rotation policy: the site baseline file's.
            service_accounts: Vec::new(),
            // The rotation policy is the site's written policy (its baseline file), like the above.
            unique_passwords: false,
            password_max_age_days: None,
            timing: Default::default(),
            // The site's written policy (its baseline file).
            firmware_minimum: Vec::new(),
            addresses: match self.address_plan.trim() {
                "" => Vec::new(),
                csv => portcullis_core::site::addresses::read_csv(csv)?,
            },
        };
        section.validate()?;
        Ok(section)
    }
}

/// Write-only: the UI submits these once, straight to the vault; nothing returns the
/// password, and it neither prints nor serialises (core's `Secret`: wiped when dropped).
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/ipc/bindings/")]
pub struct SiteCredentials {
    pub site: String,
    pub username: String,
    #[ts(type = "string")]
    pub password: Secret,
}

/// Write-only: the passphrase for a handover file, submitted once; never printed or
/// returned.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/ipc/bindings/")]
pub struct HandoverRequest {
    #[ts(type = "string")]
    pub passphrase: Secret,
    /// Only this site's devices; all when empty.
    pub site: Option<String>,
    /// Only the site's service accounts, for the recorder's operator: no admin password.
    #[serde(default)]
    pub service_accounts_only: bool,
    /// Save it where the person chooses (a save dialog) instead of the reports folder.
    #[serde(default)]
    pub choose_location: bool,
}

/// Write-only: one device's own credentials, submitted once to the vault.
#[derive(Debug, Clone, Deserialize, TS)]
#[ts(export, export_to = "../../ui/src/lib/ipc/bindings/")]
pub struct DeviceCredentials {
    /// `address:port`, as the device table labels it.
    pub device: String,
    pub username: String,
    #[ts(type = "string")]
    pub password: Secret,
}

ipc! {
    /// A baseline file the user picked: its name and text (the UI reads the file).
    pub struct BaselineFile {
        pub name: String,
        pub text: String,
    }
}

#[cfg(test)]
mod tests {
    /// Core types a command returns whole; the others reach TypeScript as fields of the
    /// types above. (`export_bindings_*`: scripts/test-desktop.sh runs these to check drift.)
    #[test]
    fn export_bindings_core_results() {
        use ts_rs::TS;
        let config = ts_rs::Config::from_env();
        portcullis_core::history::Drift::export_all(&config).unwrap();
        portcullis_core::history::Entry::export_all(&config).unwrap();
        portcullis_core::firmware::Image::export_all(&config).unwrap();
        portcullis_core::baseline::golden::Summary::export_all(&config).unwrap();
        portcullis_core::firmware::Given::export_all(&config).unwrap();
        portcullis_core::tasks::certs::Overview::export_all(&config).unwrap();
        portcullis_core::tasks::audit::AuditSummary::export_all(&config).unwrap();
        portcullis_core::history::Verification::export_all(&config).unwrap();
        portcullis_core::tasks::baselines::Profile::export_all(&config).unwrap();
    }
}
