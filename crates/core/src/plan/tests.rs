//! Tests of the planner.

use super::*;
use crate::baseline::Severity;

fn failing(control: &str, setting: Setting, observed: Value) -> Finding {
    Finding {
        control: control.into(),
        title: control.into(),
        severity: Severity::High,
        status: Status::Fail,
        setting,
        observed: Some(observed),
        expected: String::new(),
        evidence: "inside CVE-2017-7921".into(),
    }
}

#[test]
fn a_rotation_on_demand_is_one_step_after_a_backup_and_none_beside_activation() {
    let site = SiteParameters { rotate_passwords: true, ..Default::default() };
    let passing = plan_device("127.1.0.2:80", &[], &site);
    let phases: Vec<Phase> = passing.steps.iter().map(|s| s.phase).collect();
    assert_eq!(phases, [Phase::Backup, Phase::Credentials], "asked for, on a device that passes");
    assert_eq!(passing.steps[1].setting, Setting::AccountPassword);
    let default = [failing("HIK-02", Setting::AccountDefaultPassword, Value::Bool(true))];
    let p = plan_device("127.1.0.2:80", &default, &site);
    assert_eq!(p.steps.iter().filter(|s| s.phase == Phase::Credentials).count(), 1, "one rotation");
    let new = [failing("HIK-01", Setting::AccountActivated, Value::Bool(false))];
    let p = plan_device("127.1.0.2:80", &new, &site);
    assert!(p.steps.iter().all(|s| s.phase != Phase::Credentials), "activation sets a fresh one");
    assert!(plan_device("127.1.0.2:80", &[], &SiteParameters::default()).is_empty(), "not unless asked");
}

#[test]
fn steps_follow_the_safety_order() {
    let findings = vec![
        failing("HIK-02", Setting::AccountDefaultPassword, Value::Bool(true)),
        failing("HIK-06", Setting::ServiceHttpEnabled, Value::Bool(true)),
        failing("HIK-05", Setting::ServiceHttpsEnabled, Value::Bool(false)),
        failing("HIK-12", Setting::ServiceTelnetEnabled, Value::Bool(true)),
        failing("HIK-23", Setting::NetworkIpFilterEnabled, Value::Bool(false)),
        failing("HIK-27", Setting::FirmwareVersion, Value::Text("V5.3.0 build 151016".into())),
    ];
    let site = SiteParameters { management_hosts: vec!["192.0.2.10".into()], ..Default::default() };
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
    let https = p.steps.iter().position(|s| s.setting == Setting::ServiceHttpsEnabled).unwrap();
    let http = p.steps.iter().position(|s| s.setting == Setting::ServiceHttpEnabled).unwrap();
    assert!(https < http, "HTTPS is proven before HTTP goes off");
    assert_eq!(p.steps.last().unwrap().blocked.as_deref(), Some("manual: inside CVE-2017-7921"));
    assert_eq!(p.steps[1].from, Some(Value::Bool(true)));
    assert_eq!(p.steps[1].to, Value::Bool(false));
}

#[test]
fn missing_site_parameters_block_the_risky_steps_and_passing_devices_get_no_plan() {
    let f = vec![
        failing("HIK-23", Setting::NetworkIpFilterEnabled, Value::Bool(false)),
        failing("HIK-22", Setting::TimeNtpServers, Value::List(vec![])),
    ];
    let p = plan_device("d", &f, &SiteParameters::default());
    assert!(p.steps.iter().all(|s| s.blocked.is_some()), "{p:#?}");
    assert!(p.steps.iter().all(|s| s.phase != Phase::Backup), "no backup when nothing will change");
    let mut pass = failing("HIK-12", Setting::ServiceTelnetEnabled, Value::Bool(false));
    pass.status = Status::Pass;
    assert!(plan_device("d", &[pass], &SiteParameters::default()).is_empty());
}

