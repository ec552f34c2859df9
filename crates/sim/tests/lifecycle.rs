//! Discovery answers, activation of a factory-new camera, and installing a TLS
//! certificate that a real handshake then presents.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use common::*;
use portcullis_sim::Profile;

#[tokio::test]
async fn unicast_probe_gets_probe_matches_that_echo_the_message_id() {
    let f = fleet(2, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let raw = udp_ask(SocketAddr::from((d.address, d.wsd_port.unwrap())), PROBE_NVT.as_bytes(), Duration::from_secs(2))
        .await
        .expect("an answer");
    let text = String::from_utf8(raw).unwrap();
    assert_eq!(text_of(&text, "RelatesTo").as_deref(), Some("urn:uuid:0f0e0d0c-0000-4000-8000-000000000001"));
    assert_eq!(
        text_of(&text, "Action").as_deref(),
        Some("http://schemas.xmlsoap.org/ws/2005/04/discovery/ProbeMatches")
    );
    assert_eq!(text_of(&text, "Address"), Some(d.endpoint_reference.clone()));
    let xaddrs = text_of(&text, "XAddrs").unwrap();
    assert!(xaddrs.split_whitespace().any(|x| Some(x) == d.onvif_url.as_deref()), "{xaddrs}");
    // A probe for a type the camera is not gets silence.
    let other = PROBE_NVT.replace("dn:NetworkVideoTransmitter", "dn:NetworkVideoDisplay");
    assert!(udp_ask(SocketAddr::from((d.address, d.wsd_port.unwrap())), other.as_bytes(), Duration::from_millis(500))
        .await
        .is_none());
    // And so does garbage.
    assert!(udp_ask(SocketAddr::from((d.address, d.wsd_port.unwrap())), b"<nonsense/>", Duration::from_millis(300))
        .await
        .is_none());
}

#[tokio::test]
async fn sadp_inquiry_reports_activation_state() {
    let f = fleet(1, Profile::HikvisionFactoryNew).await;
    let d = device(&f, 0);
    assert!(!d.activated && d.password.is_none() && !d.discoverable, "factory-new: no password, no ONVIF");
    let probe = "<?xml version=\"1.0\" encoding=\"utf-8\"?><Probe><Uuid>5E0C1D2F-0000-4000-8000-00000000ABCD</Uuid><Types>inquiry</Types></Probe>";
    let raw = udp_ask(SocketAddr::from((d.address, d.sadp_port.unwrap())), probe.as_bytes(), Duration::from_secs(2))
        .await
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    assert_eq!(text_of(&text, "Uuid").as_deref(), Some("5E0C1D2F-0000-4000-8000-00000000ABCD"));
    assert_eq!(text_of(&text, "Activated").as_deref(), Some("false"));
    assert_eq!(text_of(&text, "MAC"), Some(d.mac.replace(':', "-")));
    assert_eq!(text_of(&text, "DeviceSN"), Some(d.serial.clone()));
    assert!(text_of(&text, "SoftwareVersion").unwrap().contains("build"));
}

/// The client side of activation, written from the vendor guide (protocols.md §2.6).
fn encrypt_for_activation(secret_hex: &str, password: &str) -> String {
    use aes::cipher::{generic_array::GenericArray, BlockEncrypt, KeyInit};
    let cipher = aes::Aes128::new_from_slice(&hex::decode(secret_hex).unwrap()).unwrap();
    let mut data = format!("{}{}", &secret_hex[..16], password).into_bytes();
    while data.len() % 16 != 0 {
        data.push(0);
    }
    for block in data.chunks_mut(16) {
        cipher.encrypt_block(GenericArray::from_mut_slice(block));
    }
    base64::engine::general_purpose::STANDARD.encode(hex::encode(data))
}

#[tokio::test]
async fn factory_new_camera_activates_through_the_challenge_flow() {
    use rsa::traits::PublicKeyParts;
    let f = fleet(1, Profile::HikvisionFactoryNew).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, "");
    let status = c.raw("GET", "/SDK/activateStatus", None, None).await.unwrap();
    assert_eq!(text_of(&status.body, "Activated").as_deref(), Some("false"));
    // Before activation nothing else works, whatever the password.
    assert_eq!(Isapi::new(&d, "Any-Pass-123").get("/ISAPI/System/deviceInfo").await.status, 401);

    let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 1024).unwrap();
    let modulus = base64::engine::general_purpose::STANDARD.encode(hex::encode(key.n().to_bytes_be()));
    let body = format!("<PublicKey><key>{modulus}</key></PublicKey>");
    let challenge = c.raw("POST", "/ISAPI/Security/challenge", Some(&body), None).await.unwrap();
    assert_eq!(challenge.status, 200, "{}", challenge.body);
    let answer = text_of(&challenge.body, "key").unwrap();
    let encrypted = hex::decode(base64::engine::general_purpose::STANDARD.decode(answer).unwrap()).unwrap();
    let secret = String::from_utf8(key.decrypt(rsa::Pkcs1v15Encrypt, &encrypted).unwrap()).unwrap();
    assert_eq!(secret.len(), 32);

    // A weak password is refused, and the challenge is spent.
    let weak =
        format!("<ActivateInfo><password>{}</password></ActivateInfo>", encrypt_for_activation(&secret, "12345"));
    assert_eq!(c.raw("PUT", "/ISAPI/System/activate", Some(&weak), None).await.unwrap().status, 400);
    let challenge = c.raw("POST", "/ISAPI/Security/challenge", Some(&body), None).await.unwrap();
    let encrypted = hex::decode(
        base64::engine::general_purpose::STANDARD.decode(text_of(&challenge.body, "key").unwrap()).unwrap(),
    )
    .unwrap();
    let secret = String::from_utf8(key.decrypt(rsa::Pkcs1v15Encrypt, &encrypted).unwrap()).unwrap();
    let good = format!(
        "<ActivateInfo xmlns=\"http://www.isapi.org/ver20/XMLSchema\" version=\"2.0\"><password>{}</password></ActivateInfo>",
        encrypt_for_activation(&secret, "Activated-Pw9")
    );
    let done = c.raw("PUT", "/ISAPI/System/activate", Some(&good), None).await.unwrap();
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(device(&f, 0).activated);
    assert_eq!(Isapi::new(&d, "Activated-Pw9").get("/ISAPI/Security/userCheck").await.status, 200);
    // Once activated, activation is closed.
    assert_eq!(c.raw("POST", "/ISAPI/Security/challenge", Some(&body), None).await.unwrap().status, 403);
}

