//! Fuzzes baseline files: `baseline::Baseline::parse` (TOML, `extends` with overrides,
//! the `[site]` table and the controls it generates, file:line errors), then what an
//! audit and a plan do with a baseline that parses: `baseline::eval::evaluate` and
//! `score` on a few postures, `plan::SiteParameters::merge`, `plan::plan_device`, and
//! `Baseline::with_site` of its `[site]` table onto a built-in profile.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use portcullis_core::baseline::{eval, Baseline, BUILTIN};
use portcullis_core::plan::{plan_device, SiteParameters};
use portcullis_core::posture::{Identity, Posture, Protocol, Reading, Value};
use portcullis_core::setting::Setting;

struct Fixed {
    builtin: Vec<Baseline>,
    postures: Vec<Posture>,
}

fn fixed() -> &'static Fixed {
    static FIXED: OnceLock<Fixed> = OnceLock::new();
    FIXED.get_or_init(|| {
        let builtin = BUILTIN.iter().filter_map(|(name, _)| Baseline::load(name).ok()).collect();
        let hik = Identity {
            vendor: "hikvision".into(),
            manufacturer: "HIKVISION".into(),
            model: "DS-2CD2132F-IS".into(),
            firmware_version: "V5.3.0".into(),
            firmware_build: Some("151016".into()),
            ..Default::default()
        };
        let onvif = Identity { vendor: "axis".into(), model: "Q1615 Mk III".into(), ..Default::default() };
        let mut postures = Vec::new();
        let values = [
            Value::Bool(false),
            Value::Bool(true),
            Value::Text("CET-1CEST,M3.5.0,M10.5.0/3".into()),
            Value::Text("hq-DS-2CD2132F-IS-07".into()),
            Value::List(vec!["192.0.2.10".into(), "ntp.example".into()]),
            Value::List(Vec::new()),
            Value::Int(7),
        ];
        for (i, v) in values.iter().enumerate() {
            let (id, proto) = if i % 2 == 0 { (&hik, Protocol::Isapi) } else { (&onvif, Protocol::Onvif) };
            let mut p = Posture::new(id.clone(), proto);
            for &key in Setting::ALL {
                p.known(key, v.clone());
            }
            postures.push(p);
        }
        let mut odd = Posture::new(hik, Protocol::Isapi);
        for (i, &key) in Setting::ALL.iter().enumerate() {
            odd.set(key, if i % 2 == 0 { Reading::Unsupported } else { Reading::Unknown("timeout".into()) });
        }
        postures.push(odd);
        postures.push(Posture::new(onvif, Protocol::Onvif));
        Fixed { builtin, postures }
    })
}

fuzz_target!(|data: &[u8]| {
    let text = portcullis_fuzz::text(data);
    let b = match Baseline::parse("site-baseline.toml", &text) {
        Ok(b) => b,
        Err(e) => {
            let _ = (e.line, e.reason);
            return;
        }
    };
    let fixed = fixed();
    let _ = b.name_pattern();
    for c in &b.controls {
        let _ = eval::describe(&c.expect);
    }
    let Ok(site) = SiteParameters::merge(b.site.as_ref(), &[], &["192.0.2.10".to_string()]) else { return };
    for p in &fixed.postures {
        let findings = eval::evaluate(&b, p);
        let _ = eval::score(&findings);
        for f in &findings {
            let _ = f.status.as_str();
        }
        let _ = plan_device("192.0.2.7:80", &findings, &site);
    }
    if let Some(s) = &b.site {
        for base in &fixed.builtin {
            let _ = base.clone().with_site(s.clone());
        }
    }
});
