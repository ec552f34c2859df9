//! The firmware library and each device's firmware state, as `portcullis firmware
//! add|list` and the plan see them. An image is chosen in a native dialog (never a path
//! from the webview) and recorded by core's library.

use portcullis_core::firmware::{Given as FirmwareImageRequest, Image, Library, State};
use portcullis_core::posture::Identity;

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
    let now = portcullis_core::workspace::Clock::stamp(&portcullis_core::workspace::SystemClock);
    Ok(Library::at(&session.ws.home).add(&path, request, &now)?.image)
}

/// What the device's firmware is inside, and what the plan would do about it.
pub fn state(session: &Session, id: &Identity) -> IpcResult<State> {
    Ok(portcullis_core::firmware::state(&session.ws.home, &session.policy()?.site.firmware_minimum, id)?)
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
