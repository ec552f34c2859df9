//! System and security settings: deviceInfo, capabilities, time and NTP, the
//! illegal-login lock, web/RTSP authentication type, reboot and configuration backup.

use super::*;
use crate::state::{NtpServer, TimeMode};
use crate::xml::{child_bool, child_text, children, find};

pub(super) fn route(cam: &Camera, st: &mut CameraState, req: &HttpRequest, path: &str, body: &str) -> Option<Reply> {
    let get = req.method == "GET";
    let put = req.method == "PUT";
    Some(match path {
        "/ISAPI/System/deviceInfo" if get => device_info(cam, st),
        "/ISAPI/System/deviceInfo" if put => put_device_info(cam, st, body),
        "/ISAPI/System/capabilities" if get => system_capabilities(cam, st),
        "/ISAPI/Security/capabilities" if get => security_capabilities(cam, st),
        "/ISAPI/System/time" if get => time(cam, st),
        "/ISAPI/System/time" if put => put_time(cam, st, body),
        "/ISAPI/System/time/ntpServers" if get => ntp_servers(cam, st, false),
        "/ISAPI/System/time/ntpServers/1" if get => ntp_servers(cam, st, true),
        "/ISAPI/System/time/ntpServers" | "/ISAPI/System/time/ntpServers/1" if put => put_ntp_servers(cam, st, body),
        "/ISAPI/Security/illegalLoginLock" if get => illegal_login_lock(cam, st),
        "/ISAPI/Security/illegalLoginLock" if put => put_illegal_login_lock(cam, st, body),
        "/ISAPI/Security/webCertificate" if get => auth_type(cam, st, "WebCertificate", st.web_auth),
        "/ISAPI/Security/RTSPCertificate" if get => auth_type(cam, st, "RTSPCertificate", st.rtsp_auth),
        "/ISAPI/Security/webCertificate" | "/ISAPI/Security/RTSPCertificate" if put => {
            put_auth_type(cam, st, body, path.ends_with("RTSPCertificate"))
        }
        "/ISAPI/System/reboot" if put => ok_status(cam, st, After::Reboot),
        "/ISAPI/System/updateFirmware" if put => update_firmware(cam, st, req),
        "/ISAPI/System/upgradeStatus" if get => upgrade_status(cam, st),
        "/ISAPI/System/configurationData" if get => backup(st),
        "/ISAPI/System/configurationData" if put => restore(cam, st, req),
        "/ISAPI/System/deviceInfo"
        | "/ISAPI/System/time"
        | "/ISAPI/System/time/ntpServers"
        | "/ISAPI/Security/illegalLoginLock"
        | "/ISAPI/System/reboot" => method_not_allowed(cam, st),
        _ => return None,
    })
}

fn device_info(cam: &Camera, st: &CameraState) -> Reply {
    let id = &st.identity;
    let inner = format!(
        "{}\r\n{}\r\n{}\r\n{}\r\n{}\r\n{}\r\n{}\r\n{}\r\n{}\r\n{}\r\n{}\r\n{}\r\n{}",
        el("deviceName", &id.device_name),
        el("deviceID", id.endpoint_uuid),
        el("deviceDescription", "IPCamera"),
        el("deviceLocation", "hangzhou"),
        el("model", &id.model),
        el("serialNumber", &id.serial),
        el("macAddress", id.mac_colons()),
        el("firmwareVersion", &id.firmware_version),
        el("firmwareReleasedDate", format!("build {}", id.firmware_build)),
        el("encoderVersion", "V7.3"),
        el("encoderReleasedDate", format!("build {}", id.firmware_build)),
        el("deviceType", &id.device_type),
        el("telecontrolID", 88)
    );
    ok_xml(cam, st, "DeviceInfo", &inner)
}

