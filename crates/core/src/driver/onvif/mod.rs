//! The generic ONVIF driver: the device service over SOAP 1.2 with a WS-Security
//! UsernameToken, its `Created` stamped on the device's clock (learned from the
//! unauthenticated GetSystemDateAndTime), as Home Assistant's client does. One method
//! of authentication only: switching methods after a refusal would be a second failed
//! login.

#[cfg(test)]
mod scripted;
mod security;
pub mod wire;

use crate::setting::Setting;
use std::sync::Mutex;

use rand::RngCore;

use super::http::{Answer, HttpSession, LoginGuard};
use crate::error::{Error, Result};
use crate::posture::{Identity, Posture, Protocol, Reading, Value};
use crate::secret::Credentials;

pub const DEVICE_PATH: &str = "/onvif/device_service";

#[derive(Debug)]
pub struct OnvifDriver {
    http: HttpSession,
    creds: Option<Credentials>,
    guard: std::sync::Arc<LoginGuard>,
    /// device clock − our clock, in seconds.
    clock_offset: Mutex<Option<i64>>,
    /// Whether NTP drives the clock, learned with the offset.
    clock_ntp: Mutex<Option<bool>>,
    /// The device's POSIX time zone, learned with the offset.
    time_zone: Mutex<Option<String>>,
    /// The Advanced Security service's path once asked (`Some(None)`: the device has none).
    security_path: Mutex<Option<Option<String>>>,
}

/// An answer that is either the expected response or a fault.
enum Soap {
    Ok(String),
    Fault(wire::Fault),
}

impl OnvifDriver {
    pub fn new(http: HttpSession, creds: Option<Credentials>, guard: std::sync::Arc<LoginGuard>) -> Self {
        OnvifDriver {
            http,
            creds,
            guard,
            clock_offset: Mutex::new(None),
            clock_ntp: Mutex::new(None),
            time_zone: Mutex::new(None),
            security_path: Mutex::new(None),
        }
    }

    pub fn http(&self) -> &HttpSession {
        &self.http
    }

    fn address(&self) -> String {
        self.http.address.clone()
    }

    async fn post(&self, envelope: &str) -> Result<Answer> {
        self.post_to(DEVICE_PATH, envelope).await
    }

    async fn post_to(&self, path: &str, envelope: &str) -> Result<Answer> {
        self.http.anonymous("POST", path, Some(("application/soap+xml; charset=utf-8", envelope))).await
    }

    /// Whether the device answers ONVIF: GetSystemDateAndTime needs no credentials.
    pub async fn probe(&self) -> bool {
        self.sync_clock().await.is_ok()
    }

    /// Learn the device clock's offset from ours (clock-skew correction).
    pub async fn sync_clock(&self) -> Result<i64> {
        let before = chrono::Utc::now();
        let a = self.post(&wire::envelope("", "<tds:GetSystemDateAndTime/>")).await?;
        let after = chrono::Utc::now();
        if a.status != 200 {
            return Err(Error::Device {
                address: self.address(),
                operation: "GetSystemDateAndTime".into(),
                reason: format!("HTTP {}", a.status),
            });
        }
        let (device, ntp) = wire::system_date_time(&a.body).map_err(|reason| Error::Malformed {
            address: self.address(),
            operation: "GetSystemDateAndTime".into(),
            reason,
        })?;
        // The device read its clock halfway through the round trip.
        let midpoint = before + (after - before) / 2;
        let offset = (device - midpoint).num_seconds();
        if let Ok(mut o) = self.clock_offset.lock() {
            *o = Some(offset);
        }
        if let Ok(mut n) = self.clock_ntp.lock() {
            *n = Some(ntp);
        }
        if let Ok(mut t) = self.time_zone.lock() {
            *t = wire::time_zone(&a.body);
        }
        Ok(offset)
    }

    /// An authenticated call to the device service.
    async fn call(&self, operation: &str, body: &str) -> Result<Soap> {
        self.call_at(DEVICE_PATH, operation, body).await
    }

