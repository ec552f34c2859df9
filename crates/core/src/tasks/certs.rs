//! Device certificates the operator decides on: a certificate a device presented in
//! place of its pin is refused until accepted here (both shells call this).

use crate::certs::{Pin, Pins};
use crate::error::Result;
use crate::history::{Change, Outcome};
use crate::posture::Value;
use crate::setting::Setting;
use crate::workspace::{Clock, Workspace};

/// Every pin, and the changed certificates waiting for a decision.
pub fn pins(ws: &Workspace) -> Result<Pins> {
    Pins::load(&ws.home)
}

/// Accept the certificate `address` presented in place of its pin: it becomes the pin,
/// and the history records who decided, with both fingerprints. `fingerprint`, when
/// given, must match the certificate waiting.
pub fn accept(
    ws: &Workspace,
    address: &str,
    fingerprint: Option<&str>,
    operator: Option<&str>,
    clock: &dyn Clock,
) -> Result<Pin> {
    let (old, new) = Pins::accept(&ws.home, address, fingerprint, &clock.stamp_secs())?;
    let site =
        ws.store.all()?.into_iter().find(|d| d.address.is_some_and(|a| a.to_string() == address)).and_then(|d| d.site);
    ws.history.append(
        Change {
            operator: crate::workspace::operator(operator),
            device: address.to_string(),
            site,
            control: None,
            setting: Setting::TlsCertificateTrusted,
            before: Some(Value::Text(format!("sha256:{}", old.fingerprint))),
            after: Some(Value::Text(format!("sha256:{}", new.fingerprint))),
            outcome: Outcome::Verified,
            vault_entry: None,
        },
        &clock.stamp(),
    )?;
    Ok(new)
}
