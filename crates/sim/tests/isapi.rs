//! ISAPI: digest authentication, the illegal-login lock, and each endpoint's read,
//! write and real effect.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use common::*;
use portcullis_sim::{Port, Profile};

const ADMIN_PATH: &str = "/ISAPI/Security/adminAccesses";

#[tokio::test]
async fn digest_authentication_admits_the_right_password_only() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let pw = d.password.clone().unwrap();
    let ok = Isapi::new(&d, &pw).get("/ISAPI/System/deviceInfo").await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(text_of(&ok.body, "serialNumber").as_deref(), Some(d.serial.as_str()));
    assert_eq!(text_of(&ok.body, "macAddress").as_deref(), Some(d.mac.as_str()));
    let bad = Isapi::new(&d, "Wrong-Pass-1").get("/ISAPI/System/deviceInfo").await;
    assert_eq!(bad.status, 401);
    assert_eq!(text_of(&bad.body, "lockStatus").as_deref(), Some("unlock"));
    assert_eq!(text_of(&bad.body, "retryLoginTime").as_deref(), Some("4"));
    // No credentials at all: challenged, nothing counted.
    let none = Isapi::new(&d, &pw).raw("GET", "/ISAPI/System/deviceInfo", None, None).await.unwrap();
    assert_eq!(none.status, 401);
    assert!(none.www_authenticate.iter().any(|h| h.starts_with("Digest") && h.contains("qop=\"auth\"")));
}

#[tokio::test]
async fn sha256_digest_is_offered_and_accepted_when_enabled() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    let body = "<WebCertificate><CertificateType>digest</CertificateType><SecurityAlgorithm><algorithmType>SHA256</algorithmType></SecurityAlgorithm></WebCertificate>";
    assert_eq!(c.put("/ISAPI/Security/webCertificate", body).await.status, 200);
    let challenge = c.raw("GET", "/ISAPI/System/deviceInfo", None, None).await.unwrap();
    assert_eq!(challenge.www_authenticate.len(), 1, "{:?}", challenge.www_authenticate);
    assert!(challenge.www_authenticate[0].contains("SHA-256"));
    assert_eq!(c.get("/ISAPI/System/deviceInfo").await.status, 200);
}

#[tokio::test]
async fn failed_logins_lock_the_source_address_and_only_that_one() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let pw = d.password.clone().unwrap();
    let attacker = Isapi::new(&d, "Wrong-Pass-1").from(Ipv4Addr::new(127, 0, 0, 77));
    for left in (0..5).rev() {
        let a = attacker.get("/ISAPI/Security/userCheck").await;
        assert_eq!(a.status, 401);
        assert_eq!(text_of(&a.body, "retryLoginTime"), Some(left.to_string()));
    }
    let locked = attacker.get("/ISAPI/Security/userCheck").await;
    assert_eq!(text_of(&locked.body, "lockStatus").as_deref(), Some("lock"));
    assert!(text_of(&locked.body, "unlockTime").unwrap().parse::<u64>().unwrap() > 1700);
    // The right password from the locked address is refused too, as field reports say.
    let same_ip_right_pw = Isapi::new(&d, &pw).from(Ipv4Addr::new(127, 0, 0, 77));
    assert_eq!(same_ip_right_pw.get("/ISAPI/Security/userCheck").await.status, 401);
    // Another address is not affected.
    let other = Isapi::new(&d, &pw).from(Ipv4Addr::new(127, 0, 0, 78));
    assert_eq!(other.get("/ISAPI/Security/userCheck").await.status, 200);
}

#[tokio::test]
async fn stale_nonces_are_challenged_again_without_counting_a_failure() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, "Wrong-Pass-1");
    let forged = r#"Digest username="admin", realm="x", nonce="00000000000000000000000000000000", uri="/ISAPI/Security/userCheck", response="00", qop=auth, nc=00000001, cnonce="ab""#;
    for _ in 0..10 {
        let a = c.raw("GET", "/ISAPI/Security/userCheck", None, Some(forged.into())).await.unwrap();
        assert_eq!(a.status, 401);
        assert_eq!(text_of(&a.body, "subStatusCode").as_deref(), Some("invalidOperation"));
        assert!(a.www_authenticate.iter().any(|h| h.contains("stale=\"TRUE\"")));
    }
    let good = Isapi::new(&d, d.password.as_deref().unwrap()).get("/ISAPI/Security/userCheck").await;
    assert_eq!(good.status, 200, "ten stale nonces must not lock the camera");
}

