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

    /// Delete every web user but `admin`.
    pub async fn delete_extra_users(&self) -> Result<Vec<String>> {
        let users = self.web_users().await?;
        let mut gone = Vec::new();
        for (id, name) in users.into_iter().filter(|(_, n)| n != "admin") {
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

    fn http_with_new_password(&self, username: &str, password: &crate::secret::Secret) -> HttpSession {
        self.http.with_credentials(Some(crate::secret::Credentials {
            username: username.into(),
            password: password.clone(),
        }))
    }
}
