//! The HTTPS server certificate: a CSR generated on the camera, installing a signed
//! certificate (for that CSR's key, or with its own key in the same upload), and
//! going back to the factory self-signed one. Bodies here are UNCONFIRMED on real
//! firmware (protocols.md §4.5.17); the choices are listed in the coverage ledger.

use super::*;
use crate::state::PendingCsr;
use crate::tls::{generate_csr, ServerIdentity};
use crate::xml::{child_text, find_text};

const BASE: &str = "/ISAPI/Security/serverCertificate";

pub(super) fn route(cam: &Camera, st: &mut CameraState, req: &HttpRequest, path: &str, body: &str) -> Option<Reply> {
    let rest = path.strip_prefix(BASE)?;
    let m = req.method.as_str();
    Some(match (m, rest) {
        ("PUT" | "POST", "/certSignReq") => create_csr(cam, st, body),
        ("GET", "/certSignReq") => csr_status(cam, st),
        ("DELETE", "/certSignReq") => {
            st.certs.pending_csr = None;
            ok_status(cam, st, After::Nothing)
        }
        ("GET", "/downloadCertSignReq") => match &st.certs.pending_csr {
            Some(p) => Reply::new(200, "application/x-pem-file", p.csr_pem.clone()),
            None => not_supported(cam, st),
        },
        ("GET", "/certificate") => certificate(cam, st),
        ("PUT" | "POST", "/certificate") => install(cam, st, body),
        ("DELETE", "/certificate") => reset(cam, st),
        _ => method_not_allowed(cam, st),
    })
}

fn create_csr(cam: &Camera, st: &mut CameraState, body: &str) -> Reply {
    let (cn, mut sans) = if body.trim().is_empty() {
        (st.identity.serial.clone(), Vec::new())
    } else {
        let doc = match parse_body(cam, st, body) {
            Ok(d) => d,
            Err(r) => return r,
        };
        let root = doc.root_element();
        let cn = child_text(root, "commonName").unwrap_or_else(|| st.identity.serial.clone());
        let sans: Vec<String> = root
            .descendants()
            .filter(|n| n.is_element() && matches!(n.tag_name().name(), "subjectAltName" | "ipAddress" | "hostName"))
            .filter_map(|n| n.text().map(|t| t.trim().to_string()))
            .filter(|t| !t.is_empty())
            .collect();
        (cn, sans)
    };
    if sans.is_empty() {
        sans.push(st.address.to_string());
    }
    match generate_csr(&cn, &sans) {
        Ok((key_pem, csr_pem)) => {
            st.certs.pending_csr = Some(PendingCsr { key_pem, csr_pem });
            ok_status(cam, st, After::Nothing)
        }
        Err(e) => bad_content(cam, st, &e.to_string()),
    }
}

fn csr_status(cam: &Camera, st: &CameraState) -> Reply {
    let status = if st.certs.pending_csr.is_some() { "pending" } else { "none" };
    ok_xml(cam, st, "CertificateReq", &el("status", status))
}

fn certificate(cam: &Camera, st: &CameraState) -> Reply {
    let s = &st.certs.server;
    let inner = format!("{}{}", el("selfSigned", s.self_signed), el("certificate", &s.chain_pem));
    ok_xml(cam, st, "ServerCertificate", &inner)
}

/// The upload is PEM: a chain (leaf first), optionally followed by its private key.
/// It may come bare or inside any XML element named `certificate`/`privateKey`.
fn install(cam: &Camera, st: &mut CameraState, body: &str) -> Reply {
    let (chain, key) = if body.trim_start().starts_with("-----BEGIN") {
        split_pem(body)
    } else {
        match crate::xml::parse(body) {
            Ok(doc) => {
                let root = doc.root_element();
                let chain = find_text(root, "certificate").unwrap_or_default();
                let key = find_text(root, "privateKey");
                let (chain, key_in_chain) = split_pem(&chain);
                (chain, key.or(key_in_chain))
            }
            Err(_) => return bad_format(cam, st),
        }
    };
    if chain.is_empty() {
        return bad_content(cam, st, "no certificate in the upload");
    }
    let key = match key.or_else(|| st.certs.pending_csr.as_ref().map(|p| p.key_pem.clone())) {
        Some(k) => k,
        None => return bad_content(cam, st, "no private key: generate a CSR first or upload the key"),
    };
    match ServerIdentity::from_pem(chain, key, false, &st.access.tls) {
        Ok(identity) => {
            st.certs.server = identity;
            st.certs.pending_csr = None;
            ok_status(cam, st, After::Nothing)
        }
        Err(e) => bad_content(cam, st, &e.to_string()),
    }
}

fn reset(cam: &Camera, st: &mut CameraState) -> Reply {
    match ServerIdentity::self_signed(&st.identity.serial, &st.address.to_string(), &st.access.tls) {
        Ok(identity) => {
            st.certs.server = identity;
            ok_status(cam, st, After::Nothing)
        }
        Err(e) => bad_content(cam, st, &e.to_string()),
    }
}

/// Separate certificate blocks from a private-key block in one PEM text.
fn split_pem(text: &str) -> (String, Option<String>) {
    let mut chain = String::new();
    let mut key = None;
    let mut current = String::new();
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line.starts_with("-----END") {
            if line.contains("PRIVATE KEY") {
                key = Some(std::mem::take(&mut current));
            } else {
                chain.push_str(&std::mem::take(&mut current));
            }
        }
    }
    (chain, key)
}