    /// An authenticated call to the service at `path`.
    async fn call_at(&self, path: &str, operation: &str, body: &str) -> Result<Soap> {
        let Some(creds) = &self.creds else { return Err(Error::NoCredentials { address: self.address() }) };
        if self.guard.refused() {
            return Err(Error::AuthRefused { address: self.address(), username: creds.username.clone() });
        }
        let offset = match self.clock_offset.lock().ok().and_then(|o| *o) {
            Some(o) => o,
            None => self.sync_clock().await?,
        };
        let created =
            (chrono::Utc::now() + chrono::Duration::seconds(offset)).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
        let mut nonce = [0u8; 16];
        rand::thread_rng().fill_bytes(&mut nonce);
        let header = wire::security_header(&creds.username, creds.password.expose(), &nonce, &created);
        let a = self.post_to(path, &wire::envelope(&header, body)).await?;
        if a.status == 200 {
            return Ok(Soap::Ok(a.body));
        }
        match wire::fault(&a.body) {
            Some(f) if f.not_authorized() || a.status == 401 => {
                self.guard.spend();
                Err(Error::AuthRefused { address: self.address(), username: creds.username.clone() })
            }
            Some(f) => Ok(Soap::Fault(f)),
            None if a.status == 401 => {
                self.guard.spend();
                Err(Error::AuthRefused { address: self.address(), username: creds.username.clone() })
            }
            None => Err(Error::Device {
                address: self.address(),
                operation: operation.into(),
                reason: format!("HTTP {}", a.status),
            }),
        }
    }

    pub async fn identify(&self) -> Result<Identity> {
        match self.call("GetDeviceInformation", "<tds:GetDeviceInformation/>").await? {
            Soap::Ok(body) => wire::device_information(&body).map_err(|reason| Error::Malformed {
                address: self.address(),
                operation: "GetDeviceInformation".into(),
                reason,
            }),
            Soap::Fault(f) => Err(Error::Device {
                address: self.address(),
                operation: "GetDeviceInformation".into(),
                reason: f.reason,
            }),
        }
    }

    /// One read: the parsed value, `Unsupported` for ActionNotSupported, `Unknown` otherwise.
    async fn read<T>(
        &self,
        op: &str,
        parse: impl Fn(&str) -> std::result::Result<T, String>,
    ) -> Result<std::result::Result<T, Reading>> {
        Ok(match self.call(op, &format!("<tds:{op}/>")).await? {
            Soap::Ok(body) => parse(&body).map_err(Reading::Unknown),
            Soap::Fault(f) if f.not_supported() => Err(Reading::Unsupported),
            Soap::Fault(f) => Err(Reading::Unknown(f.describe())),
        })
    }

    /// Just the ONVIF discovery mode, for drivers of other protocols.
    pub async fn discoverable(&self) -> Result<Reading> {
        Ok(match self.read("GetDiscoveryMode", wire::discovery_mode).await? {
            Ok(d) => Reading::Known(Value::Bool(d)),
            Err(r) => r,
        })
    }

    /// GetServiceCapabilities without credentials, as its access class (PRE_AUTH)
    /// allows: `None` when the device wants credentials for it anyway, or the answer
    /// could not be used; then the authenticated reads ask again. Sending no
    /// credentials costs no failed login.
    async fn public_capabilities(&self) -> Option<std::result::Result<Vec<(String, String)>, Reading>> {
        let a = self.post(&wire::envelope("", "<tds:GetServiceCapabilities/>")).await.ok()?;
        if a.status == 200 {
            return wire::security_capabilities(&a.body).ok().map(Ok);
        }
        wire::fault(&a.body).filter(wire::Fault::not_supported).map(|_| Err(Reading::Unsupported))
    }

