//! The interface step: the device's address, mask, gateway, DNS and host name as the
//! site's address plan says. When the address changes the device's management address
//! changes with it: the step is recorded as an intent, the new address is checked free,
//! the device is told, then looked for at the new address (logged in, its serial the
//! same) within its reboot time. If it is not there it is looked for at the old one and
//! its interface set back. The inventory, the vault and the certificate pins follow it
//! in the task that runs the moves (`tasks::apply`).

use std::net::IpAddr;
use std::time::Duration;

use super::*;
use crate::site::addresses::Interface;

/// Ports that mark an address as someone's: a camera's web, RTSP and SDK ports.
const IN_USE_PORTS: [u16; 4] = [80, 443, 554, 8000];
const POLL: Duration = Duration::from_millis(500);

impl Run<'_> {
    pub(super) async fn interface(&mut self, step: &Step) -> Result<StepResult> {
        let Some(to) = (match &step.to {
            Value::Text(t) => Interface::parse(t),
            _ => None,
        }) else {
            let reason = format!("the plan's interface {:?} does not read", step.to.to_string());
            self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
            return Ok(StepResult::Failed { reason });
        };
        let after = Some(Value::Text(to.describe()));
        let old = self.read_interface(&*self.drv).await.ok();
        let moving = IpAddr::V4(to.address) != self.target.address;
        if moving {
            if let Some(port) = in_use(to.address, &self.target).await {
                let reason = format!("{} is in use: something answers on port {port}; nothing was changed", to.address);
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                return Ok(StepResult::Failed { reason });
            }
        }
        // Who it is, so that whatever answers at the new address can be checked.
        let identity = if moving { self.drv.identify().await.ok().map(|i| i.serial) } else { None };
        self.record(step, after.clone(), Outcome::Intent, None).await?;
        let told = self.drv.set_interface(&to).await;
        if !moving {
            return self.settle(step, &to, told.map(|_| ())).await;
        }
        if let Err(e) = &told {
            // Refused outright: still where it was, as it was.
            if !matches!(e, Error::Unreachable { .. } | Error::Timeout { .. }) {
                let reason = format!("the device refused the interface: {e}");
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                return Ok(StepResult::Failed { reason });
            }
        }
        let new_target = Target { address: IpAddr::V4(to.address), ..self.target.clone() };
        if let Some(found) = self.reach(&new_target, identity.as_deref()).await {
            let old_target = std::mem::replace(&mut self.target, new_target);
            self.drv = found;
            // A device that moved at once may not have taken the rest before it went.
            // Found at the new address: the inventory follows it whatever comes next.
            self.report.moved_to = Some(self.target.label());
            if let Some(port) = still_answers(&old_target).await {
                let reason = format!(
                    "found at {}, but its old address {} still answers on port {port}",
                    self.target.address, old_target.address
                );
                self.record(step, after, Outcome::Failed { reason: reason.clone() }, None).await?;
                return Ok(StepResult::Failed { reason });
            }
            return self.settle(step, &to, Ok(())).await;
        }
        // Not at the new address: is it still (or again) at the old one?
        let back =
            tokio::time::timeout(self.ctx.connect.timings.of(crate::driver::Operation::Read), self.drv.identify())
                .await
                .ok()
                .and_then(|r| r.ok());
        let seconds = self.ctx.connect.timings.reboot_s;
        match back {
            Some(id) if identity.as_deref().is_none_or(|s| s == id.serial) => {
                let mut reason =
                    format!("not reachable at {} within {seconds} s; it answers at its old address", to.address);
                if let Some(old) = &old {
                    match self.drv.set_interface(old).await {
                        Ok(_) => reason.push_str(&format!(", set back to {}", old.describe())),
                        Err(e) => reason.push_str(&format!("; setting its interface back failed: {e}")),
                    }
                }
                self.record(
                    step,
                    old.map(|o| Value::Text(o.describe())),
                    Outcome::RolledBack { reason: reason.clone() },
                    None,
                )
                .await?;
                Ok(StepResult::RolledBack { reason })
            }
            _ => {
                let reason = format!(
                    "reachable at neither {} nor {} within {seconds} s: it may come up at either; the inventory keeps both",
                    to.address, self.target.address
                );
                self.report.lost = true;
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                Ok(StepResult::Failed { reason })
            }
        }
    }

    /// Read the interface back and, if it is not yet as planned (a device that moved
    /// before it took the rest), set it once more, then read again.
    async fn settle(&mut self, step: &Step, to: &Interface, told: Result<()>) -> Result<StepResult> {
        if let Err(e) = told {
            let reason = format!("the device refused the interface: {e}");
            self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
            return Ok(StepResult::Failed { reason });
        }
        let mut now = self.read_interface(&*self.drv).await;
        if !matches!(&now, Ok(read) if agrees(read, to)) {
            if let Err(e) = self.drv.set_interface(to).await {
                let reason = format!("the interface did not hold, and setting it again failed: {e}");
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                return Ok(StepResult::Failed { reason });
            }
            now = self.read_interface(&*self.drv).await;
        }
        match now {
            Ok(read) if agrees(&read, to) => {
                self.record(step, Some(Value::Text(read.describe())), Outcome::Verified, None).await?;
                Ok(StepResult::Verified)
            }
            Ok(read) => {
                let reason = format!("the device reads {} after the change", read.describe());
                self.record(step, Some(Value::Text(read.describe())), Outcome::Failed { reason: reason.clone() }, None)
                    .await?;
                Ok(StepResult::Failed { reason })
            }
            Err(e) => {
                let reason = format!("the interface could not be read back: {e}");
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                Ok(StepResult::Failed { reason })
            }
        }
    }

    /// The interface as the device reads it now.
    async fn read_interface(&self, drv: &dyn Driver) -> Result<Interface> {
        let keys = [Setting::NetworkIpv4, Setting::NetworkGateway, Setting::NetworkDns, Setting::NetworkHostname];
        let p = drv.read_settings(&keys).await?;
        let text = |k: Setting| match p.get(k) {
            Some(crate::posture::Reading::Known(Value::Text(t))) => Some(t.clone()),
            _ => None,
        };
        let ipv4 = text(Setting::NetworkIpv4).ok_or_else(|| Error::Device {
            address: self.target.label(),
            operation: "interface".into(),
            reason: "the address was not read".into(),
        })?;
        let cidr = ipv4.trim_start_matches("dhcp ").to_string();
        let mut ifc = Interface::parse(&cidr).ok_or_else(|| Error::Malformed {
            address: self.target.label(),
            operation: "interface".into(),
            reason: format!("address {ipv4:?}"),
        })?;
        ifc.gateway = text(Setting::NetworkGateway).and_then(|g| g.parse().ok());
        ifc.dns = match p.get(Setting::NetworkDns) {
            Some(crate::posture::Reading::Known(Value::List(l))) => l.iter().filter_map(|d| d.parse().ok()).collect(),
            _ => Vec::new(),
        };
        ifc.hostname = text(Setting::NetworkHostname).filter(|h| !h.is_empty());
        Ok(ifc)
    }

    /// The device at `target` within its reboot time: logged in with the run's
    /// credentials and, when its serial was known, the same serial.
    async fn reach(&self, target: &Target, serial: Option<&str>) -> Option<Box<dyn Driver>> {
        let deadline = tokio::time::Instant::now() + self.ctx.connect.timings.reboot();
        let login = (!self.creds.password.is_empty()).then(|| self.creds.clone());
        while tokio::time::Instant::now() < deadline {
            if let Ok(drv) = crate::driver::connect(target, login.clone(), &self.ctx.client, &self.ctx.connect).await {
                match drv.identify().await {
                    Ok(id) if serial.is_none_or(|s| s == id.serial) => return Some(drv),
                    // Someone else answers there: not our device, and not to be logged in to again.
                    Ok(_) => return None,
                    Err(Error::AuthRefused { .. } | Error::Locked { .. } | Error::LoginWithheld { .. }) => return None,
                    Err(_) => {}
                }
            }
            tokio::time::sleep(POLL).await;
        }
        None
    }
}

