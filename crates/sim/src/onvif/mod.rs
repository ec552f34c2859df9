//! The ONVIF device service (SOAP 1.2 over HTTP) as protocols.md §3 describes it:
//! dispatch on the Body's first element (npm onvif sends no SOAPAction header), HTTP
//! digest or WS-Security UsernameToken against the ONVIF users, access classes, and
//! proper SOAP faults.

mod interface;
mod mtom;
mod network;
mod security;
mod system;
mod users;

pub use security::{NS_TAS, PATH as SECURITY_PATH};

use roxmltree::Node;

use crate::auth::{self, UsernameToken, Verdict};
use crate::camera::Camera;
use crate::http::{HttpRequest, Reply};
use crate::state::{CameraState, OnvifLevel, Vendor};
use crate::xml::{child, child_text, find};

pub const NS_SOAP: &str = "http://www.w3.org/2003/05/soap-envelope";
pub const NS_DEVICE: &str = "http://www.onvif.org/ver10/device/wsdl";
pub const NS_MEDIA: &str = "http://www.onvif.org/ver10/media/wsdl";
pub const NS_SCHEMA: &str = "http://www.onvif.org/ver10/schema";
pub const NS_ERROR: &str = "http://www.onvif.org/ver10/error";

const SOAP_CT: &str = "application/soap+xml; charset=utf-8";
/// Where `StartFirmwareUpgrade` tells the client to POST the image (a one-time token follows).
pub const FIRMWARE_UPLOAD_PATH: &str = "/onvif/firmware-upload/";

/// What an operation needs (ONVIF Core access classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Access {
    PreAuth,
    ReadSystem,
    ReadSecret,
    Write,
}

fn access_class(op: &str) -> Access {
    match op {
        "GetSystemDateAndTime"
        | "GetServices"
        | "GetServiceCapabilities"
        | "GetCapabilities"
        | "GetEndpointReference"
        | "GetWsdlUrl" => Access::PreAuth,
        "GetUsers" | "GetCertificates" | "GetCertificatesStatus" => Access::ReadSecret,
        // Advanced Security: the keystore's contents are READ_SYSTEM_SECRET.
        "GetKeyStatus"
        | "GetPrivateKeyStatus"
        | "GetAllKeys"
        | "GetCertificate"
        | "GetAllCertificates"
        | "GetCertificationPath"
        | "GetAllCertificationPaths"
        | "GetAssignedServerCertificates" => Access::ReadSecret,
        "StartFirmwareUpgrade" | "UpgradeSystemFirmware" => Access::Write,
        _ if is_write_op(op) => Access::Write,
        _ => Access::ReadSystem,
    }
}

fn is_write_op(op: &str) -> bool {
    ["Set", "Create", "Delete", "Add", "Remove", "Load", "Upload", "Replace", "SystemReboot"]
        .iter()
        .any(|p| op.starts_with(p))
}

/// Whether a request changes state (for the write faults). A quick scan for the first
/// element inside `Body`, not a parse: it runs on every request, and `handle` parses
/// the body properly anyway.
pub fn is_write(req: &HttpRequest) -> bool {
    is_write_body(req.body.as_ref())
}

fn is_write_body(text: &[u8]) -> bool {
    let mut in_body = false;
    let mut i = 0;
    while let Some(lt) = text.get(i..).and_then(|r| r.iter().position(|b| *b == b'<')) {
        let start = i + lt + 1;
        i = start;
        let name: Vec<u8> =
            text.get(start..).unwrap_or_default().iter().take_while(|b| !b" \t\r\n/>".contains(b)).copied().collect();
        // Closing tags, comments and declarations are not opening elements.
        if name.is_empty() || matches!(text.get(start), Some(b'/' | b'!' | b'?')) {
            continue;
        }
        let local = name.rsplit(|b| *b == b':').next().unwrap_or_default();
        if in_body {
            return std::str::from_utf8(local).is_ok_and(is_write_op);
        }
        in_body = local == b"Body";
    }
    false
}

