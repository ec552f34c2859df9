//! `/ISAPI/Security/users`, `/ISAPI/Security/ONVIF/users` and `/ISAPI/Security/userCheck`.

use super::*;
use crate::state::{password_strength_error, Account, OnvifLevel};
use crate::xml::{child_text, find};

pub(super) fn route(cam: &Camera, st: &mut CameraState, req: &HttpRequest, path: &str, body: &str) -> Option<Reply> {
    let m = req.method.as_str();
    Some(match path {
        "/ISAPI/Security/userCheck" => user_check(cam, st),
        "/ISAPI/Security/users" => match m {
            "GET" => web_user_list(cam, st),
            "POST" => add_web_user(cam, st, body),
            _ => method_not_allowed(cam, st),
        },
        "/ISAPI/Security/ONVIF/users" => match m {
            "GET" => onvif_user_list(cam, st),
            "POST" | "PUT" => upsert_onvif_users(cam, st, body),
            _ => method_not_allowed(cam, st),
        },
        p => {
            if let Some(id) = trailing_id(p, "/ISAPI/Security/users") {
                match m {
                    "GET" => web_user(cam, st, id),
                    "PUT" => put_web_user(cam, st, id, body),
                    "DELETE" => delete_web_user(cam, st, id),
                    _ => method_not_allowed(cam, st),
                }
            } else if let Some(id) = trailing_id(p, "/ISAPI/Security/ONVIF/users") {
                match m {
                    "PUT" => upsert_onvif_users(cam, st, body),
                    "DELETE" => delete_onvif_user(cam, st, id),
                    _ => method_not_allowed(cam, st),
                }
            } else {
                return None;
            }
        }
    })
}

fn user_check(cam: &Camera, st: &CameraState) -> Reply {
    let admin = st.account("admin");
    let is_default = admin.is_some_and(|a| a.password == "12345");
    let is_risk = admin.is_some_and(|a| password_strength_error(&a.username, &a.password).is_some());
    let inner = format!(
        "{}{}{}{}{}",
        el("statusValue", 200),
        el("statusString", "OK"),
        el("isDefaultPassword", is_default),
        el("isRiskPassword", is_risk),
        el("isActivated", st.activation.activated)
    );
    ok_xml(cam, st, "userCheck", &inner)
}

fn web_user_xml(a: &Account) -> String {
    format!(
        "<User>{}{}{}</User>",
        el("id", a.id),
        el("userName", &a.username),
        el("userLevel", a.web_level.map(WebLevel::as_str).unwrap_or("Viewer"))
    )
}

fn web_user_list(cam: &Camera, st: &CameraState) -> Reply {
    let users: String = st.accounts.iter().filter(|a| a.web_level.is_some()).map(web_user_xml).collect();
    ok_xml(cam, st, "UserList", &users)
}

fn web_user(cam: &Camera, st: &CameraState, id: u32) -> Reply {
    match st.accounts.iter().find(|a| a.id == id && a.web_level.is_some()) {
        Some(a) => {
            Reply::new(200, XML, doc(cam, st, "User", &web_user_xml(a).replace("<User>", "").replace("</User>", "")))
        }
        None => not_supported(cam, st),
    }
}

