//! The ONVIF device service: WS-Security and digest authentication, access classes,
//! faults, and the hardening operations with their effects.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use portcullis_sim::Profile;

#[tokio::test]
async fn get_system_date_and_time_needs_no_credentials_but_device_information_does() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Onvif::new(&d, d.password.as_deref().unwrap());
    let t = c.anonymous("<tds:GetSystemDateAndTime/>").await;
    assert_eq!(t.status, 200);
    let year: i32 = text_of(&t.body, "Year").unwrap().parse().unwrap();
    assert!(year >= 2026);
    let anon = c.anonymous("<tds:GetDeviceInformation/>").await;
    assert_eq!(anon.status, 401, "digest-capable device challenges a request without credentials");
    assert!(anon.www_authenticate.iter().any(|h| h.starts_with("Digest")));
    let info = c.call("<tds:GetDeviceInformation/>").await;
    assert_eq!(info.status, 200, "{}", info.body);
    assert_eq!(text_of(&info.body, "Model").as_deref(), Some(d.model.as_str()));
    assert_eq!(text_of(&info.body, "FirmwareVersion").as_deref(), Some(d.firmware.as_str()));
}

#[tokio::test]
async fn username_tokens_must_be_fresh_unique_and_right() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let pw = d.password.clone().unwrap();
    let c = Onvif::new(&d, &pw);
    let nonce = random_nonce();
    let created = now_created(0);
    let env = soap(&wsse_header("admin", &pw, &created, &nonce), "<tds:GetDeviceInformation/>");
    assert_eq!(c.post(env.clone()).await.unwrap().status, 200);
    let replay = c.post(env).await.unwrap();
    assert_eq!(replay.status, 400, "a replayed nonce is refused");
    assert!(replay.body.contains("ter:NotAuthorized"), "{}", replay.body);
    let stale = soap(&wsse_header("admin", &pw, &now_created(-3600), &random_nonce()), "<tds:GetDeviceInformation/>");
    assert_eq!(c.post(stale).await.unwrap().status, 400, "a token an hour old is refused");
    let wrong = Onvif::new(&d, "Wrong-Pass-1").call("<tds:GetDeviceInformation/>").await;
    assert_eq!(wrong.status, 400);
    assert!(wrong.body.contains("NotAuthorized"));
}

#[tokio::test]
async fn http_digest_works_for_onvif_too() {
    let f = fleet(1, Profile::GenericOnvif).await;
    let d = device(&f, 0);
    let pw = d.password.clone().unwrap();
    let c = Onvif::new(&d, &pw);
    let env = soap("", "<tds:GetNetworkProtocols/>");
    let first = c.post(env.clone()).await.unwrap();
    assert_eq!(first.status, 401);
    let path = "/onvif/device_service";
    let auth = digest_header(&first.www_authenticate[0], "admin", &pw, "POST", path);
    let resp = c
        .http
        .post(&c.url)
        .header("Authorization", auth)
        .header("Content-Type", "application/soap+xml")
        .body(env)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body = resp.text().await.unwrap();
    assert!(body.starts_with("<?xml") && body.contains("SOAP-ENV:Envelope"), "generic firmware writes gSOAP style");
}

#[tokio::test]
async fn unknown_and_media_operations_fault_with_action_not_supported() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Onvif::new(&d, d.password.as_deref().unwrap());
    let a = c.call("<tds:GetDot11Status/>").await;
    assert_eq!(a.status, 500);
    assert!(a.body.contains("ter:ActionNotSupported"), "{}", a.body);
    let garbage = c.post("<not-xml".into()).await.unwrap();
    assert_eq!(garbage.status, 400);
    assert!(garbage.body.contains("WellFormed"));
}

#[tokio::test]
async fn network_protocols_change_the_open_ports() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Onvif::new(&d, d.password.as_deref().unwrap());
    let p = c.call("<tds:GetNetworkProtocols/>").await;
    assert!(p.body.contains("<tt:Name>HTTPS</tt:Name><tt:Enabled>true</tt:Enabled>"), "{}", p.body);
    let rtsp = d.rtsp_port.unwrap();
    let body = format!("<tds:SetNetworkProtocols><tds:NetworkProtocols><tt:Name>RTSP</tt:Name><tt:Enabled>false</tt:Enabled><tt:Port>{rtsp}</tt:Port></tds:NetworkProtocols></tds:SetNetworkProtocols>");
    assert_eq!(c.call(&body).await.status, 200);
    assert!(eventually_tcp(d.address, rtsp, false).await);
    let bad = "<tds:SetNetworkProtocols><tds:NetworkProtocols><tt:Name>FTP</tt:Name><tt:Enabled>true</tt:Enabled></tds:NetworkProtocols></tds:SetNetworkProtocols>";
    let a = c.call(bad).await;
    assert!(a.body.contains("ServiceNotSupported"), "{}", a.body);
}

