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
    /// Whether the device was activated when connected, where the probe's answers said.
    activated_at_connect: Option<bool>,
}

/// Hikvision's anonymous activation status, if the device answers it.
async fn activation_status(http: &HttpSession) -> Option<bool> {
    let a = http.anonymous("GET", "/SDK/activateStatus", None).await.ok()?;
    let doc = crate::xml::parse(&a.body).ok()?;
    crate::xml::find_text(doc.root_element(), "Activated").and_then(|t| crate::xml::parse_bool(&t))
}

/// An ISAPI status document (`userCheck`, `ResponseStatus`), as Hikvision firmware
/// sends with a refusal: `Some`, with its `isActivated` where it carries one (newer
/// firmware's `userCheck`, protocols.md §4.3); `None` for any other body.
fn refusal_document(body: &str) -> Option<Option<bool>> {
    let doc = crate::xml::parse(body).ok()?;
    let root = doc.root_element();
    matches!(root.tag_name().name(), "userCheck" | "ResponseStatus")
        .then(|| crate::xml::find_text(root, "isActivated").and_then(|t| crate::xml::parse_bool(&t)))
}

/// What the connect's anonymous question to `deviceInfo` found.
#[derive(Debug)]
pub enum Probed {
    /// An answer, not ISAPI's.
    NotIsapi,
    /// Hikvision ISAPI; activated or not, where its answer said.
    Isapi { activated: Option<bool> },
    /// No answer at all (refused, timed out, another certificate): no other question
    /// to the same port would get one either.
    NoAnswer(Error),
}

impl IsapiDriver {
    pub fn new(http: HttpSession) -> Self {
        IsapiDriver { http, activated_at_connect: None }
    }

    /// The driver of a device the probe found, with what it learnt of its activation.
    pub fn probed(http: HttpSession, activated: Option<bool>) -> Self {
        IsapiDriver { http, activated_at_connect: activated }
    }