fn put_web_user(cam: &Camera, st: &mut CameraState, id: u32, body: &str) -> Reply {
    let doc = match parse_body(cam, st, body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Some(user) = find(doc.root_element(), "User") else {
        return bad_content(cam, st, "no User");
    };
    let Some(idx) = st.accounts.iter().position(|a| a.id == id && a.web_level.is_some()) else {
        return not_supported(cam, st);
    };
    let current_name = st.accounts.get(idx).map(|a| a.username.clone()).unwrap_or_default();
    let name = child_text(user, "userName").unwrap_or_else(|| current_name.clone());
    if id == 1 && name != current_name {
        return bad_content(cam, st, "the built-in admin cannot be renamed");
    }
    let level = match child_text(user, "userLevel") {
        Some(l) => match WebLevel::parse(&l) {
            Some(l) if id != 1 || l == WebLevel::Administrator => Some(l),
            _ => return bad_content(cam, st, "bad userLevel"),
        },
        None => None,
    };
    let password = child_text(user, "password");
    if let Some(pw) = &password {
        if let Some(why) = password_strength_error(&name, pw) {
            return bad_content(cam, st, why);
        }
    }
    if let Some(a) = st.accounts.get_mut(idx) {
        a.username = name;
        if let Some(l) = level {
            a.web_level = Some(l);
        }
        if let Some(pw) = password {
            a.password = pw;
        }
    }
    ok_status(cam, st, After::Nothing)
}

fn add_web_user(cam: &Camera, st: &mut CameraState, body: &str) -> Reply {
    let doc = match parse_body(cam, st, body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Some(user) = find(doc.root_element(), "User") else {
        return bad_content(cam, st, "no User");
    };
    let (Some(name), Some(pw)) = (child_text(user, "userName"), child_text(user, "password")) else {
        return bad_content(cam, st, "userName and password are required");
    };
    let level = child_text(user, "userLevel").and_then(|l| WebLevel::parse(&l)).unwrap_or(WebLevel::Viewer);
    if name.is_empty() || st.account(&name).is_some() {
        return bad_content(cam, st, "user name empty or taken");
    }
    if let Some(why) = password_strength_error(&name, &pw) {
        return bad_content(cam, st, why);
    }
    if st.accounts.iter().filter(|a| a.web_level.is_some()).count() >= 16 {
        return status_reply_with(cam, st, 400, 6, "Invalid XML Content", "maxUserNumExceed", None);
    }
    let id = (2..=32).find(|i| !st.accounts.iter().any(|a| a.id == *i)).unwrap_or(32);
    st.accounts.push(Account {
        id,
        username: name,
        password: pw,
        web_level: Some(level),
        onvif_level: None,
        onvif_id: 0,
    });
    status_reply_with(cam, st, 200, 1, "OK", "ok", Some(id)).committed(After::Nothing)
}

fn delete_web_user(cam: &Camera, st: &mut CameraState, id: u32) -> Reply {
    if id == 1 {
        return forbidden(cam, st);
    }
    let Some(idx) = st.accounts.iter().position(|a| a.id == id && a.web_level.is_some()) else {
        return not_supported(cam, st);
    };
    // An account that is also an ONVIF user stays as one.
    let remove = st.accounts.get(idx).is_some_and(|a| a.onvif_level.is_none());
    if remove {
        st.accounts.remove(idx);
    } else if let Some(a) = st.accounts.get_mut(idx) {
        a.web_level = None;
    }
    ok_status(cam, st, After::Nothing)
}

fn onvif_user_list(cam: &Camera, st: &CameraState) -> Reply {
    let users: String = st
        .accounts
        .iter()
        .filter_map(|a| {
            a.onvif_level.map(|l| {
                format!(
                    "<User>{}{}{}</User>",
                    el("id", a.onvif_id),
                    el("userName", &a.username),
                    el("userType", l.isapi_type())
                )
            })
        })
        .collect();
    ok_xml(cam, st, "UserList", &users)
}

/// Create or modify ONVIF users from a `UserList` or a single `User` (both are seen).
fn upsert_onvif_users(cam: &Camera, st: &mut CameraState, body: &str) -> Reply {
    let doc = match parse_body(cam, st, body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let users: Vec<_> = doc.descendants().filter(|n| n.is_element() && n.tag_name().name() == "User").collect();
    if users.is_empty() {
        return bad_content(cam, st, "no User");
    }
    // Validate everything first: the change is all-or-nothing.
    let mut changes = Vec::new();
    for u in users {
        let Some(name) = child_text(u, "userName").filter(|n| !n.is_empty()) else {
            return bad_content(cam, st, "userName missing");
        };
        let level = match child_text(u, "userType") {
            Some(t) => match OnvifLevel::parse(&t) {
                Some(l) => Some(l),
                None => return bad_content(cam, st, "bad userType"),
            },
            None => None,
        };
        let password = child_text(u, "password");
        if let Some(pw) = &password {
            if let Some(why) = password_strength_error(&name, pw) {
                return bad_content(cam, st, why);
            }
        }
        let exists = st.account(&name).is_some_and(|a| a.onvif_level.is_some());
        if !exists && password.is_none() {
            return bad_content(cam, st, "a new ONVIF user needs a password");
        }
        changes.push((name, level, password));
    }
    for (name, level, password) in changes {
        let next_onvif_id = st.accounts.iter().map(|a| a.onvif_id).max().unwrap_or(0) + 1;
        let next_id = st.accounts.iter().map(|a| a.id).max().unwrap_or(0) + 1;
        match st.account_mut(&name) {
            Some(a) => {
                if a.onvif_level.is_none() {
                    a.onvif_id = next_onvif_id;
                }
                a.onvif_level = level.or(a.onvif_level).or(Some(OnvifLevel::User));
                if let Some(pw) = password {
                    a.password = pw;
                }
            }
            None => st.accounts.push(Account {
                id: next_id,
                username: name,
                password: password.unwrap_or_default(),
                web_level: None,
                onvif_level: level.or(Some(OnvifLevel::User)),
                onvif_id: next_onvif_id,
            }),
        }
    }
    ok_status(cam, st, After::Nothing)
}

fn delete_onvif_user(cam: &Camera, st: &mut CameraState, id: u32) -> Reply {
    let Some(idx) = st.accounts.iter().position(|a| a.onvif_id == id && a.onvif_level.is_some()) else {
        return not_supported(cam, st);
    };
    let remove = st.accounts.get(idx).is_some_and(|a| a.web_level.is_none());
    if remove {
        st.accounts.remove(idx);
    } else if let Some(a) = st.accounts.get_mut(idx) {
        a.onvif_level = None;
    }
    ok_status(cam, st, After::Nothing)
}
