//! Fuzzes the site parameters a user types: POSIX TZ strings (`site::tz::canonical`,
//! `equivalent`, `hikvision`, `from_hikvision`) and device-name patterns
//! (`site::names::NamePattern::parse`, `render`, `number_in`, `assign`). The input's
//! first line is one string, the rest another (TZ pairs, pattern and a name).
#![no_main]

use libfuzzer_sys::fuzz_target;
use portcullis_core::site::names::{self, NamePattern, Named};
use portcullis_core::site::tz;

fuzz_target!(|data: &[u8]| {
    let text = portcullis_fuzz::text(data);
    let (a, b) = text.split_once('\n').unwrap_or((&text, ""));
    for s in [a, b, text.as_str()] {
        if let Ok(c) = tz::canonical(s) {
            let _ = tz::hikvision(&c);
        }
        if let Ok(h) = tz::hikvision(s) {
            let _ = tz::from_hikvision(&h);
        }
        let _ = tz::from_hikvision(s);
    }
    let _ = tz::equivalent(a, b);
    let _ = names::clean_model(b);
    if let Ok(p) = NamePattern::parse(a, "harbour") {
        let _ = p.describe();
        let name = p.render(b, 7);
        let _ = p.number_in(b, &name);
        let _ = p.number_in(b, b);
        let _ = p.render(b, u32::MAX);
        let devices: Vec<Named> = b
            .split_whitespace()
            .take(8)
            .enumerate()
            .map(|(i, w)| Named {
                label: format!("192.0.2.{i}:80"),
                model: w.to_string(),
                current: Some(w.to_string()),
            })
            .collect();
        let _ = names::assign(&p, &devices);
    }
});
