//! Audit against the simulator: the right finding for every control on every profile,
//! no lockout with a wrong password, and faults that degrade to findings, not crashes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;

use portcullis_core::audit::{audit_device, AuditOptions, DeviceAudit};
use portcullis_core::baseline::eval::Status;
use portcullis_core::baseline::Baseline;
use portcullis_core::driver::http::client;
use portcullis_core::driver::Target;
use portcullis_core::error::ErrorCode;
use portcullis_core::secret::Credentials;
use portcullis_sim::{DeviceRecord, Faults, Fleet, FleetConfig, Profile, Trigger};

fn target(d: &DeviceRecord) -> Target {
    Target {
        address: d.address.into(),
        http_port: d.http_port,
        https_port: d.https_port,
        wsd_port: d.wsd_port,
        shared_port: None,
        said_hikvision: false,
    }
}

async fn run(d: &DeviceRecord, password: Option<&str>, baseline: &str) -> DeviceAudit {
    let b = Baseline::load(baseline).unwrap();
    let opts = AuditOptions { discovery_wait: std::time::Duration::from_millis(500), ..Default::default() };
    let c = client(opts.connect.timings.of(portcullis_core::driver::Operation::Read)).unwrap();
    // As an audit's run does (`tasks::audit::run`): reads may reuse the device's challenge.
    c.guards.reuse_challenges();
    audit_device(&target(d), password.map(|p| Credentials::new("admin", p)), &b, &c, &opts).await
}

fn statuses(a: &DeviceAudit) -> BTreeMap<String, Status> {
    a.findings.iter().map(|f| (f.control.clone(), f.status)).collect()
}

fn expect(a: &DeviceAudit, pass: &[&str], fail: &[&str]) {
    let s = statuses(a);
    for id in pass {
        assert_eq!(
            s.get(*id),
            Some(&Status::Pass),
            "{id} should pass: {:#?}",
            a.findings.iter().find(|f| f.control == *id)
        );
    }
    for id in fail {
        assert_eq!(
            s.get(*id),
            Some(&Status::Fail),
            "{id} should fail: {:#?}",
            a.findings.iter().find(|f| f.control == *id)
        );
    }
    assert_eq!(pass.len() + fail.len(), s.len(), "every control decided: {s:?}");
}

async fn one(profile: Profile) -> (Fleet, DeviceRecord) {
    let f = Fleet::start(FleetConfig::for_tests(1, profile)).await.unwrap();
    let d = f.devices().remove(0);
    (f, d)
}

#[tokio::test]
async fn current_hikvision_camera_fails_exactly_its_factory_leftovers() {
    let (_f, d) = one(Profile::HikvisionCurrent).await;
    let a = run(&d, d.password.as_deref(), "hikvision-hardening").await;
    assert!(a.error.is_none(), "{:?}", a.error);
    assert_eq!(a.identity.as_ref().unwrap().serial, d.serial);
    expect(
        &a,
        &[
            "HIK-01", "HIK-02", "HIK-03", "HIK-04", "HIK-05", "HIK-08", "HIK-09", "HIK-10", "HIK-11", "HIK-12",
            "HIK-13", "HIK-16", "HIK-17", "HIK-18", "HIK-19", "HIK-20", "HIK-24", "HIK-27",
        ],
        &["HIK-06", "HIK-07", "HIK-14", "HIK-15", "HIK-21", "HIK-22", "HIK-23", "HIK-25", "HIK-26"],
    );
    let score = a.score.unwrap();
    assert!((40..90).contains(&score), "{score}");
}

#[tokio::test]
async fn legacy_camera_fails_nearly_everything_including_its_cve() {
    let (_f, d) = one(Profile::HikvisionLegacy).await;
    let a = run(&d, Some("12345"), "hikvision-hardening").await;
    assert!(a.error.is_none(), "{:?}", a.error);
    let fail: Vec<String> = (2..=27).filter(|n| *n != 24).map(|n| format!("HIK-{n:02}")).collect();
    let fail: Vec<&str> = fail.iter().map(String::as_str).collect();
    expect(&a, &["HIK-01", "HIK-24"], &fail);
    let cve = a.findings.iter().find(|f| f.control == "HIK-27").unwrap();
    assert!(cve.evidence.contains("CVE-2017-7921"), "{}", cve.evidence);
    assert!(a.score.unwrap() < 20);
}

#[tokio::test]
async fn nvr_reads_through_the_other_isapi_namespace() {
    let (_f, d) = one(Profile::HikvisionNvr).await;
    let a = run(&d, d.password.as_deref(), "hikvision-hardening").await;
    assert!(a.error.is_none(), "{:?}", a.error);
    assert_eq!(a.identity.as_ref().unwrap().device_type, "NVR");
    let s = statuses(&a);
    assert_eq!(s["HIK-15"], Status::Pass, "Hik-Connect is off on the NVR profile");
    assert_eq!(s["HIK-06"], Status::Fail);
}