    /// Whether the device speaks ISAPI, by what it proves, not by a status code: any web
    /// server may ask for credentials, so a 401 on deviceInfo counts only with Hikvision
    /// firmware's own answer beside it (an ISAPI `userCheck`/`ResponseStatus` body, or an
    /// anonymous `/SDK/activateStatus` document). No credentials are sent, so a wrong
    /// guess never costs a refused login. The 401's challenge is offered to the login
    /// that follows ([`HttpSession::anonymous_offering`]), and whether the device is
    /// activated is kept where either answer said so.
    ///
    /// A server error or a dropped connection says nothing either way: the question is
    /// asked again (twice, a moment apart) before the answer is "no". Taking one
    /// passing fault for "not ISAPI" drove a Hikvision camera over ONVIF for a run, which
    /// reads its IP filter another way and planned a change already made.
    pub async fn probe(http: &HttpSession) -> Probed {
        const ATTEMPTS: usize = 3;
        for attempt in 1..=ATTEMPTS {
            match http.anonymous_offering("GET", DEVICE_INFO).await {
                Ok(a) if a.status == 200 => {
                    return match wire::device_info(&a.body) {
                        Ok(_) => Probed::Isapi { activated: None },
                        Err(_) => Probed::NotIsapi,
                    }
                }
                Ok(a) if a.status == 401 => {
                    return match refusal_document(&a.body) {
                        Some(activated) => Probed::Isapi { activated },
                        None => match activation_status(http).await {
                            Some(activated) => Probed::Isapi { activated: Some(activated) },
                            None => Probed::NotIsapi,
                        },
                    }
                }
                Ok(a) if a.status >= 500 && attempt < ATTEMPTS => {}
                Err(Error::Unreachable { .. }) if attempt < ATTEMPTS => {}
                Err(e @ (Error::Unreachable { .. } | Error::Timeout { .. } | Error::CertificateChanged { .. })) => {
                    return Probed::NoAnswer(e)
                }
                _ => return Probed::NotIsapi,
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
        Probed::NotIsapi
    }

    /// Whether the device is activated, without logging in (`/SDK/activateStatus`).
    pub async fn activated(&self) -> Option<bool> {
        activation_status(&self.http).await
    }

    /// Whether the device was activated when connected: as the probe's answers said,
    /// else asked now.
    pub async fn activated_at_connect(&self) -> Option<bool> {
        match self.activated_at_connect {
            Some(said) => Some(said),
            None => self.activated().await,
        }
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
    use crate::driver::transport::Reply;

    use super::Probed;

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
        let found = super::IsapiDriver::probe(&session(&script)).await;
        assert!(matches!(found, Probed::Isapi { activated: None }), "asked again after a 500 and a drop: {found:?}");
        assert_eq!(script.calls().len(), 3, "{:?}", script.calls());

        // Firmware that answers every unknown path with an error is still not ISAPI.
        let script = Script::new().on("GET", super::DEVICE_INFO, vec![error]);
        assert!(matches!(super::IsapiDriver::probe(&session(&script)).await, Probed::NotIsapi));
        assert_eq!(script.calls().len(), 3, "three questions, then the answer is no");
        let script = Script::new().on("GET", super::DEVICE_INFO, vec![status(404, "")]);
        assert!(matches!(super::IsapiDriver::probe(&session(&script)).await, Probed::NotIsapi));
        assert_eq!(script.calls().len(), 1, "a 404 is an answer");
        let script = Script::new().on("GET", super::DEVICE_INFO, vec![Answer::Drop]);
        let silent = super::IsapiDriver::probe(&session(&script)).await;
        assert!(matches!(silent, Probed::NoAnswer(crate::error::Error::Unreachable { .. })), "{silent:?}");
        assert_eq!(script.calls().len(), 3, "asked three times");
    }

    /// A 401 with a digest challenge and this body.
    fn challenge(body: &str) -> Answer {
        Answer::Reply(Reply {
            status: 401,
            challenges: vec![r#"Digest realm="IP Camera(C2183)", nonce="4d57", qop="auth""#.into()],
            body: body.into(),
            bytes: None,
        })
    }

    /// An audit's session with credentials (reads may answer challenges already given).
    fn audit_session(script: &Arc<Script>) -> HttpSession {
        HttpSession::new(
            script.client(),
            "https://192.0.2.5:443".into(),
            Some(crate::secret::Credentials::new("admin", "Pass-word-1#")),
            Arc::new(LoginGuard::reusing_challenges()),
            crate::driver::Timings::reads_and_writes(std::time::Duration::from_secs(2)),
        )
    }

    const ACTIVATED: &str = "<ActivateStatus><Activated>true</Activated></ActivateStatus>";

    /// Newer firmware's 401 says whether the camera is activated, and its challenge is
    /// the one the login would draw with the same request: the audit's connect and
    /// login cost two requests, not four (the probe, `/SDK/activateStatus`, the login's
    /// own anonymous request, its answer).
    #[tokio::test]
    async fn the_probe_s_refusal_tells_activation_and_its_challenge_serves_the_login() {
        let refusal = "<userCheck version=\"2.0\"><statusValue>401</statusValue><statusString>Unauthorized</statusString><isActivated>true</isActivated><lockStatus>unlock</lockStatus><unlockTime>0</unlockTime></userCheck>";
        let script = Script::new().on("GET", super::DEVICE_INFO, vec![challenge(refusal), ok(INFO)]).on(
            "GET",
            "/SDK/activateStatus",
            vec![ok(ACTIVATED)],
        );
        let http = audit_session(&script);
        let found = super::IsapiDriver::probe(&http).await;
        assert!(matches!(found, Probed::Isapi { activated: Some(true) }), "{found:?}");
        let driver = super::IsapiDriver::probed(http, Some(true));
        assert_eq!(driver.activated_at_connect().await, Some(true));
        assert_eq!(driver.identify().await.unwrap().model, "DS-2CD2132F-IS");
        let seen = script.seen.lock().unwrap().clone();
        let sent: Vec<_> = seen.iter().map(|r| (r.path().to_string(), r.authorization.is_some())).collect();
        let info = super::DEVICE_INFO.to_string();
        assert_eq!(sent, [(info.clone(), false), (info, true)]);
        let answered = seen[1].authorization.clone().unwrap_or_default();
        assert!(answered.contains("nonce=\"4d57\"") && answered.contains("nc=00000001"), "{answered}");

        // A wrong password is refused once, as with the login's own challenge: no retry.
        let script = Script::new().on("GET", super::DEVICE_INFO, vec![challenge(refusal)]);
        let http = audit_session(&script);
        super::IsapiDriver::probe(&http).await;
        let e = super::IsapiDriver::probed(http.clone(), Some(true)).identify().await.unwrap_err();
        assert!(matches!(e, crate::error::Error::AuthRefused { .. }), "{e}");
        assert_eq!(script.calls().len(), 2, "{:?}", script.calls());
        assert!(http.guard().refused(), "the one refused login of the run");
    }

    /// Older firmware refuses with an HTML page (the captured V5.5.0 401): the probe asks
    /// `/SDK/activateStatus` to know it is Hikvision, and that answer is not asked again.
    /// A `userCheck` without `isActivated` leaves the question to the audit.
    #[tokio::test]
    async fn firmware_that_does_not_say_activation_in_its_refusal_is_asked_once() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/fixtures/isapi");
        let captured = std::fs::read_to_string(
            dir.join("hikvision-DS-2CD2155FWD-I-V5.5.0_build_170725-System.status-401-basic-auth-rejected.http"),
        )
        .expect("../shared/fixtures");
        let html = captured.split("\r\n\r\n").nth(1).expect("a body after the head");
        assert!(html.contains("401 -- Unauthorized"));
        let script = Script::new().on("GET", super::DEVICE_INFO, vec![challenge(html)]).on(
            "GET",
            "/SDK/activateStatus",
            vec![ok(ACTIVATED)],
        );
        let found = super::IsapiDriver::probe(&audit_session(&script)).await;
        assert!(matches!(found, Probed::Isapi { activated: Some(true) }), "{found:?}");
        let driver = super::IsapiDriver::probed(audit_session(&script), Some(true));
        assert_eq!(driver.activated_at_connect().await, Some(true));
        assert_eq!(script.calls(), ["GET /ISAPI/System/deviceInfo", "GET /SDK/activateStatus"]);

        let silent = "<userCheck><statusValue>401</statusValue><lockStatus>unlock</lockStatus></userCheck>";
        let script = Script::new().on("GET", super::DEVICE_INFO, vec![challenge(silent)]).on(
            "GET",
            "/SDK/activateStatus",
            vec![ok(ACTIVATED)],
        );
        let http = audit_session(&script);
        assert!(matches!(super::IsapiDriver::probe(&http).await, Probed::Isapi { activated: None }));
        assert_eq!(super::IsapiDriver::probed(http, None).activated_at_connect().await, Some(true));
        assert_eq!(script.calls(), ["GET /ISAPI/System/deviceInfo", "GET /SDK/activateStatus"]);
    }
}
