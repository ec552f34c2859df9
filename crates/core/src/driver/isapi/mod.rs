//! The Hikvision ISAPI driver: reads a camera's security posture over HTTP(S) with
//! digest authentication. Each setting is read by trying its endpoint: a 404 or
//! `notSupport` makes that setting `Unsupported`, never an error of the whole audit.
//!
//! This module keeps the driver, its login and the table of endpoints; the reads are in
//! `read`, the changes in `change`, the accounts in `accounts`.

mod accounts;
pub mod activation;
mod change;
mod firmware;
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
    (
        "/ISAPI/System/Network/interfaces/1/ipAddress",
        &[Setting::NetworkIpv4, Setting::NetworkGateway, Setting::NetworkDns],
    ),
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
    ///
    /// A server error or a dropped connection says nothing either way: the question is
    /// asked again (twice, a moment apart) before the answer is "no". Taking one
    /// passing fault for "not ISAPI" drove a Hikvision camera over ONVIF for a run, which
    /// reads its IP filter another way and planned a change already made.
    pub async fn probe(http: &HttpSession) -> bool {
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            match http.anonymous("GET", DEVICE_INFO, None).await {
                Ok(a) if a.status == 200 => return wire::device_info(&a.body).is_ok(),
                Ok(a) if a.status == 401 => return isapi_document(&a.body) || activation_status(http).await.is_some(),
                Ok(a) if a.status >= 500 && attempt < ATTEMPTS => {}
                Err(Error::Unreachable { .. }) if attempt < ATTEMPTS => {}
                _ => return false,
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        false
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::driver::http::{HttpSession, LoginGuard};
    use crate::driver::transport::script::{ok, status, Answer, Script};

    const INFO: &str = "<DeviceInfo version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><deviceName>Camera</deviceName><model>DS-2CD2132F-IS</model><serialNumber>DS-1</serialNumber><macAddress>c0:56:e3:00:00:01</macAddress><firmwareVersion>V5.3.0</firmwareVersion><firmwareReleasedDate>build 151016</firmwareReleasedDate><deviceType>IPCamera</deviceType></DeviceInfo>";

    fn session(script: &Arc<Script>) -> HttpSession {
        HttpSession::new(
            script.client(),
            "http://192.0.2.5:80".into(),
            None,
            Arc::new(LoginGuard::default()),
            crate::driver::Timings::reads_and_writes(std::time::Duration::from_secs(2)),
        )
    }

    #[tokio::test]
    async fn a_passing_fault_on_the_probe_does_not_make_a_hikvision_camera_onvif() {
        let error = status(
            500,
            "<ResponseStatus><statusCode>3</statusCode><subStatusCode>deviceError</subStatusCode></ResponseStatus>",
        );
        let script = Script::new().on("GET", super::DEVICE_INFO, vec![error.clone(), Answer::Drop, ok(INFO)]);
        assert!(super::IsapiDriver::probe(&session(&script)).await, "asked again after a 500 and a drop");
        assert_eq!(script.calls().len(), 3, "{:?}", script.calls());

        // Firmware that answers every unknown path with an error is still not ISAPI.
        let script = Script::new().on("GET", super::DEVICE_INFO, vec![error]);
        assert!(!super::IsapiDriver::probe(&session(&script)).await);
        assert_eq!(script.calls().len(), 3, "three questions, then the answer is no");
        let script = Script::new().on("GET", super::DEVICE_INFO, vec![status(404, "")]);
        assert!(!super::IsapiDriver::probe(&session(&script)).await);
        assert_eq!(script.calls().len(), 1, "a 404 is an answer");
    }
}