#[tokio::test]
async fn user_management_is_all_or_nothing_with_the_documented_faults() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Onvif::new(&d, d.password.as_deref().unwrap());
    let create = "<tds:CreateUsers><tds:User><tt:Username>ops1</tt:Username><tt:Password>Ops-Pass-11</tt:Password><tt:UserLevel>Operator</tt:UserLevel></tds:User><tds:User><tt:Username>ops2</tt:Username><tt:Password>weak</tt:Password><tt:UserLevel>Operator</tt:UserLevel></tds:User></tds:CreateUsers>";
    let a = c.call(create).await;
    assert!(a.body.contains("ter:PasswordTooWeak"), "{}", a.body);
    assert!(!c.call("<tds:GetUsers/>").await.body.contains("ops1"), "nothing created when one user fails");
    let ok = create.replace("<tt:Password>weak</tt:Password>", "<tt:Password>Ops-Pass-22</tt:Password>");
    assert_eq!(c.call(&ok).await.status, 200);
    assert!(c.call(&ok).await.body.contains("UsernameClash"));
    let users = c.call("<tds:GetUsers/>").await.body;
    assert!(users.contains("ops1") && users.contains("ops2") && !users.contains("Password"));
    let anon = "<tds:CreateUsers><tds:User><tt:Username>anon</tt:Username><tt:Password>Anon-Pass-1</tt:Password><tt:UserLevel>Anonymous</tt:UserLevel></tds:User></tds:CreateUsers>";
    assert!(c.call(anon).await.body.contains("AnonymousNotAllowed"));
    let missing = "<tds:SetUser><tds:User><tt:Username>ghost</tt:Username><tt:Password>Ghost-Pass-1</tt:Password><tt:UserLevel>User</tt:UserLevel></tds:User></tds:SetUser>";
    assert!(c.call(missing).await.body.contains("UsernameMissing"));
    let clear = "<tds:SetUser><tds:User><tt:Username>ops1</tt:Username><tt:UserLevel>Operator</tt:UserLevel></tds:User></tds:SetUser>";
    assert!(c.call(clear).await.body.contains("PasswordTooWeak"), "SetUser without a password clears it: refused");
    // An operator may read but not write, nor read users.
    let ops = Onvif { user: "ops1".into(), ..Onvif::new(&d, "Ops-Pass-11") };
    assert_eq!(ops.call("<tds:GetNetworkProtocols/>").await.status, 200);
    assert!(ops.call("<tds:GetUsers/>").await.body.contains("NotAuthorized"));
    assert!(ops
        .call("<tds:SetDiscoveryMode><tds:DiscoveryMode>NonDiscoverable</tds:DiscoveryMode></tds:SetDiscoveryMode>")
        .await
        .body
        .contains("NotAuthorized"));
    let del = "<tds:DeleteUsers><tds:Username>ops1</tds:Username><tds:Username>ops2</tds:Username></tds:DeleteUsers>";
    assert_eq!(c.call(del).await.status, 200);
    assert!(c
        .call("<tds:DeleteUsers><tds:Username>admin</tds:Username></tds:DeleteUsers>")
        .await
        .body
        .contains("FixedUser"));
}

#[tokio::test]
async fn discovery_mode_silences_ws_discovery() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let wsd = std::net::SocketAddr::from((d.address, d.wsd_port.unwrap()));
    let answer = udp_ask(wsd, PROBE_NVT.as_bytes(), std::time::Duration::from_secs(2)).await;
    assert!(answer.is_some(), "discoverable camera answers a unicast probe");
    let c = Onvif::new(&d, d.password.as_deref().unwrap());
    let set = "<tds:SetDiscoveryMode><tds:DiscoveryMode>NonDiscoverable</tds:DiscoveryMode></tds:SetDiscoveryMode>";
    assert_eq!(c.call(set).await.status, 200);
    // Silent from the moment the answer is in, though the responder's socket closes a
    // little later (the listeners are reconciled after the answer went out).
    assert!(udp_ask(wsd, PROBE_NVT.as_bytes(), std::time::Duration::from_millis(700)).await.is_none());
    assert!(c.call("<tds:GetDiscoveryMode/>").await.body.contains("NonDiscoverable"));
    assert!(!device(&f, 0).discoverable);
    // And the responder goes: its socket closes with the listeners' next reconcile.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(f.camera(0).unwrap().open_port(portcullis_sim::Port::Wsd), None);
}

