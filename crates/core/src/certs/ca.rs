//! The site CA: made with rcgen on first use (its key in the vault, its certificate
//! beside the history) or imported from the customer, and the device certificates it
//! signs, from the device's own CSR or with a key made here, with SANs for every name
//! the device is reached by.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose, PublicKeyData, SanType,
};
use serde::Serialize;

use super::{fingerprint, local};
use crate::error::{Error, Result};
use crate::secret::{Credentials, Secret};
use crate::vault::{Scope, Vault};

/// How long device certificates are valid.
pub const LEAF_DAYS: i64 = 397;

/// The site's certificate authority.
#[derive(Debug)]
pub struct SiteCa {
    pub cert_pem: String,
    key: Secret,
}

impl SiteCa {
    fn cert_path(home: &Path) -> PathBuf {
        home.join("site-ca.pem")
    }

    fn vault_scope() -> Scope {
        Scope::Ca("site".into())
    }

    /// The CA, created on first use: key to the vault first, then the certificate. A CA
    /// created here may sign no CA (path length 0) and, when the site states a scope,
    /// names within it only (name constraints).
    pub fn load_or_create(home: &Path, vault: &Vault, site: &str, scope: &CaScope) -> Result<SiteCa> {
        let path = Self::cert_path(home);
        let key = vault.lookup_scope(&Self::vault_scope(), "key")?;
        if let (Ok(cert_pem), Some(key)) = (std::fs::read_to_string(&path), key) {
            return Ok(SiteCa { cert_pem, key: key.password });
        }
        let key = KeyPair::generate().map_err(|e| local("CA key", e))?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| local("CA", e))?;
        params.distinguished_name.push(DnType::CommonName, format!("Portcullis site CA ({site})"));
        params.distinguished_name.push(DnType::OrganizationName, "Portcullis");
        params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.name_constraints = scope.constraints();
        let now = time_now();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(3650);
        let cert = params.self_signed(&key).map_err(|e| local("CA", e))?;
        let secret = Secret::new(key.serialize_pem());
        vault.set(Self::vault_scope(), &Credentials { username: "key".into(), password: secret.clone() })?;
        crate::files::write_private(&path, cert.pem().as_bytes())?;
        Ok(SiteCa { cert_pem: cert.pem(), key: secret })
    }

    /// [`Self::sign_csr`] for a request in DER (ONVIF carries it Base64-encoded).
    pub fn sign_csr_der(&self, csr_der: &[u8], names: &[String]) -> Result<Leaf> {
        let pem = pem_block("CERTIFICATE REQUEST", csr_der);
        self.sign_csr(&pem, names)
    }

    /// [`SiteCa::import`] from the two PEM files, as the CLI and the desktop app take them.
    /// The key is read straight into a [`Secret`], never kept in a plain `String`.
    pub fn import_files(home: &Path, vault: &Vault, cert: &Path, key: &Path, replace: bool) -> Result<SiteCa> {
        let read = |what: &str, path: &Path| {
            crate::files::read_chosen_text(path).map_err(|e| Error::Input(format!("the CA's {what}: {e}")))
        };
        let cert_pem = read("certificate", cert)?;
        let key_pem = Secret::new(read("key", key)?);
        Self::import(home, vault, &cert_pem, &key_pem, replace)
    }

    /// Use the customer's CA, or an intermediate under it, instead of making one.
    /// `cert_pem` is the CA certificate, optionally followed by its own chain; `key_pem`
    /// its private key (PKCS#8, or an RSA key in PKCS#1). Checked before anything is
    /// kept: a CA certificate allowed to sign certificates, valid now, and the key that
    /// belongs to it. The key goes to the vault first, then the certificate beside the
    /// history. An existing site CA is replaced only when `replace` says so (pins stay:
    /// they hold each device to the certificate it presents, whoever signed it).
    pub fn import(home: &Path, vault: &Vault, cert_pem: &str, key_pem: &Secret, replace: bool) -> Result<SiteCa> {
        let bad = |why: &str| Error::Input(format!("the CA to import: {why}"));
        if Self::cert_path(home).exists() && !replace {
            return Err(bad("a site CA exists already: Replace it (--replace) to use the new one from now on"));
        }
        let der = pem_der(cert_pem).filter(|d| !d.is_empty()).ok_or_else(|| bad("no PEM certificate"))?;
        let (_, cert) =
            x509_parser::parse_x509_certificate(&der).map_err(|e| bad(&format!("not a certificate ({e})")))?;
        let is_ca = cert.basic_constraints().ok().flatten().is_some_and(|b| b.value.ca);
        let signs = cert.key_usage().ok().flatten().is_none_or(|k| k.value.key_cert_sign());
        if !is_ca || !signs {
            return Err(bad("the certificate is not a CA allowed to sign certificates"));
        }
        if !cert.validity().is_valid() {
            return Err(bad("the certificate is not valid now"));
        }
        let key = import_key(key_pem).map_err(|why| bad(&why))?;
        if key.der_bytes() != cert.public_key().subject_public_key.data.as_ref() {
            return Err(bad("the key does not belong to the certificate"));
        }
        let key = Secret::new(key.serialize_pem());
        let ca = SiteCa { cert_pem: cert_pem.trim_start().to_string(), key };
        // A trial signature: what `sign_csr` will do for every device.
        let probe = KeyPair::generate().map_err(|e| local("trial key", e))?;
        let csr = CertificateParams::new(vec!["import.check".to_string()])
            .and_then(|p| p.serialize_request(&probe))
            .and_then(|c| c.pem())
            .map_err(|e| local("trial request", e))?;
        ca.sign_csr(&csr, &["import.check".into()]).map_err(|e| bad(&format!("it cannot sign ({e})")))?;
        vault.set(Self::vault_scope(), &Credentials { username: "key".into(), password: ca.key.clone() })?;
        crate::files::write_private(&Self::cert_path(home), ca.cert_pem.as_bytes())?;
        Ok(ca)
    }

    /// Sign a device's CSR; the SANs are ours (every address and name the device is
    /// reached by), whatever the device put in its request.
    pub fn sign_csr(&self, csr_pem: &str, names: &[String]) -> Result<Leaf> {
        // The CSR's signature is checked; then only its public key is used. The subject,
        // key usage, EKU, basic constraints and SANs it asks for are ignored: a camera must
        // not obtain a clientAuth, codeSigning or CA certificate from the customer's CA.
        let csr = rcgen::CertificateSigningRequestParams::from_pem(csr_pem).map_err(|e| Error::Malformed {
            address: names.first().cloned().unwrap_or_default(),
            operation: "certificate signing request".into(),
            reason: e.to_string(),
        })?;
        let key = KeyPair::from_pem(self.key.expose()).map_err(|e| local("CA key", e))?;
        let issuer = Issuer::from_ca_cert_pem(&self.cert_pem, key).map_err(|e| local("CA certificate", e))?;
        let cert = leaf_params(names)?.signed_by(&csr.public_key, &issuer).map_err(|e| local("signing", e))?;
        Ok(Leaf { chain_pem: format!("{}{}", cert.pem(), self.cert_pem), der: cert.der().to_vec() })
    }

    /// For a device that cannot make its own key: an RSA-2048 key made here and a
    /// certificate for it. The key (PKCS#8 DER) is a secret: it goes to the device
    /// once, over TLS, and is dropped.
    pub fn issue_with_new_key(&self, names: &[String]) -> Result<(Leaf, Secret)> {
        use rsa::pkcs8::EncodePrivateKey;
        let private = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).map_err(|e| local("device key", e))?;
        let der = private.to_pkcs8_der().map_err(|e| local("device key", e))?;
        let key = KeyPair::try_from(der.as_bytes()).map_err(|e| local("device key", e))?;
        let params = leaf_params(names)?;
        let ca_key = KeyPair::from_pem(self.key.expose()).map_err(|e| local("CA key", e))?;
        let issuer = Issuer::from_ca_cert_pem(&self.cert_pem, ca_key).map_err(|e| local("CA certificate", e))?;
        let cert = params.signed_by(&key, &issuer).map_err(|e| local("signing", e))?;
        use base64::Engine;
        let key_b64 = Secret::new(base64::engine::general_purpose::STANDARD.encode(der.as_bytes()));
        Ok((Leaf { chain_pem: format!("{}{}", cert.pem(), self.cert_pem), der: cert.der().to_vec() }, key_b64))
    }

    /// The CA certificate's DER (devices that store a chain certificate by certificate).
    pub fn cert_der(&self) -> Result<Vec<u8>> {
        pem_der(&self.cert_pem).ok_or_else(|| local("CA certificate", "not PEM"))
    }
}

