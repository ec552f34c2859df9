//! Plan: turn a device's failing findings into ordered steps. Pure: it reads findings
//! and site parameters, and writes nothing anywhere.
//!
//! The order is a safety rule (design.md §1): back up first; prove HTTPS before HTTP is
//! switched off; never let the IP filter exclude the management host; credentials last.

use serde::{Deserialize, Serialize};

use crate::baseline::eval::{Finding, Status};
use crate::posture::Value;

/// Steps run phase by phase, in this order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// A factory-new camera: set its first password before anything else can happen.
    Activate,
    Backup,
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
    /// Things only a person can do (a firmware update).
    Manual,
}

/// One change to make on one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Step {
    pub phase: Phase,
    pub control: Option<String>,
    pub setting: String,
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
}

fn step(f: &Finding, phase: Phase, to: Value, action: &str) -> Step {
    Step {
        phase,
        control: Some(f.control.clone()),
        setting: f.setting.clone(),
        from: f.observed.clone(),
        to,
        action: action.to_string(),
        blocked: None,
    }
}

/// The step that fixes one failing finding.
fn fix(f: &Finding, site: &SiteParameters) -> Step {
    let off = |phase, what: &str| step(f, phase, Value::Bool(false), &format!("switch {what} off"));
    match f.setting.as_str() {
        "account.activated" => step(f, Phase::Activate, Value::Bool(true), "activate with a unique generated password"),
        "account.default_password" | "account.weak_password" => {
            step(f, Phase::Credentials, Value::Bool(false), "rotate the admin password to a unique generated one")
        }
        "account.users" => step(f, Phase::Accounts, Value::List(Vec::new()), "delete the accounts besides admin"),
        "service.https.enabled" => step(f, Phase::Tls, Value::Bool(true), "switch HTTPS on"),
        "tls.certificate.self_signed" => {
            step(f, Phase::Tls, Value::Bool(false), "install a certificate from the site CA, then verify the handshake")
        }
        "tls.v1_0" | "tls.v1_1" => off(Phase::Tls, &f.setting.replace("tls.v1_", "TLS 1.")),
        "service.http.enabled" => {
            step(f, Phase::HttpOff, Value::Bool(false), "switch plain HTTP off, once HTTPS is proven")
        }
        "auth.web" | "auth.rtsp" => step(f, Phase::Authentication, Value::Text("digest".into()), "allow digest only"),
        "onvif.auth" => {
            step(f, Phase::Authentication, Value::Text("digest/wsse".into()), "require HTTP digest for ONVIF")
        }
        "security.login_lock.enabled" => {
            step(f, Phase::Authentication, Value::Bool(true), "switch the illegal-login lock on")
        }
        "time.ntp.servers" | "time.ntp.enabled" => {
            let mut s = if f.setting == "time.ntp.servers" {
                step(f, Phase::Time, Value::List(site.ntp_servers.clone()), "set the site's NTP servers")
            } else {
                step(f, Phase::Time, Value::Bool(true), "let NTP drive the clock")
            };
            if site.ntp_servers.is_empty() {
                s.blocked = Some("the site has no NTP servers configured".into());
            }
            s
        }
        "network.ip_filter.enabled" => {
            let mut s = step(f, Phase::AccessControl, Value::Bool(true), "allow only the management hosts");
            if site.management_hosts.is_empty() {
                s.blocked = Some("no management host given: enabling the filter could lock everyone out".into());
            }
            s
        }
        "discovery.onvif" => off(Phase::Discovery, "ONVIF WS-Discovery"),
        "discovery.sadp" => off(Phase::Discovery, "SADP"),
        "firmware.version" => {
            let mut s = step(f, Phase::Manual, Value::Text("a fixed firmware".into()), "update the firmware");
            s.blocked = Some(format!("manual: {}", f.evidence));
            s
        }
        other => {
            let what = other.trim_start_matches("service.").trim_end_matches(".enabled").replace('.', " ");
            off(Phase::Services, &what)
        }
    }
}

/// Steps for one device, in safe order. Only failing findings produce steps, so a
/// device that passes everything has an empty plan (and applying twice is a no-op).
pub fn plan_device(device: &str, findings: &[Finding], site: &SiteParameters) -> DevicePlan {
    let mut steps: Vec<Step> = findings.iter().filter(|f| f.status == Status::Fail).map(|f| fix(f, site)).collect();
    let changes_something = steps.iter().any(|s| s.blocked.is_none() && s.phase != Phase::Activate);
    if changes_something {
        steps.push(Step {
            phase: Phase::Backup,
            control: None,
            setting: "configuration".into(),
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
    // before the clock is switched to NTP.
    steps.sort_by_key(|s| (s.phase, s.setting == "time.ntp.enabled"));
    DevicePlan { device: device.to_string(), steps }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::Severity;

    fn failing(control: &str, setting: &str, observed: Value) -> Finding {
        Finding {
            control: control.into(),
            title: control.into(),
            severity: Severity::High,
            status: Status::Fail,
            setting: setting.into(),
            observed: Some(observed),
            expected: String::new(),
            evidence: "inside CVE-2017-7921".into(),
        }
    }

    #[test]
    fn steps_follow_the_safety_order() {
        let findings = vec![
            failing("HIK-02", "account.default_password", Value::Bool(true)),
            failing("HIK-06", "service.http.enabled", Value::Bool(true)),
            failing("HIK-05", "service.https.enabled", Value::Bool(false)),
            failing("HIK-12", "service.telnet.enabled", Value::Bool(true)),
            failing("HIK-23", "network.ip_filter.enabled", Value::Bool(false)),
            failing("HIK-27", "firmware.version", Value::Text("V5.3.0 build 151016".into())),
        ];
        let site = SiteParameters { ntp_servers: vec![], management_hosts: vec!["192.0.2.10".into()] };
        let p = plan_device("127.1.0.2:80", &findings, &site);
        let phases: Vec<Phase> = p.steps.iter().map(|s| s.phase).collect();
        assert_eq!(
            phases,
            vec![
                Phase::Backup,
                Phase::Services,
                Phase::Tls,
                Phase::HttpOff,
                Phase::AccessControl,
                Phase::Credentials,
                Phase::Manual
            ]
        );
        let https = p.steps.iter().position(|s| s.setting == "service.https.enabled").unwrap();
        let http = p.steps.iter().position(|s| s.setting == "service.http.enabled").unwrap();
        assert!(https < http, "HTTPS is proven before HTTP goes off");
        assert_eq!(p.steps.last().unwrap().blocked.as_deref(), Some("manual: inside CVE-2017-7921"));
        assert_eq!(p.steps[1].from, Some(Value::Bool(true)));
        assert_eq!(p.steps[1].to, Value::Bool(false));
    }

    #[test]
    fn missing_site_parameters_block_the_risky_steps_and_passing_devices_get_no_plan() {
        let f = vec![
            failing("HIK-23", "network.ip_filter.enabled", Value::Bool(false)),
            failing("HIK-22", "time.ntp.servers", Value::List(vec![])),
        ];
        let p = plan_device("d", &f, &SiteParameters::default());
        assert!(p.steps.iter().all(|s| s.blocked.is_some()), "{p:#?}");
        assert!(p.steps.iter().all(|s| s.phase != Phase::Backup), "no backup when nothing will change");
        let mut pass = failing("HIK-12", "service.telnet.enabled", Value::Bool(false));
        pass.status = Status::Pass;
        assert!(plan_device("d", &[pass], &SiteParameters::default()).is_empty());
    }
}
