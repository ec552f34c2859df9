//! ONVIF changes through the device service: a Set operation with its faults, and the
//! Set behind each writable setting (TLS versions through `security`). Named `change`
//! like the ISAPI driver's module, where `write.rs` is the pure document editor.

use crate::setting::Setting;

use super::{wire, OnvifDriver, Soap};
use crate::driver::WriteContext;
use crate::error::{Error, Result};
use crate::posture::Value;

/// Writes through the device service.
impl OnvifDriver {
    /// A Set operation: `Ok` on its response, `Unsupported` for ActionNotSupported.
    pub(super) async fn set(&self, op: &str, body: &str) -> Result<()> {
        let answer = self.call(op, body).await?;
        self.expect_ok(op, answer).map(|_| ())
    }

    /// The response body, or the fault as an error: `Unsupported` for
    /// ActionNotSupported, a device error naming the subcodes otherwise.
    pub(super) fn expect_ok(&self, op: &str, answer: Soap) -> Result<String> {
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

    /// The interface as the plan says: host name, DNS and gateway while the device is
    /// still where it is, then the address. `true` when it restarts to take a new one
    /// (it said `RebootNeeded` and was told to).
    pub async fn set_interface(&self, to: &crate::site::addresses::Interface) -> Result<bool> {
        use crate::xml::esc;
        if let Some(name) = &to.hostname {
            self.set("SetHostname", &format!("<tds:SetHostname><tds:Name>{}</tds:Name></tds:SetHostname>", esc(name)))
                .await?;
        }
        if !to.dns.is_empty() {
            let manual: String = to
                .dns
                .iter()
                .map(|d| {
                    format!(
                        "<tds:DNSManual><tt:Type>IPv4</tt:Type><tt:IPv4Address>{d}</tt:IPv4Address></tds:DNSManual>"
                    )
                })
                .collect();
            self.set("SetDNS", &format!("<tds:SetDNS><tds:FromDHCP>false</tds:FromDHCP>{manual}</tds:SetDNS>")).await?;
        }
        if let Some(g) = to.gateway {
            let body = format!(
                "<tds:SetNetworkDefaultGateway><tds:IPv4Address>{g}</tds:IPv4Address></tds:SetNetworkDefaultGateway>"
            );
            self.set("SetNetworkDefaultGateway", &body).await?;
        }
        let op = "GetNetworkInterfaces";
        let answer = self.call(op, "<tds:GetNetworkInterfaces/>").await?;
        let listed = self.expect_ok(op, answer)?;
        let token = wire::interface_token(&listed).map_err(|reason| Error::Malformed {
            address: self.address(),
            operation: op.into(),
            reason,
        })?;
        let body = format!(
            "<tds:SetNetworkInterfaces><tds:InterfaceToken>{}</tds:InterfaceToken><tds:NetworkInterface>\
             <tt:Enabled>true</tt:Enabled><tt:IPv4><tt:Enabled>true</tt:Enabled><tt:Manual><tt:Address>{}</tt:Address>\
             <tt:PrefixLength>{}</tt:PrefixLength></tt:Manual><tt:DHCP>false</tt:DHCP></tt:IPv4></tds:NetworkInterface>\
             </tds:SetNetworkInterfaces>",
            esc(&token),
            to.address,
            to.prefix
        );
        let op = "SetNetworkInterfaces";
        let answer = self.call(op, &body).await?;
        let said = self.expect_ok(op, answer)?;
        if wire::text_of(&said, "RebootNeeded").ok().as_deref().map(str::trim) != Some("true") {
            return Ok(false);
        }
        // The answer to a reboot may never come: the device is already going.
        let _ = self.call("SystemReboot", "<tds:SystemReboot/>").await;
        Ok(true)
    }

    pub async fn set_discoverable(&self, on: bool) -> Result<()> {
        let mode = if on { "Discoverable" } else { "NonDiscoverable" };
        self.set(
            "SetDiscoveryMode",
            &format!("<tds:SetDiscoveryMode><tds:DiscoveryMode>{mode}</tds:DiscoveryMode></tds:SetDiscoveryMode>"),
        )
        .await
    }

    pub async fn write_setting(&self, key: Setting, to: &Value, ctx: &WriteContext) -> Result<()> {
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
}
