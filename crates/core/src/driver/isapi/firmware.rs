//! ISAPI firmware upgrade: the image `PUT` to `/ISAPI/System/updateFirmware` (the
//! device writes it to flash before it answers), then `/ISAPI/System/upgradeStatus`
//! polled until the device has finished or restarted on its own; a device that
//! finishes and keeps running is told to restart (`/ISAPI/System/reboot`).

use std::time::Duration;

use super::change::put_status;
use super::{wire, IsapiDriver};
use crate::driver::{Restart, Uploaded};
use crate::error::{Error, Result};

/// How often the upgrade's progress is asked for.
const POLL: Duration = Duration::from_secs(2);

impl IsapiDriver {
    pub async fn upload_firmware(&self, image: &bytes::Bytes) -> Result<Uploaded> {
        let address = self.http.address.clone();
        let before = self.identify().await?.firmware();
        let answer = self.http.upload("PUT", "/ISAPI/System/updateFirmware", "application/octet-stream", image).await?;
        if answer.status != 200 {
            // The firmware's refusal names why (a package for another model, a damaged one).
            let why = wire::response_status(&answer.body)
                .map(|(code, sub)| format!("statusCode {code} {sub}"))
                .unwrap_or_else(|| format!("HTTP {}", answer.status));
            return Err(Error::Device {
                address,
                operation: "firmware upload".into(),
                reason: format!("image refused: {why}"),
            });
        }
        put_status(&address, "firmware upload", &answer)?;
        Ok(Uploaded { before })
    }

    /// Until the device restarts into the image it took (or is told to, once it has
    /// written it and kept running).
    pub async fn await_firmware(&self, uploaded: &Uploaded) -> Result<Restart> {
        let address = self.http.address.clone();
        // Flashing can outlast the upload's answer; the site's upload time bounds it.
        let deadline = tokio::time::Instant::now() + self.http.timings().of(crate::driver::Operation::Upload);
        loop {
            match self.http.call("GET", "/ISAPI/System/upgradeStatus", None).await {
                Ok(a) if a.status == 200 => match wire::upgrade_status(&a.body) {
                    Some((false, _)) => break,
                    Some((true, _)) => {}
                    None => {
                        return Err(Error::Malformed {
                            address,
                            operation: "upgradeStatus".into(),
                            reason: "not an upgradeStatus document".into(),
                        })
                    }
                },
                // Firmware without the status resource has flashed by the time it answered.
                Ok(a) if wire::is_not_supported(a.status, &a.body) => break,
                Ok(a) => {
                    return Err(Error::Device {
                        address,
                        operation: "upgradeStatus".into(),
                        reason: format!("HTTP {}", a.status),
                    })
                }
                // Gone: it restarts into the new image by itself.
                Err(Error::Unreachable { .. } | Error::Timeout { .. }) => return Ok(Restart::OnItsOwn),
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::Timeout { address, seconds: self.http.timings().upload_s.into() });
            }
            tokio::time::sleep(POLL).await;
        }
        // Done, and answering again: it may have restarted between two questions already.
        if self.identify().await.is_ok_and(|now| now.firmware() != uploaded.before) {
            return Ok(Restart::OnItsOwn);
        }
        match self.http.call("PUT", "/ISAPI/System/reboot", None).await {
            Ok(a) => put_status(&address, "reboot", &a).map(|_| Restart::Requested),
            // The restart began before the answer could leave.
            Err(Error::Unreachable { .. } | Error::Timeout { .. }) => Ok(Restart::OnItsOwn),
            Err(e) => Err(e),
        }
    }
}