#[tokio::test]
async fn factory_new_camera_is_reported_without_a_login_attempt() {
    let (f, d) = one(Profile::HikvisionFactoryNew).await;
    let a = run(&d, Some("Any-Guess-123"), "hikvision-hardening").await;
    assert_eq!(a.error.as_ref().unwrap().code, ErrorCode::NotActivated);
    let s = statuses(&a);
    assert_eq!(s["HIK-01"], Status::Fail);
    assert!(f.cameras()[0].state().failures.is_empty(), "no login was attempted");
}

#[tokio::test]
async fn generic_onvif_camera_is_audited_through_onvif() {
    let (_f, d) = one(Profile::GenericOnvif).await;
    let a = run(&d, d.password.as_deref(), "onvif-baseline").await;
    assert!(a.error.is_none(), "{:?}", a.error);
    assert_eq!(a.protocol, Some(portcullis_core::posture::Protocol::Onvif));
    assert_eq!(a.identity.as_ref().unwrap().model, "AV-IP4-BULLET");
    expect(
        &a,
        &["ONV-01", "ONV-02", "ONV-04", "ONV-05", "ONV-09"],
        &["ONV-03", "ONV-06", "ONV-07", "ONV-08", "ONV-10", "ONV-11"],
    );
    let cert = a.findings.iter().find(|f| f.control == "ONV-11").unwrap();
    assert_eq!(cert.observed, Some(portcullis_core::posture::Value::Bool(true)), "read from the keystore: {cert:?}");
    let hik = run(&d, d.password.as_deref(), "hikvision-hardening").await;
    assert!(hik.findings.iter().all(|f| f.status == Status::NotApplicable));
}

#[tokio::test]
async fn the_served_certificate_is_read_from_the_keystore_when_the_device_service_lacks_it() {
    let (f, d) = one(Profile::GenericOnvif).await;
    let cam = &f.cameras()[0];
    let mut faults = cam.faults();
    faults.unsupported = vec!["GetCertificates".into()];
    cam.set_faults(faults);
    let a = run(&d, d.password.as_deref(), "onvif-baseline").await;
    let cert = a.findings.iter().find(|f| f.control == "ONV-11").unwrap();
    assert_eq!(
        (cert.status, cert.observed.clone()),
        (Status::Fail, Some(portcullis_core::posture::Value::Bool(true))),
        "{cert:?}"
    );
    // Without either interface the reading is unsupported, not a guess.
    let mut faults = cam.faults();
    faults.unsupported = vec!["GetCertificates".into(), "GetServices".into()];
    cam.set_faults(faults);
    let a = run(&d, d.password.as_deref(), "onvif-baseline").await;
    let cert = a.findings.iter().find(|f| f.control == "ONV-11").unwrap();
    assert_eq!(cert.status, Status::Unsupported, "{cert:?}");
}

/// Issue #15: however the firmware words "not implemented" (the subcode in the Code or
/// in the Detail, only the reason text, or a bare HTTP 405), the reading is unsupported
/// and its evidence never shows an empty code.
#[tokio::test]
async fn every_wording_of_not_implemented_reads_as_unsupported() {
    use portcullis_sim::faults::UnsupportedStyle;
    let (f, d) = one(Profile::GenericOnvif).await;
    let cam = &f.cameras()[0];
    for style in
        [UnsupportedStyle::Subcode, UnsupportedStyle::InDetail, UnsupportedStyle::ReasonOnly, UnsupportedStyle::Http405]
    {
        cam.set_faults(Faults { unsupported: vec!["GetNTP".into()], unsupported_style: style, ..Default::default() });
        let a = run(&d, d.password.as_deref(), "onvif-baseline").await;
        assert!(a.error.is_none(), "{style:?}: {:?}", a.error);
        let ntp = a.findings.iter().find(|f| f.setting.key() == "time.ntp.servers").expect("an NTP control");
        assert_eq!(ntp.status, Status::Unsupported, "{style:?}: {ntp:?}");
        assert!(!ntp.evidence.contains(": :") && !ntp.evidence.starts_with(':'), "{style:?}: {}", ntp.evidence);
    }
}

