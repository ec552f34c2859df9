//! Hikvision ISAPI over HTTP(S), as protocols.md §4 describes it: digest
//! authentication with the illegal-login lock, `ResponseStatus` answers, and the
//! hardening-relevant endpoints of §4.4–4.5, each with a real effect on the camera.

mod certs;
mod interface;
mod network;
mod onboarding;
mod system;
mod users;

use roxmltree::Document;

use crate::auth::{self, Verdict};
use crate::camera::Camera;
use crate::http::{After, HttpRequest, Reply};
use crate::state::{AuthType, CameraState, DigestAlgorithms, WebLevel};
use crate::tcp::now_ms;
use crate::xml::el;

const XML: &str = "application/xml; charset=\"UTF-8\"";

/// The ISAPI namespace the camera writes (the fault switch swaps it for the other one).
pub(crate) fn namespace(cam: &Camera, st: &CameraState) -> String {
    let ns = st.identity.isapi_namespace.clone();
    if cam.with_faults(|f| f.foreign_namespace) {
        if ns == crate::profile::NS_ISAPI {
            crate::profile::NS_HIKVISION.into()
        } else {
            crate::profile::NS_ISAPI.into()
        }
    } else {
        ns
    }
}

/// `<Root version="2.0" xmlns="…">inner</Root>` with an XML declaration, CRLF as the
/// firmware writes it.
pub(crate) fn doc(cam: &Camera, st: &CameraState, root: &str, inner: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<{root} version=\"2.0\" xmlns=\"{}\">\r\n{inner}\r\n</{root}>\r\n",
        namespace(cam, st)
    )
}

pub(crate) fn ok_xml(cam: &Camera, st: &CameraState, root: &str, inner: &str) -> Reply {
    Reply::new(200, XML, doc(cam, st, root, inner))
}

/// A `ResponseStatus` answer.
pub fn status_reply(cam: &Camera, http: u16, code: u32, text: &str, sub: &str) -> Reply {
    let st = cam.state();
    status_reply_with(cam, &st, http, code, text, sub, None)
}

pub(crate) fn status_reply_with(
    cam: &Camera,
    st: &CameraState,
    http: u16,
    code: u32,
    text: &str,
    sub: &str,
    id: Option<u32>,
) -> Reply {
    let mut inner = format!(
        "{}\r\n{}\r\n{}\r\n{}",
        el("requestURL", ""),
        el("statusCode", code),
        el("statusString", text),
        el("subStatusCode", sub)
    );
    if let Some(id) = id {
        inner.push_str(&format!("\r\n{}", el("ID", id)));
    }
    Reply::new(http, XML, doc(cam, st, "ResponseStatus", &inner))
}

/// Success of a write; `after` says what follows once the answer is out.
pub(crate) fn ok_status(cam: &Camera, st: &CameraState, after: After) -> Reply {
    status_reply_with(cam, st, 200, 1, "OK", "ok", None).committed(after)
}

/// Accepted, but takes effect at the next reboot (statusCode 7).
pub(crate) fn reboot_required(cam: &Camera, st: &CameraState) -> Reply {
    status_reply_with(cam, st, 200, 7, "Reboot Required", "rebootRequired", None).committed(After::Nothing)
}

pub(crate) fn not_supported(cam: &Camera, st: &CameraState) -> Reply {
    status_reply_with(cam, st, 404, 4, "Invalid Operation", "notSupport", None)
}

pub(crate) fn bad_content(cam: &Camera, st: &CameraState, why: &str) -> Reply {
    tracing::debug!("ISAPI badXmlContent: {why}");
    status_reply_with(cam, st, 400, 6, "Invalid XML Content", "badXmlContent", None)
}

pub(crate) fn bad_format(cam: &Camera, st: &CameraState) -> Reply {
    status_reply_with(cam, st, 400, 5, "Invalid XML Format", "badXmlFormat", None)
}

pub(crate) fn method_not_allowed(cam: &Camera, st: &CameraState) -> Reply {
    status_reply_with(cam, st, 405, 4, "Invalid Operation", "methodNotAllowed", None)
}