/// A nonce answered once, then sent again with a higher count (for `second`): what each
/// kind of firmware does with it (protocols.md §4.3), and whether it cost a login.
#[tokio::test]
async fn reused_nonces_are_taken_as_each_firmware_takes_them() {
    use portcullis_sim::{CameraConfig, FleetConfig, NonceReuse};
    let policies = [NonceReuse::Window, NonceReuse::SameUri, NonceReuse::Once, NonceReuse::OnceCounted];
    let mut config = FleetConfig::for_tests(policies.len(), Profile::HikvisionCurrent);
    config.cameras = policies
        .iter()
        .enumerate()
        .map(|(index, p)| CameraConfig { index, nonce_reuse: Some(*p), ..CameraConfig::default() })
        .collect();
    let f = fleet_with(config).await;
    let (info, users) = ("/ISAPI/System/deviceInfo", "/ISAPI/Security/users");
    // (policy, reuse for another URI taken?, for the same URI taken?, refused logins counted)
    let expected = [(true, true, 0), (false, true, 0), (false, false, 0), (false, false, 4)];
    for (i, (policy, (other_uri, same_uri, counted))) in policies.iter().zip(expected).enumerate() {
        let d = device(&f, i);
        let c = Isapi::new(&d, d.password.as_deref().unwrap());
        for (second, taken) in [(users, other_uri), (info, same_uri)] {
            let challenge = c.raw("GET", info, None, None).await.unwrap().www_authenticate[0].clone();
            let mut prompt = digest_auth::parse(&challenge).unwrap();
            let mut answer = |path: &str| {
                let ctx = digest_auth::AuthContext::new_with_method(
                    "admin",
                    d.password.as_deref().unwrap(),
                    path,
                    None::<&[u8]>,
                    digest_auth::HttpMethod::GET,
                );
                prompt.respond(&ctx).unwrap().to_header_string()
            };
            let (first, again) = (answer(info), answer(second));
            assert_eq!(c.raw("GET", info, None, Some(first)).await.unwrap().status, 200);
            let reused = c.raw("GET", second, None, Some(again.clone())).await.unwrap();
            assert_eq!(reused.status == 200, taken, "{policy:?} reused for {second}: {}", reused.body);
            if !taken && *policy != NonceReuse::OnceCounted {
                assert_eq!(text_of(&reused.body, "subStatusCode").as_deref(), Some("invalidOperation"));
                assert!(reused.www_authenticate.iter().any(|h| h.contains("stale=\"FALSE\"")), "{policy:?}");
            }
            // The same count twice is a replay, whatever the policy.
            let replay = c.raw("GET", second, None, Some(again)).await.unwrap();
            assert_eq!(replay.status, 401, "{policy:?}: a count sent twice");
        }
        assert_eq!(f.cameras()[i].state().refused_logins, counted, "{policy:?}");
    }
}

#[tokio::test]
async fn basic_auth_works_only_while_the_camera_allows_it() {
    use base64::Engine;
    let f = fleet(1, Profile::HikvisionLegacy).await;
    let d = device(&f, 0);
    let pw = d.password.clone().unwrap();
    let c = Isapi::new(&d, &pw);
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("admin:{pw}")));
    let a = c.raw("GET", "/ISAPI/System/deviceInfo", None, Some(basic.clone())).await.unwrap();
    assert_eq!(a.status, 200, "legacy firmware allows basic");
    let challenge = c.raw("GET", "/ISAPI/System/deviceInfo", None, None).await.unwrap();
    assert!(challenge.www_authenticate.iter().any(|h| h.starts_with("Basic")));
    let body = "<WebCertificate><CertificateType>digest</CertificateType></WebCertificate>";
    assert_eq!(c.put("/ISAPI/Security/webCertificate", body).await.status, 200);
    let refused = c.raw("GET", "/ISAPI/System/deviceInfo", None, Some(basic)).await.unwrap();
    assert_eq!(refused.status, 401);
    let web = c.get("/ISAPI/Security/webCertificate").await;
    assert_eq!(text_of(&web.body, "CertificateType").as_deref(), Some("digest"));
}

