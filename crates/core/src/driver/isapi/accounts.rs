//! ISAPI accounts: the web users (listed, extra ones deleted), a user's password set
//! on the web user and its ONVIF twin, and the activation of a factory-new camera.

use super::change::{ok_status, put_status};
use super::{activation, wire, write, IsapiDriver};
use crate::driver::http::HttpSession;
use crate::error::{Error, Result};

impl IsapiDriver {
    /// The web users as (id, name).
    async fn web_users(&self) -> Result<Vec<(String, String)>> {
        let a = self.http.call("GET", "/ISAPI/Security/users", None).await?;
        ok_status(&self.http.address, "users", &a)?;
        wire::user_ids(&a.body).map_err(|reason| Error::Malformed {
            address: self.http.address.clone(),
            operation: "GET /ISAPI/Security/users".into(),
            reason,
        })
    }

    /// Delete the named web users, and only those: never `admin`, never the account this
    /// session is logged in with (deleting that one would end the run's access to the
    /// camera), never an account the plan did not name (one made since is not ours to
    /// judge). Returns the names deleted.
    pub async fn delete_users(&self, names: &[String]) -> Result<Vec<String>> {
        let users = self.web_users().await?;
        let me = self.http.credentials().map(|c| c.username.clone());
        let mut gone = Vec::new();
        let chosen = |n: &String| n != "admin" && Some(n) != me.as_ref() && names.contains(n);
        for (id, name) in users.into_iter().filter(|(_, n)| chosen(n)) {
            let path = format!("/ISAPI/Security/users/{id}");
            let a = self.http.call("DELETE", &path, None).await?;
            put_status(&self.http.address, &path, &a)?;
            gone.push(name);
        }
        Ok(gone)
    }

    /// Activate a factory-new camera with its first admin password (no login: the
    /// camera has no password yet).
    pub async fn activate(&self, password: &crate::secret::Secret) -> Result<()> {
        let malformed = |reason: String| Error::Malformed {
            address: self.http.address.clone(),
            operation: "POST /ISAPI/Security/challenge".into(),
            reason,
        };
        let key = tokio::task::spawn_blocking(activation::ChallengeKey::generate)
            .await
            .map_err(|e| Error::Local(e.to_string()))?
            .map_err(Error::Local)?;
        let a = self
            .http
            .anonymous("POST", "/ISAPI/Security/challenge", Some(("application/xml", &key.request_body())))
            .await?;
        ok_status(&self.http.address, "challenge", &a)?;
        let secret = key.secret_from(&a.body).map_err(malformed)?;
        let body = activation::activate_body(&secret, password.expose()).map_err(Error::Local)?;
        let a = self.http.anonymous("PUT", "/ISAPI/System/activate", Some(("application/xml", &body))).await?;
        put_status(&self.http.address, "activate", &a)
    }