pub(crate) fn forbidden(cam: &Camera, st: &CameraState) -> Reply {
    status_reply_with(cam, st, 403, 4, "Invalid Operation", "invalidOperation", None)
}

/// Parse a request body, or answer `badXmlFormat`.
pub(crate) fn parse_body<'a>(cam: &Camera, st: &CameraState, body: &'a str) -> Result<Document<'a>, Reply> {
    crate::xml::parse(body).map_err(|_| bad_format(cam, st))
}

/// Entry point for `/ISAPI/…` and `/SDK/…`.
pub fn handle(cam: &Camera, req: &HttpRequest) -> Reply {
    let path = req.path.trim_end_matches('/');
    if cam.with_faults(|f| f.is_unsupported(path)) {
        let st = cam.state();
        return not_supported(cam, &st);
    }
    // Activation works without credentials, and only while the camera is new.
    if let Some(reply) = onboarding::handle(cam, req, path) {
        return reply;
    }
    let user = match authenticate(cam, req) {
        Ok(u) => u,
        Err(reply) => return reply,
    };
    let mut st = cam.state();
    let level = st.account(&user).and_then(|a| a.web_level).unwrap_or(WebLevel::Viewer);
    if req.method != "GET" && level != WebLevel::Administrator {
        return forbidden(cam, &st);
    }
    let body = req.body_text();
    users::route(cam, &mut st, req, path, &body)
        .or_else(|| interface::route(cam, &mut st, req, path, &body))
        .or_else(|| network::route(cam, &mut st, req, path, &body))
        .or_else(|| system::route(cam, &mut st, req, path, &body))
        .or_else(|| certs::route(cam, &mut st, req, path, &body))
        .unwrap_or_else(|| not_supported(cam, &st))
}

fn challenges(cam: &Camera, st: &CameraState, stale: bool) -> Vec<(&'static str, String)> {
    let nonce = cam.nonce_key.issue(now_ms());
    let stale = if stale { "TRUE" } else { "FALSE" };
    let mut h = Vec::new();
    if matches!(st.digest_algorithms, DigestAlgorithms::Sha256 | DigestAlgorithms::Md5Sha256) {
        h.push((
            "WWW-Authenticate",
            format!(
                "Digest qop=\"auth\", realm=\"{}\", nonce=\"{nonce}\", algorithm=SHA-256, stale=\"{stale}\"",
                cam.realm
            ),
        ));
    }
    if matches!(st.digest_algorithms, DigestAlgorithms::Md5 | DigestAlgorithms::Md5Sha256) {
        h.push((
            "WWW-Authenticate",
            format!("Digest qop=\"auth\", realm=\"{}\", nonce=\"{nonce}\", stale=\"{stale}\"", cam.realm),
        ));
    }
    if st.web_auth == AuthType::DigestBasic {
        h.push(("WWW-Authenticate", format!("Basic realm=\"{}\"", cam.realm)));
    }
    h
}

/// Why a 401 asks for credentials again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Again {
    /// None were sent, or they were wrong: a `userCheck` body.
    Login,
    /// The nonce expired (`stale=TRUE`); not a failed login.
    Stale,
    /// The nonce was used before where the camera does not take that (`stale=FALSE`);
    /// not a failed login.
    Replayed,
}

/// A 401 with a `userCheck` body (lock state and attempts left), as newer firmware sends.
fn unauthorized(
    cam: &Camera,
    st: &CameraState,
    locked_for: Option<u64>,
    attempts_left: Option<u32>,
    why: Again,
) -> Reply {
    let body = if why != Again::Login {
        // A stale nonce is not a failed login: newer firmware says invalidOperation.
        doc(
            cam,
            st,
            "ResponseStatus",
            &format!(
                "{}{}{}",
                el("statusCode", 4),
                el("statusString", "Invalid Operation"),
                el("subStatusCode", "invalidOperation")
            ),
        )
    } else {
        let lock = if locked_for.is_some() { "lock" } else { "unlock" };
        let mut inner = format!(
            "{}{}{}{}{}",
            el("statusValue", 401),
            el("statusString", "Unauthorized"),
            el("isActivated", st.activation.activated),
            el("lockStatus", lock),
            el("unlockTime", locked_for.unwrap_or(0)),
        );
        if let Some(left) = attempts_left {
            inner.push_str(&el("retryLoginTime", left));
        }
        doc(cam, st, "userCheck", &inner)
    };
    let mut reply = Reply::new(401, XML, body);
    for (k, v) in challenges(cam, st, why == Again::Stale) {
        reply = reply.header(k, v);
    }
    reply
}