    pub async fn read_posture(&self, wanted: &[Setting]) -> Result<Posture> {
        // The login first and alone: a refusal must cost exactly one failed attempt. The
        // capabilities need no login, so they are asked in the same round trip.
        let (identity, public_caps) = tokio::join!(self.identify(), self.public_capabilities());
        let identity = identity?;
        let mut p = Posture::new(identity, Protocol::Onvif);
        p.known(Setting::AccountActivated, Value::Bool(true));
        p.known(Setting::OnvifEnabled, Value::Bool(true));
        // The credentials are proven: the reads are independent, so all go at once.
        let wants = |key: Setting| wanted.is_empty() || wanted.contains(&key);
        let (protocols, discoverable, users, ntp, filter, caps, scopes, certificate) = tokio::join!(
            self.read("GetNetworkProtocols", wire::network_protocols),
            self.discoverable(),
            self.read("GetUsers", wire::users),
            self.read("GetNTP", wire::ntp_servers),
            self.read("GetIPAddressFilter", wire::ip_filter),
            async {
                match public_caps {
                    Some(caps) => Ok(caps),
                    None => self.read("GetServiceCapabilities", wire::security_capabilities).await,
                }
            },
            async {
                // Only a naming control looks at scopes: spare the device the exchange.
                if wants(Setting::DeviceName) {
                    Some(self.read("GetScopes", wire::scopes).await)
                } else {
                    None
                }
            },
            async {
                if wants(Setting::TlsCertificateSelfSigned) {
                    Some(self.served_certificate_self_signed().await)
                } else {
                    None
                }
            },
        );
        match certificate {
            Some(Ok(r)) => p.set(Setting::TlsCertificateSelfSigned, r),
            Some(Err(e @ Error::AuthRefused { .. })) => return Err(e),
            Some(Err(e)) => p.set(Setting::TlsCertificateSelfSigned, Reading::Unknown(e.to_string())),
            None => {}
        }
        match scopes.transpose()? {
            Some(Ok(list)) => {
                p.known(Setting::DeviceName, Value::Text(wire::name_from_scopes(&list).unwrap_or_default()))
            }
            Some(Err(r)) => p.set(Setting::DeviceName, r),
            None => {}
        }
        match self.time_zone.lock().ok().and_then(|t| t.clone()) {
            Some(tz) => p.known(Setting::TimeZone, Value::Text(tz)),
            None => p.set(Setting::TimeZone, Reading::Unknown("the device states no time zone".into())),
        }
        match protocols? {
            Ok(list) => {
                for (key, name) in [
                    (Setting::ServiceHttpEnabled, "HTTP"),
                    (Setting::ServiceHttpsEnabled, "HTTPS"),
                    (Setting::ServiceRtspEnabled, "RTSP"),
                ] {
                    let on = list.iter().any(|(n, e, _)| n == name && *e);
                    p.known(key, Value::Bool(on));
                }
            }
            Err(r) => {
                for key in [Setting::ServiceHttpEnabled, Setting::ServiceHttpsEnabled, Setting::ServiceRtspEnabled] {
                    p.set(key, r.clone());
                }
            }
        }
        p.set(Setting::DiscoveryOnvif, discoverable?);
        match users? {
            Ok(users) => {
                let extra =
                    users.into_iter().filter(|(n, _)| n != "admin").map(|(n, l)| format!("{n} ({l})")).collect();
                p.known(Setting::AccountUsers, Value::List(extra));
            }
            Err(r) => p.set(Setting::AccountUsers, r),
        }
        match ntp? {
            Ok(s) => p.known(Setting::TimeNtpServers, Value::List(s)),
            Err(r) => p.set(Setting::TimeNtpServers, r),
        }
        // GetSystemDateAndTime was read when the clock was synchronised.
        match self.clock_ntp.lock().ok().and_then(|n| *n) {
            Some(ntp) => p.known(Setting::TimeNtpEnabled, Value::Bool(ntp)),
            None => p.set(Setting::TimeNtpEnabled, Reading::Unknown("the device clock was not read".into())),
        }
        match filter? {
            Ok((on, admitted)) => {
                p.known(Setting::NetworkIpFilterEnabled, Value::Bool(on));
                p.known(Setting::NetworkIpFilterAddresses, Value::List(admitted));
            }
            Err(r) => {
                p.set(Setting::NetworkIpFilterEnabled, r.clone());
                p.set(Setting::NetworkIpFilterAddresses, r);
            }
        }
        match caps? {
            Ok(attrs) => {
                let flag =
                    |name: &str| attrs.iter().find(|(k, _)| k == name).and_then(|(_, v)| crate::xml::parse_bool(v));
                for (key, attr) in
                    [(Setting::TlsV10, "TLS1.0"), (Setting::TlsV11, "TLS1.1"), (Setting::TlsV12, "TLS1.2")]
                {
                    p.set(key, flag(attr).map_or(Reading::Unsupported, |b| Reading::Known(Value::Bool(b))));
                }
                let auth = match (flag("HttpDigest").unwrap_or(false), flag("UsernameToken").unwrap_or(false)) {
                    (true, true) => "digest/wsse",
                    (true, false) => "digest",
                    (false, _) => "wsse",
                };
                p.known(Setting::OnvifAuth, Value::Text(auth.into()));
            }
            Err(r) => {
                for key in [Setting::TlsV10, Setting::TlsV11, Setting::TlsV12, Setting::OnvifAuth] {
                    p.set(key, r.clone());
                }
            }
        }
        let fw = match &p.identity.firmware_build {
            Some(b) => format!("{} build {b}", p.identity.firmware_version),
            None => p.identity.firmware_version.clone(),
        };
        p.known(Setting::FirmwareVersion, Value::Text(fw));
        Ok(p)
    }
}

