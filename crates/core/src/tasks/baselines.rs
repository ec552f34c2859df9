//! The baselines a site may be audited against, as people read them (`portcullis baseline
//! list`, the app's Baseline screen): the site's own file first (when there is one, audits
//! use it), then the built-in profiles; each with the site's parameters in force as
//! `SITE-*` controls, and each control with its standards mappings.

use serde::{Deserialize, Serialize};

use crate::baseline::{Baseline, Severity, BUILTIN};
use crate::error::{Error, Result};
use crate::site::SiteSection;
use crate::workspace::Workspace;

/// One control, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(rename = "ControlView", export_to = "../../ui/src/lib/ipc/bindings/"))]
pub struct Control {
    pub id: String,
    pub title: String,
    pub rationale: String,
    pub setting: String,
    /// What it expects, as `baseline list` prints it (`false`, `none`, …).
    pub expect: String,
    pub severity: Severity,
    pub vendors: Vec<String>,
    pub protocols: Vec<String>,
    pub etsi_en_303_645: Vec<String>,
    pub nist_csf_2: Vec<String>,
    pub iec_62443_4_2: Vec<String>,
    pub vendor_guide: Option<String>,
}

/// One baseline, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename = "BaselineView", export_to = "../../ui/src/lib/ipc/bindings/")
)]
pub struct Profile {
    /// `built-in` or `file <path>`.
    pub source: String,
    /// Audits score against this one (the site's file when there is one).
    pub active: bool,
    pub name: String,
    pub version: String,
    pub title: String,
    pub description: String,
    pub controls: Vec<Control>,
}

/// The site's file (from `ws`, when there is one) and the built-in profiles, with `site`'s
/// parameters as their `SITE-*` controls.
pub fn profiles(ws: Option<&Workspace>, site: Option<&SiteSection>) -> Result<Vec<Profile>> {
    let file = ws.and_then(|w| w.site_baseline().map(|b| (b, w.site_baseline_path())));
    let mut list: Vec<(Baseline, String, bool)> = Vec::new();
    if let Some((b, path)) = &file {
        list.push(((**b).clone(), format!("file {}", path.display()), true));
    }
    for (name, _) in BUILTIN {
        list.push((Baseline::load(name)?, "built-in".into(), file.is_none()));
    }
    list.into_iter()
        .map(|(b, source, active)| {
            let b = match site {
                Some(site) => b.with_site(site.clone()).map_err(Error::Input)?,
                None => b,
            };
            Ok(Profile {
                source,
                active,
                name: b.baseline.name,
                version: b.baseline.version,
                title: b.baseline.title,
                description: b.baseline.description,
                controls: b.controls.into_iter().map(control).collect(),
            })
        })
        .collect()
}

fn control(c: crate::baseline::Control) -> Control {
    Control {
        expect: crate::baseline::eval::describe(&c.expect),
        setting: c.setting.to_string(),
        id: c.id,
        title: c.title,
        rationale: c.rationale,
        severity: c.severity,
        vendors: c.applies_to.vendor,
        protocols: c.applies_to.protocol,
        etsi_en_303_645: c.mappings.etsi_en_303_645,
        nist_csf_2: c.mappings.nist_csf_2,
        iec_62443_4_2: c.mappings.iec_62443_4_2,
        vendor_guide: c.mappings.vendor_guide,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_built_in_profile_is_listed_with_the_site_parameters_as_controls() {
        let plain = profiles(None, None).unwrap();
        assert_eq!(plain.len(), BUILTIN.len());
        assert!(plain.iter().all(|p| p.active && p.source == "built-in" && !p.controls.is_empty()));
        assert!(plain.iter().flat_map(|p| &p.controls).all(|c| !c.id.starts_with("SITE-")));
        let site = SiteSection { ntp_servers: vec!["192.0.2.1".into()], ..SiteSection::default() };
        let with_site = profiles(None, Some(&site)).unwrap();
        let ntp: Vec<&Control> = with_site.iter().flat_map(|p| &p.controls).filter(|c| c.id == "SITE-NTP").collect();
        assert_eq!(ntp.len(), BUILTIN.len(), "every profile gets the site's NTP control");
        assert!(ntp[0].expect.contains("192.0.2.1"), "{:?}", ntp[0]);
        let mapped = with_site.iter().flat_map(|p| &p.controls).filter(|c| !c.etsi_en_303_645.is_empty()).count();
        assert!(mapped > 0, "controls carry their standards mappings");
    }
}
