//! The simulator checked by software nobody on this project wrote (`../shared/peers`):
//! Home Assistant's ONVIF client, npm `onvif`, python `wsdiscovery`, and python
//! `requests`' digest authentication. These tests are `#[ignore]`d because they need
//! the peers installed (`.ci/run` does it and runs them); the `netns_` ones multicast
//! and run only inside a loopback-only network namespace.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::path::PathBuf;
use std::process::{Command, Output};
use std::time::Duration;

use common::*;
use portcullis_sim::{CameraConfig, FleetConfig, Profile};

/// The kit: $PEERS_DIR, else ../shared/peers next to the checkout.
fn peers_dir() -> PathBuf {
    std::env::var_os("PEERS_DIR").map(PathBuf::from).unwrap_or_else(|| {
        let here = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        here.ancestors()
            .map(|d| d.join("../shared/peers"))
            .find(|p| p.join("setup.sh").exists())
            .expect("set PEERS_DIR to the shared/peers folder")
    })
}

fn peers_work() -> PathBuf {
    std::env::var_os("PEERS_WORK").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/tmp/onvif-peer-clients"))
}

async fn peer_script(script: &str, args: Vec<String>) -> (Output, String) {
    let path = peers_dir().join(script);
    let out = tokio::task::spawn_blocking(move || {
        Command::new("bash").arg(path).args(args).env("PEERS_WORK", peers_work()).output().expect("spawn bash")
    })
    .await
    .unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out, text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ../shared/peers/setup.sh; .ci/run runs ignored tests"]
async fn third_party_onvif_clients_accept_every_onvif_profile_and_its_password_rotation() {
    for profile in [Profile::HikvisionCurrent, Profile::HikvisionNvr, Profile::GenericOnvif, Profile::HikvisionLegacy] {
        let f = fleet(1, profile).await;
        let d = device(&f, 0);
        let old = d.password.clone().unwrap();
        let new = "Rotated-Pass-2";
        let args = vec![
            d.onvif_url.clone().unwrap(),
            "admin".into(),
            old.clone(),
            "--expect-protocols".into(),
            "--set-password".into(),
            new.into(),
        ];
        let (out, text) = peer_script("onvif-check.sh", args).await;
        assert!(out.status.success(), "{profile:?}: third-party clients disagree with the simulator:\n{text}");
        assert!(text.lines().any(|l| l == "13 passed, 0 failed"), "{profile:?}:\n{text}");
        if d.vendor == portcullis_sim::state::Vendor::Hikvision {
            // The rotation took effect for ISAPI too.
            assert_eq!(Isapi::new(&d, new).get("/ISAPI/Security/userCheck").await.status, 200, "{profile:?}");
            assert_eq!(Isapi::new(&d, &old).get("/ISAPI/Security/userCheck").await.status, 401, "{profile:?}");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ../shared/peers/setup.sh; .ci/run runs ignored tests"]
async fn third_party_onvif_clients_work_over_https() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let url = format!("https://{}:{}/onvif/device_service", d.address, d.https_port.unwrap());
    let (out, text) = peer_script(
        "onvif-check.sh",
        vec![url, "admin".into(), d.password.clone().unwrap(), "--expect-protocols".into()],
    )
    .await;
    assert!(out.status.success(), "{text}");
    assert!(text.lines().any(|l| l == "10 passed, 0 failed"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ../shared/peers/setup.sh; .ci/run runs ignored tests"]
async fn third_party_digest_client_reads_isapi_and_a_wrong_password_is_one_failure() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let python = peers_work().join("venv/bin/python");
    let script = r#"
import os, sys, requests
from requests.auth import HTTPDigestAuth
url = sys.argv[1]
ok = requests.get(url + "/ISAPI/System/deviceInfo", auth=HTTPDigestAuth("admin", os.environ["PW"]), timeout=10)
bad = requests.get(url + "/ISAPI/Security/userCheck", auth=HTTPDigestAuth("admin", "Wrong-Pass-1"), timeout=10)
print(ok.status_code, bad.status_code)
print(ok.text)
print(bad.text)
"#;
    let base = format!("http://{}:{}", d.address, d.http_port.unwrap());
    let base_again = base.clone();
    let pw = d.password.clone().unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python).args(["-c", script, &base]).env("PW", pw).output().expect("python runs")
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert!(text.starts_with("200 401"), "{text}");
    assert!(text.contains(&d.serial), "{text}");
    assert!(text.contains("<retryLoginTime>4</retryLoginTime>"), "exactly one failure was counted:\n{text}");

    // A session reuses the nonce (requests sends the next digest unasked, nc=00000002):
    // this firmware takes that, so two reads cost three requests, not four.
    let session = r#"
import os, sys, requests
from requests.auth import HTTPDigestAuth
s = requests.Session()
s.auth = HTTPDigestAuth("admin", os.environ["PW"])
print(s.get(sys.argv[1] + "/ISAPI/Security/users", timeout=10).status_code,
      s.get(sys.argv[1] + "/ISAPI/System/time", timeout=10).status_code)
"#;
    let before = f.cameras()[0].traffic.count().requests;
    let (python, base, pw) = (peers_work().join("venv/bin/python"), base_again, d.password.clone().unwrap());
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python).args(["-c", session, &base]).env("PW", pw).output().expect("python runs")
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.starts_with("200 200"), "{text}");
    assert_eq!(f.cameras()[0].traffic.count().requests - before, 3, "the second read reused the nonce");
}

/// zeep, the SOAP stack under Home Assistant's client, reading the Advanced Security
/// service through the official WSDL (shipped with onvif-zeep-async): every answer
/// must validate against the schema, or zeep fails to read it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs ../shared/peers/setup.sh; .ci/run runs ignored tests"]
async fn third_party_soap_stack_drives_the_advanced_security_keystore() {
    let f = fleet(1, Profile::GenericOnvif).await;
    let d = device(&f, 0);
    let python = peers_work().join("venv/bin/python");
    let script = r#"
import os, sys, time, pathlib, base64
import onvif
from zeep import Client
from zeep.wsse.username import UsernameToken
wsdl = str(pathlib.Path(onvif.__file__).parent / "wsdl" / "advancedsecurity.wsdl")
url = sys.argv[1]
client = Client(wsdl, wsse=UsernameToken("admin", os.environ["PW"], use_digest=True))
ns = "{http://www.onvif.org/ver10/advancedsecurity/wsdl}"
service = client.create_service(ns + "AdvancedSecurityServiceBinding", url)
keystore = client.create_service(ns + "KeystoreBinding", url)
tls = client.create_service(ns + "TLSServerBinding", url)
caps = service.GetServiceCapabilities()
print("generation", caps.KeystoreCapabilities.RSAKeyPairGeneration)
print("tls", caps.TLSServerCapabilities.TLSServerSupported)
made = keystore.CreateRSAKeyPair(KeyLength=2048)
status = "generating"
for _ in range(200):
    status = keystore.GetKeyStatus(KeyID=made.KeyID)
    if status != "generating":
        break
    time.sleep(0.1)
print("status", status)
csr = keystore.CreatePKCS10CSR(Subject={"CommonName": ["cam-1"]}, KeyID=made.KeyID,
    SignatureAlgorithm={"algorithm": "1.2.840.113549.1.1.11"})
print("csr", base64.b64encode(csr).decode())
keys = keystore.GetAllKeys()
print("keys", len(keys), sorted(k.KeyStatus for k in keys))
assigned = tls.GetAssignedServerCertificates()
print("assigned", len(assigned))
path = keystore.GetCertificationPath(CertificationPathID=assigned[0])
cert = keystore.GetCertificate(CertificateID=path.CertificateID[0])
print("leaf", len(cert.CertificateContent))
try:
    keystore.CreateRSAKeyPair(KeyLength=1000)
except Exception as e:
    print("refused", type(e).__name__, e)
"#;
    let url = format!("http://{}:{}{}", d.address, d.http_port.unwrap(), portcullis_sim::onvif::SECURITY_PATH);
    let pw = d.password.clone().unwrap();
    let out = tokio::task::spawn_blocking(move || {
        Command::new(python).args(["-c", script, &url]).env("PW", pw).output().expect("python runs")
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    let line = |key: &str| text.lines().find_map(|l| l.strip_prefix(&format!("{key} "))).map(str::to_string);
    assert_eq!(line("generation").as_deref(), Some("True"), "{text}");
    assert_eq!(line("tls").as_deref(), Some("['1.0', '1.1', '1.2', '1.3']"), "{text}");
    assert_eq!(line("status").as_deref(), Some("ok"), "{text}");
    assert_eq!(line("keys").as_deref(), Some("2 ['ok', 'ok']"), "the factory key and the new one: {text}");
    assert_eq!(line("assigned").as_deref(), Some("1"), "{text}");
    assert!(line("leaf").is_some_and(|n| n.parse::<usize>().unwrap() > 100), "{text}");
    assert!(line("refused").is_some_and(|r| r.contains("Fault")), "{text}");
    // The request zeep carried back is a real PKCS#10 for the subject asked.
    let csr = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, line("csr").unwrap()).unwrap();
    let parsed = rcgen::CertificateSigningRequestParams::from_der(&csr.into()).expect("a PKCS#10 request");
    let cn = parsed.params.distinguished_name.get(&rcgen::DnType::CommonName).cloned();
    assert_eq!(cn, Some(rcgen::DnValue::Utf8String("cam-1".into())), "{text}");
}

/// A fleet answering multicast on the standard discovery ports, with some cameras
/// that must stay silent.
async fn multicast_fleet() -> (portcullis_sim::Fleet, usize, usize) {
    let mut cfg = FleetConfig {
        count: 10,
        base_address: std::net::Ipv4Addr::new(127, 1, 0, 1),
        port_offset: Some(20000),
        wsd_max_delay_ms: 200,
        ..FleetConfig::default()
    };
    cfg.cameras = vec![
        CameraConfig { index: 0, discoverable: Some(false), ..Default::default() },
        CameraConfig { index: 5, discoverable: Some(false), ..Default::default() },
    ];
    let f = fleet_with(cfg).await;
    let devices = f.devices();
    let wsd = devices.iter().filter(|d| d.discoverable).count();
    let sadp = devices.iter().filter(|d| d.sadp_discoverable).count();
    (f, wsd, sadp)
}

/// One test, because every multicast listener in the namespace hears every probe:
/// two fleets side by side would answer each other's searches.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "multicast: run only inside ../shared/peers/netns-run.sh"]
async fn netns_multicast_discovery_finds_exactly_the_discoverable_cameras() {
    let listener = group_listener();
    let (f, expected_wsd, expected_sadp) = multicast_fleet().await;
    let hellos = announcements(&listener, "Hello").await;
    assert_eq!(hellos.len(), expected_wsd, "one Hello per discoverable camera: {hellos:?}");
    assert!(expected_wsd >= 5 && expected_wsd < f.len(), "the fleet mixes discoverable and silent cameras");

    // Third-party WS-Discovery clients.
    let args = vec![
        "--client".into(),
        "both".into(),
        "--timeout".into(),
        "2".into(),
        "--expect".into(),
        expected_wsd.to_string(),
    ];
    let (out, text) = peer_script("wsd-search.sh", args).await;
    assert!(out.status.success(), "WS-Discovery clients did not see exactly {expected_wsd} cameras:\n{text}");
    for d in f.devices().iter().filter(|d| !d.discoverable) {
        assert!(!text.contains(&d.endpoint_reference), "{} must stay silent:\n{text}", d.address);
    }

    // SADP inquiry to the group, sent pinned to loopback.
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
    s.set_multicast_if_v4(&std::net::Ipv4Addr::LOCALHOST).unwrap();
    s.bind(&std::net::SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
    s.set_nonblocking(true).unwrap();
    let s = tokio::net::UdpSocket::from_std(s.into()).unwrap();
    let probe = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Probe><Uuid>7A1B2C3D-0000-4000-8000-000000000001</Uuid><Types>inquiry</Types></Probe>";
    s.send_to(probe.as_bytes(), ("239.255.255.250", 37020)).await.unwrap();
    let mut seen = std::collections::HashSet::new();
    let mut buf = vec![0u8; 8192];
    while let Ok(Ok((n, _))) = tokio::time::timeout(Duration::from_millis(1500), s.recv_from(&mut buf)).await {
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if let Some(mac) = text_of(&text, "MAC") {
            seen.insert(mac);
        }
    }
    assert_eq!(seen.len(), expected_sadp, "{seen:?}");

    drop(f);
    let byes = announcements(&listener, "Bye").await;
    assert_eq!(byes, hellos, "every camera that said Hello says Bye when it stops");
}

/// A passive WS-Discovery listener on the group, joined on loopback only.
fn group_listener() -> tokio::net::UdpSocket {
    let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::DGRAM, None).unwrap();
    s.set_reuse_address(true).unwrap();
    s.bind(&std::net::SocketAddr::from(([239, 255, 255, 250], 3702)).into()).unwrap();
    s.join_multicast_v4(&std::net::Ipv4Addr::new(239, 255, 255, 250), &std::net::Ipv4Addr::LOCALHOST).unwrap();
    s.set_nonblocking(true).unwrap();
    tokio::net::UdpSocket::from_std(s.into()).unwrap()
}

/// The endpoint references of the Hello or Bye messages heard within a second.
async fn announcements(s: &tokio::net::UdpSocket, action: &str) -> std::collections::BTreeSet<String> {
    let mut seen = std::collections::BTreeSet::new();
    let mut buf = vec![0u8; 65536];
    let want = format!("http://schemas.xmlsoap.org/ws/2005/04/discovery/{action}");
    while let Ok(Ok((n, _))) = tokio::time::timeout(Duration::from_millis(1000), s.recv_from(&mut buf)).await {
        let text = String::from_utf8_lossy(&buf[..n]).into_owned();
        if text_of(&text, "Action").as_deref() == Some(want.as_str()) {
            seen.insert(text_of(&text, "Address").unwrap_or_default());
        }
    }
    seen
}
