//! Certificates and TLS versions through ONVIF Advanced Security (`tas`,
//! protocols.md §3.6): the service's address from GetServices, the served certificate
//! read from the keystore, a certificate installed from a key the camera makes (CSR
//! signed by the site CA) or, where the camera cannot make one, from a key made here
//! and uploaded over TLS; then one Replace of the served path, so HTTPS is never
//! without a certificate.

use std::time::Duration;

use base64::Engine;

use super::{wire, OnvifDriver, Soap};
use crate::certs::{Leaf, SiteCa};
use crate::error::{Error, Result};
use crate::posture::{Reading, Value};
use crate::xml::esc;

/// Marks what Portcullis put in a keystore, so a renewal removes only its own items.
pub const ALIAS: &str = "portcullis";

impl OnvifDriver {
    /// The Advanced Security service's path, asked once per driver; `None` when the
    /// device lists no such service.
    pub(super) async fn security_path(&self) -> Result<Option<String>> {
        if let Some(known) = self.security_path.lock().ok().and_then(|p| p.clone()) {
            return Ok(known);
        }
        let found = match self
            .call(
                "GetServices",
                "<tds:GetServices><tds:IncludeCapability>false</tds:IncludeCapability></tds:GetServices>",
            )
            .await?
        {
            Soap::Ok(body) => wire::services(&body)
                .map_err(|reason| self.malformed("GetServices", reason))?
                .into_iter()
                .find(|(ns, _)| ns == wire::NS_TAS)
                .and_then(|(_, xaddr)| wire::xaddr_path(&xaddr)),
            Soap::Fault(_) => None,
        };
        if let Ok(mut p) = self.security_path.lock() {
            *p = Some(found.clone());
        }
        Ok(found)
    }

    fn malformed(&self, operation: &str, reason: String) -> Error {
        Error::Malformed { address: self.address(), operation: operation.into(), reason }
    }

    /// One Advanced Security operation; a fault is an error naming its subcodes.
    async fn tas(&self, path: &str, op: &str, inner: &str) -> Result<String> {
        let body = if inner.is_empty() { format!("<tas:{op}/>") } else { format!("<tas:{op}>{inner}</tas:{op}>") };
        let answer = self.call_at(path, op, &body).await?;
        self.expect_ok(op, answer)
    }

    async fn tas_text(&self, path: &str, op: &str, inner: &str, field: &str) -> Result<String> {
        let body = self.tas(path, op, inner).await?;
        wire::text_of(&body, field).map_err(|reason| self.malformed(op, reason))
    }

    async fn required_security_path(&self) -> Result<String> {
        self.security_path()
            .await?
            .ok_or_else(|| Error::Unsupported { address: self.address(), operation: "ONVIF Advanced Security".into() })
    }

    /// Whether the served certificate is self-signed. The device service's
    /// GetCertificates answers in the same round trip as every other read; only a
    /// device without it (or with several certificates) costs more exchanges.
    pub async fn served_certificate_self_signed(&self) -> Result<Reading> {
        let listed = match self.call("GetCertificates", "<tds:GetCertificates/>").await? {
            Soap::Ok(body) => wire::nvt_certificates(&body).map_err(|r| self.malformed("GetCertificates", r))?,
            Soap::Fault(f) if f.not_supported() => return self.keystore_certificate_self_signed().await,
            Soap::Fault(f) => return Ok(Reading::Unknown(f.describe())),
        };
        let served = match listed.as_slice() {
            [] => return self.keystore_certificate_self_signed().await,
            [only] => Some(only),
            several => {
                let status = match self.call("GetCertificatesStatus", "<tds:GetCertificatesStatus/>").await? {
                    Soap::Ok(body) => wire::certificates_status(&body).unwrap_or_default(),
                    Soap::Fault(_) => Vec::new(),
                };
                several.iter().find(|(id, _)| status.iter().any(|(s, on)| s == id && *on))
            }
        };
        match served {
            Some((_, der)) => {
                Ok(wire::is_self_signed(der).map_or_else(Reading::Unknown, |b| Reading::Known(Value::Bool(b))))
            }
            None => Ok(Reading::Unknown("several certificates and none marked in use".into())),
        }
    }

