//! ISAPI changes on the device: a setting written back (GET, edit, PUT), any PUT with
//! its `ResponseStatus` checked, and the certificate install. Named `change` because
//! `write.rs` is already the pure document editor these PUTs send the output of.

use crate::setting::Setting;

use super::{wire, write, IsapiDriver};
use crate::driver::http::Answer;
use crate::error::{Error, Result};
use crate::posture::Value;

impl IsapiDriver {
    /// Change one setting: GET its document, edit it, PUT it back.
    pub async fn write_setting(&self, key: Setting, to: &Value, ctx: &write::WriteContext) -> Result<()> {
        if key == Setting::DiscoveryOnvif {
            let on = matches!(to, Value::Bool(true));
            return self.onvif_side().await?.set_discoverable(on).await;
        }
        let path = write::endpoint(key).ok_or_else(|| Error::Unsupported {
            address: self.http.address.clone(),
            operation: format!("write {key}"),
        })?;
        let current = self.http.call("GET", path, None).await?;
        ok_status(&self.http.address, path, &current)?;
        let body = write::edit(key, &current.body, to, ctx).map_err(|reason| Error::Malformed {
            address: self.http.address.clone(),
            operation: format!("GET {path}"),
            reason,
        })?;
        self.put(path, &body).await
    }

    /// The interface as the plan says. `true` when the device restarts to take a new
    /// address (it answered "reboot required" and was told to).
    pub async fn set_interface(&self, to: &crate::site::addresses::Interface) -> Result<bool> {
        const PATH: &str = "/ISAPI/System/Network/interfaces/1/ipAddress";
        let current = self.http.call("GET", PATH, None).await?;
        ok_status(&self.http.address, PATH, &current)?;
        let body = write::interface(&current.body, to).map_err(|reason| Error::Malformed {
            address: self.http.address.clone(),
            operation: format!("GET {PATH}"),
            reason,
        })?;
        let a = self.http.call("PUT", PATH, Some(("application/xml", &body))).await?;
        put_status(&self.http.address, PATH, &a)?;
        if !matches!(wire::response_status(&a.body), Some((7, _))) {
            return Ok(false);
        }
        // The answer to a reboot may never come: the device is already going.
        let _ = self.http.call("PUT", "/ISAPI/System/reboot", None).await;
        Ok(true)
    }

    /// PUT a document and check the `ResponseStatus`.
    pub async fn put(&self, path: &str, body: &str) -> Result<()> {
        let a = self.http.call("PUT", path, Some(("application/xml", body))).await?;
        put_status(&self.http.address, path, &a)
    }

    /// A certificate from the site CA for the camera's own key: the camera makes a CSR,
    /// we sign it (with our SANs), the camera installs the chain.
    pub async fn install_certificate(&self, ca: &crate::certs::SiteCa, names: &[String]) -> Result<crate::certs::Leaf> {
        const BASE: &str = "/ISAPI/Security/serverCertificate";
        let cn = names.first().cloned().unwrap_or_default();
        let sans: String =
            names.iter().map(|n| format!("<subjectAltName>{}</subjectAltName>", crate::xml::esc(n))).collect();
        let req = format!(
            "<CertificateReq version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><commonName>{}</commonName>{sans}</CertificateReq>",
            crate::xml::esc(&cn)
        );
        // The camera makes its key pair when asked for a CSR: minutes on some SoCs.
        let path = format!("{BASE}/certSignReq");
        let a = self
            .http
            .for_operation(crate::driver::Operation::KeyGeneration)
            .call("PUT", &path, Some(("application/xml", &req)))
            .await?;
        put_status(&self.http.address, &path, &a)?;
        let a = self.http.call("GET", &format!("{BASE}/downloadCertSignReq"), None).await?;
        ok_status(&self.http.address, "downloadCertSignReq", &a)?;
        let leaf = ca.sign_csr(&a.body, names)?;
        let path = format!("{BASE}/certificate");
        let r = self.http.call("PUT", &path, Some(("application/x-pem-file", &leaf.chain_pem))).await?;
        put_status(&self.http.address, &path, &r)?;
        Ok(leaf)
    }
}

pub(super) fn ok_status(address: &str, op: &str, a: &Answer) -> Result<()> {
    if a.status == 200 {
        return Ok(());
    }
    if wire::is_not_supported(a.status, &a.body) {
        return Err(Error::Unsupported { address: address.into(), operation: op.into() });
    }
    Err(Error::Device { address: address.into(), operation: op.into(), reason: format!("HTTP {}", a.status) })
}

/// A write's answer: 200 with statusCode 1 (OK) or 7 (reboot required) is success.
pub(super) fn put_status(address: &str, op: &str, a: &Answer) -> Result<()> {
    if a.status == 200 {
        return match wire::response_status(&a.body) {
            Some((1 | 7, _)) | None => Ok(()),
            Some((code, sub)) => Err(Error::Device {
                address: address.into(),
                operation: op.into(),
                reason: format!("statusCode {code} {sub}"),
            }),
        };
    }
    if wire::is_not_supported(a.status, &a.body) {
        return Err(Error::Unsupported { address: address.into(), operation: op.into() });
    }
    let detail = wire::response_status(&a.body).map(|(c, sub)| format!(" (statusCode {c} {sub})")).unwrap_or_default();
    Err(Error::Device { address: address.into(), operation: op.into(), reason: format!("HTTP {}{detail}", a.status) })
}
