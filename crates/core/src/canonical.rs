//! Canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace, strings and
//! numbers as `serde_json` prints them. Hashes are taken over this text so that they do
//! not depend on how serde_json was built: its `preserve_order` feature (on for the whole
//! workspace, see Cargo.toml) keeps insertion order in maps, and a build without it sorts
//! them; either way the hash of the same record must be the same.

use serde_json::Value;

fn write(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = map.get(k) {
                    write(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// The canonical text of a JSON value.
pub fn to_string(v: &Value) -> String {
    let mut s = String::new();
    write(v, &mut s);
    s
}

#[cfg(test)]
mod tests {
    #[test]
    fn keys_are_sorted_at_every_depth_whatever_the_insertion_order() {
        let mut inner = serde_json::Map::new();
        inner.insert("z".into(), 1.into());
        inner.insert("a".into(), serde_json::json!([{"y": true, "b": null}]));
        let mut outer = serde_json::Map::new();
        outer.insert("m".into(), serde_json::Value::Object(inner));
        outer.insert("b".into(), "x\"y".into());
        assert_eq!(
            super::to_string(&serde_json::Value::Object(outer)),
            r#"{"b":"x\"y","m":{"a":[{"b":null,"y":true}],"z":1}}"#
        );
    }
}
