//! `backups restore`: put a stored configuration backup back on the camera it came
//! from. Refused for another model or serial, and for a backup older than the device's
//! current password (an import would bring the old one back, and no one would hold it).
//! The configuration the device has now is backed up first, so a restore can itself be
//! undone; the device's name is kept as it is now; the change is in the history.

use std::sync::Arc;
use std::time::Duration;

use crate::backups::{self, BackupFile, Meta};
use crate::driver::{self, ConnectOptions, Driver, WriteContext};
use crate::error::{Error, Result};
use crate::history::{Change, Outcome};
use crate::posture::{Identity, Reading, Value};
use crate::setting::Setting;
use crate::workspace::{Clock, PolicyInput, Selection, Subject, Workspace};

/// How long a device that answers right after the import is given to go down before
/// its answer counts as "back" (some firmware restarts a few seconds after answering).
const RESTART_GRACE: Duration = Duration::from_secs(20);
const POLL: Duration = Duration::from_millis(500);

/// Which backup goes to which device.
#[derive(Debug, Clone)]
pub struct RestoreRequest {
    /// The device, as the inventory knows it (one).
    pub device: Selection,
    /// The backup's SHA-256, or at least its first 8 hex digits.
    pub backup: String,
    pub operator: Option<String>,
}

/// A backup chosen for a device: what the confirmation names.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Chosen {
    pub device: String,
    pub file: BackupFile,
    pub meta: Meta,
}

/// What the restore did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Restored {
    pub device: String,
    /// The backup restored.
    pub sha256: String,
    pub taken_at: String,
    /// The backup of the configuration it replaced (taken just before).
    pub replaced: String,
    /// The device name, kept as it was before the restore.
    pub name: Option<String>,
}

/// The backup a request names, checked against what the history says since it was
/// taken; nothing is sent to the device.
pub fn choose(ws: &Workspace, req: &RestoreRequest) -> Result<(Subject, Chosen)> {
    let subjects = ws.select(&req.device)?;
    let [subject] = subjects.as_slice() else {
        return Err(Error::Input(format!("name one device to restore ({} chosen)", subjects.len())));
    };
    let label = subject.label();
    let wanted = req.backup.trim().to_ascii_lowercase();
    if wanted.len() < 8 || !wanted.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(Error::Input("name the backup by its SHA-256 (at least 8 hex digits; `backups list`)".into()));
    }
    let dir = backups::device_dir(&label);
    let found: Vec<BackupFile> =
        backups::list(&ws.home)?.into_iter().filter(|b| b.device == dir && b.sha256.starts_with(&wanted)).collect();
    let file = match found.as_slice() {
        [one] => one.clone(),
        [] => return Err(Error::Input(format!("no backup {wanted}… of {label} (`backups list` shows them)"))),
        _ => return Err(Error::Input(format!("{wanted}… names {} backups of {label}: give more digits", found.len()))),
    };
    let Some(meta) = file.meta.clone() else {
        return Err(Error::Input(format!(
            "backup {} does not say which camera it came from (taken by an older version): it cannot be restored \
             safely; `backups open` gives the file for the vendor's own tool",
            file.sha256
        )));
    };
    let history = ws.history.query(&crate::history::Filter { device: Some(label.clone()), ..Default::default() })?;
    let rotated = history.iter().find(|r| {
        matches!(r.change.setting, Setting::AccountPassword | Setting::AccountService)
            && matches!(r.change.outcome, Outcome::Verified)
            && r.time.as_str() > meta.taken_at.as_str()
    });
    if let Some(r) = rotated {
        return Err(Error::Input(format!(
            "a password of {label} changed at {} after this backup was taken ({}): restoring it would bring back \
             the old one, which the vault no longer holds. Restore a backup taken since.",
            r.time, meta.taken_at
        )));
    }
    Ok((subject.clone(), Chosen { device: label, file, meta }))
}

/// Restore the chosen backup (the caller has had it confirmed).
pub async fn run(ws: &Arc<Workspace>, req: &RestoreRequest, clock: &dyn Clock) -> Result<Restored> {
    let (subject, chosen) = choose(ws, req)?;
    let label = chosen.device.clone();
    let policy = ws.policy(&PolicyInput::default())?;
    let timings = policy.site.timing;
    let creds = super::credentials_of(ws, std::slice::from_ref(&subject)).await?;
    let (client, pins) = driver::http::pinned_client(&ws.home, &timings)?;
    let opts = ConnectOptions { timings };
    let drv = driver::connect(&subject.target, creds.get(&label).cloned(), &client, &opts).await?;
    let result = restore_on(ws, &*drv, &subject, &chosen, req, clock, &opts).await;
    pins.save(&ws.home, &clock.stamp_secs())?;
    result
}