#[tokio::test]
async fn password_change_takes_effect_and_weak_passwords_are_refused() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let old = d.password.clone().unwrap();
    let c = Isapi::new(&d, &old);
    let weak = c
        .put(
            "/ISAPI/Security/users/1",
            "<User><id>1</id><userName>admin</userName><password>admin123</password></User>",
        )
        .await;
    assert_eq!(weak.status, 400);
    assert_eq!(text_of(&weak.body, "statusCode").as_deref(), Some("6"));
    let ok = c
        .put(
            "/ISAPI/Security/users/1",
            "<User><id>1</id><userName>admin</userName><password>New-Pass-42x</password></User>",
        )
        .await;
    assert_eq!(ok.status, 200, "{}", ok.body);
    assert_eq!(text_of(&ok.body, "statusCode").as_deref(), Some("1"));
    assert_eq!(c.get("/ISAPI/Security/userCheck").await.status, 401, "old password must stop working");
    let new = Isapi::new(&d, "New-Pass-42x");
    let check = new.get("/ISAPI/Security/userCheck").await;
    assert_eq!(check.status, 200);
    assert_eq!(text_of(&check.body, "isRiskPassword").as_deref(), Some("false"));
    // The same account is the ONVIF admin: ONVIF sees the new password too.
    let onvif = Onvif::new(&d, "New-Pass-42x").call("<tds:GetDeviceInformation/>").await;
    assert_eq!(onvif.status, 200, "{}", onvif.body);
}

#[tokio::test]
async fn users_can_be_listed_added_and_deleted_but_admin_stays() {
    let f = fleet(1, Profile::HikvisionLegacy).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    let list = c.get("/ISAPI/Security/users").await;
    assert!(list.body.contains("<userName>installer</userName>"), "{}", list.body);
    assert!(!list.body.contains("password"), "GET never returns passwords");
    let added = c
        .call("POST", "/ISAPI/Security/users", Some("<User><userName>viewer1</userName><password>View-Only-77</password><userLevel>Viewer</userLevel></User>"))
        .await
        .unwrap();
    assert_eq!(added.status, 200, "{}", added.body);
    let id = text_of(&added.body, "ID").unwrap();
    assert!(Isapi::new(&d, "View-Only-77").tap_user("viewer1").get("/ISAPI/Security/userCheck").await.status == 200);
    assert_eq!(c.call("DELETE", &format!("/ISAPI/Security/users/{id}"), None).await.unwrap().status, 200);
    assert_eq!(c.call("DELETE", "/ISAPI/Security/users/2", None).await.unwrap().status, 200);
    assert_eq!(c.call("DELETE", "/ISAPI/Security/users/1", None).await.unwrap().status, 403);
    let after = c.get("/ISAPI/Security/users").await;
    assert!(!after.body.contains("installer") && !after.body.contains("viewer1"), "{}", after.body);
}

trait TapUser {
    fn tap_user(self, user: &str) -> Self;
}
impl TapUser for Isapi {
    fn tap_user(mut self, user: &str) -> Self {
        self.user = user.into();
        self
    }
}

#[tokio::test]
async fn a_viewer_cannot_change_settings() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let admin = Isapi::new(&d, d.password.as_deref().unwrap());
    let add = "<User><userName>viewer1</userName><password>View-Only-77</password><userLevel>Viewer</userLevel></User>";
    assert_eq!(admin.call("POST", "/ISAPI/Security/users", Some(add)).await.unwrap().status, 200);
    let viewer = Isapi::new(&d, "View-Only-77").tap_user("viewer1");
    assert_eq!(viewer.get("/ISAPI/System/Network/ssh").await.status, 200);
    assert_eq!(viewer.put("/ISAPI/System/Network/ssh", "<SSH><enabled>true</enabled></SSH>").await.status, 403);
    let ssh_port = f.cameras()[0].state().aux_ports.ssh;
    assert!(!tcp_open(d.address, ssh_port).await);
}

