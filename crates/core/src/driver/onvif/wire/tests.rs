//! Tests of the ONVIF wire readers, against captured answers and their variants.

use super::*;

fn fixtures() -> Vec<(String, String)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/onvif");
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .expect("../shared/fixtures present")
        .flatten()
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn digest_matches_the_programmers_guide_vector() {
    let nonce = base64::engine::general_purpose::STANDARD.decode("LKqI6G/AikKCQrN0zqZFlg==").unwrap();
    assert_eq!(password_digest(&nonce, "2010-09-16T07:50:45Z", "userpassword"), "tuOSpGlFlIXsozq4HFNeeGeFLEI=");
}

/// Every captured answer goes through the parser for its operation; success
/// answers must parse, faults must be recognised as faults.
#[test]
fn every_onvif_fixture_is_read() {
    let all = fixtures();
    assert!(all.len() >= 80, "{} fixtures", all.len());
    for (name, text) in &all {
        let is_fault = name.contains("fault") || name.contains("-401");
        if is_fault {
            if name.ends_with(".xml") {
                assert!(fault(text).is_some(), "{name}: fault not recognised");
            }
            continue;
        }
        let op = name.rsplit('-').next().unwrap_or("").trim_end_matches(".xml");
        let r: Result<(), String> = match op {
            "GetSystemDateAndTime" => system_date_time(text).map(|_| ()),
            "GetDeviceInformation" => device_information(text).map(|_| ()),
            "GetNetworkProtocols" => network_protocols(text).map(|_| ()),
            "GetDiscoveryMode" => discovery_mode(text).map(|_| ()),
            "GetUsers" => users(text).map(|_| ()),
            "GetNTP" => ntp_servers(text).map(|_| ()),
            "GetIPAddressFilter" => ip_filter(text).map(|_| ()),
            "GetScopes" => scopes(text).map(|_| ()),
            "GetDNS" => dns(text).map(|_| ()),
            "GetHostname" => hostname(text).map(|_| ()),
            "GetNetworkInterfaces" => network_interface(text).map(|_| ()),
            "GetNetworkDefaultGateway" => default_gateway(text).map(|_| ()),
            "GetServices" => services(text).and_then(|s| {
                let device = s.iter().find(|(ns, _)| ns == NS_DEVICE).ok_or("no device service")?;
                xaddr_path(&device.1).filter(|p| p == "/onvif/device_service").map(|_| ()).ok_or("bad XAddr".into())
            }),
            _ => xml::parse(text).map(|_| ()),
        };
        assert!(r.is_ok(), "{name}: {r:?}");
        assert!(fault(text).is_none(), "{name}: a success answer read as a fault");
    }
}

#[test]
fn interfaces_dns_and_host_names_read_as_cameras_write_them() {
    let dlink = fixtures().into_iter().find(|(n, _)| n.ends_with("dlink-DCS-6511-1.16.00-GetDNS.xml")).unwrap().1;
    assert_eq!(dns(&dlink).unwrap(), ["192.168.1.1"]);
    let host = fixtures().into_iter().find(|(n, _)| n.ends_with("dlink-DCS-6511-1.16.00-GetHostname.xml")).unwrap().1;
    assert_eq!(hostname(&host).unwrap(), "DCS-6511");
    let ifc = |config: &str| {
        format!(
                "<s:Envelope xmlns:s=\"http://www.w3.org/2003/05/soap-envelope\" xmlns:tds=\"{NS_DEVICE}\" \
                 xmlns:tt=\"http://www.onvif.org/ver10/schema\"><s:Body><tds:GetNetworkInterfacesResponse>\
                 <tds:NetworkInterfaces token=\"eth0\"><tt:Enabled>true</tt:Enabled><tt:IPv4><tt:Enabled>true</tt:Enabled>\
                 <tt:Config>{config}</tt:Config></tt:IPv4></tds:NetworkInterfaces></tds:GetNetworkInterfacesResponse>\
                 </s:Body></s:Envelope>"
            )
    };
    let manual = "<tt:Manual><tt:Address>10.0.0.21</tt:Address><tt:PrefixLength>24</tt:PrefixLength></tt:Manual><tt:DHCP>false</tt:DHCP>";
    assert_eq!(network_interface(&ifc(manual)).unwrap(), "10.0.0.21/24");
    let leased = "<tt:FromDHCP><tt:Address>10.0.0.5</tt:Address><tt:PrefixLength>16</tt:PrefixLength></tt:FromDHCP><tt:DHCP>true</tt:DHCP>";
    assert_eq!(network_interface(&ifc(leased)).unwrap(), "dhcp 10.0.0.5/16");
    assert!(network_interface(&ifc("<tt:DHCP>false</tt:DHCP>")).is_err(), "no address, an error, not a panic");
}

#[test]
fn names_and_time_zones_come_from_real_answers() {
    let mut names = 0;
    for (name, text) in fixtures() {
        if name.ends_with("GetScopes.xml") && !name.contains("fault") {
            let list = scopes(&text).unwrap();
            assert!(!list.is_empty(), "{name}");
            names += usize::from(name_from_scopes(&list).is_some_and(|n| !n.is_empty()));
        }
        if name.ends_with("GetSystemDateAndTime.xml") && !name.contains("fault") {
            // Read or absent, never a panic; where stated, most are valid POSIX TZ.
            let _ = time_zone(&text).map(|t| crate::site::tz::canonical(&t));
        }
    }
    assert!(names > 0, "no fixture's scopes carried a name");
    let s = name_scope("hq cam/1");
    assert_eq!(s, "onvif://www.onvif.org/name/hq%20cam%2F1");
    assert_eq!(name_from_scopes(&[(s, false)]).as_deref(), Some("hq cam/1"));
}

