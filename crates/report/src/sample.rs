//! A synthetic site for tests and the benchmark: devices scored by the real baseline
//! evaluation, a "before" run (factory state, mostly failing) and an "after" run (mostly
//! hardened), and change records in a real hash chain. No device, no network, no secret.

use portcullis_core::audit::DeviceAudit;
use portcullis_core::baseline::{eval, Baseline, Expect};
use portcullis_core::history::{Change, History, Outcome, Record, Verification};
use portcullis_core::posture::{Identity, Posture, Protocol, Value};
use portcullis_core::setting::Setting;
use portcullis_core::snapshots::Snapshot;

fn passing(e: &Expect) -> Value {
    match e {
        Expect::Equals(v) => v.clone(),
        Expect::OneOf(vs) => vs.first().cloned().unwrap_or(Value::Bool(true)),
        Expect::Empty(true) => Value::List(Vec::new()),
        Expect::Empty(false) => Value::List(vec!["ntp.site.example".into()]),
        Expect::NoKnownAdvisory(_) | Expect::FirmwareAtLeast(_) => Value::Text("V5.7.3".into()),
        // The sample baselines carry no site table; a name, zone or list that fits.
        Expect::NamePattern(_) => Value::Text("site-cam-01".into()),
        Expect::TimeZone(t) => Value::Text(t.clone()),
        Expect::SameSet(l) | Expect::Includes(l) => Value::List(l.clone()),
        // A device the plan does not name passes whatever it reads.
        Expect::AddressPlan(_) => Value::Text("192.0.2.20/24".into()),
    }
}

fn failing(e: &Expect) -> Value {
    match e {
        Expect::Equals(Value::Bool(b)) => Value::Bool(!b),
        Expect::Equals(_) | Expect::OneOf(_) => Value::Text("basic".into()),
        Expect::Empty(true) => Value::List(vec!["installer".into()]),
        Expect::Empty(false) => Value::List(Vec::new()),
        Expect::NoKnownAdvisory(_) | Expect::FirmwareAtLeast(_) => Value::Text("V5.4.5".into()),
        Expect::NamePattern(_) => Value::Text("IP CAMERA".into()),
        Expect::TimeZone(_) => Value::Text("UTC0".into()),
        Expect::SameSet(_) | Expect::Includes(_) => Value::List(Vec::new()),
        Expect::AddressPlan(_) => Value::Text("dhcp 192.168.1.64/24".into()),
    }
}

/// Device `i` of the synthetic site, hardened or in its factory state.
pub fn device(i: usize, baseline: &Baseline, hardened: bool) -> DeviceAudit {
    let legacy = i % 7 == 3;
    let id = Identity {
        vendor: "hikvision".into(),
        manufacturer: "Hikvision".into(),
        model: if legacy { "DS-2CD2032F-I".into() } else { format!("DS-2CD2{}43G2-I", 1 + i % 4) },
        serial: format!("DS-2CD2143G2-I20231120AAWRL{:08}", 10_000 + i),
        mac: format!("44:19:b6:{:02x}:{:02x}:{:02x}", (i >> 16) & 0xff, (i >> 8) & 0xff, i & 0xff),
        firmware_version: if legacy { "V5.3.0".into() } else { "V5.7.3".into() },
        firmware_build: Some(if legacy { "150410".into() } else { "220112".into() }),
        device_type: "IPCamera".into(),
    };
    let mut p = Posture::new(id, Protocol::Isapi);
    for (n, c) in baseline.controls.iter().enumerate() {
        let pass = if hardened { !(i + n).is_multiple_of(11) } else { (i + n).is_multiple_of(3) };
        let v = if c.setting == Setting::FirmwareVersion {
            Value::Text(p.identity.firmware_version.clone())
        } else if pass {
            passing(&c.expect)
        } else {
            failing(&c.expect)
        };
        p.known(c.setting, v);
    }
    let findings = eval::evaluate(baseline, &p);
    DeviceAudit {
        target: format!("127.1.{}.{}:80", i / 250, 1 + i % 250),
        site: Some("Harbour Office".into()),
        protocol: Some(Protocol::Isapi),
        baseline: Some(format!("{}@{}", baseline.baseline.name, baseline.baseline.version)),
        score: eval::score(&findings),
        identity: Some(p.identity),
        findings,
        error: None,
    }
}

/// Two runs of `n` devices: factory state at 09:00, hardened at 17:00.
pub fn snapshots(n: usize, baseline: &Baseline) -> Vec<Snapshot> {
    let run = |id, time: &str, hardened| Snapshot {
        id,
        time: time.into(),
        operator: "j.doe".into(),
        baseline: "builtin".into(),
        devices: (0..n).map(|i| device(i, baseline, hardened)).collect(),
    };
    vec![run(1, "2026-11-28T09:00:00Z", false), run(2, "2026-11-28T17:00:00Z", true)]
}

/// A few changes per device in a real history under `home`, sealed with `key`;
/// returns them and the chain.
pub fn history(
    home: &std::path::Path,
    devices: usize,
    key: portcullis_core::history::HistoryKey,
) -> portcullis_core::error::Result<(Vec<Record>, Verification)> {
    let h = History::open(home, key)?;
    for i in 0..devices {
        let device = format!("127.1.{}.{}:80", i / 250, 1 + i % 250);
        for (control, setting) in [("HIK-12", Setting::ServiceTelnetEnabled), ("HIK-06", Setting::ServiceHttpEnabled)] {
            let change = |outcome| Change {
                operator: "j.doe".into(),
                device: device.clone(),
                site: Some("Harbour Office".into()),
                control: Some(control.into()),
                setting,
                before: Some(Value::Bool(true)),
                after: Some(Value::Bool(false)),
                outcome,
                vault_entry: None,
            };
            h.append(change(Outcome::Intent), "2026-11-28T12:00:00Z")?;
            h.append(change(Outcome::Verified), "2026-11-28T12:00:01Z")?;
        }
    }
    Ok((h.all()?, h.verify()?))
}
