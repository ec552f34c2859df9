//! The Advanced Security service (`tas`, protocols.md §3.6) over SOAP: keystore
//! operations, TLS server certificate assignment and the enabled TLS versions. The
//! rules live in [`crate::keystore`]; this module reads requests, maps refusals to the
//! faults the specification names, and swaps the HTTPS identity when the assigned
//! certification path changes.

use base64::Engine;
use rcgen::DnType;

use super::*;
use crate::http::After;
use crate::keystore::{
    KeystoreError, ServerChain, ECDSA_WITH_SHA256, ESTIMATED_CREATION, MAX_CERTIFICATES, MAX_KEYS, MAX_PATHS,
    MAX_TLS_PATHS, SHA256_WITH_RSA,
};
use crate::state::TlsVersions;
use crate::tls::ServerIdentity;
use crate::xml::{child_text, children, el};

pub const NS_TAS: &str = "http://www.onvif.org/ver10/advancedsecurity/wsdl";
/// Path advertised in GetServices (requests are dispatched by namespace, as on
/// firmware that serves every service from one handler).
pub const PATH: &str = "/onvif/security_service";

pub(super) fn dispatch(cam: &Camera, st: &mut CameraState, op: &str, node: Node<'_, '_>) -> Option<Reply> {
    let text = |name: &str| child_text(node, name).unwrap_or_default();
    let alias = child_text(node, "Alias").filter(|a| !a.is_empty());
    Some(match op {
        "GetServiceCapabilities" => ok(
            cam,
            st,
            format!("<tas:GetServiceCapabilitiesResponse>{}</tas:GetServiceCapabilitiesResponse>", capabilities(cam)),
        ),
        "CreateRSAKeyPair" => {
            let Ok(bits) = text("KeyLength").parse::<u32>() else {
                return Some(refused(cam, st, &KeystoreError::KeyLength(0)));
            };
            match st.certs.keystore.create_rsa_key(bits, alias, cam.settings.key_generation) {
                Ok(id) => ok(
                    cam,
                    st,
                    format!(
                        "<tas:CreateRSAKeyPairResponse>{}{}</tas:CreateRSAKeyPairResponse>",
                        el("tas:KeyID", id),
                        el(
                            "tas:EstimatedCreationTime",
                            format!("PT{}S", ESTIMATED_CREATION.max(cam.settings.key_generation).as_secs())
                        )
                    ),
                )
                .committed(After::Nothing),
                Err(e) => refused(cam, st, &e),
            }
        }
        "UploadKeyPairInPKCS8" => {
            let Some(der) = base64_child(node, "KeyPair") else {
                return Some(refused(cam, st, &KeystoreError::BadKeyPair));
            };
            let made = st.certs.keystore.upload_key_pair(&der, alias);
            created(cam, st, "UploadKeyPairInPKCS8", "KeyID", made)
        }
        "GetKeyStatus" => match st.certs.keystore.key(&text("KeyID")) {
            Ok(k) => ok(
                cam,
                st,
                format!(
                    "<tas:GetKeyStatusResponse>{}</tas:GetKeyStatusResponse>",
                    el("tas:KeyStatus", k.status().as_str())
                ),
            ),
            Err(e) => refused(cam, st, &e),
        },
        "GetPrivateKeyStatus" => match st.certs.keystore.key(&text("KeyID")) {
            Ok(k) => ok(
                cam,
                st,
                format!(
                    "<tas:GetPrivateKeyStatusResponse>{}</tas:GetPrivateKeyStatusResponse>",
                    el("tas:hasPrivateKey", k.has_private_key())
                ),
            ),
            Err(e) => refused(cam, st, &e),
        },
        "GetAllKeys" => {
            let keys: String = st
                .certs
                .keystore
                .keys
                .iter()
                .map(|k| {
                    format!(
                        "<tas:KeyAttribute>{}{}{}{}{}</tas:KeyAttribute>",
                        el("tas:KeyID", &k.id),
                        k.alias.as_ref().map(|a| el("tas:Alias", a)).unwrap_or_default(),
                        el("tas:hasPrivateKey", k.has_private_key()),
                        el("tas:KeyStatus", k.status().as_str()),
                        el("tas:externallyGenerated", k.externally_generated)
                    )
                })
                .collect();
            ok(cam, st, format!("<tas:GetAllKeysResponse>{keys}</tas:GetAllKeysResponse>"))
        }
        "DeleteKey" => done(cam, st, "DeleteKey", |ks| ks.delete_key(&text("KeyID"))),
        "CreatePKCS10CSR" => create_csr(cam, st, node),
        "UploadCertificate" => {
            let Some(der) = base64_child(node, "Certificate") else {
                return Some(refused(cam, st, &KeystoreError::BadCertificate));
            };
            let required = child_text(node, "PrivateKeyRequired").is_some_and(|v| v == "true" || v == "1");
            match st.certs.keystore.upload_certificate(&der, alias, required) {
                Ok((cert, key)) => ok(
                    cam,
                    st,
                    format!(
                        "<tas:UploadCertificateResponse>{}{}</tas:UploadCertificateResponse>",
                        el("tas:CertificateID", cert),
                        el("tas:KeyID", key)
                    ),
                )
                .committed(After::Nothing),
                Err(e) => refused(cam, st, &e),
            }
        }
        "GetCertificate" => match st.certs.keystore.certificate(&text("CertificateID")) {
            Ok(c) => ok(
                cam,
                st,
                format!(
                    "<tas:GetCertificateResponse>{}</tas:GetCertificateResponse>",
                    certificate_xml("tas:Certificate", c)
                ),
            ),
            Err(e) => refused(cam, st, &e),
        },
        "GetAllCertificates" => {
            let all: String =
                st.certs.keystore.certificates.iter().map(|c| certificate_xml("tas:Certificate", c)).collect();
            ok(cam, st, format!("<tas:GetAllCertificatesResponse>{all}</tas:GetAllCertificatesResponse>"))
        }
        "DeleteCertificate" => done(cam, st, "DeleteCertificate", |ks| ks.delete_certificate(&text("CertificateID"))),
        "CreateCertificationPath" => {
            let ids: Vec<String> = child(node, "CertificateIDs")
                .map(|n| children(n, "CertificateID").map(|c| c.text().unwrap_or("").trim().to_string()).collect())
                .unwrap_or_default();
            let made = st.certs.keystore.create_path(&ids, alias);
            created(cam, st, "CreateCertificationPath", "CertificationPathID", made)
        }
        "GetCertificationPath" => match st.certs.keystore.path(&text("CertificationPathID")) {
            Ok(p) => {
                let ids: String = p.certificate_ids.iter().map(|c| el("tas:CertificateID", c)).collect();
                let alias = p.alias.as_ref().map(|a| el("tas:Alias", a)).unwrap_or_default();
                ok(cam, st, format!("<tas:GetCertificationPathResponse><tas:CertificationPath>{ids}{alias}</tas:CertificationPath></tas:GetCertificationPathResponse>"))
            }
            Err(e) => refused(cam, st, &e),
        },
        "GetAllCertificationPaths" => {
            let ids: String = st.certs.keystore.paths.iter().map(|p| el("tas:CertificationPathID", &p.id)).collect();
            ok(cam, st, format!("<tas:GetAllCertificationPathsResponse>{ids}</tas:GetAllCertificationPathsResponse>"))
        }
        "DeleteCertificationPath" => {
            done(cam, st, "DeleteCertificationPath", |ks| ks.delete_path(&text("CertificationPathID")))
        }
        "GetAssignedServerCertificates" => {
            let ids: String = st.certs.keystore.assigned.iter().map(|p| el("tas:CertificationPathID", p)).collect();
            ok(
                cam,
                st,
                format!("<tas:GetAssignedServerCertificatesResponse>{ids}</tas:GetAssignedServerCertificatesResponse>"),
            )
        }
        "AddServerCertificateAssignment" => {
            let id = text("CertificationPathID");
            assign(cam, st, "AddServerCertificateAssignment", |ks| ks.add_assignment(&id))
        }
        "ReplaceServerCertificateAssignment" => {
            let (old, new) = (text("OldCertificationPathID"), text("NewCertificationPathID"));
            assign(cam, st, "ReplaceServerCertificateAssignment", |ks| ks.replace_assignment(&old, &new))
        }
        "RemoveServerCertificateAssignment" => {
            // The TLS server may not be left without a certificate while HTTPS is on.
            if st.access.https.enabled && st.certs.keystore.assigned.len() <= 1 {
                return Some(fault_with(
                    cam,
                    st,
                    500,
                    "env:Receiver",
                    "ter:Action",
                    Some("ter:EnablingTLSFailed"),
                    "HTTPS is on: replace the assignment instead",
                ));
            }
            done(cam, st, "RemoveServerCertificateAssignment", |ks| ks.remove_assignment(&text("CertificationPathID")))
        }
        "GetEnabledTLSVersions" => ok(
            cam,
            st,
            format!(
                "<tas:GetEnabledTLSVersionsResponse>{}</tas:GetEnabledTLSVersionsResponse>",
                el("tas:Versions", st.access.tls.onvif_list())
            ),
        ),
        "SetEnabledTLSVersions" => set_tls_versions(cam, st, &text("Versions")),
        _ => return None,
    })
}

