//! Where command output goes: human tables or JSON lines.

use std::io::Write;

use serde::Serialize;

#[derive(Debug, Clone, Copy)]
pub struct Output {
    pub json: bool,
}

impl Output {
    /// One JSON object per line, tagged with its `type`.
    pub fn record<T: Serialize>(&self, kind: &str, value: &T) {
        // Written whole, in one write: `Display` formats a `Value` piece by piece, and a
        // thousand-camera audit's records took 2.6 % of its CPU that way. Nothing is left to
        // tell if stdout has gone (a closed pipe), so a failed write is dropped.
        let mut line = tagged(kind, value);
        line.push(b'\n');
        let _ = std::io::stdout().lock().write_all(&line);
    }
}

/// A record's own fields, then its `type`.
#[derive(Serialize)]
struct Tagged<'a, T> {
    #[serde(flatten)]
    value: &'a T,
    #[serde(rename = "type")]
    kind: &'a str,
}

/// `value` as JSON with `"type": kind` added when it is an object. Serialised in one pass
/// where that gives one `type` key: going through a `Value` first (a map built, then
/// written) was 3 % of a 1,000-camera audit's CPU. A value with a `type` of its own (an
/// event) has it replaced by `kind` through a `Value`, as has anything that is not an
/// object (left as it is). `"type":` is only ever a key in JSON: inside a string its
/// quotes are escaped.
fn tagged<T: Serialize>(kind: &str, value: &T) -> Vec<u8> {
    if let Ok(line) = serde_json::to_vec(&Tagged { value, kind }) {
        if memchr::memmem::find_iter(&line, TYPE_KEY).nth(1).is_none() {
            return line;
        }
    }
    let mut v = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
    if let serde_json::Value::Object(map) = &mut v {
        map.insert("type".into(), serde_json::Value::String(kind.into()));
    }
    serde_json::to_vec(&v).unwrap_or_default()
}

const TYPE_KEY: &[u8] = b"\"type\":";

pub fn opt(s: &Option<String>) -> String {
    s.as_deref().filter(|v| !v.is_empty()).unwrap_or("-").to_string()
}

/// A setting's value, or `?` when it is not known.
pub fn show(v: &Option<portcullis_core::posture::Value>) -> String {
    v.as_ref().map_or("?".into(), ToString::to_string)
}

/// Ask on the terminal; anything but yes is no.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    use std::io::BufRead;
    eprint!("{question} [y/N] ");
    std::io::stderr().flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes"))
}

/// The device table of `inventory list` and `discover`; `last` names the last column.
pub fn print_devices(
    devices: &[portcullis_core::inventory::Device],
    last: &str,
    last_of: impl Fn(&portcullis_core::inventory::Device) -> String,
) {
    println!(
        "{:<22} {:<10} {:<18} {:<22} {:<18} {:<9} {last}",
        "DEVICE", "VENDOR", "MODEL", "FIRMWARE", "MAC", "ACTIVATED"
    );
    for d in devices {
        let activated = match d.activated {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "?",
        };
        // Unconfirmed devices are marked where they are listed: nothing goes to them.
        let label = if d.confirmed { d.label() } else { format!("{}?", d.label()) };
        println!(
            "{:<22} {:<10} {:<18} {:<22} {:<18} {:<9} {}",
            label,
            opt(&d.vendor),
            opt(&d.model),
            opt(&d.firmware),
            opt(&d.mac),
            activated,
            last_of(d)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::tagged;
    use serde::Serialize;

    #[derive(Serialize)]
    struct Device {
        target: &'static str,
        score: Option<u8>,
        note: &'static str,
    }

    #[derive(Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    enum Event {
        Started { devices: u32 },
    }

    fn text(kind: &str, value: &impl Serialize) -> String {
        String::from_utf8(tagged(kind, value)).unwrap()
    }

    #[test]
    fn a_record_is_its_fields_in_order_then_its_type() {
        let d = Device { target: "10.0.0.5", score: None, note: r#"said "type": no"# };
        assert_eq!(
            text("device", &d),
            r#"{"target":"10.0.0.5","score":null,"note":"said \"type\": no","type":"device"}"#
        );
    }

    #[test]
    fn a_value_with_a_type_of_its_own_takes_the_record_s() {
        assert_eq!(text("progress", &Event::Started { devices: 3 }), r#"{"type":"progress","devices":3}"#);
        let nested = serde_json::json!({ "inner": { "type": "kept" }, "n": 1 });
        assert_eq!(text("x", &nested), r#"{"inner":{"type":"kept"},"n":1,"type":"x"}"#);
    }

    #[test]
    fn a_value_that_is_not_an_object_is_written_as_it_is() {
        assert_eq!(text("list", &vec![1, 2]), "[1,2]");
        assert_eq!(text("word", &"ok"), r#""ok""#);
    }
}
