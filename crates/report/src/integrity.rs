//! Integrity: the report's own SHA-256 and its check against the local history.
//!
//! The digest is SHA-256 over the report's *canonical JSON* without its `sha256` field:
//! object keys sorted by their UTF-8 bytes, no whitespace, strings escaped as
//! `serde_json` escapes them, numbers as `serde_json` prints them. Anyone can recompute it
//! from the JSON file with any JSON library that can sort keys (docs/report-schema.md),
//! and it does not depend on how the file was pretty-printed.

use portcullis_core::history::{Record, Verification};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::model::ReportData;

/// The canonical text of a JSON value (see the module documentation).
pub fn canonical(v: &Value) -> String {
    portcullis_core::canonical::to_string(v)
}

/// SHA-256 (hex) of the canonical JSON of `report` without its top-level `sha256`.
pub fn digest_of(report: &Value) -> String {
    let mut body = report.clone();
    if let Value::Object(map) = &mut body {
        map.remove("sha256");
    }
    hex::encode(Sha256::digest(canonical(&body).as_bytes()))
}

/// SHA-256 (hex) of a file's bytes, as `sha256sum` prints it.
pub fn file_digest(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What `report verify` found.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Check {
    /// The report's stated digest matches its content.
    pub digest_ok: bool,
    /// The chain head it cites is in the local history (the head now or an earlier record).
    pub head_found: bool,
    /// Change records it lists that are in the local history with the same hash.
    pub changes_matched: usize,
    /// Everything that does not hold, in words.
    pub problems: Vec<String>,
}

impl Check {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Check a JSON report's text: its digest, then its citations of `history` (all the
/// local records, in order) and of the chain's state `chain`.
pub fn verify_json(text: &str, history: &[Record], chain: &Verification) -> Check {
    let mut problems = Vec::new();
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            return Check {
                digest_ok: false,
                head_found: false,
                changes_matched: 0,
                problems: vec![format!("not a JSON report: {e}")],
            }
        }
    };
    let stated = value.get("sha256").and_then(Value::as_str).map(str::to_string);
    let digest_ok = stated.as_deref() == Some(digest_of(&value).as_str());
    if stated.is_none() {
        problems.push("the report states no sha256".into());
    } else if !digest_ok {
        problems.push("the report's content does not match its sha256 (altered)".into());
    }
    let report: ReportData = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => {
            problems.push(format!("not a report of schema version {}: {e}", crate::model::SCHEMA_VERSION));
            return Check { digest_ok, head_found: false, changes_matched: 0, problems };
        }
    };
    if let Some((seq, why)) = &chain.first_bad {
        problems.push(format!("the local history is broken at record {seq}: {why}"));
    }
    let head = &report.history.head;
    let head_found = head == portcullis_core::history::GENESIS || history.iter().any(|r| &r.hash == head);
    if !head_found {
        problems.push(format!("chain head {head} is not in the local history"));
    }
    let mut changes_matched = 0;
    for c in &report.changes {
        match history.iter().find(|r| r.seq == c.seq) {
            Some(r) if r.hash == c.hash && r.change.device == c.device && r.change.setting == c.setting => {
                changes_matched += 1;
            }
            Some(_) => problems.push(format!("change record {} differs from the local history", c.seq)),
            None => problems.push(format!("change record {} is not in the local history", c.seq)),
        }
    }
    Check { digest_ok, head_found, changes_matched, problems }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_sorts_keys_and_ignores_layout() {
        let a: Value = serde_json::from_str(r#"{"b": [1, {"z": "é\"", "a": null}], "a": true}"#).unwrap();
        assert_eq!(canonical(&a), r#"{"a":true,"b":[1,{"a":null,"z":"é\""}]}"#);
        let with_digest: Value =
            serde_json::from_str(r#"{"a": true, "b": [1, {"a": null, "z": "é\""}], "sha256": "x"}"#).unwrap();
        assert_eq!(digest_of(&a), digest_of(&with_digest));
    }
}
