//! The firmware library and each device's firmware state, as `portcullis firmware
//! add|list` and the plan see them. An image is chosen in a native dialog (never a path
//! from the webview) and recorded by core's library.

use portcullis_core::firmware::{Decision, Given, Image, Library};
use portcullis_core::posture::Identity;

use crate::dto::{FirmwareImageRequest, FirmwareState};
use crate::error::{IpcError, IpcResult, ShellCode};
use crate::picker::{FilePicker, Pick};
use crate::session::Session;

/// Every image in the library.
pub fn library(session: &Session) -> IpcResult<Vec<Image>> {
    Ok(Library::at(&session.ws.home).list()?)
}

/// An image chosen in a native dialog, added with what the request says where the
/// image does not say it itself.
pub fn add(session: &Session, picker: &dyn FilePicker, request: &FirmwareImageRequest) -> IpcResult<Image> {
    let path = picker
        .pick(Pick::FirmwareImage)?
        .ok_or_else(|| IpcError::new(ShellCode::Cancelled, "cancelled: no file was chosen, nothing changed"))?;
    let text = |s: &Option<String>| s.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(String::from);
    let given = Given {
        vendor: text(&request.vendor),
        models: request.models.iter().map(|m| m.trim().to_string()).filter(|m| !m.is_empty()).collect(),
        version: text(&request.version),
        sha256: text(&request.sha256),
    };
    let now = portcullis_core::workspace::Clock::stamp(&portcullis_core::workspace::SystemClock);
    Ok(Library::at(&session.ws.home).add(&path, &given, &now)?.image)
}

/// What the device's firmware is inside, and what the plan would do about it.
pub fn state(session: &Session, id: &Identity) -> IpcResult<FirmwareState> {
    let db = portcullis_core::advisories::active().database;
    let minimums = session.policy()?.site.firmware_minimum;
    let images = Library::at(&session.ws.home).list()?;
    let advisories = db
        .matching(id)
        .into_iter()
        .map(|a| format!("{} ({}; range {})", a.cves.join(", "), a.source.name, a.range))
        .collect();
    let (upgrade, manual) = match portcullis_core::firmware::decide(id, &db, &minimums, &images) {
        Decision::Current => (None, None),
        Decision::Upgrade(i) => (Some(format!("{} (library image {})", i.version, i.short())), None),
        Decision::Manual(why) => (None, Some(why)),
    };
    Ok(FirmwareState { current: id.firmware(), advisories, upgrade, manual })
}

#[cfg(test)]
mod tests {
    use portcullis_core::secret::Secret;
    use portcullis_core::vault::{FileVault, Vault};

    use super::*;
    use crate::picker::PresetPicks;

    fn session(name: &str) -> (Session, std::path::PathBuf) {
        let home = std::env::temp_dir().join(format!("pc-fw-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let vault = Vault::new(Box::new(FileVault::new(home.join("v.age"), Secret::new("t"))), &home);
        (Session::open(&home, vault, None).unwrap(), home)
    }

    fn legacy() -> Identity {
        Identity {
            vendor: "hikvision".into(),
            model: "DS-2CD2132F-IS".into(),
            firmware_version: "V5.3.0".into(),
            firmware_build: Some("151016".into()),
            ..Default::default()
        }
    }

    #[test]
    fn a_picked_image_joins_the_library_and_the_device_state_offers_it() {
        let (s, home) = session("add");
        // Before: inside CVE-2017-7921, and no image to fix it.
        let before = state(&s, &legacy()).unwrap();
        assert!(before.advisories.iter().any(|a| a.contains("CVE-2017-7921")), "{before:?}");
        assert!(
            before.upgrade.is_none() && before.manual.as_deref().unwrap_or("").contains("firmware add"),
            "{before:?}"
        );
        // A vendor's container says nothing of itself: the request names it.
        let file = home.join("digicap.dav");
        std::fs::write(&file, b"\x00vendor bytes").unwrap();
        let request = FirmwareImageRequest {
            vendor: Some("hikvision".into()),
            models: vec![" DS-2CD2xx2F-I ".into(), String::new()],
            version: Some("V5.5.0 build 170725".into()),
            sha256: None,
        };
        let picks = PresetPicks::new([Some(file)]);
        let added = add(&s, &picks, &request).unwrap();
        assert_eq!((added.models.as_slice(), added.from_header), (["DS-2CD2xx2F-I".to_string()].as_slice(), false));
        assert_eq!(library(&s).unwrap(), vec![added]);
        let after = state(&s, &legacy()).unwrap();
        assert!(after.upgrade.as_deref().unwrap_or("").starts_with("V5.5.0 build 170725"), "{after:?}");
        // A cancelled dialog adds nothing.
        let e = add(&s, &PresetPicks::new([None]), &request).unwrap_err();
        assert_eq!(e.code, ShellCode::Cancelled.into());
        assert_eq!(library(&s).unwrap().len(), 1);
        let _ = std::fs::remove_dir_all(&home);
    }
}
