//! The site's service accounts on one device: each missing one made with its own
//! generated password, or every one given a new password when a rotation was asked
//! for. Journaled through the vault like the admin's rotation: the password is pending
//! in the vault before the device hears it, and becomes the account's entry only once
//! a login with it succeeds. The recorder's operator gets it from the handover.

use super::*;
use crate::site::service::{self, ServiceAccount};

impl Run<'_> {
    /// The step for `Setting::AccountService` (see [`crate::plan`]): `to` is the
    /// site's list (make what is missing) or `rotated` (set every one anew).
    pub(super) async fn service_accounts(&mut self, step: &Step) -> Result<StepResult> {
        if let Some(reason) = self.over_https(step).await? {
            return Ok(StepResult::Skipped { reason });
        }
        let rotate = step.to == Value::Text("rotated".into());
        let accounts = self.ctx.site.service_accounts.clone();
        // Only a list read now says what is missing: an unreadable one would make every
        // account look missing and have its recorder's password changed unasked.
        let Some(Value::List(seen)) = self.service_reading().await? else {
            return Ok(StepResult::Skipped {
                reason: "the device's account list could not be read: no service account was touched".into(),
            });
        };
        let listed = Value::List(seen.clone());
        let (missing, _) = service::missing_and_wrong(Some(&listed), &accounts);
        let chosen: Vec<ServiceAccount> =
            if rotate { accounts.clone() } else { missing.into_iter().cloned().collect() };
        let mut problems = Vec::new();
        for account in &chosen {
            let before = seen.iter().find(|e| crate::site::account_name(e) == account.name).cloned();
            if let Some(why) = self.may_not_set(account, before.as_deref()).await? {
                problems.push(format!("{}: {why}", account.name));
                continue;
            }
            if let Some(why) = self.set_service_account(step, account, before).await? {
                problems.push(format!("{}: {why}", account.name));
            }
        }
        let now = self.service_reading().await?;
        let (missing, wrong) = service::missing_and_wrong(now.as_ref(), &accounts);
        // Without a rotation an account with another role keeps it (the plan said why).
        let wrong: Vec<&ServiceAccount> = if rotate { wrong } else { Vec::new() };
        if problems.is_empty() && missing.is_empty() && wrong.is_empty() {
            return Ok(StepResult::Verified);
        }
        let mut reason = problems;
        reason.extend(missing.iter().map(|a| format!("{} is missing after the change", a.name)));
        reason.extend(wrong.iter().map(|a| format!("{} does not read back as {}", a.name, a.entry())));
        Ok(StepResult::Failed { reason: reason.join("; ") })
    }

    /// Why this account must not be set now, if it must not: an administrator of that
    /// name (or the account this run logs in with) is never demoted, and a password an
    /// earlier run left unproven is resolved by `recover` before another is made.
    async fn may_not_set(&self, account: &ServiceAccount, before: Option<&str>) -> Result<Option<String>> {
        if before.is_some_and(|e| e.ends_with("(administrator)")) || account.name == self.creds.username {
            return Ok(Some(format!(
                "{} is an administrator (or the account Portcullis logs in with): it is never made a service account",
                account.name
            )));
        }
        let (address, name) = (self.target.key(), account.name.clone());
        let pending = self.ctx.vault.blocking(move |v| v.lookup_scope(&Scope::ServicePending(address), &name)).await?;
        Ok(pending.map(|_| "an earlier password for it is unresolved: run portcullis recover".to_string()))
    }

    /// The service accounts the device lists, as `name (role)`.
    async fn service_reading(&self) -> Result<Option<Value>> {
        Ok(self.read_back(Setting::AccountUsers).await?.map(|v| match v {
            Value::List(users) => Value::List(service::present(&users, &self.ctx.site.service_accounts)),
            other => other,
        }))
    }

    /// One account: pending in the vault, told to the device, proven by its own login.
    /// `Some(reason)` when it did not end with the new password proven.
    async fn set_service_account(
        &mut self,
        step: &Step,
        account: &ServiceAccount,
        before: Option<String>,
    ) -> Result<Option<String>> {
        let address = self.target.key();
        let new = Credentials { username: account.name.clone(), password: self.ctx.passwords.generate(&account.name) };
        let pending = Scope::ServicePending(address.clone());
        let own = Step {
            from: before.clone().map(Value::Text),
            to: Value::Text(account.entry()),
            action: format!("set the service account {} with a unique generated password", account.entry()),
            ..step.clone()
        };
        self.journal_pending(&own, pending.clone(), &new).await?;
        let told = self.drv.set_account(&account.name, account.role, &new.password).await;
        let how = if before.is_some() { "rotated" } else { "created" };
        match password::logs_in(self.drv.as_ref(), &new).await {
            Ok(true) => {
                let entry = Scope::Service(address.clone()).entry_name(&new.username);
                // Recorded, then the vault follows (see [`super::journal`]).
                let refused_part = match told {
                    // The login proves the web account took it; a part the device refused
                    // (its ONVIF twin) is not done, and the step says so.
                    Err(e) => {
                        let reason = format!("the password is set and proven, but the device also said: {e}");
                        self.record(&own, None, Outcome::Failed { reason: reason.clone() }, Some(entry)).await?;
                        Some(reason)
                    }
                    Ok(()) => {
                        let after = Some(Value::Text(format!("{} {how}", account.entry())));
                        self.record(&own, after, Outcome::Verified, Some(entry)).await?;
                        None
                    }
                };
                let (at, proven) = (address, new.clone());
                self.ctx.vault.blocking(move |v| v.promote_service(&at, &proven)).await?;
                Ok(refused_part)
            }
            Ok(false) => {
                // The device did not take it: the account keeps what it had, and the
                // recorder that uses it is unaffected. The pending password goes (a
                // refused password is not the device's: keeping it would keep nothing).
                let reason = match told {
                    Err(e) => e.to_string(),
                    Ok(()) => "the device accepted the change, but refuses the new password: the account keeps \
                               what it had (set it again with --rotate-passwords)"
                        .into(),
                };
                self.record(&own, None, Outcome::RolledBack { reason: reason.clone() }, None).await?;
                let name = new.username.clone();
                self.ctx.vault.blocking(move |v| v.forget(&pending, Some(&name))).await?;
                Ok(Some(reason))
            }
            Err(e) => {
                // Not proven either way: stays pending for `recover`.
                let reason = format!("{e}; the new password stays pending: run portcullis recover");
                self.record(&own, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                Ok(Some(reason))
            }
        }
    }
}