/// What the site CA may name: address ranges and DNS suffixes (`[site] ca_scope`).
/// Empty: anything. Hand-written matching: a few lines that `ipnet` and a suffix test
/// cover; no library decides our own policy.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaScope {
    pub networks: Vec<ipnet::IpNet>,
    /// Lower case, no leading dot.
    pub dns_suffixes: Vec<String>,
}

impl CaScope {
    pub fn parse(entries: &[String]) -> std::result::Result<CaScope, String> {
        let mut scope = CaScope::default();
        for e in entries.iter().map(|e| e.trim()) {
            if let Ok(net) = e.parse::<ipnet::IpNet>() {
                scope.networks.push(net.trunc());
                continue;
            }
            let suffix = e.trim_start_matches('.').trim_end_matches('.').to_ascii_lowercase();
            let label_ok =
                |l: &str| !l.is_empty() && l.len() <= 63 && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
            if suffix.is_empty() || !suffix.split('.').all(label_ok) {
                return Err(format!(
                    "{e:?} is neither an address range (10.20.0.0/16) nor a DNS suffix (cams.example.com)"
                ));
            }
            scope.dns_suffixes.push(suffix);
        }
        Ok(scope)
    }

    pub fn is_empty(&self) -> bool {
        self.networks.is_empty() && self.dns_suffixes.is_empty()
    }