fn capabilities(cam: &Camera) -> String {
    let generation = !cam.with_faults(|f| f.is_unsupported("CreateRSAKeyPair"));
    let pkcs10 = !cam.with_faults(|f| f.is_unsupported("CreatePKCS10CSR"));
    let lengths = crate::keystore::RSA_KEY_LENGTHS.map(|b| b.to_string()).join(" ");
    format!(
        "<tas:Capabilities><tas:KeystoreCapabilities MaximumNumberOfKeys=\"{MAX_KEYS}\" MaximumNumberOfCertificates=\"{MAX_CERTIFICATES}\" MaximumNumberOfCertificationPaths=\"{MAX_PATHS}\" RSAKeyPairGeneration=\"{generation}\" RSAKeyLengths=\"{lengths}\" PKCS10ExternalCertificationWithRSA=\"{pkcs10}\" PKCS10=\"{pkcs10}\" SelfSignedCertificateCreationWithRSA=\"false\" X509Versions=\"3\" PKCS8RSAKeyPairUpload=\"true\" PKCS12CertificateWithRSAPrivateKeyUpload=\"false\"><tas:SignatureAlgorithms><tas:algorithm>{SHA256_WITH_RSA}</tas:algorithm></tas:SignatureAlgorithms><tas:SignatureAlgorithms><tas:algorithm>{ECDSA_WITH_SHA256}</tas:algorithm></tas:SignatureAlgorithms></tas:KeystoreCapabilities><tas:TLSServerCapabilities TLSServerSupported=\"1.0 1.1 1.2 1.3\" EnabledVersionsSupported=\"true\" MaximumNumberOfTLSCertificationPaths=\"{MAX_TLS_PATHS}\" TLSClientAuthSupported=\"false\"/></tas:Capabilities>"
    )
}