/// Issue #15: a camera whose web server answers 401 to every path it does not serve
/// (with a digest challenge or without) is not taken for Hikvision: it is audited over
/// ONVIF, and no login is refused on the way. Hikvision firmware is still known, the
/// older kind that refuses with an HTML page included (by its activation status).
#[tokio::test]
async fn the_driver_is_chosen_by_what_the_device_proves_not_by_a_401() {
    use portcullis_sim::GuardStyle;
    let (f, d) = one(Profile::GenericOnvif).await;
    for style in [GuardStyle::Digest, GuardStyle::Bare] {
        f.cameras()[0].set_faults(Faults { guard_unknown_paths: style, ..Default::default() });
        let a = run(&d, d.password.as_deref(), "onvif-baseline").await;
        assert!(a.error.is_none(), "{style:?}: {:?}", a.error);
        assert_eq!(a.protocol, Some(portcullis_core::posture::Protocol::Onvif), "{style:?}");
        assert_eq!(f.cameras()[0].state().refused_logins, 0, "{style:?}: no login spent on a guess");
    }
    for profile in [Profile::HikvisionCurrent, Profile::HikvisionLegacy] {
        let (_f, d) = one(profile).await;
        let a = run(&d, d.password.as_deref(), "hikvision-hardening").await;
        assert_eq!(a.protocol, Some(portcullis_core::posture::Protocol::Isapi), "{profile:?}: {:?}", a.error);
    }
}

#[tokio::test]
async fn capabilities_are_read_without_a_login_unless_the_firmware_wants_one() {
    let (f, d) = one(Profile::GenericOnvif).await;
    let open = run(&d, d.password.as_deref(), "onvif-baseline").await;
    // Firmware that asks for credentials even for PRE_AUTH operations: the capabilities
    // come from the authenticated reads instead, and no login fails on the way.
    f.cameras()[0].set_faults(Faults { guarded_pre_auth: true, ..Default::default() });
    let guarded = run(&d, d.password.as_deref(), "onvif-baseline").await;
    assert!(open.error.is_none() && guarded.error.is_none(), "{:?} {:?}", open.error, guarded.error);
    assert_eq!(statuses(&open), statuses(&guarded));
    for id in ["ONV-04", "ONV-05", "ONV-09"] {
        let finding = open.findings.iter().find(|x| x.control == id).unwrap();
        assert!(matches!(finding.status, Status::Pass | Status::Fail), "{finding:?}");
    }
    assert!(f.cameras()[0].state().failures.is_empty(), "an unanswered anonymous question is no failed login");
    let a = run(&d, Some("Wrong-Pass-9"), "onvif-baseline").await;
    assert_eq!(a.error.as_ref().unwrap().code, ErrorCode::AuthRefused, "{:?}", a.error);
    assert_eq!(f.cameras()[0].state().failures.values().map(|x| x.count).sum::<u32>(), 1);
}

#[tokio::test]
async fn a_wrong_password_costs_exactly_one_failed_login_per_protocol() {
    for profile in [Profile::HikvisionCurrent, Profile::GenericOnvif] {
        let (f, d) = one(profile).await;
        let a = run(&d, Some("Wrong-Pass-9"), "hikvision-hardening").await;
        assert_eq!(a.error.as_ref().unwrap().code, ErrorCode::AuthRefused, "{profile:?}: {:?}", a.error);
        assert!(a.error.as_ref().unwrap().message.contains("no further login attempts"));
        let (failures, locked) = {
            let st = f.cameras()[0].state();
            (st.failures.values().map(|x| x.count).sum::<u32>(), st.failures.values().any(|x| x.locked_until.is_some()))
        };
        assert_eq!(failures, 1, "{profile:?}");
        assert!(!locked);
        // Running the audit three more times still does not lock it (5 = the limit).
        for _ in 0..3 {
            run(&d, Some("Wrong-Pass-9"), "hikvision-hardening").await;
        }
        assert!(f.cameras()[0].state().failures.values().all(|x| x.locked_until.is_none()));
    }
}

#[tokio::test]
async fn a_locked_camera_is_reported_as_locked_and_left_alone() {
    let (f, d) = one(Profile::HikvisionCurrent).await;
    for _ in 0..5 {
        run(&d, Some("Wrong-Pass-9"), "hikvision-hardening").await;
    }
    let a = run(&d, d.password.as_deref(), "hikvision-hardening").await;
    assert_eq!(a.error.as_ref().unwrap().code, ErrorCode::Locked, "{:?}", a.error);
    assert_eq!(
        f.cameras()[0].state().failures.values().map(|x| x.count).sum::<u32>(),
        5,
        "no attempt counted while locked"
    );
}

