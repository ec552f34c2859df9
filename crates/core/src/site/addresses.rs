//! The site's address plan: which IPv4 address, mask, gateway, DNS servers and host
//! name each camera ends on, keyed by its MAC or serial (`[[site.addresses]]` in a site
//! baseline, or a CSV file). Audited as `SITE-ADDR`/`-GW`/`-DNS`/`-HOST`, planned as one
//! step per device (its whole interface at once), and applied as a journaled move.

use std::net::Ipv4Addr;

use serde::{Deserialize, Serialize};

use crate::posture::{Identity, Value};
use crate::setting::Setting;

/// One device's line of the plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressEntry {
    /// The device, by MAC (`44:19:b6:00:00:01`, any separator) or serial.
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default)]
    pub serial: Option<String>,
    pub address: Ipv4Addr,
    /// `255.255.255.0`, or a prefix length (`24`).
    pub mask: String,
    #[serde(default)]
    pub gateway: Option<Ipv4Addr>,
    #[serde(default)]
    pub dns: Vec<Ipv4Addr>,
    #[serde(default)]
    pub hostname: Option<String>,
}

/// A device's interface as the plan wants it (and as a step carries it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interface {
    pub address: Ipv4Addr,
    pub prefix: u8,
    pub gateway: Option<Ipv4Addr>,
    pub dns: Vec<Ipv4Addr>,
    pub hostname: Option<String>,
}

/// `255.255.255.0` or `24` → 24.
pub fn prefix_of(mask: &str) -> Option<u8> {
    let mask = mask.trim().trim_start_matches('/');
    if let Ok(p) = mask.parse::<u8>() {
        return (1..=32).contains(&p).then_some(p);
    }
    let bits = u32::from(mask.parse::<Ipv4Addr>().ok()?);
    let ones = bits.leading_ones();
    (ones > 0 && bits.checked_shl(ones).unwrap_or(0) == 0).then_some(ones as u8)
}

fn network(a: Ipv4Addr, prefix: u8) -> u32 {
    u32::from(a) & u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0)
}

/// Whether `host` is in the subnet of `address/prefix`.
pub fn same_subnet(address: Ipv4Addr, prefix: u8, host: Ipv4Addr) -> bool {
    network(address, prefix) == network(host, prefix)
}

impl AddressEntry {
    pub fn interface(&self) -> Result<Interface, String> {
        let prefix =
            prefix_of(&self.mask).ok_or_else(|| format!("{}: mask {:?} is not a mask", self.address, self.mask))?;
        Ok(Interface {
            address: self.address,
            prefix,
            gateway: self.gateway,
            dns: self.dns.clone(),
            hostname: self.hostname.clone().filter(|h| !h.trim().is_empty()),
        })
    }

    fn key(&self) -> String {
        match (&self.mac, &self.serial) {
            (Some(m), _) => format!("MAC {m}"),
            (None, Some(s)) => format!("serial {s}"),
            (None, None) => format!("the line for {}", self.address),
        }
    }

    /// Whether this line is for the device with this identity.
    pub fn names(&self, id: &Identity) -> bool {
        let mac = |m: &str| m.chars().filter(char::is_ascii_hexdigit).collect::<String>().to_ascii_lowercase();
        let by_mac = self.mac.as_deref().is_some_and(|m| !id.mac.is_empty() && mac(m) == mac(&id.mac));
        let by_serial = self
            .serial
            .as_deref()
            .is_some_and(|s| !id.serial.is_empty() && s.trim().eq_ignore_ascii_case(id.serial.trim()));
        by_mac || by_serial
    }
}

