//! Fuzzes inventory imports: `inventory::file::parse_csv`, `parse_json` and `parse`
//! (by file name) on one text, then the import's merge of every entry into the device
//! list (`inventory::merge`, `Device::key`/`label`/`target`); and the same text as an
//! address plan (`site::addresses::read_csv`, each line's interface and its words).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::inventory::{self, file};

fuzz_target!(|data: &[u8]| {
    let text = portcullis_fuzz::text(data);
    if let Ok(plan) = portcullis_core::site::addresses::read_csv(&text) {
        for line in &plan {
            if let Ok(ifc) = line.interface() {
                assert_eq!(portcullis_core::site::addresses::Interface::parse(&ifc.describe()).as_ref(), Some(&ifc));
            }
        }
    }
    let _ = file::parse("devices.CSV", &text).map_err(|e| e.to_string());
    for parsed in [file::parse_csv(&text), file::parse_json(&text)] {
        let entries = match parsed {
            Ok(entries) => entries,
            Err(e) => {
                let _ = e.to_string();
                continue;
            }
        };
        let mut devices = Vec::new();
        for e in entries {
            inventory::merge(&mut devices, e.sighting);
        }
        for d in &devices {
            let _ = (d.key(), d.label(), d.target());
        }
    }
});
