//! Fuzzes the XML layer every device document goes through: `xml::parse` (limits, BOM)
//! and the splice editor (`xml::Splice`: set_text, set_inner, remove, append_child,
//! finish) on the elements of a fuzzed document, then the ISAPI write of every setting
//! that has one (`driver::isapi::write::edit`) on the same document, with values taken
//! from the document's own first text.
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::driver::isapi::write::{self, WriteContext};
use portcullis_core::posture::Value;
use portcullis_core::setting::Setting;
use portcullis_core::xml::{self, Splice};

fn splice(text: &str, op: usize, leaves_only: bool) {
    let mut s = Splice::new(text);
    let Ok(doc) = s.document() else { return };
    let elements = doc
        .descendants()
        .filter(|n| n.is_element())
        .filter(|n| !leaves_only || !n.children().any(|c| c.is_element()))
        .take(32);
    for (i, e) in elements.enumerate() {
        match (op + i) % 4 {
            0 => s.set_text(e, "new <&\"'> value"),
            1 => s.set_inner(e, "<x>1</x>".into()),
            2 => s.remove(e),
            _ => s.append_child(e, "<y/>".into()),
        }
    }
    let _ = s.is_empty();
    if let Ok(out) = s.finish() {
        let _ = xml::parse(&out);
    }
}

fuzz_target!(|data: &[u8]| {
    let text = portcullis_fuzz::text(data);
    let Ok(doc) = xml::parse(&text) else {
        // The editor still gets the text: it parses without the reader's limits.
        splice(&text, 0, false);
        return;
    };
    let word = doc
        .descendants()
        .find(|n| n.is_text() && !n.text().unwrap_or("").trim().is_empty())
        .map(xml::text)
        .unwrap_or_default();
    for op in 0..4 {
        splice(&text, op, false);
        splice(&text, op, true);
    }
    let ctx = WriteContext { management_hosts: vec!["192.0.2.10".into(), word.clone()] };
    for &key in Setting::ALL {
        if write::endpoint(key).is_none() {
            continue;
        }
        let values = match key {
            Setting::AuthWeb | Setting::AuthRtsp | Setting::OnvifAuth => {
                vec![Value::Text("digest".into()), Value::Text(word.clone())]
            }
            Setting::DeviceName => vec![Value::Text("site-DS-2CD2-01".into()), Value::Text(word.clone())],
            Setting::TimeZone => vec![Value::Text("CET-1CEST,M3.5.0,M10.5.0/3".into()), Value::Text(word.clone())],
            Setting::TimeNtpServers | Setting::NetworkIpFilterAddresses => {
                vec![Value::List(vec!["192.0.2.10".into(), word.clone()]), Value::List(vec!["ntp.example".into()])]
            }
            _ => vec![Value::Bool(false), Value::Bool(true)],
        };
        for to in &values {
            let _ = write::edit(key, &text, to, &ctx);
        }
        let _ = write::switch_of(key);
    }
});
