//! The keystore of ONVIF Advanced Security (protocols.md §3.6): key pairs generated on
//! the camera (asynchronously, as real firmware does) or uploaded, certificates,
//! certification paths, and the path the TLS server presents. Protocol-free: the SOAP
//! side lives in `onvif::security`; this module keeps the rules an operation must obey.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, PublicKeyData};
use rsa::pkcs8::EncodePrivateKey;
use x509_parser::prelude::{FromDer, X509Certificate};

use crate::tls::ServerIdentity;

/// Limits advertised in the capabilities and enforced.
pub const MAX_KEYS: usize = 8;
pub const MAX_CERTIFICATES: usize = 16;
pub const MAX_PATHS: usize = 8;
pub const MAX_TLS_PATHS: usize = 1;
/// RSA key lengths this keystore generates.
pub const RSA_KEY_LENGTHS: [u32; 2] = [2048, 3072];
/// The signature algorithms CSRs are signed with (standard OIDs).
pub const SHA256_WITH_RSA: &str = "1.2.840.113549.1.1.11";
pub const ECDSA_WITH_SHA256: &str = "1.2.840.10045.4.3.2";
/// What CreateRSAKeyPair tells a client to wait before the first status poll.
pub const ESTIMATED_CREATION: Duration = Duration::from_secs(1);

/// Why a keystore operation was refused; each maps to one ONVIF fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeystoreError {
    #[error("unsupported key length {0}")]
    KeyLength(u32),
    #[error("the keystore holds the maximum number of keys")]
    MaximumNumberOfKeysReached,
    #[error("the keystore holds the maximum number of certificates")]
    MaximumNumberOfCertificatesReached,
    #[error("the keystore holds the maximum number of certification paths")]
    MaximumNumberOfCertificationPathsReached,
    #[error("the TLS server already has its maximum number of certification paths")]
    MaximumNumberOfTLSCertificationPathsReached,
    #[error("no key with this ID")]
    InvalidKeyId,
    #[error("the key is not ready (still generating, corrupt, or without a private key)")]
    InvalidKeyStatus,
    #[error("no certificate with this ID")]
    InvalidCertificateId,
    #[error("no certification path with this ID")]
    InvalidCertificationPathId,
    #[error("not a DER-encoded X.509 certificate")]
    BadCertificate,
    #[error("no key in the keystore matches the certificate's public key")]
    NoMatchingPrivateKey,
    #[error("a certificate of the path is not signed by the next one")]
    InvalidCertificationPath,
    #[error("the path's first certificate has no private key on the device")]
    NoPrivateKey,
    #[error("the item is still referenced")]
    ReferenceExists,
    #[error("not a PKCS#8 private key this device can use")]
    BadKeyPair,
    #[error("unsupported signature algorithm")]
    UnsupportedSignatureAlgorithm,
    #[error("the signature algorithm does not fit the key")]
    KeySignatureAlgorithmMismatch,
    #[error("{0}")]
    Failed(String),
}

/// The state of a key, as GetKeyStatus reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyStatus {
    Ok,
    Generating,
    Corrupt,
}

impl KeyStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyStatus::Ok => "ok",
            KeyStatus::Generating => "generating",
            KeyStatus::Corrupt => "corrupt",
        }
    }
}

