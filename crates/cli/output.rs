//! Where command output goes: human tables or JSON lines.

use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// One JSON object per line, tagged with its `type`.
    pub fn record<T: Serialize>(&self, kind: &str, value: &T) {
        let mut v = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(map) = &mut v {
            map.insert("type".into(), serde_json::Value::String(kind.into()));
        }
        println!("{v}");
    }
}

pub fn opt(s: &Option<String>) -> String {
    s.as_deref().filter(|v| !v.is_empty()).unwrap_or("-").to_string()
}