/// Check the request's credentials against the web users; on failure, the 401 to send.
fn authenticate(cam: &Camera, req: &HttpRequest) -> Result<String, Reply> {
    let mut st = cam.state();
    let peer = req.peer.ip();
    if !st.activation.activated {
        return Err(unauthorized(cam, &st, None, None, Again::Login));
    }
    if let Some(left) = auth::lock_remaining(&mut st, peer) {
        return Err(unauthorized(cam, &st, Some(left), Some(0), Again::Login));
    }
    let basic_allowed = st.web_auth == AuthType::DigestBasic;
    let verdict = verify_http_credentials(cam, &mut st, req, |a| a.web_level.is_some(), basic_allowed);
    match verdict {
        Verdict::Ok(user) => {
            auth::record_success(&mut st, peer);
            Ok(user)
        }
        Verdict::Missing => Err(unauthorized(cam, &st, None, None, Again::Login)),
        Verdict::Stale => Err(unauthorized(cam, &st, None, None, Again::Stale)),
        Verdict::Replayed => Err(unauthorized(cam, &st, None, None, Again::Replayed)),
        Verdict::Locked(s) => Err(unauthorized(cam, &st, Some(s), Some(0), Again::Login)),
        Verdict::Refused => {
            let left = auth::record_failure(&mut st, peer);
            let locked = auth::lock_remaining(&mut st, peer);
            let left = (st.lock.enabled).then_some(left);
            Err(unauthorized(cam, &st, locked, left, Again::Login))
        }
    }
}

/// HTTP digest (and basic where allowed) against the accounts `eligible` selects.
pub(crate) fn verify_http_credentials(
    cam: &Camera,
    st: &mut CameraState,
    req: &HttpRequest,
    eligible: impl Fn(&crate::state::Account) -> bool,
    basic_allowed: bool,
) -> Verdict {
    let Some(header) = req.header("authorization") else {
        return Verdict::Missing;
    };
    if let Some(d) = auth::parse_digest(header) {
        // The nonce is read once: whether it is ours, and how old it is.
        let Some(issued) = cam.nonce_key.issued_at(&d.nonce) else { return Verdict::Stale };
        let age = std::time::Duration::from_millis(now_ms().saturating_sub(issued));
        if age > auth::NONCE_LIFETIME {
            return Verdict::Stale;
        }
        if d.realm != cam.realm || (d.uri != req.uri && d.uri != req.path) {
            return Verdict::Refused;
        }
        let ok = st
            .account(&d.username)
            .filter(|a| eligible(a))
            .is_some_and(|a| auth::digest_matches(&d, &req.method, &a.password));
        return if ok { auth::nonce_use(st, &d, &req.uri, age) } else { Verdict::Refused };
    }
    if let Some((user, pass)) = auth::parse_basic(header) {
        if !basic_allowed {
            // Digest-only firmware ignores basic credentials and challenges again.
            return Verdict::Missing;
        }
        let ok = st.account(&user).filter(|a| eligible(a)).is_some_and(|a| a.password == pass);
        return if ok { Verdict::Ok(user) } else { Verdict::Refused };
    }
    Verdict::Missing
}

/// Whether a path asks for a sub-resource by numeric id: `/ISAPI/Security/users/3` → 3.
pub(crate) fn trailing_id(path: &str, prefix: &str) -> Option<u32> {
    path.strip_prefix(prefix)?.strip_prefix('/')?.parse().ok()
}