fn put_device_info(cam: &Camera, st: &mut CameraState, body: &str) -> Reply {
    let doc = match parse_body(cam, st, body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let Some(name) = child_text(doc.root_element(), "deviceName") else {
        return bad_content(cam, st, "deviceName missing");
    };
    if name.is_empty() || name.chars().count() > 32 {
        return bad_content(cam, st, "deviceName must be 1–32 characters");
    }
    st.identity.device_name = name;
    st.metadata_version = st.metadata_version.wrapping_add(1);
    ok_status(cam, st, After::Nothing)
}

fn system_capabilities(cam: &Camera, st: &CameraState) -> Reply {
    let s = &st.services;
    let inner = format!(
        "<SysCap>{}</SysCap><NetworkCap>{}{}{}{}{}</NetworkCap><SecurityCap>{}</SecurityCap>",
        el("isSupportDevice", true),
        el("isSupportTelnet", s.telnet.present),
        el("isSupportSSH", s.ssh.present),
        el("isSupportUPnP", s.upnp.present),
        el("isSupportEZVIZ", s.ezviz.present),
        el("isSupportIPFilter", true),
        el("isSupportUserNums", 16)
    );
    ok_xml(cam, st, "DeviceCap", &inner)
}

fn security_capabilities(cam: &Camera, st: &CameraState) -> Reply {
    let inner = format!(
        "{}{}{}<RSAKeyLength opt=\"1024\" def=\"1024\"/>{}<WebCertificateCap><CertificateType opt=\"digest,digest/basic\"/><SecurityAlgorithm><algorithmType opt=\"MD5,SHA256,MD5/SHA256\"/></SecurityAlgorithm></WebCertificateCap><SecurityLimits><LoginPasswordLenLimit min=\"8\" max=\"16\"/></SecurityLimits>{}",
        el("supportUserNums", 16),
        el("issupIllegalLoginLock", true),
        el("isSupportUserCheck", true),
        el("isSupportONVIFUserManagement", true),
        el("isSupportRTSPCertificate", true)
    );
    ok_xml(cam, st, "SecurityCap", &inner)
}

fn time(cam: &Camera, st: &CameraState) -> Reply {
    let mode = match st.time.mode {
        TimeMode::Ntp => "NTP",
        TimeMode::Manual => "manual",
    };
    let now = cam_now(cam, st);
    let inner = format!(
        "{}{}{}",
        el("timeMode", mode),
        el("localTime", now.format("%Y-%m-%dT%H:%M:%SZ")),
        el("timeZone", &st.time.time_zone)
    );
    ok_xml(cam, st, "Time", &inner)
}

/// The device clock without re-locking the state.
fn cam_now(cam: &Camera, st: &CameraState) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
        + chrono::Duration::seconds(st.time.manual_offset_s.saturating_add(cam.with_faults(|f| f.clock_skew_s)))
}