/// Check a plan: every line names a device and a usable address, no two lines share an
/// address or a device, every gateway is inside its subnet. The message names the line.
pub fn validate(entries: &[AddressEntry]) -> Result<(), String> {
    for (i, e) in entries.iter().enumerate() {
        let at = || format!("addresses line {} ({})", i + 1, e.key());
        if e.mac.as_deref().is_none_or(|m| m.trim().is_empty())
            && e.serial.as_deref().is_none_or(|s| s.trim().is_empty())
        {
            return Err(format!("{}: name the device by mac or serial", at()));
        }
        let ifc = e.interface().map_err(|why| format!("{}: {why}", at()))?;
        if !(8..=30).contains(&ifc.prefix) {
            return Err(format!("{}: a /{} subnet has no room for a camera and its gateway", at(), ifc.prefix));
        }
        let host_bits = u32::from(e.address) & !u32::MAX.checked_shl(32 - u32::from(ifc.prefix)).unwrap_or(0);
        let all_ones = !u32::MAX.checked_shl(32 - u32::from(ifc.prefix)).unwrap_or(0);
        if e.address.is_unspecified() || e.address.is_multicast() || host_bits == 0 || host_bits == all_ones {
            return Err(format!("{}: {} is not a host address in /{}", at(), e.address, ifc.prefix));
        }
        if let Some(g) = e.gateway {
            if g == e.address || !same_subnet(e.address, ifc.prefix, g) {
                return Err(format!("{}: the gateway {g} is outside {}/{}", at(), e.address, ifc.prefix));
            }
        }
        if e.dns.len() > 2 {
            return Err(format!("{}: at most 2 DNS servers (cameras keep two)", at()));
        }
        if let Some(h) = &ifc.hostname {
            if !valid_hostname(h) {
                return Err(format!("{}: host name {h:?}: letters, digits and hyphens, at most 63", at()));
            }
        }
        for (j, other) in entries.iter().enumerate().take(i) {
            if other.address == e.address {
                return Err(format!("{}: {} is also line {}'s address", at(), e.address, j + 1));
            }
            let same = |a: &Option<String>, b: &Option<String>| matches!((a, b), (Some(x), Some(y)) if x.trim().eq_ignore_ascii_case(y.trim()));
            if same(&other.mac, &e.mac) || same(&other.serial, &e.serial) {
                return Err(format!("{}: the device is also on line {}", at(), j + 1));
            }
        }
    }
    Ok(())
}

fn valid_hostname(h: &str) -> bool {
    !h.is_empty()
        && h.len() <= 63
        && h.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        && !h.starts_with('-')
        && !h.ends_with('-')
}

/// The plan's line for this device, if it has one.
pub fn entry_for<'a>(entries: &'a [AddressEntry], id: &Identity) -> Option<&'a AddressEntry> {
    entries.iter().find(|e| e.names(id))
}

/// What the plan wants this setting to read; `None` where it says nothing.
pub fn expected(setting: Setting, ifc: &Interface) -> Option<Value> {
    match setting {
        Setting::NetworkIpv4 => Some(Value::Text(ifc.cidr())),
        Setting::NetworkGateway => ifc.gateway.map(|g| Value::Text(g.to_string())),
        Setting::NetworkDns => {
            (!ifc.dns.is_empty()).then(|| Value::List(ifc.dns.iter().map(ToString::to_string).collect()))
        }
        Setting::NetworkHostname => ifc.hostname.clone().map(Value::Text),
        _ => None,
    }
}

impl Interface {
    /// `10.0.0.21/24`.
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.address, self.prefix)
    }

    /// How steps and the history write it: `10.0.0.21/24 via 10.0.0.1 dns 10.0.0.2,10.0.0.3 host cam-21`.
    pub fn describe(&self) -> String {
        let mut out = self.cidr();
        if let Some(g) = self.gateway {
            out.push_str(&format!(" via {g}"));
        }
        if !self.dns.is_empty() {
            out.push_str(&format!(" dns {}", self.dns.iter().map(ToString::to_string).collect::<Vec<_>>().join(",")));
        }
        if let Some(h) = &self.hostname {
            out.push_str(&format!(" host {h}"));
        }
        out
    }

    /// The inverse of [`Interface::describe`].
    pub fn parse(text: &str) -> Option<Interface> {
        let mut words = text.split_whitespace();
        let (address, prefix) = words.next()?.split_once('/')?;
        let mut ifc = Interface {
            address: address.parse().ok()?,
            prefix: prefix.parse().ok()?,
            gateway: None,
            dns: Vec::new(),
            hostname: None,
        };
        while let Some(word) = words.next() {
            let value = words.next()?;
            match word {
                "via" => ifc.gateway = Some(value.parse().ok()?),
                "dns" => ifc.dns = value.split(',').map(str::parse).collect::<Result<_, _>>().ok()?,
                "host" => ifc.hostname = Some(value.to_string()),
                _ => return None,
            }
        }
        Some(ifc)
    }
}

