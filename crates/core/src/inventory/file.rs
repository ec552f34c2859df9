//! Inventory files: JSON (a plain list, or the device table `portcullis-sim` prints)
//! and CSV with a header row. Bad rows are reported with their line number; nothing is
//! imported from a file with errors.

use std::net::IpAddr;

use serde::Deserialize;

use super::{Sighting, Source};
use crate::secret::{Credentials, Secret};

/// One device of an inventory file; credentials are split off into the vault.
#[derive(Debug, Clone)]
pub struct Entry {
    pub sighting: Sighting,
    pub credentials: Option<Credentials>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum InventoryError {
    #[error("line {line}, column {column}: {message}")]
    Syntax { line: usize, column: usize, message: String },
    #[error("not an inventory: expected a JSON array of devices or an object with \"devices\"")]
    Shape,
    #[error("{}", rows_text(.0))]
    Rows(Vec<(usize, String)>),
}

/// Rows shown in an error; a file wrong on every line says so in a screenful, not in
/// thousands of lines (the error keeps them all).
const ROWS_SHOWN: usize = 20;

/// Why an address cell was refused, with the fix for the common `address:port`.
fn not_an_address(cell: &str) -> String {
    match cell.rsplit_once(':').filter(|(a, p)| a.parse::<IpAddr>().is_ok() && p.parse::<u16>().is_ok()) {
        Some(_) => format!("{cell:?} is not an IP address (the port goes in the http_port or https_port column)"),
        None => format!("{cell:?} is not an IP address"),
    }
}

fn rows_text(rows: &[(usize, String)]) -> String {
    let mut lines: Vec<String> = rows.iter().take(ROWS_SHOWN).map(|(l, m)| format!("line {l}: {m}")).collect();
    if rows.len() > ROWS_SHOWN {
        lines.push(format!("… and {} more line(s) with errors", rows.len() - ROWS_SHOWN));
    }
    lines.join("\n")
}

#[derive(Deserialize)]
struct JsonEntry {
    address: IpAddr,
    #[serde(default)]
    http_port: Option<u16>,
    #[serde(default)]
    https_port: Option<u16>,
    #[serde(default)]
    wsd_port: Option<u16>,
    #[serde(default)]
    manufacturer: Option<String>,
    #[serde(default)]
    vendor: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    serial: Option<String>,
    #[serde(default)]
    mac: Option<String>,
    #[serde(default)]
    firmware: Option<String>,
    #[serde(default)]
    activated: Option<bool>,
    #[serde(default)]
    endpoint_reference: Option<String>,
    #[serde(default)]
    site: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    /// DNS names for the certificate (`hostname` takes one, `hostnames` a list).
    #[serde(default, alias = "hostname", deserialize_with = "one_or_many")]
    hostnames: Vec<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
}

impl JsonEntry {
    fn into_entry(self) -> Entry {
        let credentials = match (self.username, self.password) {
            (u, Some(p)) if !p.is_empty() => {
                Some(Credentials { username: u.unwrap_or_else(|| "admin".into()), password: Secret::new(p) })
            }
            _ => None,
        };
        Entry {
            sighting: Sighting {
                source: Some(Source::Import),
                address: Some(self.address),
                http_port: self.http_port,
                https_port: self.https_port,
                wsd_port: self.wsd_port,
                vendor: self.vendor.or_else(|| self.manufacturer.map(|m| m.to_ascii_lowercase())),
                model: self.model,
                serial: self.serial,
                mac: self.mac,
                firmware: self.firmware,
                activated: self.activated,
                endpoint_reference: self.endpoint_reference,
                xaddrs: Vec::new(),
                site: self.site,
                tags: self.tags,
                hostnames: self.hostnames,
            },
            credentials,
        }
    }
}

/// A string or a list of strings.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// Host names as an inventory gives them: checked, so a typo is an error with its line.
fn check_hostnames(names: &[String]) -> Result<(), String> {
    for n in names {
        let ok = !n.is_empty()
            && n.len() <= 253
            && n.trim_end_matches('.').split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
            });
        if !ok || n.parse::<IpAddr>().is_ok() {
            return Err(format!("{n:?} is not a host name"));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Document {
    Fleet { devices: Vec<serde_json::Value> },
    List(Vec<serde_json::Value>),
}

/// Read a JSON inventory: the simulator's fleet document or a plain array.
pub fn parse_json(text: &str) -> Result<Vec<Entry>, InventoryError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| InventoryError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    let items = match serde_json::from_value::<Document>(value) {
        Ok(Document::Fleet { devices }) | Ok(Document::List(devices)) => devices,
        Err(_) => return Err(InventoryError::Shape),
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, item) in items.into_iter().enumerate() {
        match serde_json::from_value::<JsonEntry>(item) {
            Ok(e) => match check_hostnames(&e.hostnames) {
                Ok(()) => out.push(e.into_entry()),
                Err(why) => errors.push((i + 1, format!("device #{}: {why}", i + 1))),
            },
            // JSON values carry no line numbers: name the device by its position.
            Err(e) => errors.push((i + 1, format!("device #{}: {e}", i + 1))),
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(InventoryError::Rows(errors))
    }
}

/// Read a CSV inventory with a header row: `address` is required; `site`, `tags`
/// (separated by `;`), `hostnames` (separated by `;`; or `hostname`), `http_port`,
/// `https_port`, `username`, `password` optional.
pub fn parse_csv(text: &str) -> Result<Vec<Entry>, InventoryError> {
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(false).from_reader(text.as_bytes());
    let headers = reader.headers().map_err(|e| InventoryError::Rows(vec![(1, e.to_string())]))?.clone();
    if !headers.iter().any(|h| h.eq_ignore_ascii_case("address")) {
        return Err(InventoryError::Rows(vec![(1, "the header row has no \"address\" column".into())]));
    }
    let col = |name: &str| headers.iter().position(|h| h.eq_ignore_ascii_case(name));
    let hosts = col("hostnames").or_else(|| col("hostname"));
    let (address, site, tags, http, https, user, pass) = (
        col("address"),
        col("site"),
        col("tags"),
        col("http_port"),
        col("https_port"),
        col("username"),
        col("password"),
    );
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                errors.push((line, e.to_string()));
                continue;
            }
        };
        let line = record.position().map(|p| p.line() as usize).unwrap_or(0);
        let get = |c: Option<usize>| c.and_then(|i| record.get(i)).filter(|v| !v.is_empty()).map(str::to_string);
        let addr = match get(address).map(|a| a.parse::<IpAddr>()) {
            Some(Ok(a)) => a,
            Some(Err(_)) => {
                errors.push((line, not_an_address(&get(address).unwrap_or_default())));
                continue;
            }
            None => {
                errors.push((line, "address is empty".into()));
                continue;
            }
        };
        let port =
            |c: Option<usize>, what: &str, errors: &mut Vec<(usize, String)>| match get(c).map(|p| p.parse::<u16>()) {
                Some(Ok(p)) if p > 0 => Some(p),
                Some(_) => {
                    errors.push((line, format!("{what} must be 1–65535")));
                    None
                }
                None => None,
            };
        let hostnames: Vec<String> = get(hosts)
            .map(|t| t.split(';').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
            .unwrap_or_default();
        if let Err(why) = check_hostnames(&hostnames) {
            errors.push((line, why));
            continue;
        }
        let http_port = port(http, "http_port", &mut errors);
        let https_port = port(https, "https_port", &mut errors);
        let json = JsonEntry {
            address: addr,
            http_port: http_port.or(Some(80)),
            https_port,
            wsd_port: None,
            manufacturer: None,
            vendor: None,
            model: None,
            serial: None,
            mac: None,
            firmware: None,
            activated: None,
            endpoint_reference: None,
            site: get(site),
            tags: get(tags)
                .map(|t| t.split(';').map(|x| x.trim().to_string()).filter(|x| !x.is_empty()).collect())
                .unwrap_or_default(),
            hostnames,
            username: get(user),
            password: get(pass),
        };
        out.push(json.into_entry());
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(InventoryError::Rows(errors))
    }
}

