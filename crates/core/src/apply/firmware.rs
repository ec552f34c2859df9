//! The firmware step: intent → upload (once more if the upload dropped before the
//! device took it) → wait for the restart → read the version back → outcome. There is
//! no rollback: a device that refuses the image keeps its firmware, and one that does
//! not come back is reported and left to the operator. The canary that keeps a bad
//! image off the rest of the site is the task's (`tasks::apply`).

use std::time::Duration;

use super::*;
use crate::advisories::Firmware;
use crate::driver::{Restart, Uploaded};
use crate::posture::Identity;

/// How often a restarting device is asked whether it is back.
const POLL: Duration = Duration::from_secs(2);
/// How often a device told to restart is asked, until it is seen to go: often enough
/// to notice a restart shorter than `POLL` (a cheap read each time).
const WATCH: Duration = Duration::from_millis(250);
/// How long a device that was told to restart may keep answering before it goes down.
const RESTART_GRACE: Duration = Duration::from_secs(60);

/// Whether the device runs this version (however the firmware spells it).
fn runs(id: &Identity, version: &str) -> bool {
    match (Firmware::of(&id.firmware_version, id.firmware_build.as_deref()), Firmware::parse(version)) {
        (Some(have), Some(want)) => have.compare(&want) == Some(std::cmp::Ordering::Equal),
        _ => false,
    }
}

impl Run<'_> {
    pub(super) async fn firmware(&mut self, step: &Step) -> Result<StepResult> {
        let Value::Text(target) = &step.to else {
            return Ok(StepResult::Skipped { reason: format!("no firmware version to upgrade to: {}", step.to) });
        };
        let before = self.drv.identify().await?;
        if runs(&before, target) {
            return Ok(StepResult::Skipped { reason: format!("already on {target}") });
        }
        let Some(image) = self.ctx.firmware.find(&before, target)? else {
            return Ok(StepResult::Skipped {
                reason: format!("the firmware library holds no {target} image for {}", before.model),
            });
        };
        self.record(step, Some(step.to.clone()), Outcome::Intent, None).await?;
        let uploaded = {
            // The cap is on transfers (the site's uplink), not on the minutes each device
            // then spends writing the image and restarting.
            let _upload = self.ctx.uploads.acquire().await.map_err(|e| Error::Local(e.to_string()))?;
            let bytes = self.image_bytes(&image).await?;
            self.upload(&bytes, target).await
        };
        let restart = match uploaded {
            Ok(Some(u)) => self.drv.await_firmware(&u).await,
            Ok(None) => Ok(Restart::OnItsOwn),
            Err(e) => Err(e),
        };
        let restart = match restart {
            Ok(r) => r,
            Err(e @ (Error::AuthRefused { .. } | Error::LoginWithheld { .. } | Error::Locked { .. })) => {
                self.record(step, None, Outcome::Failed { reason: e.to_string() }, None).await?;
                return Err(e);
            }
            Err(e) => {
                let reason = format!("{e}; the device keeps {}", before.firmware());
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                return Ok(StepResult::Failed { reason });
            }
        };
        match self.back_on(target, restart).await {
            Ok(now) if runs(&now, target) => {
                self.record(step, Some(Value::Text(now.firmware())), Outcome::Verified, None).await?;
                Ok(StepResult::Verified)
            }
            Ok(now) => {
                let reason = format!("came back on {}, not {target}", now.firmware());
                self.record(step, Some(Value::Text(now.firmware())), Outcome::Failed { reason: reason.clone() }, None)
                    .await?;
                Ok(StepResult::Failed { reason })
            }
            Err(e) => {
                let reason = format!("did not come back after the upgrade: {e}; left to the operator");
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                Ok(StepResult::Failed { reason })
            }
        }
    }

    /// An image's bytes, read and checked once per run and shared (a hundred devices
    /// taking one 100 MB image hold it once, not a hundred times).
    async fn image_bytes(&self, image: &crate::firmware::Image) -> Result<bytes::Bytes> {
        if let Some(b) = self.ctx.images.lock().ok().and_then(|c| c.get(&image.sha256).cloned()) {
            return Ok(b);
        }
        let (library, wanted) = (self.ctx.firmware.clone(), image.clone());
        let bytes = tokio::task::spawn_blocking(move || library.read(&wanted))
            .await
            .map_err(|e| Error::Local(format!("firmware library: {e}")))??;
        let bytes = bytes::Bytes::from(bytes);
        if let Ok(mut cache) = self.ctx.images.lock() {
            cache.insert(image.sha256.clone(), bytes.clone());
        }
        Ok(bytes)
    }

    /// The upload, asked once more when the connection dropped before the device took
    /// the image (it still runs its old firmware and is not upgrading). `None`: it took
    /// the image after all and already runs it.
    async fn upload(&self, bytes: &bytes::Bytes, target: &str) -> Result<Option<Uploaded>> {
        match self.drv.upload_firmware(bytes).await {
            Err(Error::Unreachable { .. } | Error::Timeout { .. }) => {}
            other => return other.map(Some),
        }
        // Did it take the image after all (and restart)? Then there is nothing to send again.
        let now = self.back_on(target, Restart::OnItsOwn).await?;
        if runs(&now, target) {
            return Ok(None);
        }
        self.drv.upload_firmware(bytes).await.map(Some)
    }

    /// Wait for the device to answer again after a restart, up to the site's reboot
    /// time, and read who it is now. A device told to restart may answer for a moment
    /// before it goes down: an answer on the old version then is not yet the end.
    async fn back_on(&self, target: &str, restart: Restart) -> Result<Identity> {
        let start = tokio::time::Instant::now();
        let deadline = start + self.ctx.connect.timings.reboot();
        let mut went_down = restart == Restart::OnItsOwn;
        loop {
            match self.drv.identify().await {
                Ok(id) if runs(&id, target) || went_down || start.elapsed() >= RESTART_GRACE => return Ok(id),
                Ok(_) => {}
                Err(e @ (Error::Unreachable { .. } | Error::Timeout { .. })) => {
                    went_down = true;
                    if tokio::time::Instant::now() >= deadline {
                        return Err(e);
                    }
                }
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout {
                    address: self.target.label(),
                    seconds: self.ctx.connect.timings.reboot_s.into(),
                });
            }
            tokio::time::sleep(if went_down { POLL } else { WATCH }).await;
        }
    }
}
