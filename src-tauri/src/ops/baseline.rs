//! The built-in baselines: controls and their standards mappings, with the site's own
//! parameters (from the settings) as `SITE-*` controls.

use portcullis_core::baseline::{Baseline, BUILTIN};

use crate::dto::{BaselineView, ControlView};
use crate::error::{IpcError, IpcResult};
use crate::session::Session;

/// The site's file first (when there is one, it is what audits use), then the built-in
/// profiles; each with the site parameters in force.
pub fn profiles(session: Option<&Session>) -> IpcResult<Vec<BaselineView>> {
    let site = session.and_then(|s| s.policy().ok()).map(|p| p.site);
    let file = session.and_then(|s| s.ws.site_baseline());
    let mut list: Vec<(Baseline, String, bool)> = Vec::new();
    if let Some(b) = &file {
        let path = session.map(|s| s.ws.site_baseline_path().display().to_string()).unwrap_or_default();
        list.push(((**b).clone(), format!("file {path}"), true));
    }
    for (name, _) in BUILTIN {
        list.push((Baseline::load(name)?, "built-in".into(), file.is_none()));
    }
    list.into_iter()
        .map(|(mut b, source, active)| {
            if let Some(site) = &site {
                b = b.with_site(site.clone()).map_err(IpcError::input)?;
            }
            Ok(BaselineView {
                source,
                active,
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
                        setting: c.setting.to_string(),
                        expect: portcullis_core::baseline::eval::describe(&c.expect),
                        severity: c.severity,
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

/// Use a baseline file for this site: checked first (errors name the line), then kept
/// in the data directory and used by every audit until cleared.
pub fn use_file(session: &Session, name: &str, text: &str) -> IpcResult<Vec<BaselineView>> {
    // Parsed here first so that its errors keep their own code (`baseline`).
    Baseline::parse(name, text)?;
    session.ws.set_site_baseline(name, text)?;
    profiles(Some(session))
}

/// Back to the built-in profiles.
pub fn clear_file(session: &Session) -> IpcResult<Vec<BaselineView>> {
    session.ws.clear_site_baseline()?;
    profiles(Some(session))
}

/// A site baseline from the camera with this inventory id (`portcullis baseline
/// from-device`): read against the built-in baseline for its protocol; nothing is saved
/// or used until the person makes it the site's (`use_file`).
pub async fn from_device(
    session: std::sync::Arc<Session>,
    id: String,
    keep_weaker: bool,
) -> IpcResult<portcullis_core::baseline::golden::Summary> {
    let settings = session.settings()?;
    let req = portcullis_core::tasks::golden::GoldenRequest {
        device: portcullis_core::workspace::Selection::ids(&[id]),
        name: "site".into(),
        keep_weaker,
        timeout: settings.read_write_timeout(),
    };
    let quiet = |_: portcullis_core::tasks::Event| {};
    let clock = portcullis_core::workspace::SystemClock;
    let golden = portcullis_core::tasks::golden::from_device(&session.ws, &req, &clock, &quiet).await?;
    Ok(golden.summary())
}
