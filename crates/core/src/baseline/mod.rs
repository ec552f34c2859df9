//! Hardening baselines: controls read from TOML, each naming one posture setting and
//! the value it must have, with severity, applicability and standards mappings.
//! Built-in profiles ship inside the binary; a site may use its own file.

pub mod eval;
pub mod golden;

use crate::setting::Setting;
use serde::{Deserialize, Serialize};

use crate::posture::Value;

pub const BUILTIN: &[(&str, &str)] = &[
    ("hikvision-hardening", include_str!("../../baselines/hikvision-hardening.toml")),
    ("onvif-baseline", include_str!("../../baselines/onvif-baseline.toml")),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    /// Weight in the score.
    pub fn weight(self) -> u32 {
        match self {
            Severity::Low => 1,
            Severity::Medium => 3,
            Severity::High => 5,
            Severity::Critical => 10,
        }
    }
}

/// What a control expects of its setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Expect {
    /// Exactly this value.
    Equals(Value),
    /// One of these values.
    OneOf(Vec<Value>),
    /// A list that must be empty (`true`) or not (`false`).
    Empty(bool),
    /// No published advisory covers the device's firmware.
    NoKnownAdvisory(bool),
    /// Firmware at or above each minimum that covers the device's vendor and model.
    FirmwareAtLeast(Vec<crate::firmware::Minimum>),
    /// A name that fits this pattern (`hq-{model}-{n:02}`; see `site::names`).
    NamePattern(String),
    /// The same POSIX time zone, however it is spelled (`site::tz`).
    TimeZone(String),
    /// A list holding exactly these values, in any order.
    SameSet(Vec<String>),
    /// A list holding at least these values.
    Includes(Vec<String>),
    /// The site's address plan: each device as its line says (none: nothing expected).
    AddressPlan(Vec<crate::site::addresses::AddressEntry>),
}

