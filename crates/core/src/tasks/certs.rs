//! Device certificates the operator decides on: a certificate a device presented in
//! place of its pin is refused until accepted here (both shells call this).

use crate::certs::{Pin, Pins};
use crate::error::Result;
use crate::history::{Change, Outcome};
use crate::posture::Value;
use crate::setting::Setting;
use crate::workspace::{Clock, Workspace};

/// A pinned device certificate, as both shells list it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "PinView", export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct PinRow {
    pub device: String,
    #[serde(flatten)]
    pub pin: Pin,
    /// A site-CA certificate that ends within the days asked (`certs renew --within`).
    pub expiring: bool,
}

/// The site CA (public part) and every pinned device certificate.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename = "CertificatesView", export_to = "../../ui/src/lib/ipc/bindings/")
)]
pub struct Overview {
    pub ca: Option<crate::certs::CaInfo>,
    pub pins: Vec<PinRow>,
}

/// The site CA and every pin, those ending within `days` marked, with the changed
/// certificates waiting for a decision.
pub fn overview(home: &std::path::Path, days: i64) -> Result<Overview> {
    Ok(Overview { ca: crate::certs::ca_info(home)?, pins: pin_rows(home, days)? })
}

/// Every pin, those ending within `days` marked (without the CA: `certs list`).
pub fn pin_rows(home: &std::path::Path, days: i64) -> Result<Vec<PinRow>> {
    let pins = Pins::load(home)?;
    let expiring = pins.expiring_within(days);
    Ok((pins.devices.into_iter())
        .map(|(device, pin)| PinRow { expiring: expiring.contains(&device), device, pin })
        .collect())
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