    /// Whether the certificate the TLS server presents is its own issuer, read from
    /// the keystore: the assigned path's first certificate.
    async fn keystore_certificate_self_signed(&self) -> Result<Reading> {
        let Some(path) = self.security_path().await? else { return Ok(Reading::Unsupported) };
        let assigned = self.tas(&path, "GetAssignedServerCertificates", "").await?;
        let ids = wire::texts_of(&assigned, "CertificationPathID")
            .map_err(|r| self.malformed("GetAssignedServerCertificates", r))?;
        let Some(first) = ids.first() else {
            return Ok(Reading::Unknown("no server certificate is assigned".into()));
        };
        let inner = format!("<tas:CertificationPathID>{}</tas:CertificationPathID>", esc(first));
        let leaf_id = self.tas_text(&path, "GetCertificationPath", &inner, "CertificateID").await?;
        let inner = format!("<tas:CertificateID>{}</tas:CertificateID>", esc(&leaf_id));
        let content = self.tas_text(&path, "GetCertificate", &inner, "CertificateContent").await?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(content.split_whitespace().collect::<String>())
            .map_err(|e| self.malformed("GetCertificate", e.to_string()))?;
        let (_, cert) =
            x509_parser::parse_x509_certificate(&der).map_err(|e| self.malformed("GetCertificate", e.to_string()))?;
        Ok(Reading::Known(Value::Bool(cert.issuer() == cert.subject())))
    }

    /// Install a certificate from the site CA and make the TLS server present it.
    pub async fn install_certificate(&self, ca: &SiteCa, names: &[String]) -> Result<Leaf> {
        let path = self.required_security_path().await?;
        let caps = self.tas(&path, "GetServiceCapabilities", "").await?;
        let caps = wire::keystore_capabilities(&caps).map_err(|r| self.malformed("GetServiceCapabilities", r))?;
        self.sweep_leftovers(&path).await;
        let leaf = if caps.rsa_key_generation && caps.pkcs10 {
            self.leaf_from_device_key(&path, &caps, ca, names).await?
        } else if caps.pkcs8_upload {
            self.leaf_with_uploaded_key(&path, ca, names).await?
        } else {
            return Err(Error::Unsupported {
                address: self.address(),
                operation: "certificate install (the keystore neither makes CSRs nor takes a key pair)".into(),
            });
        };
        let leaf_der = b64(&leaf.der);
        let upload = |der: &str, required: bool| {
            format!(
                "<tas:Certificate>{der}</tas:Certificate><tas:Alias>{ALIAS}</tas:Alias><tas:PrivateKeyRequired>{required}</tas:PrivateKeyRequired>"
            )
        };
        let leaf_id = self.tas_text(&path, "UploadCertificate", &upload(&leaf_der, true), "CertificateID").await?;
        let ca_id =
            self.tas_text(&path, "UploadCertificate", &upload(&b64(&ca.cert_der()?), false), "CertificateID").await?;
        let ids = format!(
            "<tas:CertificateIDs><tas:CertificateID>{}</tas:CertificateID><tas:CertificateID>{}</tas:CertificateID></tas:CertificateIDs><tas:Alias>{ALIAS}</tas:Alias>",
            esc(&leaf_id),
            esc(&ca_id)
        );
        let new_path = self.tas_text(&path, "CreateCertificationPath", &ids, "CertificationPathID").await?;
        let assigned = self.tas(&path, "GetAssignedServerCertificates", "").await?;
        let old = wire::texts_of(&assigned, "CertificationPathID")
            .map_err(|r| self.malformed("GetAssignedServerCertificates", r))?;
        match old.first() {
            Some(old) => {
                let inner = format!(
                    "<tas:OldCertificationPathID>{}</tas:OldCertificationPathID><tas:NewCertificationPathID>{}</tas:NewCertificationPathID>",
                    esc(old),
                    esc(&new_path)
                );
                self.tas(&path, "ReplaceServerCertificateAssignment", &inner).await?;
                // A renewal: the path served before is ours and no longer served.
                self.sweep_leftovers(&path).await;
            }
            None => {
                let inner = format!("<tas:CertificationPathID>{}</tas:CertificationPathID>", esc(&new_path));
                self.tas(&path, "AddServerCertificateAssignment", &inner).await?;
            }
        }
        Ok(leaf)
    }

