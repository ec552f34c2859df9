//! The ONVIF driver's decisions against a scripted camera (no sockets), with answers
//! captured from real firmware: an unknown operation is "unsupported", a refused login
//! spends the device's one attempt and stops every later call before it reaches the
//! camera, a fault is reported with the device's own words, a lost answer is an
//! unreachable device (which the runner then reads back).

use std::sync::Arc;

use super::*;
use crate::driver::transport::script::{ok, status, Answer, Script};
use crate::posture::Value;
use crate::setting::Setting;

pub(super) fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/onvif").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A camera whose clock answers (the driver signs with the device's time).
pub(super) fn camera() -> Arc<Script> {
    let clock = fixture("ezviz-DS-2DE2C400IG-W-W-V5.3.8_build_260123-GetSystemDateAndTime.xml");
    Script::new().on_body("POST", DEVICE_PATH, "GetSystemDateAndTime", vec![ok(&clock)])
}

pub(super) fn driver(script: &Arc<Script>) -> OnvifDriver {
    let creds = Credentials::new("admin", "Secret-123");
    let guard = Arc::new(LoginGuard::default());
    let http = HttpSession::new(
        script.client(),
        "http://192.0.2.7:80".into(),
        Some(creds.clone()),
        guard.clone(),
        crate::driver::Timings::reads_and_writes(std::time::Duration::from_secs(2)),
    );
    OnvifDriver::new(http, Some(creds), guard)
}

async fn discovery_off(d: &OnvifDriver) -> Result<()> {
    d.write_setting(Setting::DiscoveryOnvif, &Value::Bool(false), &Default::default()).await
}

#[tokio::test]
async fn an_unknown_operation_is_unsupported() {
    let unknown = fixture("ezviz-DS-2DE2C400IG-W-W-V5.3.8_build_260123-UnknownAction-fault.xml");
    let script = camera().on_body("POST", DEVICE_PATH, "SetDiscoveryMode", vec![status(500, &unknown)]);
    let e = discovery_off(&driver(&script)).await.unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
}

/// Issue #15: firmware that answers an unknown operation with a bare status, or with
/// gSOAP's "not implemented" words and no subcode, is read as not supporting it.
#[tokio::test]
async fn an_unknown_operation_answered_by_status_or_in_words_is_unsupported() {
    let words = fixture("dvc-DCN-BM2220LPR-5.1-UnknownAction-fault.xml");
    for answer in [status(405, ""), status(501, ""), status(404, "<html>Not Found</html>"), status(500, &words)] {
        let script = camera().on_body("POST", DEVICE_PATH, "SetDiscoveryMode", vec![answer]);
        let e = discovery_off(&driver(&script)).await.unwrap_err();
        assert!(matches!(e, Error::Unsupported { .. }), "{e:?}");
    }
}

#[tokio::test]
async fn a_refused_login_is_spent_once_and_nothing_more_reaches_the_camera() {
    let refused = fixture("mock-gsoap-style-fault-NotAuthorized.xml");
    let script = camera().on_body("POST", DEVICE_PATH, "SetDiscoveryMode", vec![status(400, &refused)]);
    let d = driver(&script);
    assert!(matches!(discovery_off(&d).await, Err(Error::AuthRefused { .. })));
    // Logins are the requests that carry a UsernameToken (the clock is asked without one).
    let logins = || {
        script
            .seen
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.body.as_deref().unwrap_or_default().contains("UsernameToken"))
            .count()
    };
    assert_eq!(logins(), 1);
    assert!(matches!(discovery_off(&d).await, Err(Error::LoginWithheld { .. })));
    assert!(d.write_setting(Setting::TimeNtpEnabled, &Value::Bool(true), &Default::default()).await.is_err());
    assert_eq!(logins(), 1, "after one refusal, no further login attempt leaves the machine");
}

#[tokio::test]
async fn a_fault_carries_the_devices_words() {
    let weak = fixture("dvc-DCN-BM2220LPR-5.1-SetUser-fault-PasswordTooWeak.xml");
    let script = camera().on_body("POST", DEVICE_PATH, "SetDiscoveryMode", vec![status(400, &weak)]);
    let e = discovery_off(&driver(&script)).await.unwrap_err();
    let Error::Device { operation, reason, .. } = &e else { panic!("{e:?}") };
    assert_eq!(operation, "SetDiscoveryMode");
    assert!(reason.contains("PasswordTooWeak"), "{reason}");
}

#[tokio::test]
async fn a_lost_answer_is_an_unreachable_device_not_a_success() {
    let script = camera().on_body("POST", DEVICE_PATH, "SetDiscoveryMode", vec![Answer::Drop]);
    let e = discovery_off(&driver(&script)).await.unwrap_err();
    assert!(matches!(e, Error::Unreachable { .. }), "{e:?}");
}

#[tokio::test]
async fn a_clock_at_the_end_of_the_calendar_is_an_error_not_a_panic() {
    // The last second chrono can hold: signing a request a moment later would overflow.
    let edge = fixture("ezviz-DS-2DE2C400IG-W-W-V5.3.8_build_260123-GetSystemDateAndTime.xml");
    let doc = roxmltree::Document::parse(&edge).unwrap();
    let utc = doc.descendants().find(|n| n.tag_name().name() == "UTCDateTime").unwrap();
    let mut far = edge[..utc.range().start].to_string();
    far.push_str("<tt:UTCDateTime><tt:Time><tt:Hour>23</tt:Hour><tt:Minute>59</tt:Minute><tt:Second>59</tt:Second></tt:Time><tt:Date><tt:Year>262142</tt:Year><tt:Month>12</tt:Month><tt:Day>31</tt:Day></tt:Date></tt:UTCDateTime>");
    far.push_str(&edge[utc.range().end..]);
    let script = Script::new().on_body("POST", DEVICE_PATH, "GetSystemDateAndTime", vec![ok(&far)]);
    let d = driver(&script);
    d.sync_clock().await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let e = discovery_off(&d).await.unwrap_err();
    assert!(matches!(e, Error::Malformed { .. }), "{e:?}");
}
