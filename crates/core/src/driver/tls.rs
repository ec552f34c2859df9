//! Which device certificates a run trusts, checked at every TLS handshake.
//!
//! Chain validation against public roots means nothing for a camera reached by IP, so
//! trust comes from three places:
//! 1. **The site CA**: a certificate it issued for this address is accepted (a device
//!    another run certified, or one a crash left between install and pin).
//! 2. **A pin** (`pins.json`): a certificate `apply` installed and proved, or the one
//!    first seen ("trust on first use"). Any other certificate that the site CA did not
//!    issue is refused and recorded as a change, which the operator must accept
//!    (`portcullis certs accept`, or the app's Certificates panel) before anything
//!    reaches the device over HTTPS again.
//! 3. **Nothing known yet**: the certificate is accepted and becomes the first-seen pin.
//!
//! The pin is looked at first (an exact match needs no signature checked), then the
//! site CA, then the pin again to refuse or to learn.

use std::collections::HashMap;
use std::net::IpAddr;
use std::path::Path;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};

use super::transport::{Client, Network};
use crate::certs::{Pin, PinOrigin, Pins};
use crate::error::{Error, Result};

/// A client with no pins and no site CA: every certificate is accepted and first-seen
/// pins are kept only in memory (discovery's identity probes, benchmarks, tests).
pub fn client(timeout: Duration) -> Result<Client> {
    client_with_pins(timeout, LivePins::default(), None)
}

/// A client for these timings: connections wait as long as a read may.
fn connect_limit(timings: &super::Timings) -> Duration {
    timings.of(super::Operation::Read)
}

/// The client every command uses: the pins recorded under PORTCULLIS_HOME and its site
/// CA applied. Call [`LivePins::save`] when the run ends, to keep what it learnt.
pub fn pinned_client(home: &Path, timings: &super::Timings) -> Result<(Client, LivePins)> {
    let pins = LivePins::from_file(&Pins::load(home)?);
    let ca = site_ca_roots(home)?;
    Ok((client_with_pins(connect_limit(timings), pins.clone(), ca)?, pins))
}

/// The site CA's certificate as a trust anchor, when there is one.
fn site_ca_roots(home: &Path) -> Result<Option<Arc<rustls::RootCertStore>>> {
    let Some(der) = crate::certs::ca_cert_der(home)? else { return Ok(None) };
    let mut roots = rustls::RootCertStore::empty();
    roots.add(CertificateDer::from(der)).map_err(|e| Error::Local(format!("site CA certificate: {e}")))?;
    Ok(Some(Arc::new(roots)))
}

/// A certificate seen in a handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub fingerprint: String,
    /// RFC 3339 (empty when the certificate cannot be read).
    pub not_after: String,
}

/// What a run's handshakes hold devices to, and what they learnt, by device key (its
/// address, or `address:port` where devices share one: [`super::Target::key`]).
#[derive(Debug, Default)]
struct Book {
    /// The certificate each device must present.
    held: HashMap<String, String>,
    /// First seen in this run (no pin before): to be kept.
    first_seen: HashMap<String, Seen>,
    /// Presented instead of the pinned certificate: refused, to be reported.
    changed: HashMap<String, Seen>,
}

impl Book {
    /// The certificate the device `key` is held to. A device that came to share its
    /// address keeps the pin it had by address.
    fn pin_of(&self, key: &str) -> Option<&String> {
        let by_address = || key.parse::<std::net::SocketAddr>().ok().map(|a| a.ip().to_string());
        self.held.get(key).or_else(|| by_address().and_then(|a| self.held.get(&a)))
    }
}

/// The pins a client checks at every handshake, shared with whoever proves new ones.
#[derive(Debug, Clone, Default)]
pub struct LivePins(Arc<RwLock<Book>>);

impl LivePins {
    pub fn from_file(pins: &Pins) -> Self {
        let held = pins.by_device();
        LivePins(Arc::new(RwLock::new(Book { held, ..Default::default() })))
    }

    /// Hold the device `key` to this fingerprint from the next handshake on (a
    /// certificate proven after install): any change seen before it is moot.
    pub fn set(&self, key: &str, fingerprint: String) {
        if let Ok(mut b) = self.0.write() {
            b.held.insert(key.to_string(), fingerprint);
            b.first_seen.remove(key);
            b.changed.remove(key);
        }
    }

    /// The certificate this device presented instead of its pinned one, in this run.
    pub fn changed(&self, key: &str) -> Option<(String, Seen)> {
        let b = self.0.read().ok()?;
        let seen = b.changed.get(key)?.clone();
        Some((b.held.get(key)?.clone(), seen))
    }

