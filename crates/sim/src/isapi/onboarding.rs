//! Activation of a factory-new camera (protocols.md §2.6): the only ISAPI calls that
//! work without credentials.

use super::*;
use crate::activation;
use crate::state::password_strength_error;
use crate::xml::find_text;

pub(super) fn handle(cam: &Camera, req: &HttpRequest, path: &str) -> Option<Reply> {
    let mut st = cam.state();
    let reply = match (req.method.as_str(), path) {
        ("GET", "/SDK/activateStatus") => {
            // Body shape UNCONFIRMED: clients look for a true/false text node.
            ok_xml(cam, &st, "ActivateStatus", &el("Activated", st.activation.activated))
        }
        ("POST", "/ISAPI/Security/challenge") => challenge(cam, &mut st, &req.body_text()),
        ("PUT", "/ISAPI/System/activate") => activate(cam, &mut st, &req.body_text()),
        _ => return None,
    };
    Some(reply)
}

fn challenge(cam: &Camera, st: &mut CameraState, body: &str) -> Reply {
    if st.activation.activated {
        return forbidden(cam, st);
    }
    let doc = match parse_body(cam, st, body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    // Hikvision's web UI sends <PublicKey>, guide-following clients <Challenge>: read the first <key>.
    let Some(key) = find_text(doc.root_element(), "key") else {
        return bad_content(cam, st, "key missing");
    };
    match activation::challenge(&key) {
        Ok((secret, answer)) => {
            st.activation.pending_challenge = Some(secret);
            ok_xml(cam, st, "Challenge", &el("key", answer))
        }
        Err(e) => bad_content(cam, st, &e.to_string()),
    }
}

fn activate(cam: &Camera, st: &mut CameraState, body: &str) -> Reply {
    if st.activation.activated {
        return forbidden(cam, st);
    }
    let doc = match parse_body(cam, st, body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Some(blob) = find_text(doc.root_element(), "password") else {
        return bad_content(cam, st, "password missing");
    };
    // A challenge is good for one attempt.
    let Some(secret) = st.activation.pending_challenge.take() else {
        return forbidden(cam, st);
    };
    let password = match activation::decrypt_password(&secret, &blob) {
        Ok(p) => p,
        Err(e) => return bad_content(cam, st, &e.to_string()),
    };
    if let Some(why) = password_strength_error("admin", &password) {
        return bad_content(cam, st, why);
    }
    if let Some(admin) = st.account_mut("admin") {
        admin.password = password;
    }
    st.activation.activated = true;
    ok_status(cam, st, After::Reconcile)
}
