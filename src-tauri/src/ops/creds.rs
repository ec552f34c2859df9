//! Credentials: what the vault holds (names and dates, never values), site defaults
//! written once from the UI, and the site CA (a customer's, imported from files the
//! person chooses in native dialogs).

use portcullis_core::secret::Credentials;
use portcullis_core::vault::Scope;

use crate::dto::{
    AcceptCertificateRequest, CertificatesView, DeviceCredentials, ForgetRequest, SiteCredentials, VaultEntry,
};
use crate::error::{IpcError, IpcResult, ShellCode};
use crate::picker::{FilePicker, Pick, Save};
use crate::session::Session;

pub fn entries(session: &Session) -> IpcResult<Vec<VaultEntry>> {
    Ok(session
        .ws
        .vault
        .list()?
        .into_iter()
        .map(|e| VaultEntry {
            scope: e.scope.kind().into(),
            name: e.scope.name().into(),
            username: e.username,
            updated: e.updated,
        })
        .collect())
}

/// Forget a device's own credentials or a site's defaults (`portcullis creds forget`);
/// returns what the vault holds now. The vault refuses while a rotation that may need
/// them is unresolved.
pub fn forget(session: &Session, request: &ForgetRequest) -> IpcResult<Vec<VaultEntry>> {
    let name = request.name.trim();
    let scope = match request.scope.as_str() {
        "device" => Scope::device(name)?,
        "site" => Scope::Site(name.to_string()),
        other => {
            return Err(IpcError::input(format!("only device or site credentials are forgotten here, not {other:?}")))
        }
    };
    if session.ws.vault.forget(&scope, None)? == 0 {
        return Err(IpcError::new(
            ShellCode::NotFound,
            format!("the vault holds nothing for {} {}", request.scope, request.name),
        ));
    }
    entries(session)
}

/// Store the credentials of a CSV the person chooses (`portcullis creds import`), read
/// here and put in the vault; returns how many.
pub fn import_file(session: &Session, picker: &dyn FilePicker) -> IpcResult<u32> {
    let path = picker.pick(Pick::Credentials)?.ok_or_else(cancelled)?;
    let (_, text) = portcullis_core::tasks::import::read_chosen(&path)?;
    let n = portcullis_core::tasks::import::credentials(&session.ws.vault, &text)?;
    Ok(u32::try_from(n).unwrap_or(u32::MAX))
}

/// Save the site CA's certificate (public) where the person chooses, for the laptops
/// and recorders that must trust the cameras (`portcullis certs export-ca`).
pub fn export_ca(session: &Session, picker: &dyn FilePicker) -> IpcResult<String> {
    let ca = session.ws.site_ca()?;
    let path = picker.save(&Save::SiteCa, "portcullis-site-ca.pem")?.ok_or_else(cancelled)?;
    portcullis_core::files::write_private(&path, ca.cert_pem.as_bytes())?;
    Ok(path.display().to_string())
}

fn cancelled() -> IpcError {
    IpcError::new(ShellCode::Cancelled, "cancelled: no file was chosen, nothing changed")
}

/// Store a site's default credentials. The password goes into the vault and nowhere
/// else; nothing returns it.
pub fn set_site_default(session: &Session, c: SiteCredentials) -> IpcResult<()> {
    let site = c.site.trim();
    let username = c.username.trim();
    if site.is_empty() || username.is_empty() || c.password.is_empty() {
        return Err(IpcError::input("site, user name and password are all required"));
    }
    let creds = Credentials { username: username.to_string(), password: c.password };
    session.ws.vault.set(Scope::Site(site.to_string()), &creds)?;
    Ok(())
}

/// Store one device's own credentials (they take precedence over the site's). The
/// device must be in the inventory; the password goes into the vault and nowhere else.
pub fn set_for_device(session: &Session, c: DeviceCredentials) -> IpcResult<()> {
    let username = c.username.trim();
    if username.is_empty() || c.password.is_empty() {
        return Err(IpcError::input("user name and password are both required"));
    }
    let known = session.ws.store.all()?.iter().filter_map(|d| d.target()).any(|t| t.label() == c.device);
    if !known {
        return Err(IpcError::new(ShellCode::NotFound, format!("{} is not in the inventory", c.device)));
    }
    session
        .ws
        .vault
        .set(Scope::Device(c.device.clone()), &Credentials { username: username.to_string(), password: c.password })?;
    Ok(())
}

/// Make a customer's CA the site CA, as `portcullis certs import-ca` does: the
/// certificate and then its key chosen with `picker` (native dialogs in the app; no path
/// comes from the webview), checked before anything is kept, the key read into the vault
/// and nowhere else. A cancelled pick changes nothing.
pub fn import_ca(session: &Session, picker: &dyn FilePicker, replace: bool) -> IpcResult<CertificatesView> {
    // Refused before any dialog (the engine refuses too): choosing two files only to be
    // told no would be worse than being told at once.
    if !replace && portcullis_core::certs::ca_info(&session.ws.home)?.is_some() {
        return Err(IpcError::input("a site CA exists already: confirm replacing it to import another"));
    }
    let cert = picker.pick(Pick::CaCertificate)?.ok_or_else(cancelled)?;
    let key = picker.pick(Pick::CaKey)?.ok_or_else(cancelled)?;
    portcullis_core::certs::SiteCa::import_files(&session.ws.home, &session.ws.vault, &cert, &key, replace)?;
    certificates(session)
}