    /// Keep what this run learnt: first-seen pins, and certificate changes for the
    /// operator to review. Pins set by [`LivePins::set`] were saved when proven.
    pub fn save(&self, home: &Path, now: &str) -> Result<()> {
        let (first_seen, changed) = match self.0.read() {
            Ok(b) if b.first_seen.is_empty() && b.changed.is_empty() => return Ok(()),
            Ok(b) => (b.first_seen.clone(), b.changed.clone()),
            Err(_) => return Err(Error::Local("pins lock poisoned".into())),
        };
        Pins::update(home, |pins| {
            for (key, seen) in first_seen {
                pins.devices.entry(key).or_insert_with(|| Pin {
                    fingerprint: seen.fingerprint,
                    not_after: seen.not_after,
                    origin: PinOrigin::FirstSeen,
                    since: Some(now.to_string()),
                    changed_to: None,
                });
            }
            for (key, seen) in changed {
                if let Some(pin) = pins.devices.get_mut(&key) {
                    if pin.fingerprint != seen.fingerprint {
                        pin.changed_to = Some(crate::certs::PinChange {
                            fingerprint: seen.fingerprint,
                            not_after: seen.not_after,
                            seen: now.to_string(),
                        });
                    }
                }
            }
        })
    }

    /// Whether the device `key` is pinned to exactly this certificate.
    fn holds(&self, key: &str, fingerprint: &str) -> bool {
        self.0.read().is_ok_and(|b| b.pin_of(key).is_some_and(|pin| pin == fingerprint))
    }

    /// Decide one handshake (see the module's rules 2 and 3).
    fn check(&self, key: &str, seen: Seen) -> std::result::Result<(), String> {
        let mut b = self.0.write().map_err(|_| "pins lock poisoned".to_string())?;
        let expected = match b.pin_of(key) {
            Some(pin) => pin.clone(),
            None => {
                b.held.insert(key.to_string(), seen.fingerprint.clone());
                b.first_seen.insert(key.to_string(), seen);
                return Ok(());
            }
        };
        if expected == seen.fingerprint {
            return Ok(());
        }
        let message =
            format!("{key} presents certificate sha256:{} instead of the pinned sha256:{expected}", seen.fingerprint);
        b.changed.insert(key.to_string(), seen);
        Err(message)
    }
}

/// TLS sessions a run keeps for resumption, eight to a server (see `TlsConfigs::build`).
const TLS_SESSIONS: usize = 8192;

fn client_with_pins(timeout: Duration, pins: LivePins, site_ca: Option<Arc<rustls::RootCertStore>>) -> Result<Client> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let _ = rustls::crypto::ring::default_provider().install_default();
    let site_ca = match site_ca {
        Some(roots) => Some(
            rustls::client::WebPkiServerVerifier::builder_with_provider(roots, provider.clone())
                .build()
                .map_err(|e| Error::Local(format!("site CA verifier: {e}")))?,
        ),
        None => None,
    };
    let configs = TlsConfigs { pins: pins.clone(), site_ca, provider };
    let network = Network {
        tls: configs.build(None)?,
        configs,
        shared: Default::default(),
        pins,
        first_contact: Default::default(),
        connections: super::connections::Connections::new(timeout),
    };
    Ok(Client::new(Arc::new(network), timeout))
}

/// What every TLS configuration of a run is made of: one for the run, plus one for
/// each device that shares its address with others (rustls's verifier sees only the
/// address, so such a device's own pin needs a verifier of its own).
#[derive(Debug, Clone)]
pub(crate) struct TlsConfigs {
    pins: LivePins,
    site_ca: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
}