/// A key pair, or a public key alone (from an uploaded certificate without a match).
#[derive(Debug, Clone)]
struct KeyMaterial {
    /// PKCS#8 PEM of the private key; `None` for a public key only.
    private_pem: Option<String>,
    /// The raw public key bits (what a certificate's SubjectPublicKeyInfo carries).
    public_key: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct Key {
    pub id: String,
    pub alias: Option<String>,
    pub externally_generated: bool,
    /// Filled by the generating thread: the key, or why generation failed.
    material: Arc<OnceLock<Result<KeyMaterial, String>>>,
}

impl Key {
    pub fn status(&self) -> KeyStatus {
        match self.material.get() {
            None => KeyStatus::Generating,
            Some(Ok(_)) => KeyStatus::Ok,
            Some(Err(_)) => KeyStatus::Corrupt,
        }
    }
    fn ready(&self) -> Option<&KeyMaterial> {
        self.material.get().and_then(|m| m.as_ref().ok())
    }
    pub fn has_private_key(&self) -> bool {
        self.ready().is_some_and(|m| m.private_pem.is_some())
    }
}

#[derive(Debug, Clone)]
pub struct StoredCertificate {
    pub id: String,
    pub key_id: String,
    pub alias: Option<String>,
    pub der: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct CertificationPath {
    pub id: String,
    pub alias: Option<String>,
    /// Leaf first; each certificate is signed by the next.
    pub certificate_ids: Vec<String>,
}

/// What the TLS server should present after an assignment changed.
#[derive(Debug)]
pub struct ServerChain {
    pub chain_pem: String,
    pub key_pem: String,
}

#[derive(Debug, Default)]
pub struct Keystore {
    pub keys: Vec<Key>,
    pub certificates: Vec<StoredCertificate>,
    pub paths: Vec<CertificationPath>,
    /// The certification paths the TLS server uses (at most [`MAX_TLS_PATHS`]).
    pub assigned: Vec<String>,
    next_id: u32,
}

impl Keystore {
    /// The factory keystore: the key and self-signed certificate the TLS server starts
    /// with, as one certification path, assigned.
    pub fn factory(server: &ServerIdentity) -> Keystore {
        let mut ks = Keystore::default();
        let (Some(der), Ok(key)) = (server.leaf_der(), KeyPair::from_pem(&server.key_pem)) else {
            return ks;
        };
        let key_id = ks.new_id("KEY");
        ks.keys.push(Key {
            id: key_id.clone(),
            alias: Some("factory".into()),
            externally_generated: false,
            material: Arc::new(OnceLock::from(Ok(KeyMaterial {
                private_pem: Some(server.key_pem.clone()),
                public_key: key.der_bytes().to_vec(),
            }))),
        });
        let cert_id = ks.new_id("CERT");
        ks.certificates.push(StoredCertificate { id: cert_id.clone(), key_id, alias: Some("factory".into()), der });
        let path_id = ks.new_id("CP");
        ks.paths.push(CertificationPath {
            id: path_id.clone(),
            alias: Some("factory".into()),
            certificate_ids: vec![cert_id],
        });
        ks.assigned.push(path_id);
        ks
    }

    fn new_id(&mut self, kind: &str) -> String {
        self.next_id += 1;
        format!("{kind}-{}", self.next_id)
    }

    pub fn key(&self, id: &str) -> Result<&Key, KeystoreError> {
        self.keys.iter().find(|k| k.id == id).ok_or(KeystoreError::InvalidKeyId)
    }

    pub fn certificate(&self, id: &str) -> Result<&StoredCertificate, KeystoreError> {
        self.certificates.iter().find(|c| c.id == id).ok_or(KeystoreError::InvalidCertificateId)
    }

    pub fn path(&self, id: &str) -> Result<&CertificationPath, KeystoreError> {
        self.paths.iter().find(|p| p.id == id).ok_or(KeystoreError::InvalidCertificationPathId)
    }

    /// Start generating an RSA key pair on a thread of its own; the key reads
    /// `generating` until it is done. `slow` stretches the work (a slow camera).
    pub fn create_rsa_key(
        &mut self,
        bits: u32,
        alias: Option<String>,
        slow: Duration,
    ) -> Result<String, KeystoreError> {
        if !RSA_KEY_LENGTHS.contains(&bits) {
            return Err(KeystoreError::KeyLength(bits));
        }
        if self.keys.len() >= MAX_KEYS {
            return Err(KeystoreError::MaximumNumberOfKeysReached);
        }
        let id = self.new_id("KEY");
        let material = Arc::new(OnceLock::new());
        let slot = material.clone();
        std::thread::spawn(move || {
            std::thread::sleep(slow);
            let _ = slot.set(generate_rsa(bits));
        });
        self.keys.push(Key { id: id.clone(), alias, externally_generated: false, material });
        Ok(id)
    }