    /// CreateRSAKeyPair, wait for the key, CreatePKCS10CSR, sign it here.
    async fn leaf_from_device_key(
        &self,
        path: &str,
        caps: &wire::KeystoreCapabilities,
        ca: &SiteCa,
        names: &[String],
    ) -> Result<Leaf> {
        let bits = caps.rsa_key_lengths.iter().copied().filter(|b| *b >= 2048).min().unwrap_or(2048);
        let inner = format!("<tas:KeyLength>{bits}</tas:KeyLength><tas:Alias>{ALIAS}</tas:Alias>");
        let made = self.tas(path, "CreateRSAKeyPair", &inner).await?;
        let key_id = wire::text_of(&made, "KeyID").map_err(|r| self.malformed("CreateRSAKeyPair", r))?;
        let estimate = wire::text_of(&made, "EstimatedCreationTime").ok().and_then(|d| wire::duration_seconds(&d));
        self.await_key(path, &key_id, estimate).await?;
        let subject = format!(
            "<tas:Subject><tt:CommonName>{}</tt:CommonName></tas:Subject>",
            esc(names.first().map_or("", String::as_str))
        );
        let inner = format!(
            "{subject}<tas:KeyID>{}</tas:KeyID><tas:SignatureAlgorithm><tt:algorithm>{}</tt:algorithm></tas:SignatureAlgorithm>",
            esc(&key_id),
            wire::SHA256_WITH_RSA
        );
        let csr = self.tas_text(path, "CreatePKCS10CSR", &inner, "PKCS10CSR").await?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(csr.split_whitespace().collect::<String>())
            .map_err(|e| self.malformed("CreatePKCS10CSR", e.to_string()))?;
        ca.sign_csr_der(&der, names)
    }