impl TlsConfigs {
    /// Handshakes checked against `device`'s pin, or (`None`) against the pin of the
    /// address they reach.
    pub(crate) fn build(&self, device: Option<Arc<str>>) -> Result<Arc<rustls::ClientConfig>> {
        let verifier = Arc::new(PinVerifier {
            pins: self.pins.clone(),
            site_ca: self.site_ca.clone(),
            provider: self.provider.clone(),
            device,
        });
        let mut tls = rustls::ClientConfig::builder_with_provider(self.provider.clone())
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::Local(format!("TLS: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        // rustls keeps 256 sessions by default, the oldest server dropped first, and counts
        // eight per server (room for eight TLS 1.3 tickets): 32 servers. With a hundred
        // cameras in flight, a camera's session was gone before its next connection, which
        // then paid a full handshake (4 per camera instead of 1 at concurrency 128,
        // `portcullis-bench-steady`). 8,192 are 1,024 servers; 2,048 (256 servers) were too
        // few at 512 cameras at once: a camera's second connection often paid a full one.
        tls.resumption = rustls::client::Resumption::in_memory_sessions(TLS_SESSIONS);
        // No redirect is ever followed (a redirect would replay a request, and its body: a
        // password, a key, to wherever the device says) and no proxy is used: devices are
        // reached where we know them, or not at all (`super::connections`).
        Ok(Arc::new(tls))
    }
}

#[derive(Debug)]
struct PinVerifier {
    pins: LivePins,
    site_ca: Option<Arc<rustls::client::WebPkiServerVerifier>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
    /// The device this verifier is for, where it shares its address; else the pin is
    /// the address's.
    device: Option<Arc<str>>,
}

impl ServerCertVerifier for PinVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        // Devices are reached by address (`Target::address`; a device's XAddrs are cut to
        // their paths). Nothing is pinned to a name, so a handshake with one is refused:
        // accepting it would check no certificate at all.
        let ServerName::IpAddress(ip) = server_name else {
            return Err(rustls::Error::General(format!(
                "{} is a name: devices are reached by address, where their certificates are pinned",
                server_name.to_str()
            )));
        };
        let key = match &self.device {
            Some(device) => device.to_string(),
            None => IpAddr::from(*ip).to_string(),
        };
        // The certificate the device is pinned to is accepted whatever the site CA says
        // (rule 2), so it is looked for first: its chain's signature need not be checked,
        // one of the two a TLS 1.2 handshake verifies (the P-256 arithmetic fell from 5.3 %
        // to 2.5 % of an audit's samples, `portcullis-bench-steady`).
        let fingerprint = crate::certs::fingerprint(end_entity.as_ref());
        if self.pins.holds(&key, &fingerprint) {
            return Ok(ServerCertVerified::assertion());
        }
        if let Some(ca) = &self.site_ca {
            if ca.verify_server_cert(end_entity, intermediates, server_name, ocsp, now).is_ok() {
                return Ok(ServerCertVerified::assertion());
            }
        }
        let seen = Seen { fingerprint, not_after: crate::certs::not_after(end_entity.as_ref()) };
        self.pins.check(&key, seen).map_err(rustls::Error::General)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.provider.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(fp: &str) -> Seen {
        Seen { fingerprint: fp.into(), not_after: "2030-01-01T00:00:00+00:00".into() }
    }

    #[test]
    fn the_first_certificate_is_pinned_and_a_different_one_refused() {
        let pins = LivePins::default();
        let ip = "192.0.2.7";
        assert!(pins.check(ip, seen("aa")).is_ok(), "first use is trusted");
        assert!(pins.check(ip, seen("aa")).is_ok());
        let refused = pins.check(ip, seen("bb")).unwrap_err();
        assert!(refused.contains("sha256:bb") && refused.contains("pinned sha256:aa"), "{refused}");
        assert_eq!(pins.changed(ip).map(|(pinned, s)| (pinned, s.fingerprint)), Some(("aa".into(), "bb".into())));
        // A certificate proven after install replaces the pin and the change is moot.
        pins.set(ip, "cc".into());
        assert!(pins.changed(ip).is_none());
        assert!(pins.check(ip, seen("cc")).is_ok() && pins.check(ip, seen("aa")).is_err());
    }

    #[test]
    fn a_handshake_with_a_name_is_refused_not_trusted() {
        let verifier = PinVerifier {
            pins: LivePins::default(),
            site_ca: None,
            provider: Arc::new(rustls::crypto::ring::default_provider()),
            device: None,
        };
        let any = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x01]);
        let name = ServerName::try_from("camera.example").unwrap();
        let refused = verifier.verify_server_cert(&any, &[], &name, &[], UnixTime::now()).unwrap_err();
        assert!(refused.to_string().contains("camera.example is a name"), "{refused}");
        // The same certificate at an address is pinned on first use.
        let ip = ServerName::try_from("192.0.2.7").unwrap();
        assert!(verifier.verify_server_cert(&any, &[], &ip, &[], UnixTime::now()).is_ok());
        assert!(verifier.pins.holds("192.0.2.7", &crate::certs::fingerprint(any.as_ref())));
    }

    #[test]
    fn a_pin_is_held_by_the_device_key_or_the_address_it_had() {
        let pins = LivePins::default();
        assert!(!pins.holds("192.0.2.7", "aa"), "nothing pinned yet");
        pins.set("192.0.2.7", "aa".into());
        assert!(pins.holds("192.0.2.7", "aa") && !pins.holds("192.0.2.7", "bb"));
        assert!(pins.holds("192.0.2.7:8443", "aa"), "a device now sharing its address keeps its pin");
        pins.set("192.0.2.7:8443", "cc".into());
        assert!(pins.holds("192.0.2.7:8443", "cc") && !pins.holds("192.0.2.7:8443", "aa"));
        assert!(!pins.holds("192.0.2.8", "aa"));
    }

    #[test]
    fn what_a_run_learnt_is_kept_and_a_change_awaits_the_operator() {
        let home = std::env::temp_dir().join(format!("pc-tofu-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let a = "192.0.2.1";
        let run = LivePins::from_file(&Pins::load(&home).unwrap());
        run.check(a, seen("aa")).unwrap();
        run.save(&home, "2026-12-03T10:00:00Z").unwrap();
        let kept = Pins::load(&home).unwrap();
        let pin = &kept.devices["192.0.2.1"];
        assert_eq!((pin.fingerprint.as_str(), pin.origin), ("aa", PinOrigin::FirstSeen));

        // The next run meets another certificate: refused, and kept as a change.
        let next = LivePins::from_file(&kept);
        assert!(next.check(a, seen("bb")).is_err());
        next.save(&home, "2026-12-04T10:00:00Z").unwrap();
        let kept = Pins::load(&home).unwrap();
        let pin = &kept.devices["192.0.2.1"];
        assert_eq!(pin.fingerprint, "aa", "a change never replaces the pin by itself");
        assert_eq!(pin.changed_to.as_ref().map(|c| c.fingerprint.as_str()), Some("bb"));
        let _ = std::fs::remove_dir_all(&home);
    }
}
