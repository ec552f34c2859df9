//! The built-in baselines: controls and their standards mappings, with the site's own
//! parameters (from the settings) as `SITE-*` controls.

use portcullis_core::baseline::Baseline;
use portcullis_core::tasks::baselines::Profile as BaselineView;

use crate::error::IpcResult;
use crate::session::Session;

/// The site's file first (when there is one, it is what audits use), then the built-in
/// profiles; each with the site parameters in force (`portcullis baseline list`).
pub fn profiles(session: Option<&Session>) -> IpcResult<Vec<BaselineView>> {
    let site = session.and_then(|s| s.policy().ok()).map(|p| p.site);
    Ok(portcullis_core::tasks::baselines::profiles(session.map(|s| &*s.ws), site.as_ref())?)
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