/// The fault the specification names for each refusal.
fn refused(cam: &Camera, st: &CameraState, e: &KeystoreError) -> Reply {
    let reason = e.to_string();
    let (code, sub, sub2) = match e {
        KeystoreError::KeyLength(_) => ("env:Sender", "ter:InvalidArgVal", "ter:KeyLength"),
        KeystoreError::MaximumNumberOfKeysReached => ("env:Receiver", "ter:Action", "ter:MaximumNumberOfKeysReached"),
        KeystoreError::MaximumNumberOfCertificatesReached => {
            ("env:Receiver", "ter:Action", "ter:MaximumNumberOfCertificatesReached")
        }
        KeystoreError::MaximumNumberOfCertificationPathsReached => {
            ("env:Receiver", "ter:Action", "ter:MaximumNumberOfCertificationPathsReached")
        }
        KeystoreError::MaximumNumberOfTLSCertificationPathsReached => {
            ("env:Receiver", "ter:Action", "ter:MaximumNumberOfTLSCertificationPathsReached")
        }
        KeystoreError::InvalidKeyId => ("env:Sender", "ter:InvalidArgVal", "ter:InvalidKeyID"),
        KeystoreError::InvalidKeyStatus => ("env:Sender", "ter:InvalidArgVal", "ter:InvalidKeyStatus"),
        KeystoreError::InvalidCertificateId => ("env:Sender", "ter:InvalidArgVal", "ter:InvalidCertificateID"),
        KeystoreError::InvalidCertificationPathId => {
            ("env:Sender", "ter:InvalidArgVal", "ter:InvalidCertificationPathID")
        }
        KeystoreError::BadCertificate => ("env:Sender", "ter:InvalidArgVal", "ter:BadCertificate"),
        KeystoreError::NoMatchingPrivateKey => ("env:Sender", "ter:InvalidArgVal", "ter:NoMatchingPrivateKey"),
        KeystoreError::InvalidCertificationPath => ("env:Sender", "ter:InvalidArgVal", "ter:InvalidCertificationPath"),
        KeystoreError::NoPrivateKey => ("env:Sender", "ter:InvalidArgVal", "ter:NoPrivateKey"),
        KeystoreError::ReferenceExists => ("env:Sender", "ter:InvalidArgVal", "ter:ReferenceExists"),
        KeystoreError::BadKeyPair => ("env:Sender", "ter:InvalidArgVal", "ter:InvalidKeyPair"),
        KeystoreError::UnsupportedSignatureAlgorithm => {
            ("env:Sender", "ter:InvalidArgVal", "ter:UnsupportedSignatureAlgorithm")
        }
        KeystoreError::KeySignatureAlgorithmMismatch => {
            ("env:Sender", "ter:InvalidArgVal", "ter:KeySignatureAlgorithmMismatch")
        }
        KeystoreError::Failed(_) => ("env:Receiver", "ter:Action", "ter:CertificationPathCreationFailed"),
    };
    let http = if code == "env:Receiver" { 500 } else { 400 };
    fault_with(cam, st, http, code, sub, Some(sub2), &reason)
}

/// A change that answers with the ID of what it made.
fn created(cam: &Camera, st: &CameraState, op: &str, field: &str, made: Result<String, KeystoreError>) -> Reply {
    match made {
        Ok(id) => ok(cam, st, format!("<tas:{op}Response>{}</tas:{op}Response>", el(&format!("tas:{field}"), id)))
            .committed(After::Nothing),
        Err(e) => refused(cam, st, &e),
    }
}