/// The certificate the server presents in a real TLS handshake.
async fn presented_leaf(addr: SocketAddr) -> Vec<u8> {
    #[derive(Debug)]
    struct Capture(std::sync::Mutex<Vec<u8>>);
    impl rustls::client::danger::ServerCertVerifier for Capture {
        fn verify_server_cert(
            &self,
            end_entity: &rustls::pki_types::CertificateDer<'_>,
            _: &[rustls::pki_types::CertificateDer<'_>],
            _: &rustls::pki_types::ServerName<'_>,
            _: &[u8],
            _: rustls::pki_types::UnixTime,
        ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
            *self.0.lock().unwrap() = end_entity.to_vec();
            Ok(rustls::client::danger::ServerCertVerified::assertion())
        }
        fn verify_tls12_signature(
            &self,
            _: &[u8],
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
        }
        fn verify_tls13_signature(
            &self,
            _: &[u8],
            _: &rustls::pki_types::CertificateDer<'_>,
            _: &rustls::DigitallySignedStruct,
        ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
            Ok(rustls::client::danger::HandshakeSignatureValid::assertion())
        }
        fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
            rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
        }
    }
    let capture = Arc::new(Capture(Default::default()));
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .dangerous()
        .with_custom_certificate_verifier(capture.clone())
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = rustls::pki_types::ServerName::IpAddress(addr.ip().into());
    let _tls = tokio_rustls::TlsConnector::from(Arc::new(config)).connect(name, tcp).await.unwrap();
    let leaf = capture.0.lock().unwrap().clone();
    leaf
}

