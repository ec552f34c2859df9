//! Evaluating a baseline against a posture: a pure function from (posture, baseline)
//! to one finding per control, and a score.

use crate::setting::Setting;
use serde::{Deserialize, Serialize};

use super::{Baseline, Control, Expect, Severity, WhenUnsupported};
use crate::posture::{Posture, Protocol, Reading, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Pass,
    Fail,
    Unknown,
    Unsupported,
    NotApplicable,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Unknown => "unknown",
            Status::Unsupported => "unsupported",
            Status::NotApplicable => "not applicable",
        }
    }
}

/// One control on one device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct Finding {
    pub control: String,
    pub title: String,
    pub severity: Severity,
    pub status: Status,
    pub setting: Setting,
    pub observed: Option<Value>,
    pub expected: String,
    /// Why the status is what it is, in words a customer can read.
    pub evidence: String,
}

/// What a control expects, in words.
pub fn describe(expect: &Expect) -> String {
    match expect {
        Expect::Equals(v) => v.to_string(),
        Expect::OneOf(vs) => format!("one of {}", vs.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
        Expect::Empty(true) => "none".into(),
        Expect::Empty(false) => "at least one".into(),
        Expect::NoKnownAdvisory(_) => "outside every published advisory range".into(),
        Expect::FirmwareAtLeast(list) => format!(
            "at least {}",
            list.iter()
                .map(|m| match m.models.is_empty() {
                    true => format!("{} on {}", m.version, m.vendor),
                    false => format!("{} on {}", m.version, m.models.join(", ")),
                })
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Expect::NamePattern(p) => format!("a name like {p}"),
        Expect::TimeZone(t) => t.clone(),
        Expect::SameSet(vs) => format!("exactly {}", Value::List(vs.clone())),
        Expect::Includes(vs) => format!("including {}", Value::List(vs.clone())),
        Expect::AddressPlan(_) => "as the site's address plan says".into(),
    }
}

fn applies(c: &Control, p: &Posture) -> bool {
    let vendor_ok = c.applies_to.vendor.is_empty()
        || c.applies_to.vendor.iter().any(|v| v.eq_ignore_ascii_case(&p.identity.vendor));
    let proto = match p.protocol {
        Protocol::Isapi => "isapi",
        Protocol::Onvif => "onvif",
    };
    let protocol_ok = c.applies_to.protocol.is_empty() || c.applies_to.protocol.iter().any(|x| x == proto);
    vendor_ok && protocol_ok
}

fn check(expect: &Expect, setting: crate::setting::Setting, v: &Value, p: &Posture) -> (bool, String) {
    match expect {
        Expect::AddressPlan(entries) => {
            let Some(entry) = crate::site::addresses::entry_for(entries, &p.identity) else {
                return (true, format!("read {v}; the device is not in the site's address plan"));
            };
            let want = entry.interface().ok().and_then(|i| crate::site::addresses::expected(setting, &i));
            match want {
                Some(want) => (*v == want, format!("read {v}; the plan says {want}")),
                None => (true, format!("read {v}; the plan leaves it as it is")),
            }
        }
        Expect::Equals(want) => (v == want, format!("read {v}")),
        Expect::OneOf(options) => (options.contains(v), format!("read {v}")),
        Expect::Empty(want_empty) => {
            let empty = matches!(v, Value::List(l) if l.is_empty());
            (empty == *want_empty, format!("read {v}"))
        }
        Expect::NamePattern(pattern) => {
            let fits = match (crate::site::names::NamePattern::parse(pattern, ""), v) {
                (Ok(pat), Value::Text(name)) => pat.number_in(&p.identity.model, name).is_some(),
                _ => false,
            };
            (fits, format!("read {v}"))
        }
        Expect::TimeZone(want) => {
            let same = match v {
                Value::Text(t) => crate::site::tz::equivalent(t, want),
                _ => false,
            };
            (same, format!("read {v}"))
        }
        Expect::SameSet(want) => {
            let same = matches!(v, Value::List(l) if {
                let (mut a, mut b) = (l.clone(), want.clone());
                a.sort();
                b.sort();
                a == b
            });
            (same, format!("read {v}"))
        }
        Expect::Includes(want) => {
            let all = matches!(v, Value::List(l) if want.iter().all(|w| l.contains(w)));
            (all, format!("read {v}"))
        }
        Expect::NoKnownAdvisory(_) => {
            let hits = crate::advisories::matching(&p.identity);
            if hits.is_empty() {
                (true, format!("firmware {v}: no published advisory range covers it"))
            } else {
                let list: Vec<String> =
                    hits.iter().map(|a| format!("{} ({})", a.cves.join(", "), a.source.name)).collect();
                (false, format!("firmware {v} of {} is inside {}", p.identity.model, list.join(", ")))
            }
        }
        Expect::FirmwareAtLeast(list) => {
            let below: Vec<&str> = list
                .iter()
                .filter(|m| m.covers(&p.identity) && m.unmet_by(&p.identity) != Some(false))
                .map(|m| m.version.as_str())
                .collect();
            if below.is_empty() {
                (true, format!("firmware {v} meets the site's minimum for {}", p.identity.model))
            } else {
                (
                    false,
                    format!("firmware {v} of {} is below the site's minimum {}", p.identity.model, below.join(", ")),
                )
            }
        }
    }
}

pub fn evaluate_control(c: &Control, p: &Posture) -> Finding {
    let base = |status, observed, evidence| Finding {
        control: c.id.clone(),
        title: c.title.clone(),
        severity: c.severity,
        status,
        setting: c.setting,
        observed,
        expected: describe(&c.expect),
        evidence,
    };
    if !applies(c, p) {
        return base(Status::NotApplicable, None, format!("not applicable to {} devices", p.identity.vendor));
    }
    match p.get(c.setting) {
        None => base(Status::Unknown, None, "not read from the device".into()),
        Some(Reading::Unknown(why)) => base(Status::Unknown, None, format!("could not be read: {why}")),
        Some(Reading::Unsupported) => match c.when_unsupported {
            WhenUnsupported::Unsupported => {
                base(Status::Unsupported, None, "the device does not offer this setting".into())
            }
            WhenUnsupported::Pass => base(Status::Pass, None, "the device has no such service".into()),
            WhenUnsupported::Fail => base(Status::Fail, None, "the device cannot meet this control".into()),
        },
        Some(Reading::Known(v)) => {
            let (ok, evidence) = check(&c.expect, c.setting, v, p);
            base(if ok { Status::Pass } else { Status::Fail }, Some(v.clone()), evidence)
        }
    }
}

pub fn evaluate(b: &Baseline, p: &Posture) -> Vec<Finding> {
    // Accounts the site keeps (a recorder's, its service accounts) are not extra accounts.
    let keep = b.site.as_ref().map(|s| s.kept_accounts()).unwrap_or_default();
    if keep.is_empty() {
        // Nothing to derive (no service account is also nothing kept): no copy per device.
        return b.controls.iter().map(|c| evaluate_control(c, p)).collect();
    }
    let mut q = p.clone();
    if let Some(site) = &b.site {
        // The site's service accounts, read from the account list.
        crate::site::service::derive(&mut q, &site.service_accounts);
    }
    if let Some(Reading::Known(Value::List(l))) = p.get(Setting::AccountUsers) {
        let extra = l.iter().filter(|e| !crate::site::keeps(&keep, e)).cloned().collect();
        q.known(Setting::AccountUsers, Value::List(extra));
    }
    b.controls.iter().map(|c| evaluate_control(c, &q)).collect()
}

/// 0–100: the severity-weighted share of decided controls that pass. Unknown counts
/// against the device (unverified is not secure); unsupported and not applicable do
/// not count. `None` when nothing could be decided.
pub fn score(findings: &[Finding]) -> Option<u8> {
    let (mut pass, mut total) = (0u32, 0u32);
    for f in findings {
        let w = f.severity.weight();
        match f.status {
            Status::Pass => {
                pass += w;
                total += w;
            }
            Status::Fail | Status::Unknown => total += w,
            Status::Unsupported | Status::NotApplicable => {}
        }
    }
    (total > 0).then(|| ((pass * 100 + total / 2) / total) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::baseline::Baseline;
    use crate::posture::Identity;

    fn posture(vendor: &str) -> Posture {
        let id = Identity {
            vendor: vendor.into(),
            model: "DS-2CD2132F-IS".into(),
            firmware_version: "V5.3.0".into(),
            firmware_build: Some("151016".into()),
            ..Default::default()
        };
        Posture::new(id, Protocol::Isapi)
    }

    #[test]
    fn each_reading_kind_gives_its_status() {
        let b = Baseline::load("hikvision-hardening").unwrap();
        let mut p = posture("hikvision");
        p.known(Setting::ServiceTelnetEnabled, Value::Bool(true));
        p.set(Setting::ServiceSshEnabled, Reading::Unsupported);
        p.set(Setting::ServiceUpnpEnabled, Reading::Unknown("HTTP 500".into()));
        p.known(Setting::AccountUsers, Value::List(vec!["installer (Operator)".into()]));
        p.known(Setting::FirmwareVersion, Value::Text("V5.3.0 build 151016".into()));
        p.set(Setting::TlsV10, Reading::Unsupported);
        let f = evaluate(&b, &p);
        let by = |id: &str| f.iter().find(|x| x.control == id).unwrap().clone();
        assert_eq!(by("HIK-12").status, Status::Fail);
        assert_eq!(by("HIK-12").observed, Some(Value::Bool(true)));
        assert_eq!(by("HIK-13").status, Status::Pass, "no SSH at all passes 'SSH disabled'");
        assert_eq!(by("HIK-14").status, Status::Unknown);
        assert!(by("HIK-14").evidence.contains("HTTP 500"));
        assert_eq!(by("HIK-04").status, Status::Fail);
        assert_eq!(by("HIK-27").status, Status::Fail);
        assert!(by("HIK-27").evidence.contains("CVE-2017-7921"));
        assert_eq!(by("HIK-08").status, Status::Unsupported);
        assert_eq!(by("HIK-20").status, Status::Unknown, "a setting never read is unknown");
        let other = evaluate(&b, &posture("acme"));
        assert!(other.iter().all(|x| x.status == Status::NotApplicable));
        assert_eq!(score(&other), None);
    }

    #[test]
    fn score_weighs_by_severity() {
        let mk = |severity, status| Finding {
            control: "x".into(),
            title: "x".into(),
            severity,
            status,
            setting: Setting::DeviceName,
            observed: None,
            expected: String::new(),
            evidence: String::new(),
        };
        assert_eq!(score(&[mk(Severity::Critical, Status::Pass), mk(Severity::Low, Status::Fail)]), Some(91));
        assert_eq!(score(&[mk(Severity::Low, Status::Pass), mk(Severity::Critical, Status::Fail)]), Some(9));
        assert_eq!(score(&[mk(Severity::High, Status::Unsupported)]), None);
    }
}