    /// Poll GetKeyStatus until the key is `ok`: first after the device's estimate.
    async fn await_key(&self, path: &str, key_id: &str, estimate_s: Option<f64>) -> Result<()> {
        let first = Duration::from_secs_f64(estimate_s.unwrap_or(1.0).clamp(0.1, 10.0));
        // The runtime's clock, as the sleeps between polls are (a paused clock in tests).
        let started = tokio::time::Instant::now();
        // How long a camera may take to make a key before the install gives up.
        let limit = self.http.timings().of(crate::driver::Operation::KeyGeneration);
        tokio::time::sleep(first).await;
        let inner = format!("<tas:KeyID>{}</tas:KeyID>", esc(key_id));
        loop {
            let status = self.tas_text(path, "GetKeyStatus", &inner, "KeyStatus").await?;
            match status.as_str() {
                "ok" => return Ok(()),
                "generating" if started.elapsed() < limit => {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                other => {
                    let why = if other == "generating" {
                        format!("still generating after {} s", limit.as_secs())
                    } else {
                        format!("key status {other}")
                    };
                    let _ = self.tas(path, "DeleteKey", &inner).await;
                    return Err(Error::Device {
                        address: self.address(),
                        operation: "CreateRSAKeyPair".into(),
                        reason: why,
                    });
                }
            }
        }
    }

    /// The fallback: a key made here travels to the device once, and only over TLS.
    async fn leaf_with_uploaded_key(&self, path: &str, ca: &SiteCa, names: &[String]) -> Result<Leaf> {
        if !self.http.base.starts_with("https://") {
            return Err(Error::Unsupported {
                address: self.address(),
                operation: "certificate install: the device cannot make its own key, and a private key is never sent over plain HTTP".into(),
            });
        }
        let (leaf, key) = ca.issue_with_new_key(names)?;
        let inner = format!("<tas:KeyPair>{}</tas:KeyPair><tas:Alias>{ALIAS}</tas:Alias>", key.expose());
        self.tas(path, "UploadKeyPairInPKCS8", &inner).await?;
        Ok(leaf)
    }

    /// Remove what Portcullis put in the keystore and nothing uses any more: the path a
    /// renewal replaced, or what an interrupted install left (a run killed between
    /// CreateRSAKeyPair and the assignment). Paths not served, certificates in no path,
    /// then keys of no certificate: ours, or those of a certificate removed here (the
    /// public key an uploaded CA certificate brought). Without this a camera's keystore
    /// fills up after a few renewals or crashes. Best effort: nothing here changes what
    /// is served.
    async fn sweep_leftovers(&self, path: &str) {
        let Ok(assigned) = self.tas(path, "GetAssignedServerCertificates", "").await else { return };
        let assigned = wire::texts_of(&assigned, "CertificationPathID").unwrap_or_default();
        let Ok(all) = self.tas(path, "GetAllCertificationPaths", "").await else { return };
        let mut in_use = Vec::new();
        for id in wire::texts_of(&all, "CertificationPathID").unwrap_or_default() {
            let inner = format!("<tas:CertificationPathID>{}</tas:CertificationPathID>", esc(&id));
            let Ok(body) = self.tas(path, "GetCertificationPath", &inner).await else { continue };
            let ours = wire::text_of(&body, "Alias").ok().as_deref() == Some(ALIAS);
            if ours && !assigned.contains(&id) && self.tas(path, "DeleteCertificationPath", &inner).await.is_ok() {
                continue;
            }
            in_use.extend(wire::texts_of(&body, "CertificateID").unwrap_or_default());
        }
        let certificates = match self.tas(path, "GetAllCertificates", "").await {
            Ok(b) => wire::records(&b, "Certificate").unwrap_or_default(),
            Err(_) => return,
        };
        let (mut keys_in_use, mut keys_freed) = (Vec::new(), Vec::new());
        for c in &certificates {
            let (Some(id), key) = (wire::field(c, "CertificateID"), wire::field(c, "KeyID")) else { continue };
            let ours = wire::field(c, "Alias") == Some(ALIAS);
            let inner = format!("<tas:CertificateID>{}</tas:CertificateID>", esc(id));
            if ours && !in_use.iter().any(|u| u == id) && self.tas(path, "DeleteCertificate", &inner).await.is_ok() {
                keys_freed.extend(key.map(str::to_string));
                continue;
            }
            keys_in_use.extend(key.map(str::to_string));
        }
        let keys = match self.tas(path, "GetAllKeys", "").await {
            Ok(b) => wire::records(&b, "KeyAttribute").unwrap_or_default(),
            Err(_) => return,
        };
        for k in &keys {
            let Some(id) = wire::field(k, "KeyID") else { continue };
            let ours = wire::field(k, "Alias") == Some(ALIAS) || keys_freed.iter().any(|f| f == id);
            if ours && !keys_in_use.iter().any(|u| u == id) {
                let _ = self.tas(path, "DeleteKey", &format!("<tas:KeyID>{}</tas:KeyID>", esc(id))).await;
            }
        }
    }

    /// Switch one TLS version on or off (SetEnabledTLSVersions keeps the others).
    pub async fn set_tls_version(&self, version: &str, on: bool) -> Result<()> {
        let path = self.required_security_path().await?;
        let now = self.tas_text(&path, "GetEnabledTLSVersions", "", "Versions").await.unwrap_or_default();
        let mut versions: Vec<&str> = now.split_whitespace().filter(|v| *v != version).collect();
        if on {
            versions.push(version);
        }
        versions.sort_unstable();
        if versions.is_empty() {
            return Err(Error::Input(format!("switching TLS {version} off would leave no TLS version enabled")));
        }
        let inner = format!("<tas:Versions>{}</tas:Versions>", versions.join(" "));
        self.tas(&path, "SetEnabledTLSVersions", &inner).await.map(|_| ())
    }
}

fn b64(der: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(der)
}