    /// Whether a certificate may name this (an address, or a host name).
    pub fn allows(&self, name: &str) -> bool {
        if self.is_empty() {
            return true;
        }
        match name.parse::<IpAddr>() {
            Ok(ip) => self.networks.iter().any(|n| n.contains(&ip)),
            Err(_) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                self.dns_suffixes.iter().any(|s| name == *s || name.ends_with(&format!(".{s}")))
            }
        }
    }

    /// The scope as the CA certificate's name constraints (none when empty).
    fn constraints(&self) -> Option<rcgen::NameConstraints> {
        if self.is_empty() {
            return None;
        }
        let mut permitted: Vec<rcgen::GeneralSubtree> = self
            .networks
            .iter()
            .map(|n| rcgen::GeneralSubtree::IpAddress(rcgen::CidrSubnet::from_addr_prefix(n.network(), n.prefix_len())))
            .collect();
        permitted.extend(self.dns_suffixes.iter().map(|s| rcgen::GeneralSubtree::DnsName(s.clone())));
        Some(rcgen::NameConstraints { permitted_subtrees: permitted, excluded_subtrees: Vec::new() })
    }
}

/// What the site CA puts in every device certificate, whoever asked: the device's names
/// (the first as the subject), a TLS server's key usage and EKU only, not a CA.
fn leaf_params(names: &[String]) -> Result<CertificateParams> {
    let mut params = CertificateParams::new(Vec::<String>::new()).map_err(|e| local("certificate", e))?;
    params.distinguished_name.push(DnType::CommonName, names.first().cloned().unwrap_or_default());
    params.subject_alt_names = names.iter().map(|n| san(n)).collect::<Result<_>>()?;
    let now = time_now();
    params.not_before = now - time::Duration::days(1);
    params.not_after = now + time::Duration::days(LEAF_DAYS);
    params.is_ca = IsCa::ExplicitNoCa;
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature, KeyUsagePurpose::KeyEncipherment];
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth];
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// A private key as rcgen reads it: PKCS#8, or an RSA key in PKCS#1 converted to it.
fn import_key(pem: &Secret) -> std::result::Result<KeyPair, String> {
    if let Ok(k) = KeyPair::from_pem(pem.expose()) {
        return Ok(k);
    }
    if pem.expose().contains("BEGIN RSA PRIVATE KEY") {
        use rsa::pkcs1::DecodeRsaPrivateKey;
        use rsa::pkcs8::EncodePrivateKey;
        let rsa = rsa::RsaPrivateKey::from_pkcs1_pem(pem.expose()).map_err(|e| format!("unreadable RSA key ({e})"))?;
        let der = rsa.to_pkcs8_der().map_err(|e| format!("unreadable RSA key ({e})"))?;
        return KeyPair::try_from(der.as_bytes()).map_err(|e| format!("unusable RSA key ({e})"));
    }
    Err("the key must be PEM, PKCS#8 (\"PRIVATE KEY\") or RSA (\"RSA PRIVATE KEY\"), unencrypted; \
         convert others with `openssl pkcs8 -topk8 -nocrypt`"
        .into())
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

fn san(name: &str) -> Result<SanType> {
    match name.parse::<IpAddr>() {
        Ok(ip) => Ok(SanType::IpAddress(ip)),
        Err(_) => {
            let dns = name.to_string().try_into().map_err(|_| Error::Input(format!("{name}: not a host name")))?;
            Ok(SanType::DnsName(dns))
        }
    }
}

fn pem_block(label: &str, der: &[u8]) -> String {
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = b64.as_bytes().chunks(64).filter_map(|c| std::str::from_utf8(c).ok()).collect();
    format!("-----BEGIN {label}-----\n{}\n-----END {label}-----\n", lines.join("\n"))
}

pub(super) fn pem_der(pem: &str) -> Option<Vec<u8>> {
    use base64::Engine;
    let body: String = pem
        .lines()
        .skip_while(|l| !l.starts_with("-----BEGIN CERTIFICATE"))
        .skip(1)
        .take_while(|l| !l.starts_with("-----END"))
        .collect();
    base64::engine::general_purpose::STANDARD.decode(body.trim()).ok()
}

/// A signed device certificate.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// Leaf first, then the CA.
    pub chain_pem: String,
    pub der: Vec<u8>,
}

