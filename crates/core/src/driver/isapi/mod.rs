//! The Hikvision ISAPI driver: reads a camera's security posture over HTTP(S) with
//! digest authentication. Each setting is read by trying its endpoint: a 404 or
//! `notSupport` makes that setting `Unsupported`, never an error of the whole audit.

pub mod activation;
pub mod wire;
pub mod write;

use crate::setting::Setting;
use std::sync::Arc;

use futures::stream::{self, StreamExt};

use super::http::{Answer, HttpSession};
use crate::error::{Error, Result};
use crate::posture::{Identity, Posture, Protocol, Reading, Value};

const DEVICE_INFO: &str = "/ISAPI/System/deviceInfo";

/// Requests in flight per device: cameras serve a few connections at once.
const PER_DEVICE_PARALLEL: usize = 4;

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

/// What one endpoint said.
type Read = (&'static str, Result<Answer>);

impl IsapiDriver {
    pub fn new(http: HttpSession) -> Self {
        IsapiDriver { http }
    }

    /// Whether the device speaks ISAPI: an unauthenticated deviceInfo draws a digest
    /// challenge or a `userCheck`, not a 404. No credentials are sent.
    pub async fn probe(http: &HttpSession) -> bool {
        match http.anonymous("GET", "/ISAPI/System/deviceInfo", None).await {
            Ok(a) => a.status == 401 || (a.status == 200 && wire::device_info(&a.body).is_ok()),
            Err(_) => false,
        }
    }

    /// Whether the device is activated, without logging in (`/SDK/activateStatus`).
    pub async fn activated(&self) -> Option<bool> {
        let a = self.http.anonymous("GET", "/SDK/activateStatus", None).await.ok()?;
        let doc = crate::xml::parse(&a.body).ok()?;
        crate::xml::find_text(doc.root_element(), "Activated").and_then(|t| crate::xml::parse_bool(&t))
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

    /// Read everything the baseline looks at.
    pub async fn read_posture(&self, wanted: &[Setting]) -> Result<Posture> {
        // Identity first: it is the login, so a refusal stops here after one attempt.
        let (identity, name) = self.identify_and_name().await?;
        let mut posture = Posture::new(identity, Protocol::Isapi);
        posture.known(Setting::AccountActivated, Value::Bool(true));
        posture.set(
            Setting::DeviceName,
            name.map_or(Reading::Unknown("deviceInfo has no deviceName".into()), |n| Reading::Known(Value::Text(n))),
        );
        let needed = |keys: &[Setting]| wanted.is_empty() || keys.iter().any(|k| wanted.contains(k));
        let paths: Vec<&'static str> =
            ENDPOINTS.iter().filter(|(p, keys)| *p != DEVICE_INFO && needed(keys)).map(|(p, _)| *p).collect();
        let reads = self.read_paths(&paths).await?;
        for (path, result) in reads {
            interpret(&mut posture, path, result);
        }
        let fw = match &posture.identity.firmware_build {
            Some(b) => format!("{} build {b}", posture.identity.firmware_version),
            None => posture.identity.firmware_version.clone(),
        };
        posture.known(Setting::FirmwareVersion, Value::Text(fw));
        Ok(posture)
    }

    /// GET several endpoints, a few at a time. A refusal or a lock mid-way is the
    /// device's answer to all of them: stop there.
    async fn read_paths(&self, paths: &[&'static str]) -> Result<Vec<Read>> {
        let http = Arc::new(self.http.clone());
        let pending: Vec<_> = paths.iter().map(|p| read_one(http.clone(), p)).collect();
        let reads: Vec<Read> = stream::iter(pending).buffered(PER_DEVICE_PARALLEL).collect().await;
        for (_, r) in &reads {
            if let Err(e @ (Error::AuthRefused { .. } | Error::Locked { .. })) = r {
                return Err(clone_error(e));
            }
        }
        Ok(reads)
    }

    /// Read only the settings named (for verifying a change), as a posture.
    pub async fn read_settings(&self, keys: &[Setting]) -> Result<Posture> {
        let mut paths: Vec<&'static str> =
            keys.iter().filter(|k| **k != Setting::DiscoveryOnvif).filter_map(|k| write::endpoint(*k)).collect();
        paths.sort_unstable();
        paths.dedup();
        let mut posture = Posture::new(Identity::default(), Protocol::Isapi);
        let reads = self.read_paths(&paths).await?;
        // A device that is gone (rebooting) is an error here, not an unknown value:
        // the caller waits for it and reads again.
        for (_, r) in &reads {
            if let Err(e @ (Error::Unreachable { .. } | Error::Timeout { .. })) = r {
                return Err(clone_error(e));
            }
        }
        for (path, result) in reads {
            interpret(&mut posture, path, result);
        }
        if keys.contains(&Setting::DiscoveryOnvif) {
            let reading = match self.onvif_side().await {
                Ok(onvif) => onvif.discoverable().await?,
                Err(e) => Reading::Unknown(e.to_string()),
            };
            posture.set(Setting::DiscoveryOnvif, reading);
        }
        Ok(posture)
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

    /// Change one setting: GET its document, edit it, PUT it back.
    pub async fn write_setting(&self, key: Setting, to: &Value, ctx: &write::WriteContext) -> Result<()> {
        if key == Setting::DiscoveryOnvif {
            let on = matches!(to, Value::Bool(true));
            return self.onvif_side().await?.set_discoverable(on).await;
        }
        let path = write::endpoint(key).ok_or_else(|| Error::Unsupported {
            address: self.http.address.clone(),
            operation: format!("write {key}"),
        })?;
        let current = self.http.call("GET", path, None).await?;
        ok_status(&self.http.address, path, &current)?;
        let body = write::edit(key, &current.body, to, ctx).map_err(|reason| Error::Malformed {
            address: self.http.address.clone(),
            operation: format!("GET {path}"),
            reason,
        })?;
        self.put(path, &body).await
    }

    /// PUT a document and check the `ResponseStatus`.
    pub async fn put(&self, path: &str, body: &str) -> Result<()> {
        let a = self.http.call("PUT", path, Some(("application/xml", body))).await?;
        put_status(&self.http.address, path, &a)
    }

    /// The web users as (id, name).
    async fn web_users(&self) -> Result<Vec<(String, String)>> {
        let a = self.http.call("GET", "/ISAPI/Security/users", None).await?;
        ok_status(&self.http.address, "users", &a)?;
        wire::user_ids(&a.body).map_err(|reason| Error::Malformed {
            address: self.http.address.clone(),
            operation: "GET /ISAPI/Security/users".into(),
            reason,
        })
    }

    /// Delete every web user but `admin`.
    pub async fn delete_extra_users(&self) -> Result<Vec<String>> {
        let users = self.web_users().await?;
        let mut gone = Vec::new();
        for (id, name) in users.into_iter().filter(|(_, n)| n != "admin") {
            let path = format!("/ISAPI/Security/users/{id}");
            let a = self.http.call("DELETE", &path, None).await?;
            put_status(&self.http.address, &path, &a)?;
            gone.push(name);
        }
        Ok(gone)
    }

    /// Activate a factory-new camera with its first admin password (no login: the
    /// camera has no password yet).
    pub async fn activate(&self, password: &crate::secret::Secret) -> Result<()> {
        let malformed = |reason: String| Error::Malformed {
            address: self.http.address.clone(),
            operation: "POST /ISAPI/Security/challenge".into(),
            reason,
        };
        let key = tokio::task::spawn_blocking(activation::ChallengeKey::generate)
            .await
            .map_err(|e| Error::Local(e.to_string()))?
            .map_err(Error::Local)?;
        let a = self
            .http
            .anonymous("POST", "/ISAPI/Security/challenge", Some(("application/xml", &key.request_body())))
            .await?;
        ok_status(&self.http.address, "challenge", &a)?;
        let secret = key.secret_from(&a.body).map_err(malformed)?;
        let body = activation::activate_body(&secret, password.expose()).map_err(Error::Local)?;
        let a = self.http.anonymous("PUT", "/ISAPI/System/activate", Some(("application/xml", &body))).await?;
        put_status(&self.http.address, "activate", &a)
    }

    /// A certificate from the site CA for the camera's own key: the camera makes a CSR,
    /// we sign it (with our SANs), the camera installs the chain.
    pub async fn install_certificate(&self, ca: &crate::certs::SiteCa, names: &[String]) -> Result<crate::certs::Leaf> {
        const BASE: &str = "/ISAPI/Security/serverCertificate";
        let cn = names.first().cloned().unwrap_or_default();
        let sans: String =
            names.iter().map(|n| format!("<subjectAltName>{}</subjectAltName>", crate::xml::esc(n))).collect();
        let req = format!(
            "<CertificateReq version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><commonName>{}</commonName>{sans}</CertificateReq>",
            crate::xml::esc(&cn)
        );
        self.put(&format!("{BASE}/certSignReq"), &req).await?;
        let a = self.http.call("GET", &format!("{BASE}/downloadCertSignReq"), None).await?;
        ok_status(&self.http.address, "downloadCertSignReq", &a)?;
        let leaf = ca.sign_csr(&a.body, names)?;
        let path = format!("{BASE}/certificate");
        let r = self.http.call("PUT", &path, Some(("application/x-pem-file", &leaf.chain_pem))).await?;
        put_status(&self.http.address, &path, &r)?;
        Ok(leaf)
    }

    /// The HTTPS port from `adminAccesses`.
    pub async fn https_port(&self) -> Option<u16> {
        let a = self.http.call("GET", "/ISAPI/Security/adminAccesses", None).await.ok()?;
        let list = wire::admin_accesses(&a.body).ok()?;
        list.into_iter().find(|p| p.protocol == "HTTPS").and_then(|p| p.port)
    }

    /// The device's configuration export, kept with the history before any change.
    pub async fn backup(&self) -> Result<Vec<u8>> {
        let a = self.http.call("GET", "/ISAPI/System/configurationData", None).await?;
        ok_status(&self.http.address, "configurationData", &a)?;
        Ok(a.body.into_bytes())
    }

    /// Set a user's password, on the web user and on the ONVIF user of the same name.
    pub async fn set_password(&self, username: &str, password: &crate::secret::Secret) -> Result<()> {
        let users = self.web_users().await?;
        let id = users.iter().find(|(_, n)| n == username).map(|(id, _)| id.clone()).ok_or_else(|| Error::Device {
            address: self.http.address.clone(),
            operation: "set password".into(),
            reason: format!("no web user {username}"),
        })?;
        let path = format!("/ISAPI/Security/users/{id}");
        self.put(&path, &write::user_password(&id, username, password.expose())).await?;
        // The ONVIF user of the same name, where the firmware keeps one apart.
        if let Ok(a) =
            self.http_with_new_password(username, password).call("GET", "/ISAPI/Security/ONVIF/users", None).await
        {
            if a.status == 200 {
                if let Ok(list) = wire::user_ids(&a.body) {
                    if let Some((oid, _)) = list.iter().find(|(_, n)| n == username) {
                        let p = format!("/ISAPI/Security/ONVIF/users/{oid}");
                        let s = self.http_with_new_password(username, password);
                        let a = s
                            .call(
                                "PUT",
                                &p,
                                Some((
                                    "application/xml",
                                    &write::onvif_user_password(oid, username, password.expose()),
                                )),
                            )
                            .await?;
                        put_status(&self.http.address, &p, &a)?;
                    }
                }
            }
        }
        Ok(())
    }

    fn http_with_new_password(&self, username: &str, password: &crate::secret::Secret) -> HttpSession {
        self.http.with_credentials(Some(crate::secret::Credentials {
            username: username.into(),
            password: password.clone(),
        }))
    }
}

async fn read_one(http: Arc<HttpSession>, path: &'static str) -> Read {
    (path, http.call("GET", path, None).await)
}

fn clone_error(e: &Error) -> Error {
    match e {
        Error::AuthRefused { address, username } => {
            Error::AuthRefused { address: address.clone(), username: username.clone() }
        }
        Error::Locked { address, unlock_in_s } => Error::Locked { address: address.clone(), unlock_in_s: *unlock_in_s },
        Error::Unreachable { address, reason } => {
            Error::Unreachable { address: address.clone(), reason: reason.clone() }
        }
        Error::Timeout { address, seconds } => Error::Timeout { address: address.clone(), seconds: *seconds },
        other => Error::Local(other.to_string()),
    }
}

fn ok_status(address: &str, op: &str, a: &Answer) -> Result<()> {
    if a.status == 200 {
        return Ok(());
    }
    if wire::is_not_supported(a.status, &a.body) {
        return Err(Error::Unsupported { address: address.into(), operation: op.into() });
    }
    Err(Error::Device { address: address.into(), operation: op.into(), reason: format!("HTTP {}", a.status) })
}

/// A write's answer: 200 with statusCode 1 (OK) or 7 (reboot required) is success.
fn put_status(address: &str, op: &str, a: &Answer) -> Result<()> {
    if a.status == 200 {
        return match wire::response_status(&a.body) {
            Some((1 | 7, _)) | None => Ok(()),
            Some((code, sub)) => Err(Error::Device {
                address: address.into(),
                operation: op.into(),
                reason: format!("statusCode {code} {sub}"),
            }),
        };
    }
    if wire::is_not_supported(a.status, &a.body) {
        return Err(Error::Unsupported { address: address.into(), operation: op.into() });
    }
    let detail = wire::response_status(&a.body).map(|(c, sub)| format!(" (statusCode {c} {sub})")).unwrap_or_default();
    Err(Error::Device { address: address.into(), operation: op.into(), reason: format!("HTTP {}{detail}", a.status) })
}

fn bool_reading(v: Option<bool>, what: &str) -> Reading {
    match v {
        Some(b) => Reading::Known(Value::Bool(b)),
        None => Reading::Unknown(format!("{what}: no readable value")),
    }
}

/// Turn one endpoint's answer into settings.
fn interpret(p: &mut Posture, path: &str, result: Result<Answer>) {
    let keys: &[Setting] = ENDPOINTS.iter().find(|(p, _)| *p == path).map(|(_, k)| *k).unwrap_or(&[]);
    let answer = match result {
        Ok(a) if a.status == 200 => a,
        Ok(a) => {
            let r = if wire::is_not_supported(a.status, &a.body) {
                Reading::Unsupported
            } else {
                Reading::Unknown(format!("HTTP {}", a.status))
            };
            for k in keys {
                p.set(*k, r.clone());
            }
            return;
        }
        Err(e) => {
            for k in keys {
                p.set(*k, Reading::Unknown(e.to_string()));
            }
            return;
        }
    };
    let body = answer.body.as_str();
    match path {
        "/ISAPI/Security/userCheck" => {
            let (default, risk) = wire::user_check(body);
            p.set(Setting::AccountDefaultPassword, bool_reading(default, "isDefaultPassword"));
            p.set(Setting::AccountWeakPassword, bool_reading(risk, "isRiskPassword"));
        }
        "/ISAPI/Security/users" => match wire::users(body) {
            Ok(users) => {
                let extra =
                    users.into_iter().filter(|(n, _)| n != "admin").map(|(n, l)| format!("{n} ({l})")).collect();
                p.known(Setting::AccountUsers, Value::List(extra));
            }
            Err(e) => p.set(Setting::AccountUsers, Reading::Unknown(e)),
        },
        "/ISAPI/Security/adminAccesses" => match wire::admin_accesses(body) {
            Ok(list) => {
                let find = |name: &str| list.iter().find(|a| a.protocol == name);
                for (key, proto) in [
                    (Setting::ServiceHttpEnabled, "HTTP"),
                    (Setting::ServiceHttpsEnabled, "HTTPS"),
                    (Setting::ServiceRtspEnabled, "RTSP"),
                ] {
                    let r = match find(proto) {
                        Some(a) => bool_reading(a.enabled.or(Some(true)), proto),
                        None => Reading::Known(Value::Bool(false)),
                    };
                    p.set(key, r);
                }
                let https = find("HTTPS");
                let tls11 = https.and_then(|h| h.tls1_1);
                p.set(Setting::TlsV10, tls11.map_or(Reading::Unsupported, |v| Reading::Known(Value::Bool(v))));
                p.set(Setting::TlsV11, tls11.map_or(Reading::Unsupported, |v| Reading::Known(Value::Bool(v))));
                p.set(
                    Setting::TlsV12,
                    https.and_then(|h| h.tls1_2).map_or(Reading::Unsupported, |v| Reading::Known(Value::Bool(v))),
                );
            }
            Err(e) => {
                for k in keys {
                    p.set(*k, Reading::Unknown(e.clone()));
                }
            }
        },
        "/ISAPI/Security/webCertificate" | "/ISAPI/Security/RTSPCertificate" => {
            let key = keys.first().copied().unwrap_or(Setting::AuthWeb);
            match wire::certificate_type(body) {
                Some(t) => p.known(key, Value::Text(t)),
                None => p.set(key, Reading::Unknown("no CertificateType".into())),
            }
        }
        "/ISAPI/System/Network/DDNS" | "/ISAPI/System/Network/ftp" => {
            if let Some(&key) = keys.first() {
                p.set(key, bool_reading(wire::any_enabled(body), key.key()));
            }
        }
        "/ISAPI/System/Network/SNMP" => match wire::snmp(body) {
            Some((v1, v2c, v3)) => {
                p.known(Setting::ServiceSnmpV1, Value::Bool(v1));
                p.known(Setting::ServiceSnmpV2c, Value::Bool(v2c));
                p.known(Setting::ServiceSnmpV3, Value::Bool(v3));
            }
            None => {
                for k in keys {
                    p.set(*k, Reading::Unknown("unreadable SNMP document".into()));
                }
            }
        },
        "/ISAPI/System/discoveryMode" => {
            p.set(Setting::DiscoverySadp, bool_reading(wire::sadp_discoverable(body), "SADP"))
        }
        "/ISAPI/System/Network/Integrate" => match wire::integrate_onvif(body) {
            Some((enabled, auth)) => {
                p.known(Setting::OnvifEnabled, Value::Bool(enabled));
                p.known(Setting::OnvifAuth, Value::Text(auth.to_ascii_lowercase()));
                // With ONVIF off there is no WS-Discovery responder; with it on, the
                // ONVIF driver reads the discovery mode (see audit).
                if !enabled {
                    p.known(Setting::DiscoveryOnvif, Value::Bool(false));
                }
            }
            None => {
                p.set(Setting::OnvifEnabled, Reading::Unsupported);
                p.set(Setting::OnvifAuth, Reading::Unsupported);
            }
        },
        "/ISAPI/System/time" => {
            p.set(Setting::TimeNtpEnabled, bool_reading(wire::time_is_ntp(body), "timeMode"));
            // Hikvision's dialect, read as POSIX (see `site::tz`).
            let zone = match wire::time_zone(body) {
                Some(t) => crate::site::tz::from_hikvision(&t)
                    .map_or_else(|e| Reading::Unknown(format!("timeZone: {e}")), |z| Reading::Known(Value::Text(z))),
                None => Reading::Unknown("no timeZone".into()),
            };
            p.set(Setting::TimeZone, zone);
        }
        "/ISAPI/System/Network/ipFilter" => {
            p.set(Setting::NetworkIpFilterEnabled, bool_reading(wire::enabled(body), "ipFilter"));
            p.set(
                Setting::NetworkIpFilterAddresses,
                wire::ip_filter_admitted(body)
                    .map_or(Reading::Unknown("unreadable IPFilter".into()), |l| Reading::Known(Value::List(l))),
            );
        }
        DEVICE_INFO => p.set(
            Setting::DeviceName,
            wire::device_name(body)
                .map_or(Reading::Unknown("no deviceName".into()), |n| Reading::Known(Value::Text(n))),
        ),
        "/ISAPI/System/time/ntpServers" => match wire::ntp_servers(body) {
            Some(list) => p.known(Setting::TimeNtpServers, Value::List(list)),
            None => p.set(Setting::TimeNtpServers, Reading::Unknown("unreadable NTP servers".into())),
        },
        "/ISAPI/Security/serverCertificate/certificate" => {
            p.set(Setting::TlsCertificateSelfSigned, bool_reading(wire::certificate_self_signed(body), "selfSigned"))
        }
        _ => {
            if let Some(&key) = keys.first() {
                p.set(key, bool_reading(wire::enabled(body), key.key()));
            }
        }
    }
}
