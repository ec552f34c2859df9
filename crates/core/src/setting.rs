//! The vocabulary of settings: every setting a driver reads or writes, a baseline
//! checks and a plan changes, as one type. Baseline files, snapshots and the history
//! name a setting by its dotted key (`service.telnet.enabled`); the engine uses the
//! enum, so a misspelt key is a compile error, and a key in a file is checked once,
//! where it is read.

/// Defines [`Setting`] from one table: variant, key, what it is, whether audits read it.
macro_rules! settings {
    ($($variant:ident = $key:literal, $what:literal, $audited:literal;)*) => {
        /// A setting of a device. Serialised as its dotted key, so a string in TypeScript.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string", export_to = "../../ui/src/lib/ipc/bindings/"))]
        pub enum Setting {
            $($variant,)*
        }

        impl Setting {
            /// Every setting, in the table's order.
            pub const ALL: &'static [Setting] = &[$(Setting::$variant,)*];

            /// The dotted key files and records use.
            pub fn key(self) -> &'static str {
                match self {
                    $(Setting::$variant => $key,)*
                }
            }

            /// What it is, in words.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Setting::$variant => $what,)*
                }
            }

            /// Whether drivers read it and baselines may check it (the others are what
            /// plan steps change besides settings: a password, a backup).
            pub fn audited(self) -> bool {
                match self {
                    $(Setting::$variant => $audited,)*
                }
            }
        }
    };
}

settings! {
    AccountActivated = "account.activated", "the device has been activated (an admin password is set)", true;
    AccountDefaultPassword = "account.default_password", "the admin account still uses the factory default password", true;
    AccountWeakPassword = "account.weak_password", "the device rates the admin password as risky", true;
    AccountUsers = "account.users", "user accounts besides the built-in admin", true;
    AccountService = "account.service", "the site's service accounts present, with their roles (from the account list)", true;
    ServiceHttpEnabled = "service.http.enabled", "plain HTTP access", true;
    ServiceHttpsEnabled = "service.https.enabled", "HTTPS access", true;
    ServiceRtspEnabled = "service.rtsp.enabled", "RTSP streaming", true;
    TlsV10 = "tls.v1_0", "TLS 1.0 enabled", true;
    TlsV11 = "tls.v1_1", "TLS 1.1 enabled", true;
    TlsV12 = "tls.v1_2", "TLS 1.2 enabled", true;
    TlsCertificateSelfSigned = "tls.certificate.self_signed", "the HTTPS certificate is the factory self-signed one", true;
    AuthWeb = "auth.web", "web authentication scheme (digest or digest/basic)", true;
    AuthRtsp = "auth.rtsp", "RTSP authentication scheme (digest or digest/basic)", true;
    ServiceTelnetEnabled = "service.telnet.enabled", "Telnet", true;
    ServiceSshEnabled = "service.ssh.enabled", "SSH", true;
    ServiceUpnpEnabled = "service.upnp.enabled", "UPnP port mapping", true;
    ServiceCloudEnabled = "service.cloud.enabled", "Hik-Connect / EZVIZ P2P cloud", true;
    ServiceDdnsEnabled = "service.ddns.enabled", "dynamic DNS", true;
    ServiceFtpEnabled = "service.ftp.enabled", "FTP upload", true;
    ServiceSnmpV1 = "service.snmp.v1", "SNMPv1", true;
    ServiceSnmpV2c = "service.snmp.v2c", "SNMPv2c", true;
    ServiceSnmpV3 = "service.snmp.v3", "SNMPv3", true;
    DiscoverySadp = "discovery.sadp", "answers SADP (Hikvision discovery)", true;
    DiscoveryOnvif = "discovery.onvif", "answers ONVIF WS-Discovery", true;
    OnvifEnabled = "onvif.enabled", "the ONVIF service", true;
    OnvifAuth = "onvif.auth", "ONVIF authentication (digest, WSSE or both)", true;
    SecurityLoginLockEnabled = "security.login_lock.enabled", "illegal-login lock", true;
    TimeNtpEnabled = "time.ntp.enabled", "the clock follows NTP", true;
    TimeNtpServers = "time.ntp.servers", "configured NTP servers", true;
    NetworkIpFilterEnabled = "network.ip_filter.enabled", "IP address filter", true;
    NetworkIpFilterAddresses = "network.ip_filter.addresses", "addresses the IP filter admits", true;
    DeviceName = "device.name", "the device's name", true;
    NetworkIpv4 = "network.ipv4", "the IPv4 address and prefix length (a leased one reads `dhcp 10.0.0.5/24`)", true;
    NetworkGateway = "network.ipv4.gateway", "the default gateway", true;
    NetworkDns = "network.dns", "the DNS servers", true;
    NetworkHostname = "network.hostname", "the host name", true;
    TimeZone = "time.zone", "the time zone (POSIX TZ)", true;
    FirmwareVersion = "firmware.version", "firmware version and build", true;
    AccountPassword = "account.password", "the account's password (rotated by a plan step)", false;
    AccountPasswordUnique = "account.password.unique", "no other device of the site has the same admin password (compared in the vault)", true;
    AccountPasswordRecent = "account.password.recent", "the admin password was set within the site's maximum age", true;
    TlsCertificateTrusted = "tls.certificate.trusted", "the certificate Portcullis holds the device to, accepted by an operator in place of the one first seen", false;
    SitePlaintextSecrets = "site.allow_plaintext_secrets", "a secret crossed the LAN over plain HTTP, as the site baseline allows", false;
    Configuration = "configuration", "the device's configuration (kept as a backup before changes)", false;
}

impl Setting {
    /// The TLS version a `tls.v1_x` setting switches (`1.0`, `1.1`, `1.2`).
    pub fn tls_version(self) -> Option<&'static str> {
        match self {
            Setting::TlsV10 => Some("1.0"),
            Setting::TlsV11 => Some("1.1"),
            Setting::TlsV12 => Some("1.2"),
            _ => None,
        }
    }

    /// The setting a key names.
    pub fn from_key(key: &str) -> Option<Setting> {
        Setting::ALL.iter().copied().find(|s| s.key() == key)
    }
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.key())
    }
}

impl std::str::FromStr for Setting {
    type Err = String;
    fn from_str(key: &str) -> Result<Setting, String> {
        Setting::from_key(key).ok_or_else(|| format!("unknown setting {key:?}"))
    }
}

impl serde::Serialize for Setting {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.key())
    }
}

impl<'de> serde::Deserialize<'de> for Setting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Setting, D::Error> {
        let key = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        key.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::Setting;

    #[test]
    fn every_key_is_unique_and_round_trips() {
        for s in Setting::ALL {
            assert_eq!(Setting::from_key(s.key()), Some(*s));
            let json = serde_json::to_string(s).unwrap();
            assert_eq!(serde_json::from_str::<Setting>(&json).unwrap(), *s);
        }
        assert!("service.telnet.enable".parse::<Setting>().is_err());
    }
}