#[test]
fn site_parameters_plan_names_zone_and_allow_list_in_order() {
    let f = vec![
        failing("HIK-23", Setting::NetworkIpFilterEnabled, Value::Bool(false)),
        failing("SITE-MGMT", Setting::NetworkIpFilterAddresses, Value::List(vec!["192.0.2.50".into()])),
        failing("HIK-22", Setting::TimeNtpServers, Value::List(vec![])),
        failing("SITE-NTP", Setting::TimeNtpServers, Value::List(vec![])),
        failing("SITE-TZ", Setting::TimeZone, Value::Text("CST-8:00:00".into())),
        failing("SITE-NAME", Setting::DeviceName, Value::Text("IP CAMERA".into())),
    ];
    let mut site = SiteParameters {
        ntp_servers: vec!["192.0.2.1".into()],
        management_hosts: vec!["192.0.2.10".into()],
        time_zone: Some("CET-1".into()),
        ..Default::default()
    };
    site.device_names.insert("d".into(), "hq-cam-01".into());
    let p = plan_device("d", &f, &site);
    let settings: Vec<Setting> = p.steps.iter().map(|s| s.setting).collect();
    assert_eq!(
        settings,
        [
            Setting::Configuration,
            Setting::DeviceName,
            Setting::TimeNtpServers,
            Setting::TimeZone,
            Setting::NetworkIpFilterAddresses,
            Setting::NetworkIpFilterEnabled
        ],
        "one step per setting; the allow list holds the management host before the filter is on"
    );
    let allow = p.steps.iter().find(|s| s.setting == Setting::NetworkIpFilterAddresses).unwrap();
    assert_eq!(allow.to, Value::List(vec!["192.0.2.50".into(), "192.0.2.10".into()]), "existing entries stay");
    assert!(p.steps.iter().all(|s| s.blocked.is_none()), "{p:#?}");
    // A device the naming gave nothing to is blocked, not renamed to "".
    let other = plan_device("e", &f, &site);
    let rename = other.steps.iter().find(|s| s.setting == Setting::DeviceName).unwrap();
    assert!(rename.blocked.is_some());
}

#[test]
fn site_table_and_flags_merge_and_clash_loudly() {
    let section = crate::site::SiteSection {
        ntp_servers: vec!["192.0.2.1".into()],
        time_zone: Some("CST-8:00:00".into()),
        ..Default::default()
    };
    let m = SiteParameters::merge(Some(&section), &[], &["10.0.0.5".into()]).unwrap();
    assert_eq!((m.ntp_servers, m.management_hosts), (vec!["192.0.2.1".to_string()], vec!["10.0.0.5".to_string()]));
    assert_eq!(m.time_zone.as_deref(), Some("CST-8"));
    let e = SiteParameters::merge(Some(&section), &["192.0.2.9".into()], &[]).unwrap_err();
    assert!(e.contains("[site]"), "{e}");
    assert!(SiteParameters::merge(Some(&section), &["192.0.2.1".into()], &[]).is_ok(), "the same answer twice is fine");
}

#[test]
fn a_missing_service_account_is_made_and_a_wrong_role_waits_for_a_rotation() {
    use crate::site::service::{Role, ServiceAccount};
    let accounts = vec![
        ServiceAccount { name: "nvr".into(), role: Role::Viewer },
        ServiceAccount { name: "vms".into(), role: Role::Operator },
    ];
    let mut site = SiteParameters { service_accounts: accounts, ..Default::default() };
    let only_vms_wrong = failing("SITE-SVC", Setting::AccountService, Value::List(vec!["vms (viewer)".into()]));
    let plan = plan_device("d", std::slice::from_ref(&only_vms_wrong), &site);
    let s = plan.steps.iter().find(|s| s.setting == Setting::AccountService).unwrap();
    assert!(s.action.starts_with("create the service accounts nvr (viewer)"), "{}", s.action);
    assert!(s.action.contains("vms (operator)") && s.blocked.is_none(), "{s:?}");
    // Only the role is wrong: its recorder's password is not changed unasked.
    let wrong = failing(
        "SITE-SVC",
        Setting::AccountService,
        Value::List(vec!["nvr (operator)".into(), "vms (operator)".into()]),
    );
    let plan = plan_device("d", &[wrong], &site);
    let s = plan.steps.iter().find(|s| s.setting == Setting::AccountService).unwrap();
    assert!(s.blocked.as_deref().is_some_and(|b| b.contains("--rotate-passwords")), "{s:?}");
    site.rotate_passwords = true;
    let plan = plan_device("d", &[only_vms_wrong], &site);
    let s: Vec<_> = plan.steps.iter().filter(|s| s.setting == Setting::AccountService).collect();
    assert_eq!(s.len(), 1, "one step makes and rotates");
    assert_eq!(s[0].to, Value::Text("rotated".into()));
    assert!(s[0].blocked.is_none());
}