/// The envelope style: the Hikvision stack writes `env:`, gSOAP-based firmware `SOAP-ENV:`.
fn env_prefix(cam: &Camera, st: &CameraState) -> &'static str {
    let gsoap = st.identity.vendor == Vendor::Generic;
    if gsoap != cam.with_faults(|f| f.foreign_namespace) {
        "SOAP-ENV"
    } else {
        "env"
    }
}

pub(crate) fn envelope(cam: &Camera, st: &CameraState, body: &str) -> String {
    let env = env_prefix(cam, st);
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\r\n<{env}:Envelope xmlns:{env}=\"{NS_SOAP}\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" xmlns:xs=\"http://www.w3.org/2001/XMLSchema\" xmlns:tt=\"{NS_SCHEMA}\" xmlns:tds=\"{NS_DEVICE}\" xmlns:trt=\"{NS_MEDIA}\" xmlns:ter=\"{NS_ERROR}\" xmlns:tas=\"{NS_TAS}\"><{env}:Body>{body}</{env}:Body></{env}:Envelope>\r\n"
    )
}

pub(crate) fn ok(cam: &Camera, st: &CameraState, body: impl AsRef<str>) -> Reply {
    Reply::new(200, SOAP_CT, envelope(cam, st, body.as_ref()))
}

/// A SOAP 1.2 fault: `code` is `env:Sender`/`env:Receiver`, then one or two subcodes.
pub fn fault_reply(cam: &Camera, http: u16, code: &str, sub: &str, sub2: Option<&str>, reason: &str) -> Reply {
    let st = cam.state();
    fault_with(cam, &st, http, code, sub, sub2, reason)
}

pub(crate) fn fault_with(
    cam: &Camera,
    st: &CameraState,
    http: u16,
    code: &str,
    sub: &str,
    sub2: Option<&str>,
    reason: &str,
) -> Reply {
    let env = env_prefix(cam, st);
    let code = code.replace("env:", &format!("{env}:"));
    let inner = match sub2 {
        Some(s2) => format!("<{env}:Subcode><{env}:Value>{sub}</{env}:Value><{env}:Subcode><{env}:Value>{s2}</{env}:Value></{env}:Subcode></{env}:Subcode>"),
        None => format!("<{env}:Subcode><{env}:Value>{sub}</{env}:Value></{env}:Subcode>"),
    };
    let body = format!(
        "<{env}:Fault><{env}:Code><{env}:Value>{code}</{env}:Value>{inner}</{env}:Code><{env}:Reason><{env}:Text xml:lang=\"en\">{}</{env}:Text></{env}:Reason></{env}:Fault>",
        crate::xml::esc(reason)
    );
    Reply::new(http, SOAP_CT, envelope(cam, st, &body))
}

pub(crate) fn invalid_arg(cam: &Camera, st: &CameraState, sub2: &str, reason: &str) -> Reply {
    fault_with(cam, st, 400, "env:Sender", "ter:InvalidArgVal", Some(&format!("ter:{sub2}")), reason)
}

pub(crate) fn prohibited(cam: &Camera, st: &CameraState, sub2: &str, reason: &str) -> Reply {
    fault_with(cam, st, 400, "env:Sender", "ter:OperationProhibited", Some(&format!("ter:{sub2}")), reason)
}

fn not_supported(cam: &Camera, st: &CameraState, op: &str) -> Reply {
    use crate::faults::UnsupportedStyle;
    let reason = format!("Action not supported: {op}");
    let env = env_prefix(cam, st);
    let bare = |detail: &str| {
        let body = format!(
            "<{env}:Fault><{env}:Code><{env}:Value>{env}:Receiver</{env}:Value></{env}:Code><{env}:Reason><{env}:Text xml:lang=\"en\">{}</{env}:Text></{env}:Reason>{detail}</{env}:Fault>",
            crate::xml::esc(&reason)
        );
        Reply::new(500, SOAP_CT, envelope(cam, st, &body))
    };
    match cam.with_faults(|f| f.unsupported_style) {
        UnsupportedStyle::Subcode => fault_with(cam, st, 500, "env:Receiver", "ter:ActionNotSupported", None, &reason),
        UnsupportedStyle::InDetail => bare(&format!(
            "<{env}:Detail><ter:fault><ter:subcode>ter:ActionNotSupported</ter:subcode></ter:fault></{env}:Detail>"
        )),
        UnsupportedStyle::ReasonOnly => bare(""),
        UnsupportedStyle::Http405 => Reply::new(405, "text/plain", String::new()),
    }
}

