//! The inventory file formats. For now: the device table `portcullis-sim` prints.
//! Credentials in the file are not read here; they belong in the vault (issue #3).

use serde::{Deserialize, Serialize};

/// One device as an inventory file describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InventoryEntry {
    pub address: std::net::IpAddr,
    #[serde(default)]
    pub http_port: Option<u16>,
    #[serde(default)]
    pub https_port: Option<u16>,
    #[serde(default)]
    pub manufacturer: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub serial: Option<String>,
    #[serde(default)]
    pub mac: Option<String>,
    #[serde(default)]
    pub firmware: Option<String>,
    #[serde(default)]
    pub activated: Option<bool>,
    #[serde(default)]
    pub discoverable: Option<bool>,
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("line {line}, column {column}: {message}")]
    Syntax { line: usize, column: usize, message: String },
    #[error("not an inventory: expected a JSON array of devices or an object with \"devices\"")]
    Shape,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Document {
    Fleet { devices: Vec<InventoryEntry> },
    List(Vec<InventoryEntry>),
}

/// Read a JSON inventory: the simulator's fleet document or a plain array.
pub fn parse_json(text: &str) -> Result<Vec<InventoryEntry>, InventoryError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| InventoryError::Syntax {
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    match serde_json::from_value::<Document>(value) {
        Ok(Document::Fleet { devices }) | Ok(Document::List(devices)) => Ok(devices),
        Err(_) => Err(InventoryError::Shape),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fleet_documents_and_plain_lists_parse_and_bad_input_says_where() {
        let fleet = r#"{"generator":"portcullis-sim","devices":[{"address":"127.1.0.1","http_port":80,"model":"DS-X","password":"Sim-secret7"}]}"#;
        let d = parse_json(fleet).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].model.as_deref(), Some("DS-X"));
        assert_eq!(parse_json(r#"[{"address":"127.0.0.5"}]"#).unwrap().len(), 1);
        match parse_json("{\n  \"devices\": [\n    {\"address\": }\n") {
            Err(InventoryError::Syntax { line, .. }) => assert_eq!(line, 3),
            other => panic!("expected a syntax error, got {other:?}"),
        }
        assert!(matches!(parse_json(r#"{"devices":[{"address":"not-an-ip"}]}"#), Err(InventoryError::Shape)));
    }
}