#[tokio::test]
async fn onvif_users_are_managed_through_isapi() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    let list = c.get("/ISAPI/Security/ONVIF/users").await;
    assert!(list.body.contains("<userType>administrator</userType>"), "{}", list.body);
    let add = "<UserList><User><userName>onvifops</userName><password>Onvif-Ops-9</password><userType>operator</userType></User></UserList>";
    assert_eq!(c.call("POST", "/ISAPI/Security/ONVIF/users", Some(add)).await.unwrap().status, 200);
    let onvif = Onvif { user: "onvifops".into(), ..Onvif::new(&d, "Onvif-Ops-9") };
    assert_eq!(onvif.call("<tds:GetDeviceInformation/>").await.status, 200);
    // An ONVIF-only account is no web user.
    assert_eq!(Isapi::new(&d, "Onvif-Ops-9").tap_user("onvifops").get("/ISAPI/Security/userCheck").await.status, 401);
}

#[tokio::test]
async fn service_switches_open_and_close_their_ports() {
    let f = fleet(1, Profile::HikvisionLegacy).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    let cam = &f.cameras()[0];
    let (telnet, ssh) = (d.telnet_port.unwrap(), d.ssh_port.unwrap());
    assert!(tcp_open(d.address, telnet).await && tcp_open(d.address, ssh).await);
    for (path, root, port) in
        [("/ISAPI/System/Network/telnetd", "Telnetd", telnet), ("/ISAPI/System/Network/ssh", "SSH", ssh)]
    {
        assert_eq!(text_of(&c.get(path).await.body, "enabled").as_deref(), Some("true"));
        let a = c.put(path, &format!("<{root}><enabled>false</enabled></{root}>")).await;
        assert_eq!(a.status, 200, "{}", a.body);
        assert_eq!(text_of(&c.get(path).await.body, "enabled").as_deref(), Some("false"));
        assert!(eventually_tcp(d.address, port, false).await, "{path}: port {port} still open");
    }
    // Back on: the port opens again, where it was.
    assert_eq!(c.put("/ISAPI/System/Network/ssh", "<SSH><enabled>true</enabled></SSH>").await.status, 200);
    assert!(eventually_tcp(d.address, ssh, true).await);
    // UDP services: the supervisor closes their sockets too.
    let snmp = cam.state().aux_ports.snmp;
    assert!(cam.open_port(Port::Snmp).is_some());
    let body = "<SNMP><SNMPv1><enabled>false</enabled></SNMPv1><SNMPv2c><enabled>false</enabled></SNMPv2c><SNMPv3><enabled>false</enabled></SNMPv3></SNMP>";
    assert_eq!(c.put("/ISAPI/System/Network/SNMP", body).await.status, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(cam.open_port(Port::Snmp).is_none(), "SNMP port {snmp} still bound");
    let upnp = c.put("/ISAPI/System/Network/UPnP", "<UPnP><enabled>false</enabled></UPnP>").await;
    assert_eq!(upnp.status, 200);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(cam.open_port(Port::Upnp).is_none());
}

#[tokio::test]
async fn absent_services_answer_not_supported() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    let a = c.get("/ISAPI/System/Network/telnetd").await;
    assert_eq!(a.status, 404);
    assert_eq!(text_of(&a.body, "subStatusCode").as_deref(), Some("notSupport"));
    assert_eq!(c.get("/ISAPI/No/Such/Thing").await.status, 404);
}

