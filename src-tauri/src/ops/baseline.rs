//! The built-in baselines: controls and their standards mappings, with the site's own
//! parameters (from the settings) as `SITE-*` controls.

use portcullis_core::baseline::{Baseline, BUILTIN};

use crate::dto::{BaselineView, ControlView};
use crate::error::IpcResult;

fn lower<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|j| j.as_str().map(str::to_string)).unwrap_or_default()
}

pub fn builtin(site: Option<&portcullis_core::site::SiteSection>) -> IpcResult<Vec<BaselineView>> {
    BUILTIN
        .iter()
        .map(|(name, _)| {
            let mut b = Baseline::load(name)?;
            if let Some(site) = site {
                b = b.with_site(site.clone()).map_err(crate::error::IpcError::input)?;
            }
            Ok(BaselineView {
                name: b.baseline.name.clone(),
                version: b.baseline.version.clone(),
                title: b.baseline.title.clone(),
                description: b.baseline.description.clone(),
                controls: b
                    .controls
                    .iter()
                    .map(|c| ControlView {
                        id: c.id.clone(),
                        title: c.title.clone(),
                        rationale: c.rationale.clone(),
                        setting: c.setting.clone(),
                        expect: portcullis_core::baseline::eval::describe(&c.expect),
                        severity: lower(&c.severity),
                        vendors: c.applies_to.vendor.clone(),
                        protocols: c.applies_to.protocol.clone(),
                        etsi_en_303_645: c.mappings.etsi_en_303_645.clone(),
                        nist_csf_2: c.mappings.nist_csf_2.clone(),
                        iec_62443_4_2: c.mappings.iec_62443_4_2.clone(),
                        vendor_guide: c.mappings.vendor_guide.clone(),
                    })
                    .collect(),
            })
        })
        .collect()
}