    /// A key pair given as PKCS#8 DER (UploadKeyPairInPKCS8).
    pub fn upload_key_pair(&mut self, pkcs8_der: &[u8], alias: Option<String>) -> Result<String, KeystoreError> {
        if self.keys.len() >= MAX_KEYS {
            return Err(KeystoreError::MaximumNumberOfKeysReached);
        }
        let pem = pem_block("PRIVATE KEY", pkcs8_der);
        let key = KeyPair::from_pem(&pem).map_err(|_| KeystoreError::BadKeyPair)?;
        let id = self.new_id("KEY");
        let material = KeyMaterial { private_pem: Some(pem), public_key: key.der_bytes().to_vec() };
        self.keys.push(Key {
            id: id.clone(),
            alias,
            externally_generated: true,
            material: Arc::new(OnceLock::from(Ok(material))),
        });
        Ok(id)
    }

    /// A PKCS#10 request for a key of the store, signed with that key (`algorithm`: the
    /// signature algorithm's OID, if the client names one).
    pub fn create_csr(
        &self,
        key_id: &str,
        subject: &[(DnType, String)],
        algorithm: Option<&str>,
    ) -> Result<Vec<u8>, KeystoreError> {
        let key = self.key(key_id)?;
        let pem = key.ready().and_then(|m| m.private_pem.clone()).ok_or(KeystoreError::InvalidKeyStatus)?;
        let pair = KeyPair::from_pem(&pem).map_err(|e| KeystoreError::Failed(e.to_string()))?;
        let is_rsa = pair.algorithm() == &rcgen::PKCS_RSA_SHA256;
        match algorithm {
            None => {}
            Some(SHA256_WITH_RSA) if is_rsa => {}
            Some(ECDSA_WITH_SHA256) if pair.algorithm() == &rcgen::PKCS_ECDSA_P256_SHA256 => {}
            Some(SHA256_WITH_RSA | ECDSA_WITH_SHA256) => return Err(KeystoreError::KeySignatureAlgorithmMismatch),
            Some(_) => return Err(KeystoreError::UnsupportedSignatureAlgorithm),
        }
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        for (kind, value) in subject {
            dn.push(kind.clone(), value.as_str());
        }
        params.distinguished_name = dn;
        let csr = params.serialize_request(&pair).map_err(|e| KeystoreError::Failed(e.to_string()))?;
        Ok(csr.der().to_vec())
    }

    /// Store a certificate; its key is the store's key with the same public key, or a
    /// new public-only key when none matches and no private key is required.
    pub fn upload_certificate(
        &mut self,
        der: &[u8],
        alias: Option<String>,
        private_key_required: bool,
    ) -> Result<(String, String), KeystoreError> {
        let public_key = public_key_of(der)?;
        if self.certificates.len() >= MAX_CERTIFICATES {
            return Err(KeystoreError::MaximumNumberOfCertificatesReached);
        }
        let matching = self.keys.iter().find(|k| k.ready().is_some_and(|m| m.public_key == public_key));
        let key_id = match matching {
            Some(k) if private_key_required && !k.has_private_key() => return Err(KeystoreError::NoMatchingPrivateKey),
            Some(k) => k.id.clone(),
            None if private_key_required => return Err(KeystoreError::NoMatchingPrivateKey),
            None => {
                if self.keys.len() >= MAX_KEYS {
                    return Err(KeystoreError::MaximumNumberOfKeysReached);
                }
                let id = self.new_id("KEY");
                let material = KeyMaterial { private_pem: None, public_key };
                self.keys.push(Key {
                    id: id.clone(),
                    alias: None,
                    externally_generated: true,
                    material: Arc::new(OnceLock::from(Ok(material))),
                });
                id
            }
        };
        let id = self.new_id("CERT");
        self.certificates.push(StoredCertificate { id: id.clone(), key_id: key_id.clone(), alias, der: der.to_vec() });
        Ok((id, key_id))
    }