/// Read a file by its extension (`.csv`, anything else as JSON).
pub fn parse(name: &str, text: &str) -> Result<Vec<Entry>, InventoryError> {
    if name.to_ascii_lowercase().ends_with(".csv") {
        parse_csv(text)
    } else {
        parse_json(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_wrong_on_every_line_is_told_in_a_screenful_and_an_address_with_a_port_says_where_it_goes() {
        let mut csv = String::from("address,site\n");
        for i in 0..500 {
            csv.push_str(&format!("10.0.{}.{}:80,hq\n", i / 256, i % 256));
        }
        let e = parse_csv(&csv).unwrap_err();
        let InventoryError::Rows(rows) = &e else { panic!("{e:?}") };
        assert_eq!(rows.len(), 500, "every bad line is kept");
        let text = e.to_string();
        assert_eq!(text.lines().count(), ROWS_SHOWN + 1, "{text}");
        assert!(
            text.starts_with("line 2: \"10.0.0.0:80\" is not an IP address (the port goes in the http_port"),
            "{text}"
        );
        assert!(text.ends_with("… and 480 more line(s) with errors"), "{text}");
        let plain = parse_csv("address\ncamera-7\n").unwrap_err().to_string();
        assert_eq!(plain, "line 2: \"camera-7\" is not an IP address");
    }

    #[test]
    fn host_names_come_from_either_format_and_a_bad_one_names_its_line() {
        let csv = "address,hostnames\n127.1.0.1,cam-1.site.example;CAM-1\n127.1.0.2,\n";
        let v = parse_csv(csv).unwrap();
        assert_eq!(v[0].sighting.hostnames, vec!["cam-1.site.example", "CAM-1"]);
        assert!(v[1].sighting.hostnames.is_empty());
        let one = parse_json(r#"[{"address":"127.1.0.1","hostname":"cam-1.site.example"}]"#).unwrap();
        assert_eq!(one[0].sighting.hostnames, vec!["cam-1.site.example"]);
        let many = parse_json(r#"[{"address":"127.1.0.1","hostnames":["a.example","b.example"]}]"#).unwrap();
        assert_eq!(many[0].sighting.hostnames.len(), 2);
        match parse_csv("address,hostname\n127.1.0.1,ok.example\n127.1.0.2,not a name\n") {
            Err(InventoryError::Rows(rows)) => assert_eq!(rows[0].0, 3, "{rows:?}"),
            other => panic!("{other:?}"),
        }
        assert!(
            parse_json(r#"[{"address":"127.1.0.1","hostname":"10.0.0.1"}]"#).is_err(),
            "an address is no host name"
        );
        // Merged into the device, case and the root dot set aside.
        let mut devices = Vec::new();
        crate::inventory::merge(&mut devices, v[0].sighting.clone());
        assert_eq!(devices[0].hostnames, vec!["cam-1.site.example", "cam-1"]);
    }

    #[test]
    fn fleet_documents_and_plain_lists_parse_and_bad_input_says_where() {
        let fleet = r#"{"generator":"portcullis-sim","devices":[{"address":"127.1.0.1","http_port":80,"model":"DS-X","password":"Sim-secret7"}]}"#;
        let d = parse_json(fleet).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].sighting.model.as_deref(), Some("DS-X"));
        assert_eq!(d[0].credentials.as_ref().unwrap().password.expose(), "Sim-secret7");
        assert_eq!(parse_json(r#"[{"address":"127.0.0.5"}]"#).unwrap().len(), 1);
        match parse_json("{\n  \"devices\": [\n    {\"address\": }\n") {
            Err(InventoryError::Syntax { line, .. }) => assert_eq!(line, 3),
            other => panic!("expected a syntax error, got {other:?}"),
        }
        let e = parse_json(r#"{"devices":[{"address":"127.0.0.1"},{"address":"not-an-ip"}]}"#).unwrap_err();
        assert!(e.to_string().contains("device #2"), "{e}");
    }

    #[test]
    fn csv_rows_are_checked_with_line_numbers() {
        let ok = "address,site,tags,username,password\n127.1.0.1,hq,lobby;outdoor,admin,Pw-123456\n127.1.0.2,hq,,,\n";
        let v = parse_csv(ok).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0].sighting.tags, vec!["lobby", "outdoor"]);
        assert!(v[1].credentials.is_none());
        let bad = "address,http_port\n127.1.0.1,80\nnot-ip,80\n127.1.0.3,99999\n";
        let e = parse_csv(bad).unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("line 4"), "{e}");
        assert!(parse_csv("host\n1.2.3.4\n").unwrap_err().to_string().contains("address"));
        let ragged = "address,site\n127.0.0.1,hq,extra\n";
        assert!(parse_csv(ragged).unwrap_err().to_string().contains("line 2"));
    }
}