#[test]
fn durations_capabilities_and_service_addresses_are_read() {
    assert_eq!(duration_seconds("PT5S"), Some(5.0));
    assert_eq!(duration_seconds("PT1M30S"), Some(90.0));
    assert_eq!(duration_seconds("PT0.5S"), Some(0.5));
    assert_eq!(duration_seconds("P1D"), None, "days are not a key-generation estimate");
    assert_eq!(duration_seconds("PT5"), None);
    let caps = r#"<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope" xmlns:a="http://www.onvif.org/ver10/advancedsecurity/wsdl"><e:Body><a:GetServiceCapabilitiesResponse><a:Capabilities><a:KeystoreCapabilities RSAKeyPairGeneration="true" RSAKeyLengths="1024 2048 4096" PKCS10ExternalCertificationWithRSA="1"/><a:TLSServerCapabilities/></a:Capabilities></a:GetServiceCapabilitiesResponse></e:Body></e:Envelope>"#;
    let k = keystore_capabilities(caps).unwrap();
    assert!(k.rsa_key_generation && k.pkcs10 && !k.pkcs8_upload);
    assert_eq!(k.rsa_key_lengths, vec![1024, 2048, 4096]);
    assert!(keystore_capabilities("<x/>").is_err());
    // The address a device states is not trusted, only its path.
    assert_eq!(xaddr_path("http://192.0.2.9:8080/onvif/security").as_deref(), Some("/onvif/security"));
    assert_eq!(xaddr_path("not a url"), None);
    let with_tas = fixtures()
        .into_iter()
        .filter(|(n, _)| n.ends_with("GetServices.xml"))
        .map(|(_, t)| services(&t).unwrap())
        .collect::<Vec<_>>();
    assert!(with_tas.len() >= 2 && with_tas.iter().all(|s| s.len() > 5), "{with_tas:?}");
}

#[test]
fn placeholder_ntp_addresses_are_not_servers() {
    for (name, text) in fixtures() {
        if name.starts_with("xiongmai") && name.ends_with("GetNTP.xml")
            || name.starts_with("uniview") && name.ends_with("GetNTP.xml")
        {
            let servers = ntp_servers(&text).unwrap();
            assert!(servers.iter().all(|s| s != "NTP" && s != "0.0.0.0"), "{name}: {servers:?}");
        }
    }
}

#[test]
fn faults_of_every_prefix_style_are_classified() {
    for (name, text) in fixtures() {
        if name.contains("NotAuthorized") {
            assert!(fault(&text).unwrap().not_authorized(), "{name}");
        }
        if name.contains("UnknownAction") || name.contains("AudioNotSupported") {
            let f = fault(&text).unwrap();
            assert!(!f.subcodes.is_empty() || !f.reason.is_empty(), "{name}: {f:?}");
        }
    }
}

/// Issue #15: the ways real firmware says "I do not implement that".
#[test]
fn every_wording_of_an_unknown_operation_is_read_as_unsupported() {
    let envelope = |inner: &str| {
        format!(
            r#"<env:Envelope xmlns:env="http://www.w3.org/2003/05/soap-envelope" xmlns:ter="http://www.onvif.org/ver10/error"><env:Body><env:Fault>{inner}</env:Fault></env:Body></env:Envelope>"#
        )
    };
    // (a) The subcode in the Detail, a bare Receiver code.
    let in_detail = envelope(
            "<env:Code><env:Value>env:Receiver</env:Value></env:Code><env:Reason><env:Text>Action not supported</env:Text></env:Reason><env:Detail><ter:fault><ter:subcode>ter:ActionNotSupported</ter:subcode></ter:fault></env:Detail>",
        );
    // (b) No subcode at all, only the words.
    let words_only = envelope(
            "<env:Code><env:Value>env:Receiver</env:Value></env:Code><env:Reason><env:Text>Action not supported</env:Text></env:Reason>",
        );
    for (what, text) in [("detail", in_detail), ("words", words_only)] {
        let f = fault(&text).unwrap_or_else(|| panic!("{what}: not read as a fault"));
        assert!(f.not_supported(), "{what}: {f:?}");
        assert!(!f.describe().starts_with(':'), "{what}: evidence with an empty code: {}", f.describe());
    }
    // The captured variants: gSOAP's words (no subcode), and the nested subcodes.
    for (name, text) in fixtures().into_iter().filter(|(n, _)| n.contains("UnknownAction")) {
        assert!(fault(&text).unwrap().not_supported(), "{name}");
    }
    // Words do not overrule a subcode that says something else.
    let invalid = envelope(
            "<env:Code><env:Value>env:Sender</env:Value><env:Subcode><env:Value>ter:InvalidArgVal</env:Value></env:Subcode></env:Code><env:Reason><env:Text>key length not supported</env:Text></env:Reason>",
        );
    assert!(!fault(&invalid).unwrap().not_supported());
}