/// Accept the certificate a device presents in place of its pin, as `portcullis certs
/// accept --fingerprint` does: only the one the person was shown; recorded in the history.
pub fn accept_certificate(session: &Session, request: &AcceptCertificateRequest) -> IpcResult<CertificatesView> {
    let clock = portcullis_core::workspace::SystemClock;
    portcullis_core::tasks::certs::accept(&session.ws, &request.device, Some(&request.fingerprint), None, &clock)?;
    certificates(session)
}

/// The site CA (public part) and every pinned device certificate, those ending within
/// 30 days marked (`portcullis certs renew --within 30`).
pub fn certificates(session: &Session) -> IpcResult<CertificatesView> {
    Ok(portcullis_core::tasks::certs::overview(&session.ws.home, 30)?)
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use portcullis_core::secret::Secret;
    use portcullis_core::vault::{FileVault, Vault};

    use super::*;
    use crate::picker::PresetPicks;

    /// A data directory with a file vault, and a scratch folder for the files to pick.
    fn session(name: &str) -> (Session, PathBuf) {
        let root = std::env::temp_dir().join(format!("pc-creds-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let home = root.join("home");
        std::fs::create_dir_all(&home).unwrap();
        let vault = Vault::new(Box::new(FileVault::new(home.join("v.age"), Secret::new("t"))), &home);
        (Session::open(&home, vault, None).unwrap(), root)
    }

    /// A CA named `cn`: its certificate and key files in `dir`.
    fn ca_files(dir: &Path, cn: &str) -> (PathBuf, PathBuf) {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.distinguished_name.push(rcgen::DnType::CommonName, cn);
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
        params.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
        let (cert_path, key_path) = (dir.join(format!("{cn}.pem")), dir.join(format!("{cn}.key")));
        std::fs::write(&cert_path, params.self_signed(&key).unwrap().pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }

    fn has_ca_key(s: &Session) -> bool {
        s.ws.vault.list().unwrap().iter().any(|e| matches!(e.scope, Scope::Ca(_)))
    }

    fn subject(s: &Session) -> Option<String> {
        certificates(s).unwrap().ca.map(|c| c.subject)
    }

    #[test]
    fn the_picked_certificate_and_key_become_the_site_ca() {
        let (s, root) = session("pick");
        let (cert, key) = ca_files(&root, "Customer CA");
        let picks = PresetPicks::new([Some(cert), Some(key)]);
        let view = import_ca(&s, &picks, false).unwrap();
        assert!(view.ca.unwrap().subject.contains("Customer CA"));
        assert_eq!(picks.left(), 0, "the certificate, then its key");
        assert!(has_ca_key(&s), "the key is in the vault");
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_cancelled_pick_is_an_error_and_changes_nothing() {
        let (s, root) = session("cancel");
        let (cert, _) = ca_files(&root, "Customer CA");
        for picks in [vec![None], vec![Some(cert), None]] {
            let e = import_ca(&s, &PresetPicks::new(picks), false).unwrap_err();
            assert_eq!(e.code, ShellCode::Cancelled.into(), "{e}");
            assert_eq!(subject(&s), None, "no site CA");
            assert!(!has_ca_key(&s), "no key in the vault");
        }
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn replacing_the_site_ca_needs_replace() {
        let (s, root) = session("replace");
        let (first, first_key) = ca_files(&root, "First CA");
        let (second, second_key) = ca_files(&root, "Second CA");
        import_ca(&s, &PresetPicks::new([Some(first), Some(first_key)]), false).unwrap();
        // Refused before any dialog opens: both answers are still there.
        let picks = PresetPicks::new([Some(second), Some(second_key)]);
        let e = import_ca(&s, &picks, false).unwrap_err();
        assert_eq!(e.code, portcullis_core::error::ErrorCode::Input.into(), "{e}");
        assert!(e.message.contains("replacing"), "{e}");
        assert_eq!(picks.left(), 2, "no dialog for a refused import");
        assert!(subject(&s).unwrap().contains("First CA"));
        import_ca(&s, &picks, true).unwrap();
        assert!(subject(&s).unwrap().contains("Second CA"));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn a_changed_certificate_is_shown_and_accepted_only_as_shown() {
        let (s, root) = session("accept");
        let mut pin = portcullis_core::certs::Pin::installed("aa".into(), "2030-01-01T00:00:00Z".into());
        pin.origin = portcullis_core::certs::PinOrigin::FirstSeen;
        pin.changed_to = Some(portcullis_core::certs::PinChange {
            fingerprint: "bb".into(),
            not_after: String::new(),
            seen: "2026-12-03T10:00:00Z".into(),
        });
        portcullis_core::certs::Pins::save_one(&s.ws.home, "192.0.2.9", pin).unwrap();
        let shown = certificates(&s).unwrap().pins.remove(0);
        let json = serde_json::to_value(&shown).unwrap();
        assert_eq!(
            (json["origin"].as_str(), json["changed_to"]["fingerprint"].as_str()),
            (Some("first_seen"), Some("bb"))
        );
        let request = |fp: &str| AcceptCertificateRequest { device: "192.0.2.9".into(), fingerprint: fp.into() };
        assert!(accept_certificate(&s, &request("cc")).is_err(), "only the certificate shown");
        let view = accept_certificate(&s, &request("bb")).unwrap();
        assert_eq!((view.pins[0].pin.fingerprint.as_str(), view.pins[0].pin.changed_to.is_none()), ("bb", true));
        let history = s.ws.history.query(&Default::default()).unwrap();
        assert!(history.iter().any(|r| r.change.setting == portcullis_core::setting::Setting::TlsCertificateTrusted));
        let _ = std::fs::remove_dir_all(&root);
    }
}