#[tokio::test]
async fn a_certificate_signed_for_the_device_csr_is_served_on_the_next_handshake() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    let https = SocketAddr::from((d.address, d.https_port.unwrap()));
    let factory = presented_leaf(https).await;
    assert!(!factory.is_empty());

    let csr_req = format!(
        "<CertificateReq><commonName>{}</commonName><subjectAltName>{}</subjectAltName></CertificateReq>",
        d.serial, d.address
    );
    assert_eq!(c.put("/ISAPI/Security/serverCertificate/certSignReq", &csr_req).await.status, 200);
    let csr_pem = c.get("/ISAPI/Security/serverCertificate/downloadCertSignReq").await.body;
    assert!(csr_pem.contains("BEGIN CERTIFICATE REQUEST"), "{csr_pem}");

    // A site CA signs the device's CSR (the device keeps its key).
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let csr = rcgen::CertificateSigningRequestParams::from_pem(&csr_pem).unwrap();
    let leaf = csr.signed_by(&issuer).unwrap();
    let upload = format!("{}{}", leaf.pem(), ca.pem());
    let a = c.put("/ISAPI/Security/serverCertificate/certificate", &upload).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(presented_leaf(https).await, leaf.der().to_vec(), "the new leaf is presented");
    assert_eq!(
        text_of(&c.get("/ISAPI/Security/serverCertificate/certificate").await.body, "selfSigned").as_deref(),
        Some("false")
    );

    // A certificate for another key is refused, and the installed one stays.
    let stranger = rcgen::CertificateParams::new(vec!["other.example".to_string()])
        .unwrap()
        .self_signed(&rcgen::KeyPair::generate().unwrap())
        .unwrap();
    let refused = c.put("/ISAPI/Security/serverCertificate/certificate", &stranger.pem()).await;
    assert_eq!(refused.status, 400);
    assert_eq!(presented_leaf(https).await, leaf.der().to_vec());
}

const TAS_SERVICE: &str = "<tds:Namespace>http://www.onvif.org/ver10/advancedsecurity/wsdl</tds:Namespace>";

