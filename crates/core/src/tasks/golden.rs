//! `baseline from-device`: read a reference camera against the built-in baseline for
//! its protocol (and its site values besides), and write a site baseline from it.

use std::sync::Arc;
use std::time::Duration;

use super::audit::{read, run_client, AuditRequest};
use super::Sink;
use crate::baseline::golden::{self, Golden};
use crate::baseline::Baseline;
use crate::error::{Error, Result};
use crate::posture::Protocol;
use crate::workspace::{Clock, PolicyInput, Selection, SitePolicy, Workspace};

/// Which camera, and how to write its baseline.
#[derive(Debug, Clone)]
pub struct GoldenRequest {
    /// The reference camera: an inventory id, or `ADDR[:PORT]`.
    pub device: Selection,
    /// `[baseline] name` of the file written.
    pub name: String,
    /// Copy values that fail a built-in control too.
    pub keep_weaker: bool,
    pub timeout: Option<Duration>,
}

/// Read the reference camera and write its baseline (the caller saves the text). The
/// read is not kept as an audit snapshot: it is an authoring step, against the built-in
/// baseline rather than the site's.
pub async fn from_device(
    ws: &Arc<Workspace>,
    req: &GoldenRequest,
    clock: &dyn Clock,
    sink: &dyn Sink,
) -> Result<Golden> {
    let subjects = ws.select(&req.device)?;
    let [subject] = subjects.as_slice() else {
        return Err(Error::Input(format!("name one reference camera ({} chosen)", subjects.len())));
    };
    let policy = SitePolicy {
        baseline: None,
        label: "builtin".into(),
        site: Default::default(),
        rotate_passwords: false,
        delete_accounts: false,
        observe: golden::SITE_VALUES.to_vec(),
    };
    let audit_req = AuditRequest {
        selection: req.device.clone(),
        policy: PolicyInput::default(),
        concurrency: 1,
        timeout: req.timeout,
        ..Default::default()
    };
    let (client, pins) = run_client(ws, &policy, &audit_req)?;
    let audits = read(ws, std::slice::from_ref(subject), &policy, &audit_req, sink, &client).await;
    pins.save(&ws.home, &clock.stamp_secs())?;
    let audit = audits?.pop().ok_or_else(|| Error::Input("the reference camera was not read".into()))?;
    let builtin = match audit.protocol {
        Some(Protocol::Isapi) => "hikvision-hardening",
        _ => "onvif-baseline",
    };
    let builtin = Baseline::load(builtin)?;
    let opts = golden::Options { name: req.name.clone(), keep_weaker: req.keep_weaker, read_at: clock.stamp_secs() };
    golden::write(&audit, &builtin, &opts).map_err(Error::Input)
}
