//! GetUsers, CreateUsers, SetUser, DeleteUsers: all-or-nothing, against the same
//! accounts ISAPI uses, so a password set here is the password everywhere.

use super::*;
use crate::http::After;
use crate::state::{password_strength_error, Account};
use crate::xml::{child_text, children, el};

pub(super) fn dispatch(cam: &Camera, st: &mut CameraState, op: &str, node: Node<'_, '_>) -> Option<Reply> {
    Some(match op {
        "GetUsers" => {
            let users: String = st
                .accounts
                .iter()
                .filter_map(|a| {
                    a.onvif_level.map(|l| {
                        format!(
                            "<tds:User>{}{}</tds:User>",
                            el("tt:Username", &a.username),
                            el("tt:UserLevel", l.as_str())
                        )
                    })
                })
                .collect();
            ok(cam, st, format!("<tds:GetUsersResponse>{users}</tds:GetUsersResponse>"))
        }
        "CreateUsers" => create_users(cam, st, node),
        "SetUser" => set_user(cam, st, node),
        "DeleteUsers" => delete_users(cam, st, node),
        _ => return None,
    })
}

struct UserArg {
    name: String,
    password: Option<String>,
    level: Option<OnvifLevel>,
    level_text: String,
}

fn read_users(node: Node<'_, '_>) -> Vec<UserArg> {
    children(node, "User")
        .map(|u| {
            let level_text = child_text(u, "UserLevel").unwrap_or_default();
            UserArg {
                name: child_text(u, "Username").unwrap_or_default(),
                password: child_text(u, "Password"),
                level: OnvifLevel::parse(&level_text),
                level_text,
            }
        })
        .collect()
}

fn password_fault(cam: &Camera, st: &CameraState, user: &UserArg) -> Option<Reply> {
    let pw = user.password.as_deref().unwrap_or("");
    if pw.chars().count() > 16 {
        return Some(prohibited(cam, st, "PasswordTooLong", "password longer than 16 characters"));
    }
    // Generic cameras only ask for a non-empty password; Hikvision applies its rules.
    let weak = if st.is_hikvision() { password_strength_error(&user.name, pw).is_some() } else { pw.is_empty() };
    weak.then(|| prohibited(cam, st, "PasswordTooWeak", "Too weak password"))
}

fn create_users(cam: &Camera, st: &mut CameraState, node: Node<'_, '_>) -> Reply {
    let users = read_users(node);
    if users.is_empty() {
        return fault_with(cam, st, 400, "env:Sender", "ter:InvalidArgs", None, "no User");
    }
    for (i, u) in users.iter().enumerate() {
        if u.level_text == "Anonymous" {
            return prohibited(cam, st, "AnonymousNotAllowed", "Anonymous users cannot be created");
        }
        if u.name.chars().count() < 1 {
            return prohibited(cam, st, "UsernameTooShort", "user name too short");
        }
        if u.name.chars().count() > 32 {
            return prohibited(cam, st, "UsernameTooLong", "user name too long");
        }
        if st.account(&u.name).is_some_and(|a| a.onvif_level.is_some())
            || users.iter().take(i).any(|o| o.name == u.name)
        {
            return prohibited(cam, st, "UsernameClash", "user exists");
        }
        if u.level.is_none() {
            return fault_with(cam, st, 400, "env:Sender", "ter:InvalidArgs", None, "UserLevel");
        }
        if let Some(f) = password_fault(cam, st, u) {
            return f;
        }
    }
    if st.accounts.iter().filter(|a| a.onvif_level.is_some()).count() + users.len() > 32 {
        return fault_with(cam, st, 500, "env:Receiver", "ter:Action", Some("ter:TooManyUsers"), "too many users");
    }
    for u in users {
        let onvif_id = st.accounts.iter().map(|a| a.onvif_id).max().unwrap_or(0) + 1;
        let id = st.accounts.iter().map(|a| a.id).max().unwrap_or(0) + 1;
        match st.account_mut(&u.name) {
            // A web user of the same name becomes an ONVIF user too.
            Some(a) => {
                a.onvif_level = u.level;
                a.onvif_id = onvif_id;
                a.password = u.password.unwrap_or_default();
            }
            None => st.accounts.push(Account {
                id,
                username: u.name,
                password: u.password.unwrap_or_default(),
                web_level: None,
                onvif_level: u.level,
                onvif_id,
            }),
        }
    }
    ok(cam, st, "<tds:CreateUsersResponse/>").committed(After::Nothing)
}

fn set_user(cam: &Camera, st: &mut CameraState, node: Node<'_, '_>) -> Reply {
    let users = read_users(node);
    if users.is_empty() {
        return fault_with(cam, st, 400, "env:Sender", "ter:InvalidArgs", None, "no User");
    }
    for u in &users {
        let Some(a) = st.account(&u.name).filter(|a| a.onvif_level.is_some()) else {
            return invalid_arg(cam, st, "UsernameMissing", "Username not recognized");
        };
        if u.level_text == "Anonymous" {
            return prohibited(cam, st, "AnonymousNotAllowed", "Anonymous not allowed");
        }
        if a.id == 1 && u.level.is_some_and(|l| l != OnvifLevel::Administrator) {
            return invalid_arg(cam, st, "FixedUser", "the built-in administrator keeps its level");
        }
        // SetUser without Password means "clear the password": too weak for this camera.
        if let Some(f) = password_fault(cam, st, u) {
            return f;
        }
    }
    for u in users {
        if let Some(a) = st.account_mut(&u.name) {
            a.password = u.password.unwrap_or_default();
            if let Some(l) = u.level {
                a.onvif_level = Some(l);
            }
        }
    }
    ok(cam, st, "<tds:SetUserResponse/>").committed(After::Nothing)
}

fn delete_users(cam: &Camera, st: &mut CameraState, node: Node<'_, '_>) -> Reply {
    let names: Vec<String> = children(node, "Username").map(|n| n.text().unwrap_or("").trim().to_string()).collect();
    if names.is_empty() {
        return fault_with(cam, st, 400, "env:Sender", "ter:InvalidArgs", None, "no Username");
    }
    for n in &names {
        match st.account(n).filter(|a| a.onvif_level.is_some()) {
            None => return invalid_arg(cam, st, "UsernameMissing", "Username not recognized"),
            Some(a) if a.id == 1 => {
                return invalid_arg(cam, st, "FixedUser", "the built-in administrator cannot be deleted")
            }
            Some(_) => {}
        }
    }
    for n in names {
        if let Some(a) = st.account_mut(&n) {
            a.onvif_level = None;
        }
        st.accounts.retain(|a| a.onvif_level.is_some() || a.web_level.is_some());
    }
    ok(cam, st, "<tds:DeleteUsersResponse/>").committed(After::Nothing)
}