    /// A path of stored certificates, leaf first, each signed by the next.
    pub fn create_path(&mut self, ids: &[String], alias: Option<String>) -> Result<String, KeystoreError> {
        if ids.is_empty() {
            return Err(KeystoreError::InvalidCertificationPath);
        }
        if self.paths.len() >= MAX_PATHS {
            return Err(KeystoreError::MaximumNumberOfCertificationPathsReached);
        }
        let ders = ids.iter().map(|id| self.certificate(id).map(|c| c.der.clone())).collect::<Result<Vec<_>, _>>()?;
        if ders.iter().zip(ders.iter().skip(1)).any(|(child, issuer)| !signed_by(child, issuer)) {
            return Err(KeystoreError::InvalidCertificationPath);
        }
        let id = self.new_id("CP");
        self.paths.push(CertificationPath { id: id.clone(), alias, certificate_ids: ids.to_vec() });
        Ok(id)
    }

    /// The chain and key the TLS server needs to present a path.
    pub fn server_chain(&self, path_id: &str) -> Result<ServerChain, KeystoreError> {
        let path = self.path(path_id)?;
        let mut chain_pem = String::new();
        for id in &path.certificate_ids {
            chain_pem.push_str(&pem_block("CERTIFICATE", &self.certificate(id)?.der));
        }
        let leaf_id = path.certificate_ids.first().ok_or(KeystoreError::InvalidCertificationPath)?;
        let leaf = self.certificate(leaf_id)?;
        let key_pem =
            self.key(&leaf.key_id)?.ready().and_then(|m| m.private_pem.clone()).ok_or(KeystoreError::NoPrivateKey)?;
        Ok(ServerChain { chain_pem, key_pem })
    }

    /// AddServerCertificateAssignment: the chain to serve from now on.
    pub fn add_assignment(&mut self, path_id: &str) -> Result<ServerChain, KeystoreError> {
        let chain = self.server_chain(path_id)?;
        if self.assigned.iter().any(|p| p == path_id) {
            return Ok(chain);
        }
        if self.assigned.len() >= MAX_TLS_PATHS {
            return Err(KeystoreError::MaximumNumberOfTLSCertificationPathsReached);
        }
        self.assigned.push(path_id.to_string());
        Ok(chain)
    }

    /// ReplaceServerCertificateAssignment: swap one path for another with no moment
    /// in which the server has none.
    pub fn replace_assignment(&mut self, old: &str, new: &str) -> Result<ServerChain, KeystoreError> {
        let chain = self.server_chain(new)?;
        let Some(slot) = self.assigned.iter_mut().find(|p| *p == old) else {
            return Err(KeystoreError::InvalidCertificationPathId);
        };
        *slot = new.to_string();
        Ok(chain)
    }

    pub fn remove_assignment(&mut self, path_id: &str) -> Result<(), KeystoreError> {
        let before = self.assigned.len();
        self.assigned.retain(|p| p != path_id);
        if self.assigned.len() == before {
            return Err(KeystoreError::InvalidCertificationPathId);
        }
        Ok(())
    }

    pub fn delete_path(&mut self, id: &str) -> Result<(), KeystoreError> {
        self.path(id)?;
        if self.assigned.iter().any(|p| p == id) {
            return Err(KeystoreError::ReferenceExists);
        }
        self.paths.retain(|p| p.id != id);
        Ok(())
    }

    pub fn delete_certificate(&mut self, id: &str) -> Result<(), KeystoreError> {
        self.certificate(id)?;
        if self.paths.iter().any(|p| p.certificate_ids.iter().any(|c| c == id)) {
            return Err(KeystoreError::ReferenceExists);
        }
        self.certificates.retain(|c| c.id != id);
        Ok(())
    }

