//! Which questions the connect asks a device before it knows what the device speaks:
//! both at once, or ISAPI's alone where the inventory says Hikvision.

use super::transport::script::{ok, status, Answer, Script};
use super::transport::Reply;
use super::{connect, ConnectOptions, Target};
use crate::error::Error;
use crate::posture::Protocol;

const ONVIF: &str = "POST /onvif/device_service";
const INFO: &str = "GET /ISAPI/System/deviceInfo";

fn clock() -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/onvif");
    std::fs::read_to_string(dir.join("dlink-DCS-6511-1.16.00-GetSystemDateAndTime.xml")).expect("../shared/fixtures")
}

fn refusal() -> Answer {
    Answer::Reply(Reply {
        status: 401,
        challenges: vec![r#"Digest realm="DS-d59740cc", nonce="6e6f", qop="auth""#.into()],
        body: "<userCheck><statusValue>401</statusValue><isActivated>true</isActivated></userCheck>".into(),
        bytes: None,
    })
}

/// The requests of one connect to a device answering ISAPI with `info`.
async fn questions(said_hikvision: bool, info: Answer) -> (Result<Protocol, Error>, Vec<String>) {
    let script = Script::new().on("GET", "/ISAPI/System/deviceInfo", vec![info]).on_body(
        "POST",
        "/onvif/device_service",
        "GetSystemDateAndTime",
        vec![ok(&clock())],
    );
    let target = Target { said_hikvision, ..Target::new([192, 0, 2, 31].into()) };
    let found = connect(&target, None, &script.client(), &ConnectOptions::default()).await.map(|d| d.protocol());
    (found, script.calls())
}

#[tokio::test]
async fn a_camera_the_inventory_calls_hikvision_is_asked_isapi_s_question_alone() {
    let (found, asked) = questions(true, refusal()).await;
    assert_eq!(found.unwrap(), Protocol::Isapi);
    assert_eq!(asked, [INFO], "no ONVIF question whose answer goes unused");

    // Unknown to the inventory: both at once, as before.
    let (found, mut asked) = questions(false, refusal()).await;
    assert_eq!(found.unwrap(), Protocol::Isapi);
    asked.sort();
    assert_eq!(asked, [INFO, ONVIF]);
}

/// The inventory orders the questions; it is not trusted: a device that is not ISAPI
/// is then asked ONVIF's, and one that does not answer at all is not asked again.
#[tokio::test]
async fn the_inventory_s_word_is_checked_by_the_device_s_answers() {
    let (found, asked) = questions(true, status(404, "")).await;
    assert_eq!(found.unwrap(), Protocol::Onvif);
    assert_eq!(asked, [INFO, ONVIF]);

    let (found, asked) = questions(true, Answer::Timeout).await;
    assert!(matches!(found, Err(Error::Timeout { .. })), "{found:?}");
    assert_eq!(asked, [INFO], "one wait, not two: ONVIF's port is the same");
}
