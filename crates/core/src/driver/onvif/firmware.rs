//! ONVIF firmware upgrade (Core §8.4.4): `StartFirmwareUpgrade` gives an upload address,
//! a delay before the upload and the time the device expects to be away; the image is
//! POSTed there (HTTP digest, as the device service's transport allows), and the device
//! restarts into it by itself.
//!
//! A device that does not implement `StartFirmwareUpgrade` gets `UpgradeSystemFirmware`,
//! the older call that carries the image inside the SOAP message as an MTOM attachment
//! (and answers only once the image is written).

use std::time::Duration;

use super::{mtom, wire, OnvifDriver, Soap};
use crate::driver::{Restart, Uploaded};
use crate::error::{Error, Result};

/// The longest upload delay honoured: a device asking for more is waited for this long.
const LONGEST_DELAY: Duration = Duration::from_secs(60);

impl OnvifDriver {
    pub async fn upload_firmware(&self, image: &bytes::Bytes) -> Result<Uploaded> {
        let before = self.identify().await?.firmware();
        let op = "StartFirmwareUpgrade";
        let body = match self.call(op, "<tds:StartFirmwareUpgrade/>").await? {
            Soap::Fault(f) if f.not_supported() => return self.upgrade_in_the_message(image, before).await,
            answer => self.expect_ok(op, answer)?,
        };
        let malformed = |reason: String| Error::Malformed { address: self.address(), operation: op.into(), reason };
        let uri = wire::text_of(&body, "UploadUri").map_err(malformed)?;
        let delay = wire::text_of(&body, "UploadDelay").ok().and_then(|d| wire::duration_seconds(&d)).unwrap_or(0.0);
        let path = same_origin(&self.http.base, &uri).map_err(malformed)?;
        tokio::time::sleep(Duration::from_secs_f64(delay.clamp(0.0, LONGEST_DELAY.as_secs_f64()))).await;
        let posted = self.http.upload("POST", &path, "application/octet-stream", image).await?;
        if !(200..300).contains(&posted.status) {
            return Err(Error::Device {
                address: self.address(),
                operation: "firmware upload".into(),
                reason: format!("image refused: HTTP {}", posted.status),
            });
        }
        Ok(Uploaded { before })
    }

    /// `UpgradeSystemFirmware`: the image as an attachment of the call itself.
    async fn upgrade_in_the_message(&self, image: &bytes::Bytes, before: String) -> Result<Uploaded> {
        let op = "UpgradeSystemFirmware";
        let body = format!(
            "<tds:UpgradeSystemFirmware><tds:Firmware xmlns:xmime=\"http://www.w3.org/2005/05/xmlmime\" xmime:contentType=\"application/octet-stream\">{}</tds:Firmware></tds:UpgradeSystemFirmware>",
            mtom::include()
        );
        let answer = self.call_carrying(super::DEVICE_PATH, op, &body, Some(image)).await?;
        self.expect_ok(op, answer)?;
        Ok(Uploaded { before })
    }

    /// It writes the image, then restarts by itself: wait to see it go. A restart quicker
    /// than the poll (never seen away) is told by the version it runs, asked every few
    /// seconds: without that, the wait ran to the site's upload time (15 minutes).
    pub async fn await_firmware(&self, uploaded: &Uploaded) -> Result<Restart> {
        const VERSION_EVERY: u32 = 10;
        let deadline = tokio::time::Instant::now() + self.http.timings().of(crate::driver::Operation::Upload);
        let mut polls = 0u32;
        while tokio::time::Instant::now() < deadline {
            if let Err(Error::Unreachable { .. } | Error::Timeout { .. }) = self.sync_clock().await {
                return Ok(Restart::OnItsOwn);
            }
            polls += 1;
            if polls.is_multiple_of(VERSION_EVERY) {
                if let Ok(id) = self.identify().await {
                    if id.firmware() != uploaded.before {
                        return Ok(Restart::OnItsOwn);
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        Ok(Restart::Requested)
    }
}

/// The path of `uri`, if it names the device the session talks to (same scheme, host
/// and port): an image goes nowhere a device's answer points it, only back to the device.
fn same_origin(base: &str, uri: &str) -> std::result::Result<String, String> {
    let (b, u) = (url::Url::parse(base).map_err(|e| e.to_string())?, url::Url::parse(uri).map_err(|e| e.to_string())?);
    if (b.scheme(), b.host_str(), b.port_or_known_default()) != (u.scheme(), u.host_str(), u.port_or_known_default()) {
        return Err(format!("the upload address {uri} is not the device's own ({base})"));
    }
    Ok(match u.query() {
        Some(q) => format!("{}?{q}", u.path()),
        None => u.path().to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::same_origin;
    use crate::driver::onvif::scripted::{camera, driver, fixture};
    use crate::driver::transport::script::ok;
    use crate::driver::{Restart, Uploaded};

    /// The simulator restarts in half a second; on a loaded machine the poll can miss
    /// that (a CI run waited 15 minutes). The version tells it.
    #[tokio::test(start_paused = true)]
    async fn a_restart_too_quick_to_see_is_told_by_the_version_it_runs_after() {
        let info = fixture("dlink-DCS-6511-1.16.00-GetDeviceInformation.xml");
        let script = camera().on_body("POST", super::super::DEVICE_PATH, "GetDeviceInformation", vec![ok(&info)]);
        let d = driver(&script);
        let now = d.identify().await.unwrap().firmware();
        let started = tokio::time::Instant::now();
        let restart = d.await_firmware(&Uploaded { before: "an older version".into() }).await.unwrap();
        assert_eq!(restart, Restart::OnItsOwn);
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "{:?}", started.elapsed());
        // Still on the version it ran before: not restarted, until the site's upload time.
        assert_eq!(d.await_firmware(&Uploaded { before: now }).await.unwrap(), Restart::Requested);
        assert!(started.elapsed() >= std::time::Duration::from_secs(900));
    }

    #[test]
    fn an_upload_goes_only_to_the_device_itself() {
        assert_eq!(same_origin("http://127.1.0.1:80", "http://127.1.0.1/onvif/up/ab?x=1").unwrap(), "/onvif/up/ab?x=1");
        assert!(same_origin("http://127.1.0.1:80", "http://192.0.2.7/onvif/up").is_err());
        assert!(same_origin("https://127.1.0.1:443", "http://127.1.0.1:443/up").is_err(), "never down to plain HTTP");
        assert!(same_origin("http://127.1.0.1:8080", "http://127.1.0.1:80/up").is_err());
        assert!(same_origin("http://127.1.0.1:80", "not a url").is_err());
    }
}