fn not_authorized(cam: &Camera, st: &CameraState) -> Reply {
    fault_with(cam, st, 400, "env:Sender", "ter:NotAuthorized", None, "Sender not Authorized")
}

/// Entry point for `/onvif/…`.
pub fn handle(cam: &Camera, req: &HttpRequest) -> Reply {
    if let Some(token) = req.path.strip_prefix(FIRMWARE_UPLOAD_PATH) {
        return system::firmware_upload(cam, req, token);
    }
    let package = match mtom::read(req) {
        Ok(p) => p,
        Err(reason) => return fault_reply(cam, 400, "env:Sender", "ter:WellFormed", None, &reason),
    };
    let text = match &package {
        Some(p) => String::from_utf8_lossy(&p.root),
        None => req.body_text(),
    };
    let doc = match crate::xml::parse(&text) {
        Ok(d) => d,
        Err(_) => return fault_reply(cam, 400, "env:Sender", "ter:WellFormed", None, "Well-formed Error"),
    };
    let root = doc.root_element();
    if root.tag_name().name() != "Envelope" || root.tag_name().namespace() != Some(NS_SOAP) {
        return fault_reply(
            cam,
            400,
            "env:VersionMismatch",
            "ter:WrongSOAPVersion",
            None,
            "SOAP 1.2 envelope expected",
        );
    }
    let Some(body) = child(root, "Body") else {
        return fault_reply(cam, 400, "env:Sender", "ter:InvalidArgs", None, "no Body");
    };
    let Some(op_node) = body.children().find(|n| n.is_element()) else {
        return fault_reply(cam, 400, "env:Sender", "ter:InvalidArgs", None, "empty Body");
    };
    let op = op_node.tag_name().name().to_string();
    let mut st = cam.state();
    if cam.with_faults(|f| f.is_unsupported(&op)) {
        return not_supported(cam, &st, &op);
    }
    let mut need = access_class(&op);
    if need == Access::PreAuth && op != "GetSystemDateAndTime" && cam.with_faults(|f| f.guarded_pre_auth) {
        need = Access::ReadSystem;
    }
    let user = match authenticate(cam, &mut st, req, root, need) {
        Ok(u) => u,
        Err(reply) => return reply,
    };
    let ns = op_node.tag_name().namespace().unwrap_or("");
    if ns == NS_TAS && st.offers_advanced_security() {
        return security::dispatch(cam, &mut st, &op, op_node).unwrap_or_else(|| not_supported(cam, &st, &op));
    }
    if ns != NS_DEVICE {
        // Only the device service is simulated; media and the rest answer like an
        // optional service the firmware lacks.
        return not_supported(cam, &st, &op);
    }
    let _ = user;
    system::dispatch(cam, &mut st, req, package.as_ref(), &op, op_node)
        .or_else(|| network::dispatch(cam, &mut st, &op, op_node))
        .or_else(|| interface::dispatch(cam, &mut st, &op, op_node))
        .or_else(|| users::dispatch(cam, &mut st, &op, op_node))
        .unwrap_or_else(|| not_supported(cam, &st, &op))
}

fn username_token(envelope: Node<'_, '_>) -> Option<UsernameToken> {
    let header = child(envelope, "Header")?;
    let token = find(header, "UsernameToken")?;
    let password = child(token, "Password")?;
    Some(UsernameToken {
        username: child_text(token, "Username").unwrap_or_default(),
        password: password.text().unwrap_or("").trim().to_string(),
        password_is_digest: password.attribute("Type").is_some_and(|t| t.ends_with("#PasswordDigest")),
        nonce_b64: child_text(token, "Nonce").unwrap_or_default(),
        created: child_text(token, "Created").unwrap_or_default(),
    })
}