#[tokio::test]
async fn ip_filter_ntp_time_and_scopes_round_trip() {
    let f = fleet(1, Profile::GenericOnvif).await;
    let d = device(&f, 0);
    let c = Onvif::new(&d, d.password.as_deref().unwrap());
    let filter = "<tds:SetIPAddressFilter><tds:IPAddressFilter><tt:Type>Allow</tt:Type><tt:IPv4Address><tt:Address>127.0.0.0</tt:Address><tt:PrefixLength>8</tt:PrefixLength></tt:IPv4Address></tds:IPAddressFilter></tds:SetIPAddressFilter>";
    assert_eq!(c.call(filter).await.status, 200);
    let got = c.call("<tds:GetIPAddressFilter/>").await.body;
    assert!(got.contains("<tt:Type>Allow</tt:Type>") && got.contains("<tt:PrefixLength>8</tt:PrefixLength>"), "{got}");
    let bad = filter.replace("127.0.0.0", "999.1.1.1");
    assert!(c.call(&bad).await.body.contains("InvalidIPv4Address"));
    assert!(c.call("<tds:SetSystemDateAndTime><tds:DateTimeType>NTP</tds:DateTimeType><tds:DaylightSavings>false</tds:DaylightSavings></tds:SetSystemDateAndTime>").await.body.contains("NtpServerUndefined"));
    let ntp = "<tds:SetNTP><tds:FromDHCP>false</tds:FromDHCP><tds:NTPManual><tt:Type>DNS</tt:Type><tt:DNSname>ntp.site.example</tt:DNSname></tds:NTPManual></tds:SetNTP>";
    assert_eq!(c.call(ntp).await.status, 200);
    assert!(c.call("<tds:GetNTP/>").await.body.contains("ntp.site.example"));
    let set = "<tds:SetSystemDateAndTime><tds:DateTimeType>NTP</tds:DateTimeType><tds:DaylightSavings>false</tds:DaylightSavings><tds:TimeZone><tt:TZ>UTC0</tt:TZ></tds:TimeZone></tds:SetSystemDateAndTime>";
    assert_eq!(c.call(set).await.status, 200);
    let t = c.anonymous("<tds:GetSystemDateAndTime/>").await.body;
    assert!(t.contains("<tt:DateTimeType>NTP</tt:DateTimeType>") && t.contains("UTC0"), "{t}");
    let scopes = c.call("<tds:GetScopes/>").await.body;
    assert!(scopes.contains("onvif://www.onvif.org/hardware/AV-IP4-BULLET"));
    // SetScopes replaces the configurable scopes (the name among them), never a fixed one.
    let rename = "<tds:SetScopes><tds:Scopes>onvif://www.onvif.org/name/hq-cam-01</tds:Scopes><tds:Scopes>onvif://www.onvif.org/location/city/site</tds:Scopes></tds:SetScopes>";
    assert_eq!(c.call(rename).await.status, 200);
    let scopes = c.call("<tds:GetScopes/>").await.body;
    assert!(scopes.contains("name/hq-cam-01") && scopes.contains("hardware/AV-IP4-BULLET"), "{scopes}");
    assert_eq!(scopes.matches("onvif://www.onvif.org/name/").count(), 1, "{scopes}");
    let fixed = "<tds:SetScopes><tds:Scopes>onvif://www.onvif.org/hardware/AV-IP4-BULLET</tds:Scopes></tds:SetScopes>";
    assert!(c.call(fixed).await.body.contains("ScopeOverwrite"));
    assert!(c.call("<tds:SetScopes/>").await.body.contains("InvalidArgVal"));
    let services = c
        .anonymous("<tds:GetServices><tds:IncludeCapability>true</tds:IncludeCapability></tds:GetServices>")
        .await
        .body;
    assert!(services.contains(&format!("http://{}:{}/onvif/device_service", d.address, d.http_port.unwrap())));
    assert!(services.contains("UsernameToken=\"true\""));
}

#[tokio::test]
async fn ws_security_follows_the_device_clock_not_the_callers() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    f.cameras()[0].set_faults(portcullis_sim::Faults { clock_skew_s: 3600, ..Default::default() });
    let mut c = Onvif::new(&d, d.password.as_deref().unwrap());
    let t = c.anonymous("<tds:GetSystemDateAndTime/>").await.body;
    let hour: i64 = text_of(&t, "Hour").unwrap().parse().unwrap();
    let ours = chrono::Timelike::hour(&chrono::Utc::now()) as i64;
    assert_eq!((hour - ours).rem_euclid(24), 1, "device clock runs an hour ahead");
    assert_eq!(c.call("<tds:GetDeviceInformation/>").await.status, 400, "our clock's token is stale to the device");
    c.clock_offset_s = 3600;
    assert_eq!(c.call("<tds:GetDeviceInformation/>").await.status, 200, "a corrected token is accepted");
}

#[tokio::test]
async fn system_reboot_takes_the_device_offline_then_back() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Onvif::new(&d, d.password.as_deref().unwrap());
    assert_eq!(c.call("<tds:SystemReboot/>").await.status, 200);
    assert!(eventually_tcp(d.address, d.http_port.unwrap(), false).await);
    assert!(eventually_tcp(d.address, d.http_port.unwrap(), true).await);
    assert_eq!(c.call("<tds:GetDeviceInformation/>").await.status, 200);
}
