//! Each fault switch, observed from a client.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use common::*;
use portcullis_sim::{Faults, Profile, Trigger};

const SSH_OFF: &str = "<SSH><enabled>false</enabled></SSH>";
const SSH_ON: &str = "<SSH><enabled>true</enabled></SSH>";

async fn ssh_enabled(c: &Isapi) -> Option<String> {
    text_of(&c.get("/ISAPI/System/Network/ssh").await.body, "enabled")
}

#[tokio::test]
async fn latency_and_jitter_delay_every_answer() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    f.cameras()[0].set_faults(Faults { latency_ms: 150, jitter_ms: 50, ..Default::default() });
    let t = Instant::now();
    let a = c.raw("GET", "/ISAPI/System/deviceInfo", None, None).await.unwrap();
    let took = t.elapsed();
    assert_eq!(a.status, 401);
    // A lower bound only: the answer cannot come before the injected delay.
    assert!(took >= Duration::from_millis(150), "answered after {took:?}");
}

#[tokio::test]
async fn drop_before_commit_loses_the_write() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    f.cameras()[0].set_faults(Faults { drop_before_commit: Trigger::Next(1), ..Default::default() });
    let r = c.call("PUT", "/ISAPI/System/Network/ssh", Some(SSH_ON)).await;
    // The unauthenticated first leg is also a "write" request: it is the one dropped.
    assert!(r.is_err(), "connection dropped: {r:?}");
    assert_eq!(ssh_enabled(&c).await.as_deref(), Some("false"), "nothing was applied");
    assert_eq!(c.put("/ISAPI/System/Network/ssh", SSH_ON).await.status, 200, "one-shot: the next try works");
}

#[tokio::test]
async fn drop_after_commit_applies_the_write_but_loses_the_answer() {
    let f = fleet(1, Profile::HikvisionLegacy).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    f.cameras()[0].set_faults(Faults { drop_after_commit: Trigger::Always, ..Default::default() });
    let r = c.call("PUT", "/ISAPI/System/Network/ssh", Some(SSH_OFF)).await;
    assert!(r.is_err(), "no answer: {r:?}");
    assert_eq!(ssh_enabled(&c).await.as_deref(), Some("false"), "the change was committed");
    // Reads are not writes: they keep working under this fault.
    assert_eq!(c.get("/ISAPI/System/deviceInfo").await.status, 200);
}

#[tokio::test]
async fn server_error_answers_500_and_changes_nothing() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    f.cameras()[0].set_faults(Faults { server_error: Trigger::Always, ..Default::default() });
    let a = c.put("/ISAPI/System/Network/ssh", SSH_ON).await;
    assert_eq!(a.status, 500);
    assert_eq!(text_of(&a.body, "subStatusCode").as_deref(), Some("deviceError"));
    let o = Onvif::new(&d, d.password.as_deref().unwrap()).anonymous("<tds:GetSystemDateAndTime/>").await;
    assert_eq!(o.status, 500);
    assert!(o.body.contains("env:Receiver"));
    f.cameras()[0].set_faults(Faults::default());
    assert_eq!(ssh_enabled(&c).await.as_deref(), Some("false"));
}

#[tokio::test]
async fn hang_never_answers() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let mut c = Isapi::new(&d, d.password.as_deref().unwrap());
    c.http = reqwest::Client::builder().timeout(Duration::from_millis(600)).build().unwrap();
    f.cameras()[0].set_faults(Faults { hang: Trigger::Next(1), ..Default::default() });
    let r = c.raw("GET", "/ISAPI/System/deviceInfo", None, None).await;
    assert!(r.as_ref().is_err_and(|e| e.is_timeout()), "{r:?}");
    assert_eq!(c.raw("GET", "/ISAPI/System/deviceInfo", None, None).await.unwrap().status, 401);
}

#[tokio::test]
async fn reboot_mid_change_commits_then_goes_offline() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    let cam = f.cameras()[0].clone();
    // The first (unauthenticated) leg commits nothing, so the fault waits for the real write.
    cam.set_faults(Faults { reboot_mid_change: Trigger::Next(1), ..Default::default() });
    let r = c.call("PUT", "/ISAPI/System/Network/ssh", Some(SSH_ON)).await;
    assert!(r.is_err(), "{r:?}");
    assert!(!cam.is_online(), "rebooting");
    assert!(eventually_tcp(d.address, d.http_port.unwrap(), true).await, "back after the reboot");
    assert_eq!(ssh_enabled(&c).await.as_deref(), Some("true"), "the change survived the reboot");
    assert_eq!(cam.state().boot_count, 2);
}

