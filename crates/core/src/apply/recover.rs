//! `recover`: resolve password rotations a crash interrupted, by trying the new
//! password, then the old one, once each, and recording how it ended.

use super::*;

/// Which password a recovered rotation left on the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(export_to = "../../ui/src/lib/ipc/bindings/"))]
pub enum Kept {
    /// The pending password took effect and is now current.
    New,
    /// It did not: the old password stays, the pending one is dropped.
    Old,
    /// Neither could be proven (no answer): left alone to avoid a lockout.
    Pending,
}

/// What `recover` did for one device.
#[derive(Debug, Clone, Serialize)]
pub struct Recovered {
    pub device: String,
    pub kept: Kept,
    pub detail: Option<String>,
}

/// Resolve every pending rotation by logging in: one refused login per device per run,
/// so the password refused last time is tried after the other one, not first.
pub async fn recover(targets: &[(Target, Option<String>)], ctx: &ApplyContext) -> Result<Vec<Recovered>> {
    let mut out = Vec::new();
    // Read once: which password each device's last try found refused.
    let records = ctx.history.query(&Default::default())?;
    for address in ctx.vault.blocking(|v| v.pending_devices()).await? {
        let at = address.clone();
        let Some(new) = ctx.vault.blocking(move |v| v.pending(&at)).await? else { continue };
        let Some((target, site)) = target_of(&address, targets) else { continue };
        let (label, at_site) = (target.label(), site.clone());
        let old = ctx.vault.blocking(move |v| v.lookup(&label, at_site.as_deref())).await?;
        let first = password::First::for_device(&records, &target.label());
        // Connecting asks what the device speaks, without credentials.
        let resolution = match driver::connect(&target, None, &ctx.client, &ctx.connect).await {
            // An activation that never happened: the camera is still factory-new.
            Ok(drv) if drv.activated().await == Some(false) => Resolution::OldHolds,
            Ok(drv) => password::resolve(drv.as_ref(), &new, old.as_ref(), first).await,
            Err(e) => Resolution::Unresolved(e.to_string()),
        };
        // Close the rotation's own intent (its setting), if the crash left it open.
        let setting = interrupted::open_intents(&ctx.history)?
            .into_iter()
            .find(|((d, _), r)| {
                *d == target.label() && r.change.vault_entry.as_deref().is_some_and(|e| e.starts_with("pending/"))
            })
            .map(|((_, s), _)| s)
            .unwrap_or(Setting::AccountPassword);
        let step = Step {
            phase: Phase::Credentials,
            control: None,
            setting,
            from: None,
            to: Value::Text("rotated".into()),
            action: "recover an interrupted password rotation".into(),
            blocked: None,
        };
        let change = |outcome, after, entry| Change {
            operator: ctx.operator.clone(),
            device: target.label(),
            site: site.clone(),
            control: None,
            setting: step.setting,
            before: None,
            after,
            outcome,
            vault_entry: entry,
        };
        let (kept, detail) = match resolution {
            Resolution::NewHolds | Resolution::NewHoldsOldAlsoWorks => {
                let (at, entry) = (address.clone(), new.clone());
                ctx.vault.blocking(move |v| v.promote_pending(&at, &entry)).await?;
                let entry = Scope::Device(address.clone()).entry_name(&new.username);
                ctx.history.append(change(Outcome::Verified, Some(step.to.clone()), Some(entry)), &ctx.now())?;
                (Kept::New, None)
            }
            Resolution::OldHolds => {
                let pending = Scope::Pending(address.clone());
                ctx.vault.blocking(move |v| v.forget(&pending, None)).await?;
                let reason = "recovery: the device kept the old password".to_string();
                ctx.history.append(change(Outcome::RolledBack { reason }, None, None), &ctx.now())?;
                (Kept::Old, None)
            }
            Resolution::Unresolved(why) => {
                // Recorded, so that the next try starts with the other password.
                let reason = format!("recovery: {why}");
                ctx.history.append(change(Outcome::Failed { reason }, None, None), &ctx.now())?;
                (Kept::Pending, Some(why))
            }
        };
        out.push(Recovered { device: address, kept, detail });
    }
    out.extend(recover_service_accounts(targets, ctx).await?);
    Ok(out)
}

/// The device at `address`, as the inventory knows it (its ports and site), else on its
/// default port; `None` for an entry whose name is not an address.
fn target_of(address: &str, targets: &[(Target, Option<String>)]) -> Option<(Target, Option<String>)> {
    match targets.iter().find(|(t, _)| t.address.to_string() == address) {
        Some((t, s)) => Some((t.clone(), s.clone())),
        None => address.parse().ok().map(|ip| (Target::new(ip), None)),
    }
}

/// Service-account passwords a crash left pending: proven by logging in as the account
/// (once), then made its entry; refused, the account kept what it had and the pending
/// one goes. Neither loses a camera: Portcullis never logs in with these.
async fn recover_service_accounts(targets: &[(Target, Option<String>)], ctx: &ApplyContext) -> Result<Vec<Recovered>> {
    let mut out = Vec::new();
    for (address, new) in ctx.vault.blocking(|v| v.service_pending()).await? {
        let Some((target, site)) = target_of(&address, targets) else { continue };
        let proven = match driver::connect(&target, None, &ctx.client, &ctx.connect).await {
            Ok(drv) => password::logs_in(drv.as_ref(), &new).await,
            Err(e) => Err(e),
        };
        let change = |outcome, after, entry| Change {
            operator: ctx.operator.clone(),
            device: target.label(),
            site: site.clone(),
            control: Some(crate::site::service::CONTROL.into()),
            setting: Setting::AccountService,
            before: None,
            after,
            outcome,
            vault_entry: entry,
        };
        let account = Some(format!("service account {}", new.username));
        let kept = match proven {
            Ok(true) => {
                let (at, entry) = (address.clone(), new.clone());
                ctx.vault.blocking(move |v| v.promote_service(&at, &entry)).await?;
                let entry = Scope::Service(address.clone()).entry_name(&new.username);
                let after = Some(Value::Text(format!("{} set", new.username)));
                ctx.history.append(change(Outcome::Verified, after, Some(entry)), &ctx.now())?;
                Kept::New
            }
            Ok(false) => {
                let (pending, name) = (Scope::ServicePending(address.clone()), new.username.clone());
                ctx.vault.blocking(move |v| v.forget(&pending, Some(&name))).await?;
                let reason = "recovery: the device did not take the service account's new password".to_string();
                ctx.history.append(change(Outcome::RolledBack { reason }, None, None), &ctx.now())?;
                Kept::Old
            }
            Err(e) => {
                let reason = format!("recovery: {e}");
                ctx.history.append(change(Outcome::Failed { reason }, None, None), &ctx.now())?;
                Kept::Pending
            }
        };
        out.push(Recovered { device: address, kept, detail: account });
    }
    Ok(out)
}
