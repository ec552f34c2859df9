//! Fuzzes `report verify`: `portcullis_report::integrity::verify_json` (what
//! `workspace::verify_file` runs on a report file's text against the local history):
//! JSON parsing, the canonical-JSON digest, the report schema, and the citations of a
//! real hash-chained history (`sample::history`, made once per run).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis_core::history::{HistoryKey, Record, Verification};
use portcullis_report::{integrity, sample};

fn history() -> &'static Option<(Vec<Record>, Verification)> {
    static HISTORY: OnceLock<Option<(Vec<Record>, Verification)>> = OnceLock::new();
    HISTORY.get_or_init(|| {
        let home = portcullis_fuzz::scratch("report");
        // Three devices, as behind the report crate's snapshot report; a fixed key, so a
        // crash reproduces.
        let made = sample::history(&home, 3, HistoryKey::new([0x42; 32])).ok();
        let _ = std::fs::remove_dir_all(&home);
        made
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((records, chain)) = history() else { return };
    let text = portcullis_fuzz::text(data);
    let check = integrity::verify_json(&text, records, chain);
    let _ = check.ok();
    let broken = Verification { first_bad: Some((1, "fuzz".into())), ..chain.clone() };
    let _ = integrity::verify_json(&text, records.get(..1).unwrap_or_default(), &broken);
});
