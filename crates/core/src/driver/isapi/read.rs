//! ISAPI reads: the posture and the settings named for a verification, each endpoint
//! read in parallel and turned into settings by `interpret`. A 404 or `notSupport`
//! makes a setting `Unsupported`, never an error of the whole audit.

use crate::setting::Setting;
use std::sync::Arc;

use futures::stream::{self, StreamExt};

use super::change::ok_status;
use super::{wire, write, IsapiDriver, DEVICE_INFO, ENDPOINTS};
use crate::driver::http::{Answer, HttpSession};
use crate::error::{Error, Result};
use crate::posture::{Identity, Posture, Protocol, Reading, Value};

/// Requests in flight per device: cameras serve a few connections at once.
const PER_DEVICE_PARALLEL: usize = 4;

/// What one endpoint said.
type Read = (&'static str, Result<Answer>);

/// The largest configuration export read (real ones are tens to hundreds of kilobytes).
const BACKUP_LIMIT: usize = 64 * 1024 * 1024;

impl IsapiDriver {
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
        // ISAPI keeps no host name apart from the device name (observed: 404).
        posture.set(Setting::NetworkHostname, Reading::Unsupported);
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

    /// The HTTPS port from `adminAccesses`.
    pub async fn https_port(&self) -> Option<u16> {
        let a = self.http.call("GET", "/ISAPI/Security/adminAccesses", None).await.ok()?;
        let list = wire::admin_accesses(&a.body).ok()?;
        list.into_iter().find(|p| p.protocol == "HTTPS").and_then(|p| p.port)
    }

    /// The device's configuration export, kept with the history before any change.
    pub async fn backup(&self) -> Result<Vec<u8>> {
        // A configuration export is larger than any other answer; still not unbounded.
        let export = self.http.binary(BACKUP_LIMIT).for_operation(crate::driver::Operation::Upload);
        let a = export.call("GET", "/ISAPI/System/configurationData", None).await?;
        ok_status(&self.http.address, "configurationData", &a)?;
        Ok(a.bytes.unwrap_or_else(|| a.body.into_bytes()))
    }

    /// Import a configuration export (the body as the export gave it); the device
    /// answers, then restarts into it.
    pub async fn restore(&self, config: &bytes::Bytes) -> Result<()> {
        let a = self.http.upload("PUT", "/ISAPI/System/configurationData", "application/octet-stream", config).await?;
        ok_status(&self.http.address, "configurationData", &a)
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
        "/ISAPI/System/Network/interfaces/1/ipAddress" => match wire::ip_address(body) {
            Ok(c) => {
                p.known(Setting::NetworkIpv4, Value::Text(c.ipv4));
                p.known(Setting::NetworkGateway, Value::Text(c.gateway.unwrap_or_default()));
                p.known(Setting::NetworkDns, Value::List(c.dns));
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