/// Whether the planned interface holds: address and prefix always; gateway, DNS and
/// host name where the plan names them.
fn agrees(read: &Interface, plan: &Interface) -> bool {
    read.address == plan.address
        && read.prefix == plan.prefix
        && plan.gateway.is_none_or(|g| read.gateway == Some(g))
        && (plan.dns.is_empty() || read.dns == plan.dns)
        && plan.hostname.as_ref().is_none_or(|h| read.hostname.as_ref() == Some(h))
}

/// A port on which something accepts connections at `address`, if any: the address is
/// someone's. (A refusal means a host is there on a real LAN, but every loopback
/// address refuses, so only a listening service counts.)
async fn in_use(address: std::net::Ipv4Addr, like: &Target) -> Option<u16> {
    let mut ports: Vec<u16> = IN_USE_PORTS.to_vec();
    ports.extend(like.http_port.into_iter().chain(like.https_port));
    ports.sort_unstable();
    ports.dedup();
    for port in ports {
        if super::ports::accepts(IpAddr::V4(address), port).await {
            return Some(port);
        }
    }
    None
}

/// A port of the device's old address that still accepts connections once the device
/// has had its moment to close it, if any.
async fn still_answers(old: &Target) -> Option<u16> {
    for port in old.http_port.into_iter().chain(old.https_port) {
        if super::ports::closed(old.address, port).await.is_err() {
            return Some(port);
        }
    }
    None
}
