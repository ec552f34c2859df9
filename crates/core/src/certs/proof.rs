//! Proof of an install: a real TLS handshake that trusts only the site CA, checks the
//! address against the certificate's SANs and must show the certificate installed.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::ca::pem_der;
use super::{fingerprint, local, Pin, SiteCa};
use crate::error::{Error, Result};

impl SiteCa {
    fn root_store(&self) -> Result<rustls::RootCertStore> {
        let mut roots = rustls::RootCertStore::empty();
        let der = pem_der(&self.cert_pem).ok_or_else(|| local("CA certificate", "not PEM"))?;
        roots.add(rustls::pki_types::CertificateDer::from(der)).map_err(|e| local("CA certificate", e))?;
        Ok(roots)
    }
}

/// Prove an install: a TLS handshake that trusts only the site CA and checks the
/// address against the SANs must succeed, and show the expected certificate.
pub async fn verify_handshake(ca: &SiteCa, address: IpAddr, port: u16, expected_der: &[u8]) -> Result<Pin> {
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| local("TLS", e))?
        .with_root_certificates(ca.root_store()?)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let label = format!("{address}:{port}");
    let tcp =
        tokio::time::timeout(Duration::from_secs(10), tokio::net::TcpStream::connect(SocketAddr::new(address, port)))
            .await
            .map_err(|_| Error::Timeout { address: label.clone(), seconds: 10 })?
            .map_err(|e| Error::Unreachable { address: label.clone(), reason: e.to_string() })?;
    let name = rustls::pki_types::ServerName::IpAddress(address.into());
    let tls = tokio::time::timeout(Duration::from_secs(10), connector.connect(name, tcp))
        .await
        .map_err(|_| Error::Timeout { address: label.clone(), seconds: 10 })?
        .map_err(|e| Error::Device {
            address: label.clone(),
            operation: "TLS handshake with the site CA".into(),
            reason: e.to_string(),
        })?;
    let (_, session) = tls.get_ref();
    let leaf = session.peer_certificates().and_then(|c| c.first()).ok_or_else(|| Error::Device {
        address: label.clone(),
        operation: "TLS handshake".into(),
        reason: "no certificate presented".into(),
    })?;
    if leaf.as_ref() != expected_der {
        return Err(Error::Device {
            address: label,
            operation: "TLS handshake".into(),
            reason: "the device presents another certificate than the one installed".into(),
        });
    }
    Ok(Pin::installed(fingerprint(leaf.as_ref()), super::not_after(leaf.as_ref())))
}