/// An address plan as CSV: a header naming `mac`, `serial`, `address`, `mask`,
/// `gateway`, `dns` (servers separated by spaces or `;`) and `hostname`, in any order;
/// `address` and `mask` are required, and `mac` or `serial`. Errors name the line.
pub fn read_csv(text: &str) -> Result<Vec<AddressEntry>, String> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| format!("address plan: {e}"))?.clone();
    let column = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    for h in headers.iter() {
        if !["mac", "serial", "address", "mask", "gateway", "dns", "hostname"]
            .contains(&h.to_ascii_lowercase().as_str())
        {
            return Err(format!("address plan: unknown column {h:?}"));
        }
    }
    let (Some(address), Some(mask)) = (column("address"), column("mask")) else {
        return Err("address plan: the header needs address and mask columns".into());
    };
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let line = i + 2;
        let row = row.map_err(|e| format!("address plan line {line}: {e}"))?;
        let get = |c: Option<usize>| c.and_then(|c| row.get(c)).map(str::trim).filter(|v| !v.is_empty());
        let ip =
            |v: &str, what: &str| v.parse::<Ipv4Addr>().map_err(|_| format!("address plan line {line}: {what} {v:?}"));
        let dns = match get(column("dns")) {
            Some(list) => {
                list.split([' ', ';']).filter(|s| !s.is_empty()).map(|s| ip(s, "dns")).collect::<Result<_, _>>()?
            }
            None => Vec::new(),
        };
        out.push(AddressEntry {
            mac: get(column("mac")).map(String::from),
            serial: get(column("serial")).map(String::from),
            address: ip(get(Some(address)).unwrap_or_default(), "address")?,
            mask: get(Some(mask)).unwrap_or_default().to_string(),
            gateway: get(column("gateway")).map(|g| ip(g, "gateway")).transpose()?,
            dns,
            hostname: get(column("hostname")).map(String::from),
        });
    }
    validate(&out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(mac: &str, address: &str, gateway: Option<&str>) -> AddressEntry {
        AddressEntry {
            mac: Some(mac.into()),
            serial: None,
            address: address.parse().unwrap(),
            mask: "255.255.255.0".into(),
            gateway: gateway.map(|g| g.parse().unwrap()),
            dns: vec![],
            hostname: None,
        }
    }

    #[test]
    fn a_plan_that_collides_or_routes_outside_its_subnet_is_refused_with_its_line() {
        assert!(validate(&[entry("aa:01", "10.0.0.21", Some("10.0.0.1")), entry("aa:02", "10.0.0.22", None)]).is_ok());
        let twice = validate(&[entry("aa:01", "10.0.0.21", None), entry("aa:02", "10.0.0.21", None)]).unwrap_err();
        assert!(twice.contains("line 2") && twice.contains("line 1's address"), "{twice}");
        let gw = validate(&[entry("aa:01", "10.0.0.21", Some("10.0.1.1"))]).unwrap_err();
        assert!(gw.contains("outside 10.0.0.21/24"), "{gw}");
        let same = validate(&[entry("aa:01", "10.0.0.21", None), entry("AA:01", "10.0.0.22", None)]).unwrap_err();
        assert!(same.contains("also on line 1"), "{same}");
        assert!(validate(&[entry("aa:01", "10.0.0.0", None)]).unwrap_err().contains("not a host address"));
        let mut nameless = entry("x", "10.0.0.5", None);
        nameless.mac = None;
        assert!(validate(&[nameless]).unwrap_err().contains("mac or serial"));
    }

    #[test]
    fn csv_reads_any_column_order_and_the_interface_round_trips_through_its_words() {
        let plan = read_csv(
            "serial,address,mask,gateway,dns,hostname\nAB123,10.0.0.21,24,10.0.0.1,10.0.0.2 10.0.0.3,cam-21\n",
        )
        .unwrap();
        let ifc = plan[0].interface().unwrap();
        assert_eq!(ifc.describe(), "10.0.0.21/24 via 10.0.0.1 dns 10.0.0.2,10.0.0.3 host cam-21");
        assert_eq!(Interface::parse(&ifc.describe()), Some(ifc));
        assert!(read_csv("address,mask,colour\n10.0.0.1,24,red\n").unwrap_err().contains("colour"));
        assert!(read_csv("mac,address,mask\naa:bb,10.0.0.300,24\n").unwrap_err().contains("line 2"));
        let id = Identity { mac: "44-19-B6-00-00-01".into(), serial: "ab123".into(), ..Default::default() };
        assert!(plan[0].names(&id), "serial, case-insensitive");
        assert!(entry("44:19:b6:00:00:01", "10.0.0.9", None).names(&id), "MAC, any separator");
    }
}