/// A change that answers with an empty response element.
fn done(
    cam: &Camera,
    st: &mut CameraState,
    op: &str,
    change: impl FnOnce(&mut crate::keystore::Keystore) -> Result<(), KeystoreError>,
) -> Reply {
    match change(&mut st.certs.keystore) {
        Ok(()) => ok(cam, st, format!("<tas:{op}Response/>")).committed(After::Nothing),
        Err(e) => refused(cam, st, &e),
    }
}

/// An assignment change: the HTTPS identity follows, or nothing changes at all.
fn assign(
    cam: &Camera,
    st: &mut CameraState,
    op: &str,
    change: impl FnOnce(&mut crate::keystore::Keystore) -> Result<ServerChain, KeystoreError>,
) -> Reply {
    let before = st.certs.keystore.assigned.clone();
    let chain = match change(&mut st.certs.keystore) {
        Ok(c) => c,
        Err(e) => return refused(cam, st, &e),
    };
    let self_signed = crate::keystore::leaf_is_self_signed(&chain.chain_pem);
    match ServerIdentity::from_pem(chain.chain_pem, chain.key_pem, self_signed, &st.access.tls) {
        Ok(identity) => {
            st.certs.server = identity;
            ok(cam, st, format!("<tas:{op}Response/>")).committed(After::Nothing)
        }
        Err(e) => {
            st.certs.keystore.assigned = before;
            refused(cam, st, &KeystoreError::Failed(e.to_string()))
        }
    }
}

fn create_csr(cam: &Camera, st: &CameraState, node: Node<'_, '_>) -> Reply {
    let key_id = child_text(node, "KeyID").unwrap_or_default();
    let algorithm = child(node, "SignatureAlgorithm").and_then(|a| child_text(a, "algorithm"));
    let mut subject = Vec::new();
    if let Some(s) = child(node, "Subject") {
        for (name, kind) in [
            ("Country", DnType::CountryName),
            ("Organization", DnType::OrganizationName),
            ("OrganizationalUnit", DnType::OrganizationalUnitName),
            ("StateOrProvinceName", DnType::StateOrProvinceName),
            ("Locality", DnType::LocalityName),
            ("CommonName", DnType::CommonName),
        ] {
            for n in children(s, name) {
                subject.push((kind.clone(), n.text().unwrap_or("").trim().to_string()));
            }
        }
    }
    match st.certs.keystore.create_csr(&key_id, &subject, algorithm.as_deref()) {
        Ok(der) => ok(
            cam,
            st,
            format!(
                "<tas:CreatePKCS10CSRResponse>{}</tas:CreatePKCS10CSRResponse>",
                el("tas:PKCS10CSR", base64::engine::general_purpose::STANDARD.encode(der))
            ),
        ),
        Err(e) => refused(cam, st, &e),
    }
}

fn set_tls_versions(cam: &Camera, st: &mut CameraState, list: &str) -> Reply {
    let mut next = TlsVersions { tls1_0: false, tls1_1: false, tls1_2: false, tls1_3: false };
    for v in list.split_whitespace() {
        match v {
            "1.0" => next.tls1_0 = true,
            "1.1" => next.tls1_1 = true,
            "1.2" => next.tls1_2 = true,
            "1.3" => next.tls1_3 = true,
            other => return invalid_arg(cam, st, "TLSVersion", &format!("unknown TLS version {other}")),
        }
    }
    if list.split_whitespace().next().is_none() {
        return invalid_arg(cam, st, "EmptyList", "at least one TLS version must stay enabled");
    }
    match st.certs.server.with_versions(&next) {
        Ok(identity) => {
            st.certs.server = identity;
            st.access.tls = next;
            ok(cam, st, "<tas:SetEnabledTLSVersionsResponse/>").committed(After::Nothing)
        }
        // rustls serves 1.2 and 1.3 only (coverage ledger): a list without either is refused.
        Err(e) => invalid_arg(cam, st, "TLSVersion", &e.to_string()),
    }
}

fn base64_child(node: Node<'_, '_>, name: &str) -> Option<Vec<u8>> {
    let text: String = child_text(node, name)?.split_whitespace().collect();
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

fn certificate_xml(tag: &str, c: &crate::keystore::StoredCertificate) -> String {
    format!(
        "<{tag}>{}{}{}{}</{tag}>",
        el("tas:CertificateID", &c.id),
        el("tas:KeyID", &c.key_id),
        c.alias.as_ref().map(|a| el("tas:Alias", a)).unwrap_or_default(),
        el("tas:CertificateContent", base64::engine::general_purpose::STANDARD.encode(&c.der))
    )
}