fn level_allows(level: OnvifLevel, need: Access) -> bool {
    match level {
        OnvifLevel::Administrator => true,
        OnvifLevel::Operator => need <= Access::ReadSystem,
        OnvifLevel::User => need <= Access::ReadSystem,
    }
}

/// Authenticate an ONVIF call. HTTP credentials are checked first (Core), then the
/// UsernameToken; PRE_AUTH operations need neither.
fn authenticate(
    cam: &Camera,
    st: &mut CameraState,
    req: &HttpRequest,
    envelope: Node<'_, '_>,
    need: Access,
) -> Result<Option<String>, Reply> {
    if need == Access::PreAuth {
        return Ok(None);
    }
    let peer = req.peer.ip();
    if auth::lock_remaining(st, peer).is_some() {
        return Err(not_authorized(cam, st));
    }
    let mode = st.onvif_auth;
    let verdict = if req.header("authorization").is_some() && mode.allows_digest() {
        crate::isapi::verify_http_credentials(cam, st, req, |a| a.onvif_level.is_some(), false)
    } else if let Some(token) = username_token(envelope).filter(|_| mode.allows_wsse()) {
        let now = chrono::Utc::now()
            + chrono::Duration::seconds(st.time.manual_offset_s.saturating_add(cam.with_faults(|f| f.clock_skew_s)));
        if auth::check_wsse(st, &token, now) {
            Verdict::Ok(token.username)
        } else {
            Verdict::Refused
        }
    } else {
        Verdict::Missing
    };
    match verdict {
        Verdict::Ok(user) => {
            auth::record_success(st, peer);
            let level = st.account(&user).and_then(|a| a.onvif_level).unwrap_or(OnvifLevel::User);
            if level_allows(level, need) {
                Ok(Some(user))
            } else {
                Err(not_authorized(cam, st))
            }
        }
        Verdict::Missing | Verdict::Stale | Verdict::Replayed if mode.allows_digest() => {
            Err(digest_challenge(cam, st, verdict == Verdict::Stale))
        }
        Verdict::Missing | Verdict::Stale | Verdict::Replayed | Verdict::Locked(_) => Err(not_authorized(cam, st)),
        Verdict::Refused => {
            auth::record_failure(st, peer);
            if req.header("authorization").is_some() {
                Err(digest_challenge(cam, st, false))
            } else {
                Err(not_authorized(cam, st))
            }
        }
    }
}

pub(super) fn digest_challenge(cam: &Camera, st: &CameraState, stale: bool) -> Reply {
    let nonce = cam.nonce_key.issue(crate::tcp::now_ms());
    let stale = if stale { "TRUE" } else { "FALSE" };
    let mut r = fault_with(cam, st, 401, "env:Sender", "ter:NotAuthorized", None, "Sender not Authorized");
    r = r.header(
        "WWW-Authenticate",
        format!("Digest qop=\"auth\", realm=\"{}\", nonce=\"{nonce}\", stale=\"{stale}\"", cam.realm),
    );
    r
}

/// The scope URIs a camera advertises (WS-Discovery and GetScopes agree).
pub fn scopes_of(st: &CameraState) -> Vec<String> {
    system::scope_list(st).into_iter().map(|(s, _)| s).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_quick_scan_classifies_writes_like_a_parse_would() {
        let write = br#"<?xml version="1.0"?><s:Envelope xmlns:s="x"><s:Header><a>Body</a></s:Header><s:Body><tds:SetUser><x/></tds:SetUser></s:Body></s:Envelope>"#;
        let read = br#"<s:Envelope xmlns:s="x"><s:Body>
  <GetUsers xmlns="y"/></s:Body></s:Envelope>"#;
        assert!(is_write_body(write));
        assert!(!is_write_body(read));
        assert!(!is_write_body(b"garbage"));
        assert!(!is_write_body(b"<Body>"));
    }
}