/// Poll GetKeyStatus until the key is no longer `generating`.
async fn key_ready(c: &Onvif, key: &str) -> String {
    for _ in 0..200 {
        let s = c.call(&format!("<tas:GetKeyStatus><tas:KeyID>{key}</tas:KeyID></tas:GetKeyStatus>")).await;
        let status = text_of(&s.body, "KeyStatus").unwrap_or_default();
        if status != "generating" {
            return status;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the key stayed generating");
}

#[tokio::test]
async fn advanced_security_installs_a_ca_signed_certificate_from_a_key_made_on_the_camera() {
    let f = fleet(1, Profile::GenericOnvif).await;
    let d = device(&f, 0);
    let c = Onvif::new(&d, d.password.as_deref().unwrap());
    let https = SocketAddr::from((d.address, d.https_port.unwrap()));
    let services =
        c.anonymous("<tds:GetServices><tds:IncludeCapability>false</tds:IncludeCapability></tds:GetServices>").await;
    assert!(services.body.contains(TAS_SERVICE), "{}", services.body);
    let caps = c.anonymous("<tas:GetServiceCapabilities/>").await;
    assert!(caps.body.contains("RSAKeyPairGeneration=\"true\""), "{}", caps.body);

    let assigned = c.call("<tas:GetAssignedServerCertificates/>").await;
    let factory_path = text_of(&assigned.body, "CertificationPathID").expect("the factory path is assigned");
    let factory_leaf = presented_leaf(https).await;

    let created = c.call("<tas:CreateRSAKeyPair><tas:KeyLength>2048</tas:KeyLength></tas:CreateRSAKeyPair>").await;
    assert_eq!(created.status, 200, "{}", created.body);
    let key = text_of(&created.body, "KeyID").unwrap();
    assert!(text_of(&created.body, "EstimatedCreationTime").unwrap().starts_with("PT"));
    assert_eq!(key_ready(&c, &key).await, "ok");
    let bad_length = c.call("<tas:CreateRSAKeyPair><tas:KeyLength>512</tas:KeyLength></tas:CreateRSAKeyPair>").await;
    assert!(bad_length.body.contains("ter:KeyLength"), "{}", bad_length.body);

    let csr = c
        .call(&format!(
            "<tas:CreatePKCS10CSR><tas:Subject><tt:CommonName>{}</tt:CommonName></tas:Subject><tas:KeyID>{key}</tas:KeyID><tas:SignatureAlgorithm><tt:algorithm>1.2.840.113549.1.1.11</tt:algorithm></tas:SignatureAlgorithm></tas:CreatePKCS10CSR>",
            d.address
        ))
        .await;
    assert_eq!(csr.status, 200, "{}", csr.body);
    let csr_der = base64::engine::general_purpose::STANDARD.decode(text_of(&csr.body, "PKCS10CSR").unwrap()).unwrap();

    // A site CA signs the camera's request; the camera keeps its key.
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.distinguished_name.push(rcgen::DnType::CommonName, "site CA");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let mut request = rcgen::CertificateSigningRequestParams::from_der(&csr_der.into()).unwrap();
    request.params.subject_alt_names = vec![rcgen::SanType::IpAddress(d.address.into())];
    let leaf = request.signed_by(&issuer).unwrap();
    let b64 = |der: &[u8]| base64::engine::general_purpose::STANDARD.encode(der);

    // The CA alone cannot be uploaded as a certificate needing a private key.
    let orphan = c
        .call(&format!("<tas:UploadCertificate><tas:Certificate>{}</tas:Certificate><tas:PrivateKeyRequired>true</tas:PrivateKeyRequired></tas:UploadCertificate>", b64(ca.der())))
        .await;
    assert!(orphan.body.contains("ter:NoMatchingPrivateKey"), "{}", orphan.body);
    let up = c
        .call(&format!("<tas:UploadCertificate><tas:Certificate>{}</tas:Certificate><tas:PrivateKeyRequired>true</tas:PrivateKeyRequired></tas:UploadCertificate>", b64(leaf.der())))
        .await;
    assert_eq!(text_of(&up.body, "KeyID").as_deref(), Some(key.as_str()), "matched to the camera's key: {}", up.body);
    let leaf_id = text_of(&up.body, "CertificateID").unwrap();
    let up_ca = c
        .call(&format!(
            "<tas:UploadCertificate><tas:Certificate>{}</tas:Certificate></tas:UploadCertificate>",
            b64(ca.der())
        ))
        .await;
    let ca_id = text_of(&up_ca.body, "CertificateID").unwrap();

    let wrong_order = c
        .call(&format!("<tas:CreateCertificationPath><tas:CertificateIDs><tas:CertificateID>{ca_id}</tas:CertificateID><tas:CertificateID>{leaf_id}</tas:CertificateID></tas:CertificateIDs></tas:CreateCertificationPath>"))
        .await;
    assert!(wrong_order.body.contains("ter:InvalidCertificationPath"), "{}", wrong_order.body);
    let path = c
        .call(&format!("<tas:CreateCertificationPath><tas:CertificateIDs><tas:CertificateID>{leaf_id}</tas:CertificateID><tas:CertificateID>{ca_id}</tas:CertificateID></tas:CertificateIDs></tas:CreateCertificationPath>"))
        .await;
    let path_id = text_of(&path.body, "CertificationPathID").unwrap();
    assert_eq!(presented_leaf(https).await, factory_leaf, "nothing served changes before the assignment");

    let replace = c
        .call(&format!("<tas:ReplaceServerCertificateAssignment><tas:OldCertificationPathID>{factory_path}</tas:OldCertificationPathID><tas:NewCertificationPathID>{path_id}</tas:NewCertificationPathID></tas:ReplaceServerCertificateAssignment>"))
        .await;
    assert_eq!(replace.status, 200, "{}", replace.body);
    assert_eq!(presented_leaf(https).await, leaf.der().to_vec(), "the next handshake presents the new leaf");
    let now = c.call("<tas:GetAssignedServerCertificates/>").await;
    assert_eq!(text_of(&now.body, "CertificationPathID"), Some(path_id.clone()));
    let listed = c.call(&format!("<tas:GetCertificationPath><tas:CertificationPathID>{path_id}</tas:CertificationPathID></tas:GetCertificationPath>")).await;
    assert!(listed.body.contains(&leaf_id) && listed.body.contains(&ca_id), "{}", listed.body);
    // An assigned path, and HTTPS on: it cannot be removed or deleted.
    let remove = c
        .call(&format!("<tas:RemoveServerCertificateAssignment><tas:CertificationPathID>{path_id}</tas:CertificationPathID></tas:RemoveServerCertificateAssignment>"))
        .await;
    assert_eq!(remove.status, 500, "{}", remove.body);
    let delete = c.call(&format!("<tas:DeleteCertificationPath><tas:CertificationPathID>{path_id}</tas:CertificationPathID></tas:DeleteCertificationPath>")).await;
    assert!(delete.body.contains("ter:ReferenceExists"), "{}", delete.body);
    // The keystore is not for anyone: an anonymous read is refused.
    assert!(c.anonymous("<tas:GetAllKeys/>").await.status >= 400);
}

#[tokio::test]
async fn advanced_security_tls_versions_change_what_the_handshake_accepts() {
    let f = fleet(1, Profile::GenericOnvif).await;
    let d = device(&f, 0);
    let c = Onvif::new(&d, d.password.as_deref().unwrap());
    let get = c.call("<tas:GetEnabledTLSVersions/>").await;
    assert_eq!(text_of(&get.body, "Versions").as_deref(), Some("1.2"));
    let set = c.call("<tas:SetEnabledTLSVersions><tas:Versions>1.3</tas:Versions></tas:SetEnabledTLSVersions>").await;
    assert_eq!(set.status, 200, "{}", set.body);
    let caps = c.anonymous("<tds:GetServiceCapabilities/>").await;
    assert!(caps.body.contains("TLS1.2=\"false\""), "the device service tells the same: {}", caps.body);
    let empty = c.call("<tas:SetEnabledTLSVersions><tas:Versions></tas:Versions></tas:SetEnabledTLSVersions>").await;
    assert!(empty.body.contains("ter:EmptyList"), "{}", empty.body);
}

#[tokio::test]
async fn hikvision_cameras_do_not_offer_advanced_security() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Onvif::new(&d, d.password.as_deref().unwrap());
    let services =
        c.anonymous("<tds:GetServices><tds:IncludeCapability>false</tds:IncludeCapability></tds:GetServices>").await;
    assert!(!services.body.contains(TAS_SERVICE), "{}", services.body);
    assert!(c.call("<tas:GetAllKeys/>").await.body.contains("ActionNotSupported"));
}

#[tokio::test]
async fn tls_versions_are_enforced_in_the_handshake() {
    let f = fleet(1, Profile::HikvisionCurrent).await;
    let d = device(&f, 0);
    let c = Isapi::new(&d, d.password.as_deref().unwrap());
    let https = SocketAddr::from((d.address, d.https_port.unwrap()));
    let body = format!("<AdminAccessProtocolList><AdminAccessProtocol><id>4</id><enabled>true</enabled><protocol>HTTPS</protocol><portNo>{}</portNo><TLS1_2Enable>false</TLS1_2Enable><TLS1_3Enable>true</TLS1_3Enable></AdminAccessProtocol></AdminAccessProtocolList>", https.port());
    assert_eq!(text_of(&c.put("/ISAPI/Security/adminAccesses", &body).await.body, "statusCode").as_deref(), Some("1"));
    let tls12_only = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_protocol_versions(&[&rustls::version::TLS12])
        .unwrap()
        .with_root_certificates(rustls::RootCertStore::empty())
        .with_no_client_auth();
    let tcp = tokio::net::TcpStream::connect(https).await.unwrap();
    let err = tokio_rustls::TlsConnector::from(Arc::new(tls12_only))
        .connect(rustls::pki_types::ServerName::IpAddress(https.ip().into()), tcp)
        .await
        .unwrap_err();
    assert!(err.to_string().to_lowercase().contains("version"), "{err}");
}
