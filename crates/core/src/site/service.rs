//! Service accounts: the accounts a site's recorder or VMS logs in with. The site
//! baseline names them with their role (`[[site.service_accounts]]`); apply makes each
//! one that is missing with its own generated password (vault first, like the admin's),
//! rotates them on demand, and never deletes them. Their reading is taken from the
//! device's account list, so the audit needs no extra round trip.

use serde::{Deserialize, Serialize};

use crate::posture::{Posture, Reading, Value};
use crate::setting::Setting;

pub const CONTROL: &str = "SITE-SVC";

/// Least privilege: what a recorder needs, and no more.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Live view, playback and PTZ (a recorder that also steers cameras).
    Operator,
    /// Live view and playback only (a recorder or VMS that records).
    Viewer,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Operator => "operator",
            Role::Viewer => "viewer",
        }
    }

    /// The level a Hikvision web user gets, and its ONVIF twin's type.
    pub fn isapi_levels(self) -> (&'static str, &'static str) {
        match self {
            Role::Operator => ("Operator", "operator"),
            Role::Viewer => ("Viewer", "mediaUser"),
        }
    }

    /// The ONVIF user level (ONVIF's `User` is the viewer's).
    pub fn onvif_level(self) -> &'static str {
        match self {
            Role::Operator => "Operator",
            Role::Viewer => "User",
        }
    }

    /// The role a device's level word stands for (`Operator`, `Viewer`, ONVIF's `User`
    /// and `mediaUser`); `None` for anything else (an administrator is neither).
    pub fn from_level(level: &str) -> Option<Role> {
        match level.trim().to_ascii_lowercase().as_str() {
            "operator" => Some(Role::Operator),
            "viewer" | "user" | "mediauser" => Some(Role::Viewer),
            _ => None,
        }
    }
}

/// One account the site ensures on every device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceAccount {
    pub name: String,
    pub role: Role,
}

impl ServiceAccount {
    /// How the audit lists it: `nvr (operator)`.
    pub fn entry(&self) -> String {
        format!("{} ({})", self.name, self.role.as_str())
    }
}

/// Names a camera takes (Hikvision: up to 16 of letters, digits and `-_.`; ONVIF up to
/// 32), never the built-in administrator's.
pub fn validate(accounts: &[ServiceAccount]) -> Result<(), String> {
    for (i, a) in accounts.iter().enumerate() {
        let ok_chars = a.name.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if a.name.is_empty() || a.name.len() > 16 || !ok_chars {
            return Err(format!(
                "service_accounts: {:?} is not a camera account name (1-16 of letters, digits, - _ .)",
                a.name
            ));
        }
        if a.name.eq_ignore_ascii_case("admin") {
            return Err("service_accounts: admin is the device's administrator, not a service account".into());
        }
        if accounts.iter().take(i).any(|o| o.name.eq_ignore_ascii_case(&a.name)) {
            return Err(format!("service_accounts: {} is named twice", a.name));
        }
    }
    Ok(())
}

/// The service accounts a device has, as `name (role)`, from its account list
/// (`name (Level)` entries); an account with another level reads as that level.
pub fn present(users: &[String], accounts: &[ServiceAccount]) -> Vec<String> {
    users
        .iter()
        .filter_map(|e| {
            let name = super::account_name(e);
            let a = accounts.iter().find(|a| a.name == name)?;
            let level = e.rsplit_once(" (").map(|(_, l)| l.trim_end_matches(')')).unwrap_or_default();
            Some(match Role::from_level(level) {
                Some(role) => format!("{} ({})", a.name, role.as_str()),
                None => format!("{} ({})", a.name, level.to_ascii_lowercase()),
            })
        })
        .collect()
}

/// Add the service-account reading to a posture, from its account list.
pub fn derive(p: &mut Posture, accounts: &[ServiceAccount]) {
    if accounts.is_empty() {
        return;
    }
    let reading = match p.get(Setting::AccountUsers) {
        Some(Reading::Known(Value::List(users))) => Reading::Known(Value::List(present(users, accounts))),
        Some(other) => other.clone(),
        None => return,
    };
    p.set(Setting::AccountService, reading);
}

/// What a device still needs, from the audit's reading: accounts missing, and
/// accounts present with another role.
pub fn missing_and_wrong<'a>(
    observed: Option<&Value>,
    accounts: &'a [ServiceAccount],
) -> (Vec<&'a ServiceAccount>, Vec<&'a ServiceAccount>) {
    let seen: &[String] = match observed {
        Some(Value::List(l)) => l,
        _ => &[],
    };
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    for a in accounts {
        match seen.iter().find(|e| super::account_name(e) == a.name) {
            None => missing.push(a),
            Some(e) if *e != a.entry() => wrong.push(a),
            Some(_) => {}
        }
    }
    (missing, wrong)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nvr() -> ServiceAccount {
        ServiceAccount { name: "nvr".into(), role: Role::Operator }
    }

    #[test]
    fn names_are_checked() {
        assert!(validate(&[nvr()]).is_ok());
        for bad in ["", "admin", "has space", "a-name-that-is-far-too-long", "nvr<x>"] {
            let a = ServiceAccount { name: bad.into(), role: Role::Viewer };
            assert!(validate(&[a]).is_err(), "{bad:?}");
        }
        assert!(validate(&[nvr(), nvr()]).unwrap_err().contains("twice"));
    }

    #[test]
    fn the_reading_names_each_service_account_with_its_role_in_the_sites_words() {
        let users = vec!["nvr (Operator)".to_string(), "vms (User)".into(), "guest (Viewer)".into()];
        let accounts = [nvr(), ServiceAccount { name: "vms".into(), role: Role::Operator }];
        assert_eq!(present(&users, &accounts), ["nvr (operator)", "vms (viewer)"]);
        let observed = Value::List(present(&users, &accounts));
        let (missing, wrong) = missing_and_wrong(Some(&observed), &accounts);
        assert!(missing.is_empty());
        assert_eq!(wrong.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["vms"]);
        let (missing, _) = missing_and_wrong(Some(&Value::List(Vec::new())), &accounts);
        assert_eq!(missing.len(), 2);
        // An administrator of that name is not the service account.
        assert_eq!(present(&["nvr (Administrator)".to_string()], &[nvr()]), ["nvr (administrator)"]);
    }
}