#[tokio::test]
async fn cloud_ddns_and_ftp_switches_read_back() {
    let f = fleet(1, Profile::HikvisionLegacy).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    for (path, body) in [
        ("/ISAPI/System/Network/EZVIZ", "<EZVIZ><enabled>false</enabled></EZVIZ>"),
        ("/ISAPI/System/Network/DDNS/1", "<DDNS><id>1</id><enabled>false</enabled></DDNS>"),
        ("/ISAPI/System/Network/ftp", "<FTPNotificationList><FTPNotification><id>1</id><enabled>false</enabled></FTPNotification></FTPNotificationList>"),
    ] {
        assert_eq!(text_of(&c.get(path).await.body, "enabled").as_deref(), Some("true"), "{path}");
        assert_eq!(c.put(path, body).await.status, 200, "{path}");
        assert_eq!(text_of(&c.get(path).await.body, "enabled").as_deref(), Some("false"), "{path}");
    }
    assert_eq!(text_of(&c.get("/ISAPI/System/Network/DDNS").await.body, "enabled").as_deref(), Some("false"));
    let bad = c.put("/ISAPI/System/Network/EZVIZ", "<EZVIZ><enabled>maybe</enabled></EZVIZ>").await;
    assert_eq!(bad.status, 400);
    let garbage = c.put("/ISAPI/System/Network/EZVIZ", "<EZVIZ><enabled>").await;
    assert_eq!(text_of(&garbage.body, "statusCode").as_deref(), Some("5"));
}

#[tokio::test]
async fn ip_filter_is_enforced_on_connections() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let pw = d.password.clone().unwrap();
    let mgmt = Ipv4Addr::new(127, 0, 0, 21);
    let c = Isapi::new(&d, &pw).from(mgmt);
    let body = format!(
        "<IPFilter><enabled>true</enabled><permissionType>allow</permissionType><IPFilterAddressList><IPFilterAddress><id>1</id><permissionType>allow</permissionType><addressFilterType>mask</addressFilterType><AddressMask><ipAddress>{mgmt}</ipAddress></AddressMask></IPFilterAddress></IPFilterAddressList></IPFilter>"
    );
    assert_eq!(c.put("/ISAPI/System/Network/ipFilter", &body).await.status, 200);
    let read = c.get("/ISAPI/System/Network/ipFilter").await;
    assert_eq!(text_of(&read.body, "ipAddress"), Some(mgmt.to_string()));
    let mut outsider = Isapi::new(&d, &pw).from(Ipv4Addr::new(127, 0, 0, 22));
    outsider.http = reqwest::Client::builder()
        .local_address(std::net::IpAddr::V4(Ipv4Addr::new(127, 0, 0, 22)))
        .timeout(Duration::from_millis(700))
        .build()
        .unwrap();
    let blocked = outsider.raw("GET", "/ISAPI/System/deviceInfo", None, None).await;
    assert!(blocked.is_err(), "a filtered host times out: {blocked:?}");
    assert_eq!(c.get("/ISAPI/System/deviceInfo").await.status, 200, "the allowed host still gets in");
}

#[tokio::test]
async fn admin_accesses_switch_http_off_and_move_ports_after_reboot() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let pw = d.password.clone().unwrap();
    let c = Isapi::new(&d, &pw);
    let list = c.get(ADMIN_PATH).await;
    assert!(
        list.body.contains("<protocol>HTTPS</protocol>") && list.body.contains("<TLS1_2Enable>true</TLS1_2Enable>")
    );
    // Move RTSP: accepted, reboot required, still on the old port until then.
    let new_rtsp = free_port(d.address).await;
    let body = format!("<AdminAccessProtocolList><AdminAccessProtocol><id>3</id><enabled>true</enabled><protocol>RTSP</protocol><portNo>{new_rtsp}</portNo></AdminAccessProtocol></AdminAccessProtocolList>");
    let a = c.put(ADMIN_PATH, &body).await;
    assert_eq!(text_of(&a.body, "statusCode").as_deref(), Some("7"), "{}", a.body);
    assert!(tcp_open(d.address, d.rtsp_port.unwrap()).await);
    assert_eq!(c.put("/ISAPI/System/reboot", "").await.status, 200);
    assert!(eventually_tcp(d.address, d.http_port.unwrap(), false).await, "offline while rebooting");
    assert!(eventually_tcp(d.address, new_rtsp, true).await, "RTSP moved after the reboot");
    assert!(eventually_tcp(d.address, d.http_port.unwrap(), true).await, "back online");
    // Switch HTTP off over HTTPS: the HTTP port closes, HTTPS keeps working.
    let tls = Isapi::new(&d, &pw).https(&d);
    let off = "<AdminAccessProtocolList><AdminAccessProtocol><id>1</id><enabled>false</enabled><protocol>HTTP</protocol><portNo>".to_string()
        + &d.http_port.unwrap().to_string()
        + "</portNo></AdminAccessProtocol></AdminAccessProtocolList>";
    let a = tls.put(ADMIN_PATH, &off).await;
    assert_eq!(text_of(&a.body, "statusCode").as_deref(), Some("1"), "{}", a.body);
    assert!(eventually_tcp(d.address, d.http_port.unwrap(), false).await);
    assert_eq!(tls.get("/ISAPI/System/deviceInfo").await.status, 200);
    let dup = format!("<AdminAccessProtocolList><AdminAccessProtocol><protocol>HTTPS</protocol><portNo>{new_rtsp}</portNo></AdminAccessProtocol></AdminAccessProtocolList>");
    assert_eq!(text_of(&tls.put(ADMIN_PATH, &dup).await.body, "subStatusCode").as_deref(), Some("portError"));
}

