//! Firmware as a managed part of hardening: the library of images the operator added
//! ([`library`]), what an image says about itself ([`header`]), and which image, if
//! any, a device should be upgraded to ([`choose`]). The upgrade itself is a plan step
//! (`Phase::Firmware`) run by `apply`, a canary first.

pub mod choose;
pub mod header;
pub mod library;

pub use choose::{decide, Decision, Minimum};
pub use library::{Added, Given, Image, Library};

/// A device's firmware: what it runs, the published advisories whose range holds it, and
/// what the plan does about it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(
    feature = "ts",
    derive(ts_rs::TS),
    ts(rename = "FirmwareState", export_to = "../../ui/src/lib/ipc/bindings/")
)]
pub struct State {
    pub current: String,
    /// `CVE-2017-7921 (ICSA-17-124-01; range …)`, one per advisory.
    pub advisories: Vec<String>,
    /// The library image the plan upgrades it to.
    pub upgrade: Option<String>,
    /// Why only a person can (no image in the library fits), naming the version wanted.
    pub manual: Option<String>,
}

/// The firmware state of the device `id` identifies, against the active advisories, the
/// site's minimums and the library in `home`.
pub fn state(
    home: &std::path::Path,
    minimums: &[Minimum],
    id: &crate::posture::Identity,
) -> crate::error::Result<State> {
    let db = crate::advisories::active().database;
    let images = Library::at(home).list()?;
    let advisories = (db.matching(id).into_iter())
        .map(|a| format!("{} ({}; range {})", a.cves.join(", "), a.source.name, a.range))
        .collect();
    let (upgrade, manual) = match decide(id, &db, minimums, &images) {
        Decision::Current => (None, None),
        Decision::Upgrade(i) => (Some(format!("{} (library image {})", i.version, i.short())), None),
        Decision::Manual(why) => (None, Some(why)),
    };
    Ok(State { current: id.firmware(), advisories, upgrade, manual })
}