fn put_time(cam: &Camera, st: &mut CameraState, body: &str) -> Reply {
    let doc = match parse_body(cam, st, body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let root = doc.root_element();
    let mode = match child_text(root, "timeMode").map(|m| m.to_ascii_lowercase()).as_deref() {
        Some("ntp") => TimeMode::Ntp,
        Some("manual") => TimeMode::Manual,
        None => st.time.mode,
        Some(_) => return bad_content(cam, st, "timeMode"),
    };
    if mode == TimeMode::Ntp && st.time.ntp_servers.is_empty() {
        return bad_content(cam, st, "NTP mode without an NTP server");
    }
    if mode == TimeMode::Manual {
        if let Some(t) = child_text(root, "localTime") {
            match chrono::DateTime::parse_from_rfc3339(&t) {
                Ok(t) => st.time.manual_offset_s = (t.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds(),
                Err(_) => return bad_content(cam, st, "localTime"),
            }
        }
    } else {
        // Synchronised: the clock is right again.
        st.time.manual_offset_s = 0;
    }
    if let Some(tz) = child_text(root, "timeZone") {
        if tz.is_empty() || tz.len() > 64 {
            return bad_content(cam, st, "timeZone");
        }
        st.time.time_zone = tz;
    }
    st.time.mode = mode;
    ok_status(cam, st, After::Nothing)
}

fn ntp_server_xml(id: usize, s: &NtpServer) -> String {
    let is_ip = s.host.parse::<std::net::IpAddr>().is_ok();
    let addr = if is_ip { el("ipAddress", &s.host) } else { el("hostName", &s.host) };
    format!(
        "<NTPServer>{}{}{addr}{}{}</NTPServer>",
        el("id", id),
        el("addressingFormatType", if is_ip { "ipaddress" } else { "hostname" }),
        el("portNo", s.port),
        el("synchronizeInterval", s.interval_minutes)
    )
}

fn ntp_servers(cam: &Camera, st: &CameraState, single: bool) -> Reply {
    if single {
        let default = NtpServer { host: String::new(), port: 123, interval_minutes: 1440 };
        let s = st.time.ntp_servers.first().unwrap_or(&default);
        let inner = ntp_server_xml(1, s).replace("<NTPServer>", "").replace("</NTPServer>", "");
        return ok_xml(cam, st, "NTPServer", &inner);
    }
    let list: String = st.time.ntp_servers.iter().enumerate().map(|(i, s)| ntp_server_xml(i + 1, s)).collect();
    ok_xml(cam, st, "NTPServerList", &list)
}

fn put_ntp_servers(cam: &Camera, st: &mut CameraState, body: &str) -> Reply {
    let doc = match parse_body(cam, st, body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let root = doc.root_element();
    let nodes: Vec<_> =
        if root.tag_name().name() == "NTPServer" { vec![root] } else { children(root, "NTPServer").collect() };
    let mut servers = Vec::new();
    for n in nodes {
        let format = child_text(n, "addressingFormatType").unwrap_or_default();
        let host = if format == "hostname" { child_text(n, "hostName") } else { child_text(n, "ipAddress") };
        let Some(host) = host.filter(|h| !h.is_empty() && h.len() <= 64 && !h.contains(char::is_whitespace)) else {
            return bad_content(cam, st, "NTP server address");
        };
        if format != "hostname" && host.parse::<std::net::IpAddr>().is_err() {
            return bad_content(cam, st, "NTP ipAddress");
        }
        let port = child_text(n, "portNo").and_then(|p| p.parse().ok()).unwrap_or(123);
        let interval = child_text(n, "synchronizeInterval").and_then(|p| p.parse().ok()).unwrap_or(1440);
        servers.push(NtpServer { host, port, interval_minutes: interval });
    }
    if servers.len() > 4 {
        return bad_content(cam, st, "at most 4 NTP servers");
    }
    st.time.ntp_servers = servers;
    ok_status(cam, st, After::Nothing)
}

fn illegal_login_lock(cam: &Camera, st: &CameraState) -> Reply {
    let l = st.lock;
    let inner = format!(
        "{}{}{}",
        el("enabled", l.enabled),
        el("maxIllegalLoginTimes", l.max_attempts),
        el("maxIllegalLoginLockTime", l.lock_seconds)
    );
    ok_xml(cam, st, "IllegalLoginLock", &inner)
}

fn put_illegal_login_lock(cam: &Camera, st: &mut CameraState, body: &str) -> Reply {
    let doc = match parse_body(cam, st, body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let root = doc.root_element();
    let Some(enabled) = child_bool(root, "enabled") else {
        return bad_content(cam, st, "enabled missing");
    };
    let attempts = child_text(root, "maxIllegalLoginTimes").map(|t| t.parse::<u32>());
    let seconds = child_text(root, "maxIllegalLoginLockTime").map(|t| t.parse::<u64>());
    let attempts = match attempts {
        Some(Ok(n)) if (3..=20).contains(&n) => n,
        None => st.lock.max_attempts,
        _ => return bad_content(cam, st, "maxIllegalLoginTimes must be 3–20"),
    };
    let seconds = match seconds {
        Some(Ok(n)) if (60..=86_400).contains(&n) => n,
        None => st.lock.lock_seconds,
        _ => return bad_content(cam, st, "maxIllegalLoginLockTime must be 60–86400"),
    };
    st.lock = crate::state::IllegalLoginLock { enabled, max_attempts: attempts, lock_seconds: seconds };
    ok_status(cam, st, After::Nothing)
}

fn auth_type(cam: &Camera, st: &CameraState, root: &str, t: AuthType) -> Reply {
    let inner = format!(
        "{}<SecurityAlgorithm>{}</SecurityAlgorithm>",
        el("CertificateType", t.as_str()),
        el("algorithmType", st.digest_algorithms.as_str())
    );
    ok_xml(cam, st, root, &inner)
}

fn put_auth_type(cam: &Camera, st: &mut CameraState, body: &str, rtsp: bool) -> Reply {
    let doc = match parse_body(cam, st, body) {
        Ok(d) => d,
        Err(r) => return r,
    };
    let root = doc.root_element();
    let Some(t) = child_text(root, "CertificateType").and_then(|t| AuthType::parse(&t)) else {
        return bad_content(cam, st, "CertificateType must be digest or digest/basic");
    };
    let alg = match find(root, "algorithmType").map(|n| n.text().unwrap_or("").trim().to_string()) {
        Some(a) => match DigestAlgorithms::parse(&a) {
            Some(a) => Some(a),
            None => return bad_content(cam, st, "algorithmType"),
        },
        None => None,
    };
    if rtsp {
        st.rtsp_auth = t;
    } else {
        st.web_auth = t;
    }
    if let Some(a) = alg {
        st.digest_algorithms = a;
    }
    ok_status(cam, st, After::Nothing)
}

/// The first bytes of an export: real exports are binary (an encrypted container), so
/// a client that reads one as text corrupts it.
const EXPORT_HEADER: [u8; 8] = [0x48, 0x4b, 0xff, 0xfe, 0x00, 0x01, 0x80, 0x9c];

/// What an export holds (the simulator's: no secrets), read back by an import.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Export {
    model: String,
    serial: String,
    device_name: String,
    services: crate::state::Services,
    admin_accesses: crate::state::AdminAccess,
    web_auth: crate::state::AuthType,
    rtsp_auth: crate::state::AuthType,
    illegal_login_lock: crate::state::IllegalLoginLock,
    time: crate::state::TimeSettings,
    ip_filter: crate::state::IpFilter,
}

/// A configuration import: this camera's own export only (firmware refuses another
/// model's file; this one refuses another unit's too), taking effect at the restart
/// that follows. Accounts are not in the simulator's export and stay as they are. The
/// refusal's subStatusCode spelling is not confirmed from a capture.
fn restore(cam: &Camera, st: &mut CameraState, req: &HttpRequest) -> Reply {
    let export = req.body.strip_prefix(&EXPORT_HEADER[..]).and_then(|json| serde_json::from_slice::<Export>(json).ok());
    let Some(e) = export else {
        return status_reply_with(cam, st, 400, 6, "Invalid Content", "badConfigurationFile", None);
    };
    if e.model != st.identity.model || e.serial != st.identity.serial {
        return status_reply_with(cam, st, 400, 6, "Invalid Content", "deviceMismatch", None);
    }
    st.identity.device_name = e.device_name;
    st.services = e.services;
    st.access = e.admin_accesses;
    st.web_auth = e.web_auth;
    st.rtsp_auth = e.rtsp_auth;
    st.lock = e.illegal_login_lock;
    st.time = e.time;
    st.ip_filter = e.ip_filter;
    ok_status(cam, st, After::Reboot)
}

/// The configuration export. Real firmware encrypts it; the simulator exports a
/// readable summary without secrets (coverage ledger: encryption not simulated).
fn backup(st: &CameraState) -> Reply {
    let summary = serde_json::json!({
        "model": st.identity.model,
        "serial": st.identity.serial,
        "deviceName": st.identity.device_name,
        "firmware": st.identity.firmware_full(),
        "services": st.services,
        "adminAccesses": st.access,
        "webAuth": st.web_auth,
        "rtspAuth": st.rtsp_auth,
        "illegalLoginLock": st.lock,
        "time": st.time,
        "ipFilter": st.ip_filter,
        "users": st.accounts.iter().map(|a| &a.username).collect::<Vec<_>>(),
    });
    let mut bytes = EXPORT_HEADER.to_vec();
    bytes.extend_from_slice(summary.to_string().as_bytes());
    Reply::binary(200, "application/octet-stream", bytes)
}

/// A firmware image, written to flash before the answer goes out on real firmware;
/// here the flash write runs on after the answer, readable through `upgradeStatus`.
/// The refusals' subStatusCode spellings are not confirmed from a capture.
fn update_firmware(cam: &Camera, st: &mut CameraState, req: &HttpRequest) -> Reply {
    use crate::firmware::Refusal;
    match crate::firmware::begin(cam, st, &req.body) {
        Ok(()) => ok_status(cam, st, After::Nothing),
        Err(Refusal::Busy) => forbidden(cam, st),
        Err(Refusal::Damaged) => status_reply_with(cam, st, 400, 6, "Invalid Content", "badUpgradePackage", None),
        Err(Refusal::OtherModel) => {
            status_reply_with(cam, st, 400, 6, "Invalid Content", "upgradePackageMismatch", None)
        }
    }
}

fn upgrade_status(cam: &Camera, st: &CameraState) -> Reply {
    let (upgrading, percent) = match &st.upgrading {
        Some(f) => (true, f.percent()),
        None => (false, 0),
    };
    ok_xml(cam, st, "upgradeStatus", &format!("{}\r\n{}", el("upgrading", upgrading), el("percent", percent)))
}