async fn restore_on(
    ws: &Arc<Workspace>,
    drv: &dyn Driver,
    subject: &Subject,
    chosen: &Chosen,
    req: &RestoreRequest,
    clock: &dyn Clock,
    opts: &ConnectOptions,
) -> Result<Restored> {
    let label = chosen.device.clone();
    let id = drv.identify().await?;
    let meta = &chosen.meta;
    if !same(&id.model, &meta.model) || !same(&id.serial, &meta.serial) {
        return Err(Error::Input(format!(
            "backup {} is of {} {}; {label} is {} {}: a configuration goes back only to the camera it came from",
            chosen.file.sha256, meta.model, meta.serial, id.model, id.serial
        )));
    }
    let name = match drv.read_settings(&[Setting::DeviceName]).await?.get(Setting::DeviceName) {
        Some(Reading::Known(v)) => Some(v.clone()),
        _ => None,
    };
    let key = {
        let vault = ws.vault.clone();
        tokio::task::spawn_blocking(move || vault.backup_key())
            .await
            .map_err(|e| Error::Local(format!("vault: {e}")))??
    };
    // What the device has now, kept first: the restore can be undone like any change.
    let now = drv.backup().await?;
    let replaced = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&now));
    let dir = ws.home.join("backups");
    let kept = backups::path_for(&dir, &backups::device_dir(&label), &replaced);
    crate::files::write_private(&kept, &backups::seal(&key.recipient(), &now)?)?;
    let taken_at = clock.stamp_secs();
    backups::write_meta(
        &kept,
        &Meta {
            device: label.clone(),
            model: id.model.clone(),
            serial: id.serial.clone(),
            firmware: id.firmware(),
            taken_at,
        },
    )?;
    let plain = backups::open(&key, std::path::Path::new(&chosen.file.path))?;

    let operator = crate::workspace::operator(req.operator.as_deref());
    let change = |outcome| Change {
        operator: operator.clone(),
        device: label.clone(),
        site: subject.site.clone(),
        control: None,
        setting: Setting::Configuration,
        before: Some(Value::Text(format!("sha256:{replaced}"))),
        after: Some(Value::Text(format!("sha256:{}", chosen.file.sha256))),
        outcome,
        vault_entry: None,
    };
    ws.history.append(change(Outcome::Intent), &clock.stamp())?;
    let done = async {
        drv.restore(&bytes::Bytes::copy_from_slice(&plain)).await?;
        let back = back_on(drv, &label, opts.timings.reboot()).await?;
        if !same(&back.serial, &meta.serial) {
            return Err(Error::Device {
                address: label.clone(),
                operation: "configuration import".into(),
                reason: format!("another device answers at the address now (serial {})", back.serial),
            });
        }
        // The name is the device's own: as it was before the restore.
        if let Some(v) = &name {
            let shows = drv.read_settings(&[Setting::DeviceName]).await?;
            if !matches!(shows.get(Setting::DeviceName), Some(Reading::Known(n)) if n == v) {
                drv.write_setting(Setting::DeviceName, v, &WriteContext::default()).await?;
                let again = drv.read_settings(&[Setting::DeviceName]).await?;
                if !matches!(again.get(Setting::DeviceName), Some(Reading::Known(n)) if n == v) {
                    return Err(Error::Device {
                        address: label.clone(),
                        operation: "device name".into(),
                        reason: format!("restored, but its name could not be set back to {v}"),
                    });
                }
            }
        }
        Ok(())
    }
    .await;
    match done {
        Ok(()) => {
            ws.history.append(change(Outcome::Verified), &clock.stamp())?;
            Ok(Restored {
                device: label.clone(),
                sha256: chosen.file.sha256.clone(),
                taken_at: meta.taken_at.clone(),
                replaced,
                name: name.map(|v| v.to_string()),
            })
        }
        Err(e) => {
            ws.history.append(change(Outcome::Failed { reason: e.to_string() }), &clock.stamp())?;
            Err(e)
        }
    }
}

fn same(a: &str, b: &str) -> bool {
    a.trim().eq_ignore_ascii_case(b.trim())
}

/// The device back after the restart the import causes, within its reboot time.
async fn back_on(drv: &dyn Driver, label: &str, reboot: Duration) -> Result<Identity> {
    let start = tokio::time::Instant::now();
    let mut went_down = false;
    loop {
        match drv.identify().await {
            Ok(id) if went_down || start.elapsed() >= RESTART_GRACE => return Ok(id),
            Ok(_) => {}
            Err(Error::Unreachable { .. } | Error::Timeout { .. }) => went_down = true,
            Err(e) => return Err(e),
        }
        if start.elapsed() >= reboot {
            return Err(Error::Timeout { address: label.to_string(), seconds: reboot.as_secs() });
        }
        tokio::time::sleep(POLL).await;
    }
}