/// Writes through the device service.
impl OnvifDriver {
    /// The same device and clock, other credentials, a login budget of their own: for
    /// proving which password a device accepts.
    pub fn with_credentials(&self, creds: Credentials) -> OnvifDriver {
        let guard = std::sync::Arc::new(LoginGuard::default());
        let d = OnvifDriver::new(self.http.probe_session(creds.clone()), Some(creds), guard);
        if let (Ok(mut to), Ok(from)) = (d.clock_offset.lock(), self.clock_offset.lock()) {
            *to = *from;
        }
        d
    }

    /// A Set operation: `Ok` on its response, `Unsupported` for ActionNotSupported.
    async fn set(&self, op: &str, body: &str) -> Result<()> {
        let answer = self.call(op, body).await?;
        self.expect_ok(op, answer).map(|_| ())
    }

    /// The response body, or the fault as an error: `Unsupported` for
    /// ActionNotSupported, a device error naming the subcodes otherwise.
    fn expect_ok(&self, op: &str, answer: Soap) -> Result<String> {
        match answer {
            Soap::Ok(body) => Ok(body),
            Soap::Fault(f) if f.not_supported() => {
                Err(Error::Unsupported { address: self.address(), operation: op.into() })
            }
            Soap::Fault(f) => {
                Err(Error::Device { address: self.address(), operation: op.into(), reason: f.describe() })
            }
        }
    }

    pub async fn set_discoverable(&self, on: bool) -> Result<()> {
        let mode = if on { "Discoverable" } else { "NonDiscoverable" };
        self.set(
            "SetDiscoveryMode",
            &format!("<tds:SetDiscoveryMode><tds:DiscoveryMode>{mode}</tds:DiscoveryMode></tds:SetDiscoveryMode>"),
        )
        .await
    }

    pub async fn write_setting(&self, key: Setting, to: &Value, ctx: &super::WriteContext) -> Result<()> {
        let unsupported = || Error::Unsupported { address: self.address(), operation: format!("write {key}") };
        match (key, to) {
            (Setting::DiscoveryOnvif, Value::Bool(on)) => self.set_discoverable(*on).await,
            (Setting::TimeNtpServers, Value::List(servers)) if !servers.is_empty() => {
                let manual: String = servers.iter().map(|h| wire::ntp_manual(h)).collect();
                self.set("SetNTP", &format!("<tds:SetNTP><tds:FromDHCP>false</tds:FromDHCP>{manual}</tds:SetNTP>"))
                    .await
            }
            (Setting::TimeNtpEnabled, Value::Bool(on)) => {
                let kind = if *on { "NTP" } else { "Manual" };
                let r = self
                    .set(
                        "SetSystemDateAndTime",
                        &format!("<tds:SetSystemDateAndTime><tds:DateTimeType>{kind}</tds:DateTimeType><tds:DaylightSavings>false</tds:DaylightSavings></tds:SetSystemDateAndTime>"),
                    )
                    .await;
                // The clock may have moved: learn the offset (and NTP state) again.
                let _ = self.sync_clock().await;
                r
            }
            (
                Setting::ServiceHttpEnabled | Setting::ServiceHttpsEnabled | Setting::ServiceRtspEnabled,
                Value::Bool(on),
            ) => {
                let name = key.key().trim_start_matches("service.").trim_end_matches(".enabled").to_ascii_uppercase();
                let list = match self.read("GetNetworkProtocols", wire::network_protocols).await? {
                    Ok(l) => l,
                    Err(_) => return Err(unsupported()),
                };
                let ports = list.iter().find(|(n, _, _)| *n == name).map(|(_, _, p)| p.clone()).unwrap_or_default();
                let ports: String = ports.iter().map(|p| format!("<tt:Port>{p}</tt:Port>")).collect();
                self.set(
                    "SetNetworkProtocols",
                    &format!("<tds:SetNetworkProtocols><tds:NetworkProtocols><tt:Name>{name}</tt:Name><tt:Enabled>{on}</tt:Enabled>{ports}</tds:NetworkProtocols></tds:SetNetworkProtocols>"),
                )
                .await
            }
            (Setting::NetworkIpFilterEnabled, Value::Bool(true)) => {
                if ctx.management_hosts.is_empty() {
                    return Err(Error::Input("refusing to enable the IP filter without a management host".into()));
                }
                self.set_allow_list(&ctx.management_hosts).await
            }
            // ONVIF has no separate switch: an allow list in force is the filter.
            (Setting::NetworkIpFilterAddresses, Value::List(hosts)) => {
                if ctx.management_hosts.iter().any(|m| !hosts.contains(m)) || hosts.is_empty() {
                    return Err(Error::Input("refusing an IP filter that leaves out the management host".into()));
                }
                self.set_allow_list(hosts).await
            }
            (Setting::DeviceName, Value::Text(name)) => self.set_name(name).await,
            (Setting::TlsV10 | Setting::TlsV11 | Setting::TlsV12, Value::Bool(on)) => {
                self.set_tls_version(key.tls_version().unwrap_or_default(), *on).await
            }
            (Setting::TimeZone, Value::Text(tz)) => {
                let ntp = self.clock_ntp.lock().ok().and_then(|n| *n).unwrap_or(false);
                let kind = if ntp { "NTP" } else { "Manual" };
                let r = self
                    .set(
                        "SetSystemDateAndTime",
                        &format!(
                            "<tds:SetSystemDateAndTime><tds:DateTimeType>{kind}</tds:DateTimeType><tds:DaylightSavings>false</tds:DaylightSavings><tds:TimeZone><tt:TZ>{}</tt:TZ></tds:TimeZone></tds:SetSystemDateAndTime>",
                            crate::xml::esc(tz)
                        ),
                    )
                    .await;
                let _ = self.sync_clock().await;
                r
            }
            _ => Err(unsupported()),
        }
    }