/// The site CA as anyone may see it: no key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct CaInfo {
    pub subject: String,
    /// RFC 3339.
    pub not_after: String,
    /// SHA-256 of the certificate, hex.
    pub fingerprint: String,
    pub path: String,
}

/// The site CA's certificate (DER), if one was created: what handshakes trust.
pub fn ca_cert_der(home: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read_to_string(SiteCa::cert_path(home)) {
        Ok(pem) => pem_der(&pem).map(Some).ok_or_else(|| local("site-ca.pem", "not PEM")),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(local("site-ca.pem", e)),
    }
}

/// The site CA's certificate, if one was created (`site-ca.pem`).
pub fn ca_info(home: &Path) -> Result<Option<CaInfo>> {
    let path = SiteCa::cert_path(home);
    let pem = match std::fs::read(&path) {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(local("site-ca.pem", e)),
    };
    let (_, block) = x509_parser::pem::parse_x509_pem(&pem).map_err(|e| local("site-ca.pem", e))?;
    let (_, cert) = x509_parser::parse_x509_certificate(&block.contents).map_err(|e| local("site-ca.pem", e))?;
    let not_after = chrono::DateTime::from_timestamp(cert.validity().not_after.timestamp(), 0)
        .map(|t| t.to_rfc3339())
        .unwrap_or_default();
    Ok(Some(CaInfo {
        subject: cert.subject().to_string(),
        not_after,
        fingerprint: fingerprint(&block.contents),
        path: path.display().to_string(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_csr_is_signed_with_our_sans_and_the_chain_ends_in_the_ca() {
        let home = std::env::temp_dir().join(format!("pc-certs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let store =
            crate::vault::FileVault::new(home.join("vault.age"), Secret::new("certs test only")).with_work_factor(4);
        let vault = Vault::new(Box::new(store), &home);
        assert_eq!(ca_info(&home).unwrap(), None, "no CA before the first use");
        let ca = SiteCa::load_or_create(&home, &vault, "test", &Default::default()).unwrap();
        let info = ca_info(&home).unwrap().unwrap();
        assert!(info.subject.contains("Portcullis site CA (test)"), "{info:?}");
        assert_eq!(info.fingerprint.len(), 64);
        let ends = chrono::DateTime::parse_from_rfc3339(&info.not_after).unwrap();
        assert!(ends > chrono::Utc::now() + chrono::Duration::days(9 * 365), "ten years: {info:?}");
        // The CA we make signs end entities only: path length 0, no intermediate CAs.
        let (_, ca_pem) = x509_parser::pem::parse_x509_pem(ca.cert_pem.as_bytes()).unwrap();
        let ca_cert = ca_pem.parse_x509().unwrap();
        let limits = ca_cert.basic_constraints().unwrap().unwrap().value;
        assert_eq!((limits.ca, limits.path_len_constraint), (true, Some(0)));
        let again = SiteCa::load_or_create(&home, &vault, "test", &Default::default()).unwrap();
        assert_eq!(ca.cert_pem, again.cert_pem, "created once");
        assert!(!std::fs::read_to_string(home.join("site-ca.pem")).unwrap().contains("PRIVATE KEY"));
        let device_key = KeyPair::generate().unwrap();
        let csr = CertificateParams::new(vec!["10.0.0.9".to_string()]).unwrap().serialize_request(&device_key).unwrap();
        let leaf = ca.sign_csr(&csr.pem().unwrap(), &["127.1.0.7".into(), "cam-7.site.example".into()]).unwrap();
        assert!(leaf.chain_pem.ends_with(&ca.cert_pem));
        let (_, parsed) = x509_parser::parse_x509_certificate(&leaf.der).unwrap();
        let sans = parsed.subject_alternative_name().unwrap().unwrap().value.general_names.len();
        assert_eq!(sans, 2);
        assert!(sign_garbage(&ca).is_err());
        let _ = std::fs::remove_dir_all(&home);
    }

    #[test]
    fn a_csr_contributes_its_public_key_and_nothing_else() {
        let home = std::env::temp_dir().join(format!("pc-certs-policy-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let store =
            crate::vault::FileVault::new(home.join("vault.age"), Secret::new("certs test only")).with_work_factor(4);
        let ca =
            SiteCa::load_or_create(&home, &Vault::new(Box::new(store), &home), "test", &Default::default()).unwrap();
        // A camera asks for a CA certificate good for client auth and code signing,
        // under a subject and names of its choosing.
        let device_key = KeyPair::generate().unwrap();
        let mut asked = CertificateParams::new(vec!["bank.example".to_string()]).unwrap();
        asked.distinguished_name.push(DnType::CommonName, "bank.example");
        asked.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        asked.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        asked.extended_key_usages =
            vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth, rcgen::ExtendedKeyUsagePurpose::CodeSigning];
        let csr = asked.serialize_request(&device_key).unwrap();
        let leaf = ca.sign_csr(&csr.pem().unwrap(), &["192.0.2.8".into()]).unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&leaf.der).unwrap();
        let cn: Vec<&str> = cert.subject().iter_common_name().filter_map(|c| c.as_str().ok()).collect();
        assert_eq!(cn, ["192.0.2.8"], "the subject is ours");
        let eku = cert.extended_key_usage().unwrap().unwrap().value;
        assert!(eku.server_auth && !eku.client_auth && !eku.code_signing, "{eku:?}");
        let ku = cert.key_usage().unwrap().unwrap().value;
        assert!(!ku.key_cert_sign() && ku.digital_signature(), "{ku:?}");
        assert!(cert.basic_constraints().unwrap().is_none_or(|b| !b.value.ca), "not a CA");
        let sans = &cert.subject_alternative_name().unwrap().unwrap().value.general_names;
        assert_eq!(sans.len(), 1, "only the names we supplied: {sans:?}");
        assert_eq!(cert.public_key().subject_public_key.data.as_ref(), device_key.public_key_raw(), "the CSR's key");
        let _ = std::fs::remove_dir_all(&home);
    }

    fn scratch(tag: &str) -> (PathBuf, Vault) {
        let home = std::env::temp_dir().join(format!("pc-certs-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let store =
            crate::vault::FileVault::new(home.join("vault.age"), Secret::new("certs test only")).with_work_factor(4);
        let vault = Vault::new(Box::new(store), &home);
        (home, vault)
    }

    fn customer_ca(ca: bool) -> (String, KeyPair) {
        let key = KeyPair::generate().unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(DnType::CommonName, "Customer Issuing CA");
        if ca {
            params.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
            params.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        }
        (params.self_signed(&key).unwrap().pem(), key)
    }

    #[test]
    fn an_imported_ca_signs_devices_and_is_checked_before_it_is_kept() {
        let (home, vault) = scratch("import");
        let (pem, key) = customer_ca(true);
        let (_, other_key) = customer_ca(true);
        let (leaf_pem, leaf_key) = customer_ca(false);
        let refused = |cert: &str, key: &KeyPair| {
            SiteCa::import(&home, &vault, cert, &Secret::new(key.serialize_pem()), false).unwrap_err().to_string()
        };
        assert!(refused(&pem, &other_key).contains("does not belong"));
        assert!(refused(&leaf_pem, &leaf_key).contains("not a CA"));
        assert!(refused("junk", &key).contains("no PEM certificate"));
        assert!(SiteCa::import(
            &home,
            &vault,
            &pem,
            &Secret::new("-----BEGIN EC PRIVATE KEY-----\nAA==\n-----END EC PRIVATE KEY-----\n"),
            false
        )
        .unwrap_err()
        .to_string()
        .contains("openssl pkcs8"));
        assert_eq!(ca_info(&home).unwrap(), None, "nothing kept from a refused import");

        let ca = SiteCa::import(&home, &vault, &pem, &Secret::new(key.serialize_pem()), false).unwrap();
        assert!(ca_info(&home).unwrap().unwrap().subject.contains("Customer Issuing CA"));
        let loaded = SiteCa::load_or_create(&home, &vault, "site", &Default::default()).unwrap();
        assert_eq!(loaded.cert_pem, ca.cert_pem, "the imported CA is the site CA from now on");
        let device_key = KeyPair::generate().unwrap();
        let csr = CertificateParams::new(Vec::<String>::new()).unwrap().serialize_request(&device_key).unwrap();
        let leaf = loaded.sign_csr(&csr.pem().unwrap(), &["127.1.0.9".into()]).unwrap();
        let (_, parsed) = x509_parser::parse_x509_certificate(&leaf.der).unwrap();
        assert!(parsed.issuer().to_string().contains("Customer Issuing CA"));
        // A second import needs --replace.
        let (pem2, key2) = customer_ca(true);
        let again = SiteCa::import(&home, &vault, &pem2, &Secret::new(key2.serialize_pem()), false);
        assert!(again.unwrap_err().to_string().contains("--replace"));
        SiteCa::import(&home, &vault, &pem2, &Secret::new(key2.serialize_pem()), true).unwrap();
        assert_eq!(SiteCa::load_or_create(&home, &vault, "site", &Default::default()).unwrap().cert_pem, pem2);
    }

    #[test]
    fn an_rsa_key_in_pkcs1_is_accepted() {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::EncodePrivateKey;
        let rsa = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048).unwrap();
        let pkcs1 = rsa.to_pkcs1_pem(rsa::pkcs8::LineEnding::LF).unwrap().to_string();
        let pkcs8 = rsa.to_pkcs8_pem(rsa::pkcs8::LineEnding::LF).unwrap().to_string();
        let from_pkcs1 = import_key(&Secret::new(pkcs1)).unwrap();
        let from_pkcs8 = KeyPair::from_pem(&pkcs8).unwrap();
        assert_eq!(from_pkcs1.der_bytes(), from_pkcs8.der_bytes());
    }

    fn sign_garbage(ca: &SiteCa) -> Result<Leaf> {
        ca.sign_csr(
            "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
            &["1.2.3.4".into()],
        )
    }

    #[test]
    fn a_ca_made_for_a_scoped_site_names_nothing_outside_it() {
        let entries = ["127.1.0.0/16".to_string(), ".cams.example.com".to_string()];
        let scope = CaScope::parse(&entries).unwrap();
        assert!(scope.allows("127.1.9.9") && scope.allows("a.cams.example.com") && scope.allows("cams.example.com"));
        assert!(!scope.allows("10.0.0.1") && !scope.allows("evilcams.example.com") && !scope.allows("example.com"));
        assert!(CaScope::default().allows("anything.example"), "no scope, no limit");
        assert!(CaScope::parse(&["not a scope!".to_string()]).is_err());
        assert!(crate::site::SiteSection { ca_scope: vec!["*.example.com".into()], ..Default::default() }
            .validate()
            .is_err());

        let home = std::env::temp_dir().join(format!("pc-certs-scope-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let store =
            crate::vault::FileVault::new(home.join("vault.age"), Secret::new("certs test only")).with_work_factor(4);
        let vault = Vault::new(Box::new(store), &home);
        let ca = SiteCa::load_or_create(&home, &vault, "test", &scope).unwrap();
        let der = ca.cert_der().unwrap();
        let (_, cert) = x509_parser::parse_x509_certificate(&der).unwrap();
        let bc = cert.basic_constraints().unwrap().unwrap().value;
        assert_eq!((bc.ca, bc.path_len_constraint), (true, Some(0)), "may sign no CA");
        let nc = cert.name_constraints().unwrap().expect("name constraints").value;
        let permitted = nc.permitted_subtrees.as_ref().expect("permitted subtrees");
        let text: Vec<String> = permitted.iter().map(|t| format!("{:?}", t.base)).collect();
        assert_eq!(text.len(), 2, "{text:?}");
        assert!(text.iter().any(|t| t.contains("cams.example.com")), "{text:?}");
        assert!(text.iter().any(|t| t.contains("IPAddress")), "{text:?}");
        let _ = std::fs::remove_dir_all(&home);
    }
}