    pub fn delete_key(&mut self, id: &str) -> Result<(), KeystoreError> {
        self.key(id)?;
        if self.certificates.iter().any(|c| c.key_id == id) {
            return Err(KeystoreError::ReferenceExists);
        }
        self.keys.retain(|k| k.id != id);
        Ok(())
    }
}

fn generate_rsa(bits: u32) -> Result<KeyMaterial, String> {
    let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), bits as usize).map_err(|e| e.to_string())?;
    let pem = private.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).map_err(|e| e.to_string())?.to_string();
    let pair = KeyPair::from_pem(&pem).map_err(|e| e.to_string())?;
    Ok(KeyMaterial { public_key: pair.der_bytes().to_vec(), private_pem: Some(pem) })
}

fn public_key_of(der: &[u8]) -> Result<Vec<u8>, KeystoreError> {
    let (rest, cert) = X509Certificate::from_der(der).map_err(|_| KeystoreError::BadCertificate)?;
    if !rest.is_empty() {
        return Err(KeystoreError::BadCertificate);
    }
    Ok(cert.public_key().subject_public_key.data.to_vec())
}

/// Whether `child`'s signature verifies with `issuer`'s public key.
fn signed_by(child: &[u8], issuer: &[u8]) -> bool {
    let (Ok((_, c)), Ok((_, i))) = (X509Certificate::from_der(child), X509Certificate::from_der(issuer)) else {
        return false;
    };
    c.issuer() == i.subject() && c.verify_signature(Some(i.public_key())).is_ok()
}

/// Whether the first certificate of a PEM chain is its own issuer.
pub fn leaf_is_self_signed(chain_pem: &str) -> bool {
    use rustls::pki_types::pem::PemObject;
    let Some(Ok(leaf)) = rustls::pki_types::CertificateDer::pem_slice_iter(chain_pem.as_bytes()).next() else {
        return false;
    };
    signed_by(&leaf, &leaf)
}