    /// The HTTPS port GetNetworkProtocols states, when HTTPS is on.
    pub async fn https_port(&self) -> Option<u16> {
        let list = self.read("GetNetworkProtocols", wire::network_protocols).await.ok()?.ok()?;
        list.into_iter().find(|(n, on, _)| n == "HTTPS" && *on).and_then(|(_, _, ports)| ports.first().copied())
    }

    async fn set_allow_list(&self, hosts: &[String]) -> Result<()> {
        let entries: String = hosts.iter().map(|h| wire::filter_address(h)).collect();
        self.set(
            "SetIPAddressFilter",
            &format!("<tds:SetIPAddressFilter><tds:IPAddressFilter><tt:Type>Allow</tt:Type>{entries}</tds:IPAddressFilter></tds:SetIPAddressFilter>"),
        )
        .await
    }

    /// SetScopes replaces every configurable scope: keep the others, swap the name.
    async fn set_name(&self, name: &str) -> Result<()> {
        let list = match self.read("GetScopes", wire::scopes).await? {
            Ok(l) => l,
            Err(_) => return Err(Error::Unsupported { address: self.address(), operation: "GetScopes".into() }),
        };
        let mut keep: Vec<String> =
            list.into_iter().filter(|(s, fixed)| !fixed && !s.starts_with(wire::NAME_SCOPE)).map(|(s, _)| s).collect();
        keep.push(wire::name_scope(name));
        let items: String = keep.iter().map(|s| format!("<tds:Scopes>{}</tds:Scopes>", crate::xml::esc(s))).collect();
        self.set("SetScopes", &format!("<tds:SetScopes>{items}</tds:SetScopes>")).await
    }

    /// SetUser: the password of an existing user, level unchanged.
    pub async fn set_password(&self, username: &str, password: &crate::secret::Secret) -> Result<()> {
        let users = match self.read("GetUsers", wire::users).await? {
            Ok(u) => u,
            Err(_) => return Err(Error::Unsupported { address: self.address(), operation: "GetUsers".into() }),
        };
        let level = users.iter().find(|(n, _)| n == username).map(|(_, l)| l.clone()).ok_or_else(|| Error::Device {
            address: self.address(),
            operation: "SetUser".into(),
            reason: format!("no ONVIF user {username}"),
        })?;
        let body = format!(
            "<tds:SetUser><tds:User><tt:Username>{}</tt:Username><tt:Password>{}</tt:Password><tt:UserLevel>{}</tt:UserLevel></tds:User></tds:SetUser>",
            crate::xml::esc(username),
            crate::xml::esc(password.expose()),
            crate::xml::esc(&level)
        );
        self.set("SetUser", &body).await
    }
}