    /// Set a user's password, on the web user and on the ONVIF user of the same name.
    pub async fn set_password(&self, username: &str, password: &crate::secret::Secret) -> Result<()> {
        let users = self.web_users().await?;
        let id = users.iter().find(|(_, n)| n == username).map(|(id, _)| id.clone()).ok_or_else(|| Error::Device {
            address: self.http.address.clone(),
            operation: "set password".into(),
            reason: format!("no web user {username}"),
        })?;
        let path = format!("/ISAPI/Security/users/{id}");
        self.put(&path, &write::user_password(&id, username, password.expose())).await?;
        // The ONVIF user of the same name, where the firmware keeps one apart.
        if let Ok(a) =
            self.http_with_new_password(username, password).call("GET", "/ISAPI/Security/ONVIF/users", None).await
        {
            if a.status == 200 {
                if let Ok(list) = wire::user_ids(&a.body) {
                    if let Some((oid, _)) = list.iter().find(|(_, n)| n == username) {
                        let p = format!("/ISAPI/Security/ONVIF/users/{oid}");
                        let s = self.http_with_new_password(username, password);
                        let a = s
                            .call(
                                "PUT",
                                &p,
                                Some((
                                    "application/xml",
                                    &write::onvif_user_password(oid, username, password.expose()),
                                )),
                            )
                            .await?;
                        put_status(&self.http.address, &p, &a)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// A service account: the web user made (POST) or given its level and password
    /// (PUT), then its ONVIF twin, where the firmware keeps ONVIF users apart (a
    /// recorder may log in over either).
    pub async fn set_account(
        &self,
        name: &str,
        role: crate::site::service::Role,
        password: &crate::secret::Secret,
    ) -> Result<()> {
        let (level, onvif_type) = role.isapi_levels();
        let users = self.web_users().await?;
        match users.iter().find(|(_, n)| n == name) {
            Some((id, _)) => {
                let path = format!("/ISAPI/Security/users/{id}");
                self.put(&path, &write::user_with_level(id, name, password.expose(), level)).await?;
            }
            None => {
                // The firmware wants an id: the first free one after the admin's.
                let taken: Vec<u32> = users.iter().filter_map(|(id, _)| id.parse().ok()).collect();
                let id = (2..=64u32).find(|i| !taken.contains(i)).unwrap_or(64).to_string();
                let body = write::user_with_level(&id, name, password.expose(), level);
                let a = self.http.call("POST", "/ISAPI/Security/users", Some(("application/xml", &body))).await?;
                put_status(&self.http.address, "/ISAPI/Security/users", &a)?;
            }
        }
        // The ONVIF twin: updated by its own id, or added; never the whole list replaced.
        let a = self.http.call("GET", "/ISAPI/Security/ONVIF/users", None).await;
        if let Some(a) = a.ok().filter(|a| a.status == 200) {
            let twins = wire::user_ids(&a.body).unwrap_or_default();
            let body = write::onvif_user_with_type(name, password.expose(), onvif_type);
            let (method, path) = match twins.iter().find(|(_, n)| n == name) {
                Some((id, _)) => ("PUT", format!("/ISAPI/Security/ONVIF/users/{id}")),
                None => ("POST", "/ISAPI/Security/ONVIF/users".to_string()),
            };
            let a = self.http.call(method, &path, Some(("application/xml", &body))).await?;
            put_status(&self.http.address, &path, &a)?;
        }
        Ok(())
    }

    fn http_with_new_password(&self, username: &str, password: &crate::secret::Secret) -> HttpSession {
        self.http.with_credentials(Some(crate::secret::Credentials {
            username: username.into(),
            password: password.clone(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use crate::driver::http::{HttpSession, LoginGuard};
    use crate::driver::transport::script::{ok, Script};
    use crate::secret::Credentials;

    const USERS: &str = "<UserList version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><User><id>1</id><userName>admin</userName></User><User><id>2</id><userName>installer</userName></User><User><id>3</id><userName>guest</userName></User></UserList>";
    const DONE: &str = "<ResponseStatus version=\"2.0\" xmlns=\"http://www.hikvision.com/ver20/XMLSchema\"><statusCode>1</statusCode><statusString>OK</statusString><subStatusCode>ok</subStatusCode></ResponseStatus>";

    #[tokio::test]
    async fn the_account_the_run_is_logged_in_with_is_never_deleted() {
        let script = Script::new()
            .on("GET", "/ISAPI/Security/users", vec![ok(USERS)])
            .on("DELETE", "/ISAPI/Security/users/2", vec![ok(DONE)])
            .on("DELETE", "/ISAPI/Security/users/3", vec![ok(DONE)]);
        let creds = Credentials::new("installer", "Secret-123");
        let http = HttpSession::new(
            script.client(),
            "http://192.0.2.5:80".into(),
            Some(creds),
            Arc::new(LoginGuard::default()),
            crate::driver::Timings::reads_and_writes(std::time::Duration::from_secs(2)),
        );
        let named = ["admin".to_string(), "installer".into(), "guest".into()];
        let gone = super::IsapiDriver::new(http.clone()).delete_users(&named).await.unwrap();
        assert_eq!(gone, ["guest"]);
        assert!(!script.calls().iter().any(|c| c == "DELETE /ISAPI/Security/users/2"), "{:?}", script.calls());
        // Only what the plan named: an account it did not name stays.
        let script_calls = script.calls().len();
        let gone = super::IsapiDriver::new(http).delete_users(&["nobody".to_string()]).await.unwrap();
        assert!(gone.is_empty());
        assert!(!script.calls().iter().skip(script_calls).any(|c| c.starts_with("DELETE")), "{:?}", script.calls());
    }

    #[tokio::test]
    async fn a_service_account_is_made_when_missing_and_updated_when_present_never_twice() {
        use crate::driver::transport::script::status;
        let session = |script: &Arc<Script>| {
            HttpSession::new(
                script.client(),
                "http://192.0.2.5:80".into(),
                Some(Credentials::new("admin", "Secret-123")),
                Arc::new(LoginGuard::default()),
                crate::driver::Timings::reads_and_writes(std::time::Duration::from_secs(2)),
            )
        };
        let secret = crate::secret::Secret::new("Svc-Pass-2026!");
        let viewer = crate::site::service::Role::Viewer;
        // Missing: made with the first free id, with the viewer's level; no ONVIF list.
        let script = Script::new()
            .on("GET", "/ISAPI/Security/users", vec![ok(USERS)])
            .on("POST", "/ISAPI/Security/users", vec![ok(DONE)])
            .on("GET", "/ISAPI/Security/ONVIF/users", vec![status(404, "")]);
        super::IsapiDriver::new(session(&script)).set_account("nvr", viewer, &secret).await.unwrap();
        let calls = script.calls();
        assert!(calls.contains(&"POST /ISAPI/Security/users".to_string()), "{calls:?}");
        assert!(!calls.iter().any(|c| c.starts_with("PUT")), "{calls:?}");
        let bodies: Vec<String> = script.seen.lock().unwrap().iter().filter_map(|r| r.body.clone()).collect();
        let sent = bodies.into_iter().find(|b| b.contains("<userName>nvr</userName>")).unwrap();
        assert!(sent.contains("<id>4</id>") && sent.contains("<userLevel>Viewer</userLevel>"), "{sent}");
        // Present: its own id is updated, and its ONVIF twin too.
        let script = Script::new()
            .on("GET", "/ISAPI/Security/users", vec![ok(USERS)])
            .on("PUT", "/ISAPI/Security/users/3", vec![ok(DONE)])
            .on("GET", "/ISAPI/Security/ONVIF/users", vec![ok(USERS)])
            .on("PUT", "/ISAPI/Security/ONVIF/users/3", vec![ok(DONE)]);
        super::IsapiDriver::new(session(&script)).set_account("guest", viewer, &secret).await.unwrap();
        let calls = script.calls();
        assert!(!calls.iter().any(|c| c.starts_with("POST")), "{calls:?}");
        // By its own id: the list is never replaced (other ONVIF users stay).
        assert!(calls.contains(&"PUT /ISAPI/Security/ONVIF/users/3".to_string()), "{calls:?}");
    }
}