#[tokio::test]
async fn malformed_xml_is_not_well_formed() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    f.cameras()[0].set_faults(Faults { malformed_xml: Trigger::Always, ..Default::default() });
    let a = c.get("/ISAPI/System/deviceInfo").await;
    assert_eq!(a.status, 200);
    assert!(roxmltree::Document::parse(&a.body).is_err(), "{}", a.body);
}

#[tokio::test]
async fn foreign_namespace_switches_the_firmware_dialect() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    assert_eq!(
        ns_of(&c.get("/ISAPI/System/deviceInfo").await.body).as_deref(),
        Some("http://www.hikvision.com/ver20/XMLSchema")
    );
    f.cameras()[0].set_faults(Faults { foreign_namespace: true, ..Default::default() });
    assert_eq!(
        ns_of(&c.get("/ISAPI/System/deviceInfo").await.body).as_deref(),
        Some("http://www.isapi.org/ver20/XMLSchema")
    );
    let o = Onvif::new(&d, d.password.as_deref().unwrap()).anonymous("<tds:GetSystemDateAndTime/>").await;
    assert!(o.body.contains("<SOAP-ENV:Envelope"), "{}", o.body);
}

#[tokio::test]
async fn unsupported_operations_answer_like_firmware_without_them() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let pw = d.password.clone().unwrap();
    f.cameras()[0].set_faults(Faults {
        unsupported: vec!["/ISAPI/System/Network/UPnP".into(), "SetDiscoveryMode".into()],
        ..Default::default()
    });
    let a = Isapi::new(&d, &pw).get("/ISAPI/System/Network/UPnP").await;
    assert_eq!(a.status, 404);
    assert_eq!(text_of(&a.body, "subStatusCode").as_deref(), Some("notSupport"));
    let o = Onvif::new(&d, &pw)
        .call("<tds:SetDiscoveryMode><tds:DiscoveryMode>NonDiscoverable</tds:DiscoveryMode></tds:SetDiscoveryMode>")
        .await;
    assert!(o.body.contains("ActionNotSupported"), "{}", o.body);
    assert!(device(&f, 0).discoverable);
}

#[tokio::test]
async fn faults_come_from_the_fleet_config_too() {
    let mut cfg = portcullis_sim::FleetConfig::for_tests(2, Profile::HikvisionCurrent);
    cfg.cameras = vec![portcullis_sim::CameraConfig {
        index: 1,
        faults: Some(Faults { server_error: Trigger::Always, ..Default::default() }),
        ..Default::default()
    }];
    let f = fleet_with(cfg).await;
    let ok = Isapi::new(&device(&f, 0), "x").raw("GET", "/ISAPI/System/deviceInfo", None, None).await.unwrap();
    let bad = Isapi::new(&device(&f, 1), "x").raw("GET", "/ISAPI/System/deviceInfo", None, None).await.unwrap();
    assert_eq!((ok.status, bad.status), (401, 500));
}

#[tokio::test]
async fn guarded_pre_auth_asks_for_credentials_except_for_the_clock() {
    let f = fleet(1, Profile::GenericOnvif).await;
    let d = device(&f, 0);
    let c = Onvif::new(&d, d.password.as_deref().unwrap());
    let caps = "<tds:GetServiceCapabilities/>";
    assert_eq!(c.anonymous(caps).await.status, 200, "PRE_AUTH by default");
    f.cameras()[0].set_faults(Faults { guarded_pre_auth: true, ..Default::default() });
    let refused = c.anonymous(caps).await;
    assert!(refused.status == 400 || refused.status == 401, "{}", refused.status);
    assert!(refused.body.contains("NotAuthorized"), "{}", refused.body);
    assert_eq!(c.call(caps).await.status, 200, "with credentials it answers");
    assert_eq!(
        c.anonymous("<tds:GetSystemDateAndTime/>").await.status,
        200,
        "the clock stays open: WS-Security needs it"
    );
    assert!(f.cameras()[0].state().failures.is_empty(), "no credentials, no failed login");
}