#[tokio::test]
async fn faults_become_findings_or_clear_errors_never_panics() {
    let (f, d) = one(Profile::HikvisionCurrent).await;
    let cam = f.cameras()[0].clone();
    cam.set_faults(Faults {
        unsupported: vec!["/ISAPI/System/Network/UPnP".into(), "/ISAPI/Security/illegalLoginLock".into()],
        ..Default::default()
    });
    let a = run(&d, d.password.as_deref(), "hikvision-hardening").await;
    let s = statuses(&a);
    assert_eq!(s["HIK-14"], Status::Pass, "no UPnP at all: nothing to switch off");
    assert_eq!(s["HIK-20"], Status::Unsupported);

    cam.set_faults(Faults { malformed_xml: Trigger::Always, ..Default::default() });
    let a = run(&d, d.password.as_deref(), "hikvision-hardening").await;
    assert_eq!(a.error.as_ref().map(|e| e.code.as_str()), Some("malformed"), "{:?}", a.error);

    cam.set_faults(Faults { foreign_namespace: true, ..Default::default() });
    let a = run(&d, d.password.as_deref(), "hikvision-hardening").await;
    assert!(a.error.is_none(), "another namespace reads the same: {:?}", a.error);

    cam.set_faults(Faults { clock_skew_s: -7200, ..Default::default() });
    let (_g, generic) = one(Profile::GenericOnvif).await;
    _g.cameras()[0].set_faults(Faults { clock_skew_s: -7200, ..Default::default() });
    let a = run(&generic, generic.password.as_deref(), "onvif-baseline").await;
    assert!(a.error.is_none(), "clock skew is corrected from GetSystemDateAndTime: {:?}", a.error);

    cam.set_faults(Faults { hang: Trigger::Always, ..Default::default() });
    let b = Baseline::load("hikvision-hardening").unwrap();
    let opts = AuditOptions {
        connect: portcullis_core::driver::ConnectOptions {
            timings: portcullis_core::driver::Timings::reads_and_writes(std::time::Duration::from_secs(1)),
        },
        ..Default::default()
    };
    let c = client(opts.connect.timings.of(portcullis_core::driver::Operation::Read)).unwrap();
    let a =
        audit_device(&target(&d), Some(Credentials::new("admin", d.password.clone().unwrap())), &b, &c, &opts).await;
    assert!(a.error.is_some());
}

/// Issue #19: an ISAPI audit answers the challenge the login had instead of asking for a
/// fresh one before every read, where the firmware takes that (about half the requests);
/// where it does not, at most one request per device per run is refused for it, never
/// counted against a right password twice, and the audit reads everything all the same.
#[tokio::test]
async fn reads_reuse_a_challenge_where_the_firmware_takes_it_and_lose_at_most_one_request_where_not() {
    use portcullis_sim::{CameraConfig, NonceReuse};
    let policies = [NonceReuse::Window, NonceReuse::SameUri, NonceReuse::Once, NonceReuse::OnceCounted];
    let mut config = FleetConfig::for_tests(policies.len() + 1, Profile::HikvisionCurrent);
    config.cameras = policies
        .iter()
        .enumerate()
        .map(|(index, p)| CameraConfig { index, nonce_reuse: Some(*p), ..CameraConfig::default() })
        .collect();
    let f = Fleet::start(config).await.unwrap();
    let devices = f.devices();
    let mut requests = Vec::new();
    for run_no in 1..=2u32 {
        for (i, policy) in policies.iter().enumerate() {
            let d = &devices[i];
            let before = f.cameras()[i].traffic.count().requests;
            let a = run(d, d.password.as_deref(), "hikvision-hardening").await;
            assert!(a.error.is_none(), "{policy:?}: {:?}", a.error);
            assert!(a.findings.iter().all(|x| x.status != Status::Unknown), "{policy:?}: {:#?}", a.findings);
            requests.push((*policy, f.cameras()[i].traffic.count().requests - before));
            let counted = if *policy == NonceReuse::OnceCounted { run_no } else { 0 };
            assert_eq!(f.cameras()[i].state().refused_logins, counted, "{policy:?}: at most one per run");
        }
    }
    // The same audit with a fresh challenge before every read, for comparison: the
    // last camera refuses any reuse from its first request on.
    let fresh = {
        let i = policies.len();
        f.cameras()[i].state().nonce_reuse = NonceReuse::Once;
        let before = f.cameras()[i].traffic.count().requests;
        let a = run(&devices[i], devices[i].password.as_deref(), "hikvision-hardening").await;
        assert!(a.error.is_none());
        f.cameras()[i].traffic.count().requests - before
    };
    let window = requests.iter().find(|(p, _)| *p == NonceReuse::Window).map(|r| r.1).unwrap();
    // One reused challenge out at a time, while the other parallel reads ask for fresh
    // ones: fewer requests, not half.
    assert!(window + 5 <= fresh, "reuse: {window} requests; one challenge per read: about {fresh}: {requests:?}");
    for (policy, n) in &requests {
        assert!(*n <= fresh + 1, "{policy:?}: {n} requests, more than one over {fresh}");
    }
}
