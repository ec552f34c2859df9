//! ONVIF reads: one operation read as a value, `Unsupported` or `Unknown`; the whole
//! posture after a single login, the other reads at once; the discovery mode and the
//! HTTPS port for the other drivers and the runner.

use crate::setting::Setting;

use super::{wire, OnvifDriver, Soap};
use crate::error::{Error, Result};
use crate::posture::{Posture, Protocol, Reading, Value};

impl OnvifDriver {
    /// One read: the parsed value, `Unsupported` for ActionNotSupported, `Unknown` otherwise.
    pub(super) async fn read<T>(
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
        const INTERFACE: [Setting; 4] =
            [Setting::NetworkIpv4, Setting::NetworkGateway, Setting::NetworkDns, Setting::NetworkHostname];
        if INTERFACE.iter().any(|k| wants(*k)) {
            for (key, reading) in self.read_interface().await? {
                p.set(key, reading);
            }
        }
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

    /// The interface: address, gateway, DNS and host name, read at once.
    async fn read_interface(&self) -> Result<Vec<(Setting, Reading)>> {
        let (ifc, gw, dns, host) = tokio::join!(
            self.read("GetNetworkInterfaces", wire::network_interface),
            self.read("GetNetworkDefaultGateway", wire::default_gateway),
            self.read("GetDNS", wire::dns),
            self.read("GetHostname", wire::hostname),
        );
        let known = |r: std::result::Result<Value, Reading>| r.map_or_else(|e| e, Reading::Known);
        Ok(vec![
            (Setting::NetworkIpv4, known(ifc?.map(Value::Text))),
            (Setting::NetworkGateway, known(gw?.map(Value::Text))),
            (Setting::NetworkDns, known(dns?.map(Value::List))),
            (Setting::NetworkHostname, known(host?.map(Value::Text))),
        ])
    }

    /// The HTTPS port GetNetworkProtocols states, when HTTPS is on.
    pub async fn https_port(&self) -> Option<u16> {
        let list = self.read("GetNetworkProtocols", wire::network_protocols).await.ok()?.ok()?;
        list.into_iter().find(|(n, on, _)| n == "HTTPS" && *on).and_then(|(_, _, ports)| ports.first().copied())
    }
}
