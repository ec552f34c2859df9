//! The HTTPS identity a simulated camera presents: its certificate chain and key, and
//! the rustls configuration built from them. Rebuilt whenever a certificate is
//! installed or the enabled TLS versions change, so the next handshake shows the change.

use std::sync::{Arc, OnceLock};

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, SanType};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::state::TlsVersions;

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("certificate generation failed: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("bad PEM: {0}")]
    Pem(String),
    #[error("the certificate does not match the private key")]
    KeyMismatch,
    #[error("TLS configuration rejected: {0}")]
    Config(#[from] rustls::Error),
    #[error("no TLS version enabled that this simulator can serve (1.2 or 1.3)")]
    NoUsableVersion,
}

fn provider() -> Arc<CryptoProvider> {
    static PROVIDER: OnceLock<Arc<CryptoProvider>> = OnceLock::new();
    PROVIDER.get_or_init(|| Arc::new(rustls::crypto::ring::default_provider())).clone()
}

/// A certificate chain (leaf first) with its key, and the server config serving it.
pub struct ServerIdentity {
    pub chain_pem: String,
    pub key_pem: String,
    pub self_signed: bool,
    pub config: Arc<ServerConfig>,
}

impl std::fmt::Debug for ServerIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The private key is never printed.
        f.debug_struct("ServerIdentity").field("self_signed", &self.self_signed).finish_non_exhaustive()
    }
}

impl ServerIdentity {
    /// The factory certificate: self-signed, CN = the device serial, SAN = its address.
    pub fn self_signed(common_name: &str, address: &str, versions: &TlsVersions) -> Result<Self, TlsError> {
        let key = KeyPair::generate()?;
        let params = params_for(common_name, &[address.to_string()])?;
        let cert = params.self_signed(&key)?;
        Self::from_pem(cert.pem(), key.serialize_pem(), true, versions)
    }

    /// Install a chain and key given as PEM; refuses a chain whose leaf does not match the key.
    pub fn from_pem(
        chain_pem: String,
        key_pem: String,
        self_signed: bool,
        versions: &TlsVersions,
    ) -> Result<Self, TlsError> {
        let config = build_config(&chain_pem, &key_pem, versions)?;
        Ok(ServerIdentity { chain_pem, key_pem, self_signed, config })
    }

    /// Rebuild the server config after the enabled TLS versions changed.
    pub fn with_versions(&self, versions: &TlsVersions) -> Result<Self, TlsError> {
        Self::from_pem(self.chain_pem.clone(), self.key_pem.clone(), self.self_signed, versions)
    }

    /// DER of the leaf certificate.
    pub fn leaf_der(&self) -> Option<Vec<u8>> {
        CertificateDer::pem_slice_iter(self.chain_pem.as_bytes()).next()?.ok().map(|c| c.to_vec())
    }
}

fn params_for(common_name: &str, names: &[String]) -> Result<CertificateParams, TlsError> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    for n in names {
        let san = match n.parse::<std::net::IpAddr>() {
            Ok(ip) => SanType::IpAddress(ip),
            Err(_) => SanType::DnsName(n.clone().try_into()?),
        };
        params.subject_alt_names.push(san);
    }
    Ok(params)
}

/// A key pair generated on the device and a PKCS#10 request for it.
pub fn generate_csr(common_name: &str, names: &[String]) -> Result<(String, String), TlsError> {
    let key = KeyPair::generate()?;
    let params = params_for(common_name, names)?;
    let csr = params.serialize_request(&key)?;
    Ok((key.serialize_pem(), csr.pem()?))
}

fn build_config(chain_pem: &str, key_pem: &str, versions: &TlsVersions) -> Result<Arc<ServerConfig>, TlsError> {
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(chain_pem.as_bytes())
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError::Pem(e.to_string()))?;
    if chain.is_empty() {
        return Err(TlsError::Pem("no certificate in the chain".into()));
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| TlsError::Pem(e.to_string()))?;
    let mut protocol_versions: Vec<&'static rustls::SupportedProtocolVersion> = Vec::new();
    // rustls cannot speak TLS 1.0/1.1: a camera configured for those still serves 1.2/1.3
    // only (recorded in the simulator's coverage ledger).
    if versions.tls1_2 {
        protocol_versions.push(&rustls::version::TLS12);
    }
    if versions.tls1_3 {
        protocol_versions.push(&rustls::version::TLS13);
    }
    if protocol_versions.is_empty() {
        return Err(TlsError::NoUsableVersion);
    }
    let provider = provider();
    let certified = rustls::sign::CertifiedKey::from_der(chain, key, &provider).map_err(|e| match e {
        rustls::Error::InconsistentKeys(_) => TlsError::KeyMismatch,
        other => TlsError::Config(other),
    })?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&protocol_versions)?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(FixedCert(Arc::new(certified))));
    Ok(Arc::new(config))
}

/// Serves one chain whatever the client asks for, as a camera does.
#[derive(Debug)]
struct FixedCert(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for FixedCert {
    fn resolve(&self, _hello: rustls::server::ClientHello<'_>) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}
