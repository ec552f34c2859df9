//! One device's run: each kind of step (setting, backup, accounts, HTTP off,
//! certificate, activation, rotation) as intent → act → read back → outcome.

use super::*;

/// One device's run: its driver (replaced when the device moves to HTTPS) and record.
pub(super) struct Run<'a> {
    pub(super) ctx: &'a ApplyContext,
    pub(super) job: &'a DeviceJob,
    pub(super) target: Target,
    pub(super) creds: Credentials,
    pub(super) drv: Box<dyn Driver>,
    pub(super) report: DeviceReport,
    pub(super) notify: &'a (dyn Fn(Event) + Send + Sync),
    /// Settings this run verified, with the value set: a later setting on the same
    /// device switch is then read, not written (and never rolled back).
    pub(super) verified: Vec<(Setting, Value)>,
}

impl Run<'_> {
    /// Record a change in the history, off the async threads: an append waits for the
    /// disk (a flush), and 500 devices' appends on the workers stalled every exchange.
    pub(super) async fn record(
        &self,
        step: &Step,
        after: Option<Value>,
        outcome: Outcome,
        vault_entry: Option<String>,
    ) -> Result<()> {
        let change = Change {
            operator: self.ctx.operator.clone(),
            device: self.job.plan.device.clone(),
            site: self.job.site.clone(),
            control: step.control.clone(),
            setting: step.setting,
            before: step.from.clone(),
            after,
            outcome,
            vault_entry,
        };
        let (history, now) = (self.ctx.history.clone(), self.ctx.now());
        tokio::task::spawn_blocking(move || history.append(change, &now).map(|_| ()))
            .await
            .map_err(|e| crate::error::Error::Local(format!("history: {e}")))?
    }

    /// Steps 1 and 2 of a password change's journal (see [`super::journal`]): the intent
    /// names the pending entry, then the entry is stored, before the device hears of it.
    pub(super) async fn journal_pending(&self, step: &Step, pending: Scope, new: &Credentials) -> Result<()> {
        self.record(step, None, Outcome::Intent, Some(pending.entry_name(&new.username))).await?;
        let entry = new.clone();
        self.ctx.vault.blocking(move |v| v.set(pending, &entry)).await
    }

    fn write_context(&self) -> WriteContext {
        WriteContext { management_hosts: self.ctx.site.management_hosts.clone() }
    }

    /// Read one setting back. A device that drops off the network (rebooting to apply
    /// the change) is waited for, up to the site's reboot time, then read.
    pub(super) async fn read_back(&self, key: Setting) -> Result<Option<Value>> {
        let deadline = tokio::time::Instant::now() + self.ctx.connect.timings.reboot();
        loop {
            match self.drv.read_settings(&[key]).await {
                Ok(p) => {
                    return Ok(match p.get(key) {
                        Some(Reading::Known(v)) => Some(v.clone()),
                        _ => None,
                    })
                }
                Err(Error::Unreachable { .. } | Error::Timeout { .. }) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// A setting change: intent → write → read back (→ port check) → outcome.
    async fn setting(&mut self, step: &Step) -> Result<StepResult> {
        let ctx = self.write_context();
        self.record(step, Some(step.to.clone()), Outcome::Intent, None).await?;
        let set_by_another = self
            .verified
            .iter()
            .any(|(s, v)| *s != step.setting && *v == step.to && self.drv.shares_switch(*s, step.setting));
        if set_by_another {
            // One switch carries both settings (Hikvision's TLS 1.0/1.1): it was set a step
            // ago. Writing again adds nothing, and a rollback would undo the other setting.
            let seen = self.read_back(step.setting).await;
            return if matches!(&seen, Ok(Some(v)) if crate::posture::same_setting(step.setting, v, &step.to)) {
                self.record(step, Some(step.to.clone()), Outcome::Verified, None).await?;
                self.verified.push((step.setting, step.to.clone()));
                Ok(StepResult::Verified)
            } else {
                let reason = format!("the shared switch does not read back as {}: {seen:?}", step.to);
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                Ok(StepResult::Failed { reason })
            };
        }
        let written = self.drv.write_setting(step.setting, &step.to, &ctx).await;
        let problem = match written {
            Err(e @ (Error::AuthRefused { .. } | Error::LoginWithheld { .. } | Error::Locked { .. })) => {
                self.record(step, None, Outcome::Failed { reason: e.to_string() }, None).await?;
                return Err(e);
            }
            Err(e @ Error::Unsupported { .. }) => {
                self.record(step, None, Outcome::Failed { reason: e.to_string() }, None).await?;
                return Ok(StepResult::Skipped { reason: e.to_string() });
            }
            // A dropped answer may hide a success: the read-back decides.
            Err(e) => Some(e.to_string()),
            Ok(()) => None,
        };
        let problem = problem.map(|p| format!(" (the write said: {p})")).unwrap_or_default();
        let seen = self.read_back(step.setting).await;
        let mut mismatch = match &seen {
            Ok(Some(v)) if crate::posture::same_setting(step.setting, v, &step.to) => None,
            Ok(Some(v)) => Some(format!("read back {v}, expected {}{problem}", step.to)),
            Ok(None) => Some(format!("the setting could not be read back{problem}")),
            Err(e) => Some(format!("read-back failed: {e}{problem}")),
        };
        if mismatch.is_none() && step.to == Value::Bool(false) {
            if let Some(port) = ports::port_of(step.setting, &self.target) {
                if let Err(why) = ports::closed(self.target.address, port).await {
                    mismatch = Some(why);
                }
            }
        }
        // The read-back decides: a write whose answer was lost but whose value holds is
        // done; a write the device acknowledged but does not show is not.
        let Some(why) = mismatch else {
            self.record(step, Some(step.to.clone()), Outcome::Verified, None).await?;
            self.verified.push((step.setting, step.to.clone()));
            return Ok(StepResult::Verified);
        };
        self.roll_back(step, why).await
    }

    /// Put the old value back and say how that went.
    async fn roll_back(&mut self, step: &Step, why: String) -> Result<StepResult> {
        let Some(old) = step.from.clone() else {
            self.record(step, None, Outcome::Failed { reason: why.clone() }, None).await?;
            return Ok(StepResult::Failed { reason: why });
        };
        let ctx = self.write_context();
        // Whatever the write answered, the read-back decides.
        let _ = self.drv.write_setting(step.setting, &old, &ctx).await;
        let restored = matches!(self.read_back(step.setting).await,
            Ok(Some(v)) if crate::posture::same_setting(step.setting, &v, &old));
        if restored {
            self.record(step, Some(old), Outcome::RolledBack { reason: why.clone() }, None).await?;
            Ok(StepResult::RolledBack { reason: why })
        } else {
            let reason = format!("{why}; the old value could not be restored");
            self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
            Ok(StepResult::Failed { reason })
        }
    }

    /// The configuration export, kept beside the history, named by its hash.
    async fn backup(&mut self, step: &Step) -> Result<StepResult> {
        let data = match self.drv.backup().await {
            Ok(d) => d,
            Err(e @ Error::Unsupported { .. }) => return Ok(StepResult::Skipped { reason: e.to_string() }),
            Err(e) => return Err(e),
        };
        // A configuration can hold the user database: sealed before it touches the disk.
        let Some(to) = &self.ctx.backup_to else {
            return Err(Error::Local("no backup key: a configuration is never written in clear".into()));
        };
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&data));
        let file =
            crate::backups::path_for(&self.ctx.backups, &crate::backups::device_dir(&self.job.plan.device), &digest);
        crate::files::write_private(&file, &crate::backups::seal(to, &data)?)?;
        // Which camera it is from: a restore goes only back to it. Without this a backup
        // still keeps the configuration; it just cannot be restored by Portcullis.
        if let Ok(id) = self.drv.identify().await {
            let meta = crate::backups::Meta {
                device: self.job.plan.device.clone(),
                model: id.model.clone(),
                serial: id.serial.clone(),
                firmware: id.firmware(),
                taken_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            };
            crate::backups::write_meta(&file, &meta)?;
        }
        let after = Value::Text(format!("sha256:{digest}"));
        self.record(step, Some(after), Outcome::Verified, None).await?;
        Ok(StepResult::Verified)
    }

    /// Delete the accounts the plan named (the operator saw them and chose to), and
    /// verify that none of them is left; the kept ones and any others stay.
    async fn extra_users(&mut self, step: &Step) -> Result<StepResult> {
        let named: Vec<String> = match &step.from {
            Some(Value::List(l)) => l
                .iter()
                .filter(|e| !crate::site::keeps(&self.ctx.site.keep_accounts, e))
                .map(|e| crate::site::account_name(e).to_string())
                .collect(),
            _ => Vec::new(),
        };
        self.record(step, Some(step.to.clone()), Outcome::Intent, None).await?;
        let result = self.drv.delete_users(&named).await;
        let seen = self.read_back(step.setting).await;
        let left = |l: &[String]| -> Vec<String> {
            l.iter().map(|e| crate::site::account_name(e).to_string()).filter(|n| named.contains(n)).collect()
        };
        match (result, seen) {
            (_, Ok(Some(Value::List(l)))) if left(&l).is_empty() => {
                self.record(step, Some(Value::List(l)), Outcome::Verified, None).await?;
                Ok(StepResult::Verified)
            }
            (Err(e), _) => {
                let reason = e.to_string();
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                Ok(StepResult::Failed { reason })
            }
            (Ok(_), other) => {
                let reason = format!("accounts still present after deletion: {other:?}");
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                Ok(StepResult::Failed { reason })
            }
        }
    }

    /// HTTP off, only over a proven HTTPS session: otherwise the camera is lost to us.
    async fn http_off(&mut self, step: &Step) -> Result<StepResult> {
        let Some(port) = self.https_port().await else {
            return Ok(StepResult::Skipped { reason: "HTTPS is not available: HTTP stays on".into() });
        };
        let secure = Target { http_port: None, https_port: Some(port), ..self.target.clone() };
        // HTTPS switched on a moment ago may still be starting: give it a few seconds.
        let mut tries = 0;
        let drv = loop {
            tries += 1;
            let attempt =
                match driver::connect(&secure, Some(self.creds.clone()), &self.ctx.client, &self.ctx.connect).await {
                    Ok(d) => d.identify().await.map(|_| d),
                    Err(e) => Err(e),
                };
            match attempt {
                Ok(d) => break d,
                Err(Error::Unreachable { .. } | Error::Timeout { .. }) if tries < 10 => {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                Err(e) => return Ok(StepResult::Skipped { reason: format!("HTTPS not proven ({e}): HTTP stays on") }),
            }
        };
        (self.notify)(Event::HttpsPort { device: self.job.plan.device.clone(), port });
        let http_port = self.target.http_port;
        self.drv = drv;
        self.target = secure.clone();
        self.target.http_port = http_port;
        let r = self.setting(step).await;
        self.target = secure;
        self.report.https_port = Some(port);
        r
    }

    async fn https_port(&self) -> Option<u16> {
        if let Some(p) = self.target.https_port {
            return Some(p);
        }
        let p = self.drv.read_settings(&[Setting::ServiceHttpsEnabled]).await.ok()?;
        match p.get(Setting::ServiceHttpsEnabled) {
            Some(Reading::Known(Value::Bool(true))) => self.drv.https_port().await,
            _ => None,
        }
    }

    /// Before a step that sends a secret: move this device's session to HTTPS (the
    /// client pins a device's certificate at first contact and holds it to it after),
    /// or say why not. Plain HTTP only when the site baseline allows it, and then the
    /// history says so.
    pub(super) async fn over_https(&mut self, step: &Step) -> Result<Option<String>> {
        if self.drv.http().base.starts_with("https://") {
            return Ok(None);
        }
        if let Some(port) = self.https_port().await {
            let secure = Target { https_port: Some(port), ..self.target.clone() };
            match driver::connect(&secure, Some(self.creds.clone()), &self.ctx.client, &self.ctx.connect).await {
                Ok(d) => {
                    self.drv = d;
                    self.target = secure;
                    self.report.https_port = Some(port);
                    (self.notify)(Event::HttpsPort { device: self.job.plan.device.clone(), port });
                    return Ok(None);
                }
                Err(e) if !self.ctx.site.allow_plaintext_secrets => {
                    return Ok(Some(format!("HTTPS is not usable ({e}): a secret is never sent in clear")));
                }
                Err(_) => {}
            }
        }
        if !self.ctx.site.allow_plaintext_secrets {
            return Ok(Some(
                "the device offers no HTTPS, and a secret is never sent in clear: switch HTTPS on first \
                 (service.https.enabled), or set allow_plaintext_secrets = true in the site baseline's [site]"
                    .into(),
            ));
        }
        // Recorded before the secret goes: the site chose this, and the history says so.
        let choice = Step { setting: Setting::SitePlaintextSecrets, from: None, ..step.clone() };
        self.record(&choice, Some(Value::Bool(true)), Outcome::Verified, None).await?;
        Ok(None)
    }

    /// Rotate the administrator's password (see [`password`]).
    async fn rotate(&mut self, step: &Step) -> Result<StepResult> {
        // The vault knows the device by its key (its address, unless it shares it).
        let address = self.target.key();
        let at = address.clone();
        if self.ctx.vault.blocking(move |v| v.pending(&at)).await?.is_some() {
            return Ok(StepResult::Skipped {
                reason: "an earlier rotation is unresolved: run portcullis recover".into(),
            });
        }
        if let Some(reason) = self.over_https(step).await? {
            return Ok(StepResult::Skipped { reason });
        }
        let old = self.creds.clone();
        let new = Credentials { username: old.username.clone(), password: self.ctx.passwords.generate(&old.username) };
        // The journal's order (see [`super::journal`]): intent, pending entry, device.
        self.journal_pending(step, Scope::Pending(address.clone()), &new).await?;
        let told = self.drv.set_password(&new.username, &new.password).await;
        // A device that said no most likely kept the old password; any other answer
        // (yes, or a dropped connection) most likely took the new one.
        let first = match &told {
            Err(Error::Device { .. } | Error::Malformed { .. }) => password::First::Old,
            _ => password::First::New,
        };
        let resolution = password::resolve(self.drv.as_ref(), &new, Some(&old), first).await;
        self.conclude_rotation(step, &address, &new, resolution, told.err()).await
    }

    async fn conclude_rotation(
        &mut self,
        step: &Step,
        address: &str,
        new: &Credentials,
        resolution: Resolution,
        told: Option<Error>,
    ) -> Result<StepResult> {
        let entry = Scope::Device(address.to_string()).entry_name(&new.username);
        match resolution {
            Resolution::NewHolds | Resolution::NewHoldsOldAlsoWorks => {
                // Recorded, then the vault follows: a crash between leaves `recover` the record.
                self.record(step, Some(Value::Text("rotated".into())), Outcome::Verified, Some(entry)).await?;
                let (at, proven) = (address.to_string(), new.clone());
                self.ctx.vault.blocking(move |v| v.promote_pending(&at, &proven)).await?;
                self.creds = new.clone();
                if resolution == Resolution::NewHoldsOldAlsoWorks {
                    return Ok(StepResult::Failed {
                        reason: "the new password works but the old one still logs in".into(),
                    });
                }
                Ok(StepResult::Verified)
            }
            Resolution::OldHolds => {
                let reason = told.map_or("the device kept the old password".to_string(), |e| e.to_string());
                self.record(step, None, Outcome::RolledBack { reason: reason.clone() }, None).await?;
                let pending = Scope::Pending(address.to_string());
                self.ctx.vault.blocking(move |v| v.forget(&pending, None)).await?;
                Ok(StepResult::RolledBack { reason })
            }
            Resolution::Unresolved(why) => {
                self.report.rotation_pending = true;
                let reason = format!("{why}; the new password stays pending: run portcullis recover");
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                Ok(StepResult::Failed { reason })
            }
        }
    }

    /// A certificate from the site CA: install, read back, then a real handshake that
    /// trusts only the site CA must show it; its fingerprint is pinned.
    async fn certificate(&mut self, step: &Step) -> Result<StepResult> {
        let Some(ca) = self.ctx.ca.clone() else {
            return Ok(StepResult::Skipped { reason: "no site CA".into() });
        };
        let Some(port) = self.https_port().await else {
            return Ok(StepResult::Skipped { reason: "HTTPS is off: no certificate to install".into() });
        };
        let address = self.target.address.to_string();
        let mut names = vec![address.clone()];
        names.extend(self.ctx.hostnames.get(&address).cloned().unwrap_or_default());
        // The site CA signs only what the site's scope allows.
        let outside: Vec<&String> = names.iter().filter(|n| !self.ctx.ca_scope.allows(n)).collect();
        if !outside.is_empty() {
            let list = outside.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(", ");
            return Ok(StepResult::Skipped {
                reason: format!("outside the site CA's scope ([site] ca_scope): {list}"),
            });
        }
        self.record(step, Some(step.to.clone()), Outcome::Intent, None).await?;
        let leaf = match self.drv.install_certificate(&ca, &names).await {
            Ok(l) => l,
            Err(e @ Error::Unsupported { .. }) => {
                self.record(step, None, Outcome::Failed { reason: e.to_string() }, None).await?;
                return Ok(StepResult::Skipped { reason: e.to_string() });
            }
            Err(e) => {
                let reason = e.to_string();
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                return Ok(StepResult::Failed { reason });
            }
        };
        let mut tries = 0;
        let proof = loop {
            tries += 1;
            match crate::certs::verify_handshake(&ca, self.target.address, port, &leaf.der).await {
                Err(Error::Unreachable { .. } | Error::Timeout { .. }) if tries < 10 => {
                    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
                }
                other => break other,
            }
        };
        // The handshake proved the new certificate (it chains to the site CA): pin it
        // now, or the read-back and every later connection would meet a stale pin.
        if let Ok(pin) = &proof {
            self.ctx.pins.set(&self.target.key(), pin.fingerprint.clone());
            crate::certs::Pins::save_one(&self.ctx.home, &self.target.key(), pin.clone())?;
        }
        let read = self.read_back(step.setting).await;
        match (proof, read) {
            (Ok(pin), Ok(Some(Value::Bool(false)))) => {
                let after = Value::Text(format!("site CA, sha256:{}", pin.fingerprint));
                self.record(step, Some(after), Outcome::Verified, None).await?;
                Ok(StepResult::Verified)
            }
            (proof, read) => {
                let reason = match (proof, read) {
                    (Err(e), _) => e.to_string(),
                    (_, other) => format!("the device still reports a self-signed certificate ({other:?})"),
                };
                self.record(step, None, Outcome::Failed { reason: reason.clone() }, None).await?;
                Ok(StepResult::Failed { reason })
            }
        }
    }

    /// Activate a factory-new camera with a generated password, journaled like a
    /// rotation: pending in the vault first, proven by a login, then current.
    async fn activate(&mut self, step: &Step) -> Result<StepResult> {
        let address = self.target.key();
        let at = address.clone();
        if self.ctx.vault.blocking(move |v| v.pending(&at)).await?.is_some() {
            return Ok(StepResult::Skipped {
                reason: "an earlier activation is unresolved: run portcullis recover".into(),
            });
        }
        let new = Credentials { username: "admin".into(), password: self.ctx.passwords.generate("admin") };
        self.journal_pending(step, Scope::Pending(address.clone()), &new).await?;
        let told = self.drv.activate(&new.password).await;
        let resolution = if self.drv.activated().await == Some(false) {
            Resolution::OldHolds
        } else {
            password::resolve(self.drv.as_ref(), &new, None, password::First::New).await
        };
        let result = self.conclude_rotation(step, &address, &new, resolution, told.err()).await?;
        if result == StepResult::Verified {
            self.drv = self.drv.with_credentials(new);
            self.report.activated = true;
        }
        Ok(result)
    }

    pub(super) async fn step(&mut self, step: &Step) -> Result<StepResult> {
        if let Some(why) = &step.blocked {
            return Ok(StepResult::Skipped { reason: why.clone() });
        }
        match (step.phase, step.setting) {
            (Phase::Backup, _) => self.backup(step).await,
            (Phase::Address, _) => self.interface(step).await,
            (Phase::Activate, _) => self.activate(step).await,
            (Phase::Firmware, _) => self.firmware(step).await,
            (Phase::Credentials, _) => self.rotate(step).await,
            (Phase::HttpOff, _) => self.http_off(step).await,
            (_, Setting::AccountUsers) => self.extra_users(step).await,
            (_, Setting::AccountService) => self.service_accounts(step).await,
            (_, Setting::TlsCertificateSelfSigned) => self.certificate(step).await,
            _ => self.setting(step).await,
        }
    }
}