/// How to score a setting the device does not have.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WhenUnsupported {
    /// Report it as unsupported (neither pass nor fail).
    #[default]
    Unsupported,
    /// No such feature means nothing to switch off: a pass.
    Pass,
    /// The control cannot be met without the feature: a fail.
    Fail,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppliesTo {
    /// Lower-case vendor names (`hikvision`); empty means every vendor.
    #[serde(default)]
    pub vendor: Vec<String>,
    /// Protocols the device is read through (`isapi`, `onvif`); empty means both.
    #[serde(default)]
    pub protocol: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mappings {
    #[serde(default)]
    pub etsi_en_303_645: Vec<String>,
    #[serde(default)]
    pub nist_csf_2: Vec<String>,
    #[serde(default)]
    pub iec_62443_4_2: Vec<String>,
    #[serde(default)]
    pub vendor_guide: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Control {
    pub id: String,
    pub title: String,
    pub rationale: String,
    pub setting: Setting,
    pub expect: Expect,
    pub severity: Severity,
    #[serde(default)]
    pub applies_to: AppliesTo,
    #[serde(default)]
    pub when_unsupported: WhenUnsupported,
    #[serde(default)]
    pub mappings: Mappings,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Meta {
    pub name: String,
    pub version: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// A site baseline builds on a built-in one and overrides some of its controls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
}

/// A site's change to an inherited control.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub control: String,
    /// `false` drops the control for this site (say why in `reason`).
    #[serde(default)]
    pub enabled: Option<bool>,
    #[serde(default)]
    pub severity: Option<Severity>,
    #[serde(default)]
    pub expect: Option<Expect>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    pub baseline: Meta,
    #[serde(rename = "control", default)]
    pub controls: Vec<Control>,
    #[serde(rename = "override", default, skip_serializing)]
    pub overrides: Vec<Override>,
    /// Site parameters; each becomes a `SITE-*` control when the file is parsed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<crate::site::SiteSection>,
}

/// A baseline that cannot be used, with where and why.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {reason}")]
pub struct BaselineError {
    pub file: String,
    pub line: usize,
    pub reason: String,
}

fn line_of(text: &str, byte: usize) -> usize {
    text.get(..byte.min(text.len())).map(|t| t.lines().count().max(1)).unwrap_or(1)
}

/// The line where a control's `id = "…"` stands.
fn line_of_control(text: &str, id: &str) -> usize {
    let needle = format!("\"{id}\"");
    text.lines().position(|l| l.trim_start().starts_with("id") && l.contains(&needle)).map(|i| i + 1).unwrap_or(1)
}

impl Baseline {
    /// Parse and validate a baseline file's text.
    pub fn parse(file: &str, text: &str) -> Result<Baseline, BaselineError> {
        let mut b: Baseline = toml::from_str(text).map_err(|e| BaselineError {
            file: file.into(),
            line: e.span().map(|s| line_of(text, s.start)).unwrap_or(1),
            reason: e.message().to_string(),
        })?;
        if let Some(parent) = b.baseline.extends.clone() {
            b = Self::apply_site(file, text, b, &parent)?;
        } else if !b.overrides.is_empty() {
            return Err(BaselineError {
                file: file.into(),
                line: 1,
                reason: "[[override]] needs `extends` in [baseline]".into(),
            });
        }
        if let Some(site) = &b.site {
            let line = text.lines().position(|l| l.trim() == "[site]").map_or(1, |i| i + 1);
            let generated = site.controls().map_err(|reason| BaselineError {
                file: file.into(),
                line,
                reason: format!("[site] {reason}"),
            })?;
            b.controls.extend(generated);
        }
        let mut seen = std::collections::HashSet::new();
        for c in &b.controls {
            let err = |reason: String| BaselineError { file: file.into(), line: line_of_control(text, &c.id), reason };
            if !seen.insert(c.id.as_str()) {
                return Err(err(format!("control id {:?} is used twice", c.id)));
            }
            if !c.setting.audited() {
                return Err(err(format!("control {:?}: unknown setting {:?}", c.id, c.setting)));
            }
            if matches!(c.expect, Expect::NoKnownAdvisory(_) | Expect::FirmwareAtLeast(_))
                && c.setting != Setting::FirmwareVersion
            {
                return Err(err(format!("control {:?}: a firmware expectation checks firmware.version", c.id)));
            }
            if let Expect::FirmwareAtLeast(list) = &c.expect {
                if let Some(m) = list.iter().find(|m| crate::advisories::Firmware::parse(&m.version).is_none()) {
                    return Err(err(format!("control {:?}: {:?} is not a firmware version", c.id, m.version)));
                }
            }
            let shape = match &c.expect {
                Expect::NamePattern(p) => crate::site::names::NamePattern::parse(p, "").err(),
                Expect::TimeZone(t) => crate::site::tz::canonical(t).err(),
                _ => None,
            };
            if let Some(why) = shape {
                return Err(err(format!("control {:?}: {why}", c.id)));
            }
            for p in &c.applies_to.protocol {
                if p != "isapi" && p != "onvif" {
                    return Err(err(format!("control {:?}: unknown protocol {p:?}", c.id)));
                }
            }
        }
        if b.controls.is_empty() {
            return Err(BaselineError { file: file.into(), line: 1, reason: "no controls".into() });
        }
        Ok(b)
    }

    /// Merge a site file onto the built-in baseline it extends.
    fn apply_site(file: &str, text: &str, site: Baseline, parent: &str) -> Result<Baseline, BaselineError> {
        let Some((_, parent_text)) = BUILTIN.iter().find(|(n, _)| *n == parent) else {
            let line = text.lines().position(|l| l.trim_start().starts_with("extends")).map_or(1, |i| i + 1);
            return Err(BaselineError {
                file: file.into(),
                line,
                reason: format!("extends unknown baseline {parent:?}"),
            });
        };
        let mut base = Baseline::parse(&format!("builtin:{parent}"), parent_text)?;
        for o in &site.overrides {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("control") && l.contains(&format!("\"{}\"", o.control)))
                .map_or(1, |i| i + 1);
            let Some(pos) = base.controls.iter().position(|c| c.id == o.control) else {
                return Err(BaselineError {
                    file: file.into(),
                    line,
                    reason: format!("override of unknown control {:?}", o.control),
                });
            };
            if o.enabled == Some(false) {
                base.controls.remove(pos);
                continue;
            }
            if let Some(c) = base.controls.get_mut(pos) {
                if let Some(sev) = o.severity {
                    c.severity = sev;
                }
                if let Some(e) = &o.expect {
                    c.expect = e.clone();
                }
            }
        }
        base.controls.extend(site.controls);
        base.site = site.site;
        base.baseline = Meta { extends: Some(parent.to_string()), ..site.baseline };
        Ok(base)
    }

    /// This baseline with these site parameters in place of its own (the desktop's
    /// site settings on a built-in profile).
    pub fn with_site(mut self, site: crate::site::SiteSection) -> Result<Baseline, String> {
        let generated = site.controls()?;
        self.controls.retain(|c| !c.id.starts_with("SITE-"));
        self.controls.extend(generated);
        self.site = Some(site);
        Ok(self)
    }

    /// The naming pattern of the site table, if there is one.
    pub fn name_pattern(&self) -> Option<crate::site::names::NamePattern> {
        self.site.as_ref().and_then(|s| s.name_pattern().ok().flatten())
    }

    /// A built-in profile by name, or a file by path.
    pub fn load(name_or_path: &str) -> Result<Baseline, BaselineError> {
        if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Baseline::parse(&format!("builtin:{name}"), text);
        }
        let text = crate::files::read_chosen_text(std::path::Path::new(name_or_path)).map_err(|e| BaselineError {
            file: name_or_path.into(),
            line: 0,
            reason: format!(
                "{e} (built-in baselines: {})",
                BUILTIN.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
            ),
        })?;
        Baseline::parse(name_or_path, &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_baselines_are_valid() {
        for (name, _) in BUILTIN {
            let b = Baseline::load(name).unwrap_or_else(|e| panic!("{e}"));
            assert!(b.controls.len() >= 8, "{name}");
            for c in &b.controls {
                assert!(
                    !c.mappings.nist_csf_2.is_empty() && !c.mappings.iec_62443_4_2.is_empty(),
                    "{name}/{}: unmapped",
                    c.id
                );
            }
        }
    }

    #[test]
    fn invalid_baselines_say_file_line_and_reason() {
        let text = "[baseline]\nname = \"x\"\nversion = \"1\"\ntitle = \"t\"\n\n[[control]]\nid = \"A\"\ntitle = \"t\"\nrationale = \"r\"\nsetting = \"service.telnet.enabld\"\nexpect = { equals = false }\nseverity = \"high\"\n";
        let e = Baseline::parse("site.toml", text).unwrap_err();
        // The line of the misspelt key itself.
        assert_eq!((e.file.as_str(), e.line), ("site.toml", 10), "{e}");
        assert!(e.reason.contains("unknown setting"), "{e}");
        let bad_severity = text.replace("enabld", "enabled").replace("\"high\"", "\"urgent\"");
        let e = Baseline::parse("site.toml", &bad_severity).unwrap_err();
        assert_eq!(e.line, 12, "{e}");
        let e = Baseline::parse("site.toml", "[baseline\n").unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn a_site_file_extends_a_built_in_baseline() {
        let site = r#"
[baseline]
name = "acme-hq"
version = "2"
title = "ACME HQ"
extends = "hikvision-hardening"

[[override]]
control = "HIK-23"
enabled = false
reason = "the site firewall filters by VLAN"

[[override]]
control = "HIK-14"
severity = "low"
"#;
        let b = Baseline::parse("acme.toml", site).unwrap();
        let base = Baseline::load("hikvision-hardening").unwrap();
        assert_eq!(b.controls.len(), base.controls.len() - 1);
        assert!(b.controls.iter().all(|c| c.id != "HIK-23"));
        assert_eq!(b.controls.iter().find(|c| c.id == "HIK-14").unwrap().severity, Severity::Low);
        assert_eq!(b.baseline.name, "acme-hq");
        let bad = site.replace("HIK-14", "HIK-99");
        let e = Baseline::parse("acme.toml", &bad).unwrap_err();
        assert_eq!(e.line, 14, "{e}");
        assert!(e.reason.contains("HIK-99"));
        let unknown = site.replace("extends = \"hikvision-hardening\"", "extends = \"nope\"");
        assert_eq!(Baseline::parse("acme.toml", &unknown).unwrap_err().line, 6);
    }

    #[test]
    fn a_site_table_adds_its_controls_and_bad_values_name_the_line() {
        let text = "[baseline]\nname = \"hq\"\nversion = \"1\"\ntitle = \"HQ\"\nextends = \"onvif-baseline\"\n\n[site]\nname = \"hq\"\ndevice_name = \"{site}-{n:03}\"\ntime_zone = \"UTC0\"\n";
        let b = Baseline::parse("hq.toml", text).unwrap();
        let site: Vec<&str> = b.controls.iter().filter(|c| c.id.starts_with("SITE-")).map(|c| c.id.as_str()).collect();
        assert_eq!(site, ["SITE-NAME", "SITE-TZ"]);
        assert!(b.name_pattern().is_some());
        let e = Baseline::parse("hq.toml", &text.replace("UTC0", "Europe/Paris")).unwrap_err();
        assert_eq!(e.line, 7, "{e}");
        assert!(e.reason.contains("time_zone"), "{e}");
        let e = Baseline::parse("hq.toml", &text.replace("{n:03}", "x")).unwrap_err();
        assert!(e.reason.contains("{n}"), "{e}");
    }
}