async fn free_port(ip: Ipv4Addr) -> u16 {
    tokio::net::TcpListener::bind((ip, 0)).await.unwrap().local_addr().unwrap().port()
}

#[tokio::test]
async fn rtsp_authentication_type_shows_in_its_401() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let f = fleet(1, Profile::HikvisionLegacy).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    async fn describe(ip: Ipv4Addr, port: u16) -> String {
        let mut s = tokio::net::TcpStream::connect((ip, port)).await.unwrap();
        s.write_all(format!("DESCRIBE rtsp://{ip}/Streaming/Channels/101 RTSP/1.0\r\nCSeq: 2\r\n\r\n").as_bytes())
            .await
            .unwrap();
        let mut buf = vec![0u8; 2048];
        let n = tokio::time::timeout(Duration::from_secs(3), s.read(&mut buf)).await.unwrap().unwrap();
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
    let before = describe(d.address, d.rtsp_port.unwrap()).await;
    assert!(
        before.starts_with("RTSP/1.0 401") && before.contains("CSeq: 2") && before.contains("Basic realm"),
        "{before}"
    );
    let body = "<RTSPCertificate><CertificateType>digest</CertificateType></RTSPCertificate>";
    assert_eq!(c.put("/ISAPI/Security/RTSPCertificate", body).await.status, 200);
    let after = describe(d.address, d.rtsp_port.unwrap()).await;
    assert!(after.contains("Digest realm") && !after.contains("Basic"), "{after}");
}

#[tokio::test]
async fn lock_policy_time_ntp_and_device_name_round_trip() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    let lock = "<IllegalLoginLock><enabled>true</enabled><maxIllegalLoginTimes>3</maxIllegalLoginTimes><maxIllegalLoginLockTime>600</maxIllegalLoginLockTime></IllegalLoginLock>";
    assert_eq!(c.put("/ISAPI/Security/illegalLoginLock", lock).await.status, 200);
    assert_eq!(
        text_of(&c.get("/ISAPI/Security/illegalLoginLock").await.body, "maxIllegalLoginTimes").as_deref(),
        Some("3")
    );
    let bad =
        "<IllegalLoginLock><enabled>true</enabled><maxIllegalLoginTimes>0</maxIllegalLoginTimes></IllegalLoginLock>";
    assert_eq!(c.put("/ISAPI/Security/illegalLoginLock", bad).await.status, 400);
    // NTP mode needs a server first.
    assert_eq!(c.put("/ISAPI/System/time", "<Time><timeMode>NTP</timeMode></Time>").await.status, 400);
    let ntp = "<NTPServerList><NTPServer><id>1</id><addressingFormatType>hostname</addressingFormatType><hostName>ntp.site.example</hostName><portNo>123</portNo><synchronizeInterval>60</synchronizeInterval></NTPServer></NTPServerList>";
    assert_eq!(c.put("/ISAPI/System/time/ntpServers", ntp).await.status, 200);
    assert_eq!(
        c.put("/ISAPI/System/time", "<Time><timeMode>NTP</timeMode><timeZone>CST-1:00:00</timeZone></Time>")
            .await
            .status,
        200
    );
    let t = c.get("/ISAPI/System/time").await;
    assert_eq!(text_of(&t.body, "timeMode").as_deref(), Some("NTP"));
    assert_eq!(text_of(&t.body, "timeZone").as_deref(), Some("CST-1:00:00"));
    assert_eq!(
        text_of(&c.get("/ISAPI/System/time/ntpServers/1").await.body, "hostName").as_deref(),
        Some("ntp.site.example")
    );
    let named =
        c.put("/ISAPI/System/deviceInfo", "<DeviceInfo><deviceName>lobby-cam-01</deviceName></DeviceInfo>").await;
    assert_eq!(named.status, 200);
    assert_eq!(text_of(&c.get("/ISAPI/System/deviceInfo").await.body, "deviceName").as_deref(), Some("lobby-cam-01"));
}

