//! ONVIF accounts: a user's password changed with SetUser, the user's level kept.

use super::{wire, OnvifDriver};
use crate::error::{Error, Result};

impl OnvifDriver {
    /// SetUser: the password of an existing user, level unchanged.
    pub async fn set_password(&self, username: &str, password: &crate::secret::Secret) -> Result<()> {
        let users = match self.read("GetUsers", wire::users).await? {
            Ok(u) => u,
            Err(_) => return Err(Error::Unsupported { address: self.address(), operation: "GetUsers".into() }),
        };
        let level = users.iter().find(|(n, _)| n == username).map(|(_, l)| l.clone()).ok_or_else(|| Error::Device {
            address: self.address(),
            operation: "SetUser".into(),
            reason: format!("no ONVIF user {username}"),
        })?;
        let body = format!(
            "<tds:SetUser><tds:User><tt:Username>{}</tt:Username><tt:Password>{}</tt:Password><tt:UserLevel>{}</tt:UserLevel></tds:User></tds:SetUser>",
            crate::xml::esc(username),
            crate::xml::esc(password.expose()),
            crate::xml::esc(&level)
        );
        self.set("SetUser", &body).await
    }
}
