//! Credentials: what the vault holds (names and dates, never values), and site
//! defaults written once from the UI.

use portcullis_core::secret::Credentials;
use portcullis_core::vault::Scope;

use crate::dto::{
    CaView, CertificatesView, CredentialState, DeviceCredentials, ImportCaRequest, PinView, SiteCredentials, VaultEntry,
};
use crate::error::{IpcError, IpcResult};
use crate::session::Session;

pub fn entries(session: &Session) -> IpcResult<Vec<VaultEntry>> {
    Ok(session
        .ws
        .vault
        .list()?
        .into_iter()
        .map(|e| {
            // Scopes serialise as {"scope": kind, "name": …}: new kinds (pending
            // rotations, CA keys) show up by name without a change here.
            let tagged = serde_json::to_value(&e.scope).unwrap_or_default();
            let field = |k: &str| tagged.get(k).and_then(|v| v.as_str()).unwrap_or_default().to_string();
            let (scope, name) = (field("scope"), field("name"));
            VaultEntry { scope, name, username: e.username, updated: e.updated }
        })
        .collect())
}

/// Which vault entry a device's audit would use, without reading any secret: its own,
/// its site's default, or the `default` site's.
pub fn state_for(session: &Session, label: &str, site: Option<&str>) -> IpcResult<CredentialState> {
    let list = session.ws.vault.list()?;
    let address = label.split(':').next().unwrap_or(label);
    let candidates = [
        ("device", Scope::Device(label.to_string())),
        ("device", Scope::Device(address.to_string())),
        ("site", Scope::Site(site.unwrap_or("default").to_string())),
        ("default", Scope::Site("default".into())),
    ];
    for (source, scope) in candidates {
        if let Some(e) = list.iter().find(|e| e.scope == scope) {
            return Ok(CredentialState {
                source: source.into(),
                username: Some(e.username.clone()),
                updated: Some(e.updated.clone()),
            });
        }
    }
    Ok(CredentialState { source: "none".into(), username: None, updated: None })
}

/// Store a site's default credentials. The password goes into the vault and nowhere
/// else; nothing returns it.
pub fn set_site_default(session: &Session, c: SiteCredentials) -> IpcResult<()> {
    let site = c.site.trim();
    let username = c.username.trim();
    if site.is_empty() || username.is_empty() || c.password.is_empty() {
        return Err(IpcError::input("site, user name and password are all required"));
    }
    let creds = Credentials::new(username, c.password);
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
        return Err(IpcError::new(crate::error::ShellCode::NotFound, format!("{} is not in the inventory", c.device)));
    }
    session.ws.vault.set(Scope::Device(c.device.clone()), &Credentials::new(username, c.password))?;
    Ok(())
}

/// Make a customer's CA the site CA, as `portcullis certs import-ca` does: checked
/// before it is kept, its key read from the file into the vault and nowhere else.
pub fn import_ca(session: &Session, request: &ImportCaRequest) -> IpcResult<CertificatesView> {
    let required = |what: &str, path: &str| {
        let path = path.trim();
        if path.is_empty() {
            return Err(IpcError::input(format!("the {what} file is required")));
        }
        Ok(std::path::PathBuf::from(path))
    };
    let cert = required("certificate", &request.cert_path)?;
    let key = required("key", &request.key_path)?;
    portcullis_core::certs::SiteCa::import_files(&session.ws.home, &session.ws.vault, &cert, &key, request.replace)?;
    certificates(session)
}

/// The site CA (public part) and every pinned device certificate.
pub fn certificates(session: &Session) -> IpcResult<CertificatesView> {
    let ca = portcullis_core::certs::ca_info(&session.ws.home)?.map(|c| CaView {
        subject: c.subject,
        not_after: c.not_after,
        fingerprint: c.fingerprint,
        path: c.path,
    });
    let pins = portcullis_core::certs::Pins::load(&session.ws.home)?;
    let expiring = pins.expiring_within(30);
    Ok(CertificatesView {
        ca,
        pins: pins
            .devices
            .iter()
            .map(|(device, p)| PinView {
                device: device.clone(),
                fingerprint: p.fingerprint.clone(),
                not_after: p.not_after.clone(),
                expiring: expiring.contains(device),
            })
            .collect(),
    })
}