#[tokio::test]
async fn integration_switches_turn_onvif_off_and_discovery_mode_closes_sadp() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    let i = c.get("/ISAPI/System/Network/Integrate").await;
    assert_eq!(text_of(&i.body, "certificateType").as_deref(), Some("digest"));
    let body = "<Integrate><CGI><enable>false</enable><certificateType>digest</certificateType></CGI><ONVIF><enable>false</enable><certificateType>digest/WSSE</certificateType></ONVIF><ISAPI><enable>true</enable></ISAPI></Integrate>";
    assert_eq!(c.put("/ISAPI/System/Network/Integrate", body).await.status, 200);
    let onvif = Onvif::new(&d, d.password.as_deref().unwrap()).anonymous("<tds:GetSystemDateAndTime/>").await;
    assert_eq!(onvif.status, 404, "ONVIF off: no device service");
    assert!(d.sadp_port.is_some());
    assert_eq!(
        c.put("/ISAPI/System/discoveryMode", "<DiscoveryMode><SADP>nonDiscoverable</SADP></DiscoveryMode>")
            .await
            .status,
        200
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(device(&f, 0).sadp_port, None);
    assert_eq!(device(&f, 0).wsd_port, None, "ONVIF off also silences WS-Discovery");
    assert_eq!(text_of(&c.get("/ISAPI/System/discoveryMode").await.body, "SADP").as_deref(), Some("nonDiscoverable"));
}

#[tokio::test]
async fn user_check_flags_the_factory_default_password() {
    let f = fleet(1, Profile::HikvisionLegacy).await;
    let d = device(&f, 0);
    assert_eq!(d.password.as_deref(), Some("12345"));
    let a = Isapi::new(&d, "12345").get("/ISAPI/Security/userCheck").await;
    assert_eq!(text_of(&a.body, "isDefaultPassword").as_deref(), Some("true"));
    assert_eq!(text_of(&a.body, "isRiskPassword").as_deref(), Some("true"));
    let caps = Isapi::new(&d, "12345").get("/ISAPI/Security/capabilities").await;
    assert!(caps.body.contains("LoginPasswordLenLimit"));
}

#[tokio::test]
async fn isapi_namespace_follows_the_firmware() {
    let f = fleet(1, Profile::HikvisionNvr).await;
    let d = device(&f, 0);
    let a = Isapi::new(&d, d.password.as_deref().unwrap()).get("/ISAPI/System/deviceInfo").await;
    assert_eq!(ns_of(&a.body).as_deref(), Some("http://www.isapi.org/ver20/XMLSchema"));
    assert_eq!(text_of(&a.body, "deviceType").as_deref(), Some("NVR"));
}

#[tokio::test]
async fn configuration_backup_carries_no_secret() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let pw = d.password.clone().unwrap();
    let a = Isapi::new(&d, &pw).get("/ISAPI/System/configurationData").await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains(&d.serial));
    assert!(!a.body.contains(&pw));
}
