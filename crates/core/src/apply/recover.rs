//! `recover`: finish password changes a crash interrupted, from their journal, and
//! decide the undecided ones by trying the new password, then the old one, once each.

use std::collections::HashMap;

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

/// Finish every password change a crash interrupted, from its journal (see
/// [`journal`]): rotations the history already rolled back drop their pending entry,
/// intents whose pending entry was never stored are closed, and every other pending
/// rotation is decided by logging in. One refused login per device per run, so the
/// password refused last time is tried after the other one, not first.
pub async fn recover(targets: &[(Target, Option<String>)], ctx: &ApplyContext) -> Result<Vec<Recovered>> {
    let journal = journal::read(&ctx.history)?;
    let mut out = close_never_stored(&journal, ctx).await?;
    let pending = ctx.vault.blocking(|v| v.pending_devices()).await?;
    // Read once, and only when a rotation is left to decide (after a crash: most runs
    // have none, and a site's history holds hundreds of thousands of records): which
    // password each device's last try found refused.
    let records = if pending.is_empty() { Vec::new() } else { ctx.history.query(&Default::default())? };
    for address in pending {
        let at = address.clone();
        let Some(new) = ctx.vault.blocking(move |v| v.pending(&at)).await? else { continue };
        let pending = Scope::Pending(address.clone());
        let entry = journal.get(&pending.entry_name(&new.username));
        let stage = entry.map(|e| e.stage.clone());
        if stage == Some(journal::Stage::Drop) {
            // Proven and recorded before the crash: only the vault step is left.
            ctx.vault.blocking(move |v| v.forget(&pending, None)).await?;
            out.push(Recovered { device: address, kept: Kept::Old, detail: None });
            continue;
        }
        let Some((target, site)) = target_of(&address, targets) else { continue };
        let (label, at_site) = (target.label(), site.clone());
        let old = ctx.vault.blocking(move |v| v.lookup(&label, at_site.as_deref())).await?;
        let first = match stage {
            Some(journal::Stage::Promote) => password::First::New,
            _ => password::First::for_device(&records, &target.label()),
        };
        // Connecting asks what the device speaks, without credentials.
        let resolution = match driver::connect(&target, None, &ctx.client, &ctx.connect).await {
            // An activation that never happened: the camera is still factory-new.
            Ok(drv) if drv.activated().await == Some(false) => Resolution::OldHolds,
            Ok(drv) => password::resolve(drv.as_ref(), &new, old.as_ref(), first).await,
            Err(e) => Resolution::Unresolved(e.to_string()),
        };
        let step = Step {
            phase: Phase::Credentials,
            control: None,
            // The rotation's own setting (an activation's, or the password's).
            setting: entry.map_or(Setting::AccountPassword, |e| e.intent.change.setting),
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
        // Recorded first, then the vault follows; a decision the history already holds
        // is not recorded twice.
        let (kept, detail) = match resolution {
            Resolution::NewHolds | Resolution::NewHoldsOldAlsoWorks => {
                if stage != Some(journal::Stage::Promote) {
                    let entry = Scope::Device(address.clone()).entry_name(&new.username);
                    ctx.history.append(change(Outcome::Verified, Some(step.to.clone()), Some(entry)), &ctx.now())?;
                }
                let (at, entry) = (address.clone(), new.clone());
                ctx.vault.blocking(move |v| v.promote_pending(&at, &entry)).await?;
                (Kept::New, None)
            }
            Resolution::OldHolds => {
                let reason = "recovery: the device kept the old password".to_string();
                ctx.history.append(change(Outcome::RolledBack { reason }, None, None), &ctx.now())?;
                ctx.vault.blocking(move |v| v.forget(&pending, None)).await?;
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
    out.extend(recover_service_accounts(targets, ctx, &journal).await?);
    Ok(out)
}

/// Intents a crash left before their pending entry was stored: the device never heard
/// of the password, so the change is closed as rolled back.
async fn close_never_stored(journal: &HashMap<String, journal::Entry>, ctx: &ApplyContext) -> Result<Vec<Recovered>> {
    let stored = ctx.vault.blocking(|v| v.list()).await?;
    let mut out = Vec::new();
    for entry in journal.values().filter(|e| e.stage == journal::Stage::Open) {
        let Some((scope, username)) = entry.pending() else { continue };
        if stored.iter().any(|e| e.scope == scope && e.username == username) {
            continue;
        }
        let (Scope::Pending(address) | Scope::ServicePending(address)) = scope else { continue };
        let reason = "interrupted before the new password was stored: the device was never told".to_string();
        let change = Change {
            operator: ctx.operator.clone(),
            after: None,
            outcome: Outcome::RolledBack { reason: reason.clone() },
            vault_entry: None,
            ..entry.intent.change.clone()
        };
        ctx.history.append(change, &ctx.now())?;
        out.push(Recovered { device: address, kept: Kept::Old, detail: Some(reason) });
    }
    Ok(out)
}

/// The device a vault entry's key names ([`Target::key`]), as the inventory knows it
/// (its ports and site), else on its default port (or the port its key names); `None`
/// for a key that is not an address.
fn target_of(key: &str, targets: &[(Target, Option<String>)]) -> Option<(Target, Option<String>)> {
    if let Some((t, s)) = targets.iter().find(|(t, _)| t.key() == key) {
        return Some((t.clone(), s.clone()));
    }
    if let Ok(at) = key.parse::<std::net::SocketAddr>() {
        let target = Target { http_port: Some(at.port()), ..Target::new(at.ip()) };
        return Some((target.sharing(true), None));
    }
    key.parse().ok().map(|ip| (Target::new(ip), None))
}

/// Service-account passwords a crash left pending: proven by logging in as the account
/// (once), then made its entry; refused, the account kept what it had and the pending
/// one goes. Neither loses a camera: Portcullis never logs in with these.
async fn recover_service_accounts(
    targets: &[(Target, Option<String>)],
    ctx: &ApplyContext,
    journal: &HashMap<String, journal::Entry>,
) -> Result<Vec<Recovered>> {
    let mut out = Vec::new();
    for (address, new) in ctx.vault.blocking(|v| v.service_pending()).await? {
        let account = Some(format!("service account {}", new.username));
        let pending = Scope::ServicePending(address.clone());
        let stage = journal.get(&pending.entry_name(&new.username)).map(|e| e.stage.clone());
        if stage == Some(journal::Stage::Drop) {
            // The device refused it, and the history says so: only the vault step is left.
            let name = new.username.clone();
            ctx.vault.blocking(move |v| v.forget(&pending, Some(&name))).await?;
            out.push(Recovered { device: address, kept: Kept::Old, detail: account });
            continue;
        }
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
        // Recorded first (unless the history already holds it), then the vault follows.
        let kept = match proven {
            Ok(true) => {
                if stage != Some(journal::Stage::Promote) {
                    let entry = Scope::Service(address.clone()).entry_name(&new.username);
                    let after = Some(Value::Text(format!("{} set", new.username)));
                    ctx.history.append(change(Outcome::Verified, after, Some(entry)), &ctx.now())?;
                }
                let (at, entry) = (address.clone(), new.clone());
                ctx.vault.blocking(move |v| v.promote_service(&at, &entry)).await?;
                Kept::New
            }
            Ok(false) => {
                let reason = "recovery: the device did not take the service account's new password".to_string();
                ctx.history.append(change(Outcome::RolledBack { reason }, None, None), &ctx.now())?;
                let name = new.username.clone();
                ctx.vault.blocking(move |v| v.forget(&pending, Some(&name))).await?;
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