pub fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        out.push_str(std::str::from_utf8(line).unwrap_or_default());
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::TlsVersions;

    fn versions() -> TlsVersions {
        TlsVersions { tls1_0: false, tls1_1: false, tls1_2: true, tls1_3: false }
    }

    fn wait_ready(ks: &Keystore, id: &str) {
        for _ in 0..600 {
            if ks.key(id).unwrap().status() != KeyStatus::Generating {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("key generation did not finish");
    }

    /// A CA (rcgen, ECDSA) that signs CSRs the way a site CA does.
    fn ca() -> (rcgen::Issuer<'static, KeyPair>, Vec<u8>) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::default();
        params.distinguished_name.push(DnType::CommonName, "test CA");
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        let der = cert.der().to_vec();
        (rcgen::Issuer::new(params, key), der)
    }

    #[test]
    fn the_factory_store_holds_the_served_certificate_assigned() {
        let server = ServerIdentity::self_signed("SN1", "127.0.0.1", &versions()).unwrap();
        let ks = Keystore::factory(&server);
        assert_eq!(ks.assigned.len(), 1);
        let chain = ks.server_chain(&ks.assigned[0]).unwrap();
        assert_eq!(chain.key_pem, server.key_pem);
        assert!(chain.chain_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(leaf_is_self_signed(&chain.chain_pem));
    }

    #[test]
    fn a_generated_key_signs_a_csr_whose_certificate_becomes_the_served_path() {
        let server = ServerIdentity::self_signed("SN1", "127.0.0.1", &versions()).unwrap();
        let mut ks = Keystore::factory(&server);
        // The generation is held back a second: long enough to see it `generating`.
        let key_id = ks.create_rsa_key(2048, None, Duration::from_secs(1)).unwrap();
        assert_eq!(ks.key(&key_id).unwrap().status(), KeyStatus::Generating);
        assert_eq!(ks.create_csr(&key_id, &[], None).err(), Some(KeystoreError::InvalidKeyStatus), "not ready yet");
        wait_ready(&ks, &key_id);
        assert_eq!(ks.key(&key_id).unwrap().status(), KeyStatus::Ok);
        let ec = Some(ECDSA_WITH_SHA256);
        assert_eq!(ks.create_csr(&key_id, &[], ec).err(), Some(KeystoreError::KeySignatureAlgorithmMismatch));
        assert_eq!(
            ks.create_csr(&key_id, &[], Some("1.2.3")).err(),
            Some(KeystoreError::UnsupportedSignatureAlgorithm)
        );
        let csr = ks.create_csr(&key_id, &[(DnType::CommonName, "cam".into())], Some(SHA256_WITH_RSA)).unwrap();
        let (issuer, ca_der) = ca();
        let req = rcgen::CertificateSigningRequestParams::from_der(&csr.into()).unwrap();
        let leaf = req.signed_by(&issuer).unwrap().der().to_vec();

        let (leaf_id, leaf_key) = ks.upload_certificate(&leaf, None, true).unwrap();
        assert_eq!(leaf_key, key_id, "matched to the generated key");
        let (ca_id, _) = ks.upload_certificate(&ca_der, None, false).unwrap();
        let path = ks.create_path(&[leaf_id.clone(), ca_id.clone()], None).unwrap();
        let old = ks.assigned[0].clone();
        let chain = ks.replace_assignment(&old, &path).unwrap();
        ServerIdentity::from_pem(chain.chain_pem, chain.key_pem, false, &versions()).expect("a servable chain");
        assert_eq!(ks.assigned, vec![path.clone()]);
        // References hold: an assigned path, a certificate in a path, a key with a certificate.
        assert_eq!(ks.delete_path(&path), Err(KeystoreError::ReferenceExists));
        assert_eq!(ks.delete_certificate(&leaf_id), Err(KeystoreError::ReferenceExists));
        assert_eq!(ks.delete_key(&key_id), Err(KeystoreError::ReferenceExists));
        // A path in the wrong order does not verify.
        assert_eq!(ks.create_path(&[ca_id, leaf_id], None), Err(KeystoreError::InvalidCertificationPath));
    }

    #[test]
    fn a_certificate_without_its_private_key_is_refused_when_one_is_required() {
        let server = ServerIdentity::self_signed("SN1", "127.0.0.1", &versions()).unwrap();
        let mut ks = Keystore::factory(&server);
        let (_, ca_der) = ca();
        assert_eq!(ks.upload_certificate(&ca_der, None, true), Err(KeystoreError::NoMatchingPrivateKey));
        assert_eq!(ks.upload_certificate(b"not der", None, false), Err(KeystoreError::BadCertificate));
        let (ca_id, _) = ks.upload_certificate(&ca_der, None, false).unwrap();
        let path = ks.create_path(&[ca_id], None).unwrap();
        let old = ks.assigned[0].clone();
        assert_eq!(ks.replace_assignment(&old, &path).err(), Some(KeystoreError::NoPrivateKey));
        assert_eq!(ks.assigned, vec![old], "a refused replace changes nothing");
    }

    #[test]
    fn an_uploaded_pkcs8_key_pair_is_usable() {
        let server = ServerIdentity::self_signed("SN1", "127.0.0.1", &versions()).unwrap();
        let mut ks = Keystore::factory(&server);
        let pair = KeyPair::generate().unwrap();
        let id = ks.upload_key_pair(&pair.serialize_der(), Some("site".into())).unwrap();
        assert!(ks.key(&id).unwrap().externally_generated);
        assert!(ks.key(&id).unwrap().has_private_key());
        assert_eq!(ks.upload_key_pair(b"junk", None), Err(KeystoreError::BadKeyPair));
    }
}
