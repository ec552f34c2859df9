//! The Hikvision ISAPI driver: reads a camera's security posture over HTTP(S) with
//! digest authentication. Each setting is read by trying its endpoint: a 404 or
//! `notSupport` makes that setting `Unsupported`, never an error of the whole audit.
//!
//! This module keeps the driver, its login and the table of endpoints; the reads are in
//! `read`, the changes in `change`, the accounts in `accounts`.

mod accounts;
pub mod activation;
mod change;
mod read;
pub mod wire;
pub mod write;

use crate::setting::Setting;

use super::http::HttpSession;
use crate::error::{Error, Result};
use crate::posture::Identity;
use change::ok_status;

const DEVICE_INFO: &str = "/ISAPI/System/deviceInfo";

/// Every endpoint the audit reads, and the settings each one carries.
pub const ENDPOINTS: &[(&str, &[Setting])] = &[
    ("/ISAPI/Security/userCheck", &[Setting::AccountDefaultPassword, Setting::AccountWeakPassword]),
    ("/ISAPI/Security/users", &[Setting::AccountUsers]),
    (
        "/ISAPI/Security/adminAccesses",
        &[
            Setting::ServiceHttpEnabled,
            Setting::ServiceHttpsEnabled,
            Setting::ServiceRtspEnabled,
            Setting::TlsV10,
            Setting::TlsV11,
            Setting::TlsV12,
        ],
    ),
    ("/ISAPI/Security/webCertificate", &[Setting::AuthWeb]),
    ("/ISAPI/Security/RTSPCertificate", &[Setting::AuthRtsp]),
    ("/ISAPI/System/Network/telnetd", &[Setting::ServiceTelnetEnabled]),
    ("/ISAPI/System/Network/ssh", &[Setting::ServiceSshEnabled]),
    ("/ISAPI/System/Network/UPnP", &[Setting::ServiceUpnpEnabled]),
    ("/ISAPI/System/Network/EZVIZ", &[Setting::ServiceCloudEnabled]),
    ("/ISAPI/System/Network/DDNS", &[Setting::ServiceDdnsEnabled]),
    ("/ISAPI/System/Network/ftp", &[Setting::ServiceFtpEnabled]),
    ("/ISAPI/System/Network/SNMP", &[Setting::ServiceSnmpV1, Setting::ServiceSnmpV2c, Setting::ServiceSnmpV3]),
    ("/ISAPI/System/discoveryMode", &[Setting::DiscoverySadp]),
    ("/ISAPI/System/Network/Integrate", &[Setting::OnvifEnabled, Setting::OnvifAuth, Setting::DiscoveryOnvif]),
    ("/ISAPI/Security/illegalLoginLock", &[Setting::SecurityLoginLockEnabled]),
    ("/ISAPI/System/time", &[Setting::TimeNtpEnabled, Setting::TimeZone]),
    ("/ISAPI/System/time/ntpServers", &[Setting::TimeNtpServers]),
    ("/ISAPI/System/Network/ipFilter", &[Setting::NetworkIpFilterEnabled, Setting::NetworkIpFilterAddresses]),
    // Read with the identity at the login; listed for verifying a rename.
    ("/ISAPI/System/deviceInfo", &[Setting::DeviceName]),
    ("/ISAPI/Security/serverCertificate/certificate", &[Setting::TlsCertificateSelfSigned]),
];

#[derive(Debug, Clone)]
pub struct IsapiDriver {
    pub http: HttpSession,
}

/// Hikvision's anonymous activation status, if the device answers it.
async fn activation_status(http: &HttpSession) -> Option<bool> {
    let a = http.anonymous("GET", "/SDK/activateStatus", None).await.ok()?;
    let doc = crate::xml::parse(&a.body).ok()?;
    crate::xml::find_text(doc.root_element(), "Activated").and_then(|t| crate::xml::parse_bool(&t))
}

/// An ISAPI status document (`userCheck`, `ResponseStatus`), as Hikvision firmware
/// sends with a refusal.
fn isapi_document(body: &str) -> bool {
    crate::xml::parse(body).is_ok_and(|d| matches!(d.root_element().tag_name().name(), "userCheck" | "ResponseStatus"))
}

impl IsapiDriver {
    pub fn new(http: HttpSession) -> Self {
        IsapiDriver { http }
    }

    /// Whether the device speaks ISAPI, by what it proves, not by a status code: any web
    /// server may ask for credentials, so a 401 on deviceInfo counts only with Hikvision
    /// firmware's own answer beside it (an ISAPI `userCheck`/`ResponseStatus` body, or an
    /// anonymous `/SDK/activateStatus` document). No credentials are sent, so a wrong
    /// guess never costs a refused login.
    pub async fn probe(http: &HttpSession) -> bool {
        match http.anonymous("GET", DEVICE_INFO, None).await {
            Ok(a) if a.status == 200 => wire::device_info(&a.body).is_ok(),
            Ok(a) if a.status == 401 => isapi_document(&a.body) || activation_status(http).await.is_some(),
            _ => false,
        }
    }

    /// Whether the device is activated, without logging in (`/SDK/activateStatus`).
    pub async fn activated(&self) -> Option<bool> {
        activation_status(&self.http).await
    }

    pub async fn identify(&self) -> Result<Identity> {
        self.identify_and_name().await.map(|(identity, _)| identity)
    }

    /// The identity and the device name, from one deviceInfo read.
    async fn identify_and_name(&self) -> Result<(Identity, Option<String>)> {
        let a = self.http.call("GET", DEVICE_INFO, None).await?;
        ok_status(&self.http.address, "deviceInfo", &a)?;
        let identity = wire::device_info(&a.body).map_err(|reason| Error::Malformed {
            address: self.http.address.clone(),
            operation: "GET /ISAPI/System/deviceInfo".into(),
            reason,
        })?;
        Ok((identity, wire::device_name(&a.body)))
    }

    /// The camera's ONVIF side, for what ISAPI cannot switch (WS-Discovery), used only
    /// when an ONVIF user of our name exists: a login to a missing user would be a
    /// failed login.
    async fn onvif_side(&self) -> Result<super::onvif::OnvifDriver> {
        let unsupported = |why: &str| Error::Unsupported { address: self.http.address.clone(), operation: why.into() };
        let creds = self.http.credentials().cloned().ok_or_else(|| unsupported("ONVIF without credentials"))?;
        let a = self.http.call("GET", "/ISAPI/Security/ONVIF/users", None).await?;
        let has_user =
            a.status == 200 && wire::user_ids(&a.body).is_ok_and(|l| l.iter().any(|(_, n)| *n == creds.username));
        if !has_user {
            return Err(unsupported("WS-Discovery switch (no ONVIF user of this name: switch it off in the web UI)"));
        }
        let drv = super::onvif::OnvifDriver::new(self.http.clone(), Some(creds), self.http.guard());
        drv.sync_clock().await?;
        Ok(drv)
    }
}
