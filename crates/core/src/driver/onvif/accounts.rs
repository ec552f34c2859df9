//! ONVIF accounts: a user's password changed with SetUser, the user's level kept; a
//! service account made with CreateUsers, or given its level and password with SetUser.

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

    /// A service account: CreateUsers when the device has none of that name, else
    /// SetUser with the role's level (ONVIF's `User` is the viewer's).
    pub async fn set_account(
        &self,
        name: &str,
        role: crate::site::service::Role,
        password: &crate::secret::Secret,
    ) -> Result<()> {
        let users = match self.read("GetUsers", wire::users).await? {
            Ok(u) => u,
            Err(_) => return Err(Error::Unsupported { address: self.address(), operation: "GetUsers".into() }),
        };
        let level = role.onvif_level();
        let user = format!(
            "<tds:User><tt:Username>{}</tt:Username><tt:Password>{}</tt:Password><tt:UserLevel>{level}</tt:UserLevel></tds:User>",
            crate::xml::esc(name),
            crate::xml::esc(password.expose()),
        );
        if users.iter().any(|(n, _)| n == name) {
            self.set("SetUser", &format!("<tds:SetUser>{user}</tds:SetUser>")).await
        } else {
            self.set("CreateUsers", &format!("<tds:CreateUsers>{user}</tds:CreateUsers>")).await
        }
    }
}
