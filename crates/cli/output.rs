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
        let mut v = serde_json::to_value(value).unwrap_or(serde_json::Value::Null);
        if let serde_json::Value::Object(map) = &mut v {
            map.insert("type".into(), serde_json::Value::String(kind.into()));
        }
        // Written whole, in one write: `Display` formats a `Value` piece by piece, and a
        // thousand-camera audit's records took 2.6 % of its CPU that way. Nothing is left to
        // tell if stdout has gone (a closed pipe), so a failed write is dropped.
        let mut line = serde_json::to_vec(&v).unwrap_or_default();
        line.push(b'\n');
        let _ = std::io::stdout().lock().write_all(&line);
    }
}

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
