//! Device-service operations about the device itself: time, identity, services and
//! capabilities, scopes, reboot and the (deprecated) certificate listing.

use base64::Engine;
use chrono::{Datelike, Timelike};

use super::*;
use crate::http::After;
use crate::state::TimeMode;
use crate::xml::{child_text, el, esc};

pub(super) fn dispatch(
    cam: &Camera,
    st: &mut CameraState,
    req: &HttpRequest,
    package: Option<&super::mtom::Package>,
    op: &str,
    node: Node<'_, '_>,
) -> Option<Reply> {
    Some(match op {
        "GetSystemDateAndTime" => date_and_time(cam, st),
        "SetSystemDateAndTime" => set_date_and_time(cam, st, node),
        "GetDeviceInformation" => {
            let id = &st.identity;
            let body = format!(
                "<tds:GetDeviceInformationResponse>{}{}{}{}{}</tds:GetDeviceInformationResponse>",
                el("tds:Manufacturer", &id.manufacturer),
                el("tds:Model", &id.model),
                el("tds:FirmwareVersion", id.firmware_full()),
                el("tds:SerialNumber", &id.serial),
                el("tds:HardwareId", &id.hardware_id)
            );
            ok(cam, st, body)
        }
        "GetServices" => services(cam, st, req, child_text(node, "IncludeCapability").as_deref() == Some("true")),
        "GetServiceCapabilities" => {
            ok(cam, st, format!("<tds:GetServiceCapabilitiesResponse>{}</tds:GetServiceCapabilitiesResponse>", device_capabilities(st)))
        }
        "GetCapabilities" => capabilities(cam, st, req),
        "GetEndpointReference" => ok(
            cam,
            st,
            format!("<tds:GetEndpointReferenceResponse>{}</tds:GetEndpointReferenceResponse>", el("tds:GUID", format!("urn:uuid:{}", st.identity.endpoint_uuid))),
        ),
        "GetScopes" => scopes(cam, st),
        "SetScopes" => set_scopes(cam, st, node),
        "StartFirmwareUpgrade" => start_firmware_upgrade(cam, st, req),
        "UpgradeSystemFirmware" => upgrade_system_firmware(cam, st, package, node),
        "SystemReboot" => {
            let mut r = ok(cam, st, format!("<tds:SystemRebootResponse>{}</tds:SystemRebootResponse>", el("tds:Message", "Rebooting")));
            r = r.committed(After::Reboot);
            r
        }
        "GetCertificates" => certificates(cam, st),
        "GetCertificatesStatus" => ok(
            cam,
            st,
            "<tds:GetCertificatesStatusResponse><tds:CertificateStatus><tt:CertificateID>server</tt:CertificateID><tt:Status>true</tt:Status></tds:CertificateStatus></tds:GetCertificatesStatusResponse>",
        ),
        _ => return None,
    })
}

fn date_time_xml(tag: &str, t: chrono::DateTime<chrono::Utc>) -> String {
    format!(
        "<tt:{tag}><tt:Time><tt:Hour>{}</tt:Hour><tt:Minute>{}</tt:Minute><tt:Second>{}</tt:Second></tt:Time><tt:Date><tt:Year>{}</tt:Year><tt:Month>{}</tt:Month><tt:Day>{}</tt:Day></tt:Date></tt:{tag}>",
        t.hour(),
        t.minute(),
        t.second(),
        t.year(),
        t.month(),
        t.day()
    )
}

fn device_now(cam: &Camera, st: &CameraState) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now()
        + chrono::Duration::seconds(st.time.manual_offset_s.saturating_add(cam.with_faults(|f| f.clock_skew_s)))
}

fn date_and_time(cam: &Camera, st: &CameraState) -> Reply {
    let now = device_now(cam, st);
    let kind = if st.time.mode == TimeMode::Ntp { "NTP" } else { "Manual" };
    let body = format!(
        "<tds:GetSystemDateAndTimeResponse><tds:SystemDateAndTime>{}{}<tt:TimeZone>{}</tt:TimeZone>{}{}</tds:SystemDateAndTime></tds:GetSystemDateAndTimeResponse>",
        el("tt:DateTimeType", kind),
        el("tt:DaylightSavings", false),
        el("tt:TZ", &st.time.time_zone),
        date_time_xml("UTCDateTime", now),
        date_time_xml("LocalDateTime", now)
    );
    ok(cam, st, body)
}

fn set_date_and_time(cam: &Camera, st: &mut CameraState, node: Node<'_, '_>) -> Reply {
    let kind = child_text(node, "DateTimeType").unwrap_or_default();
    let mode = match kind.as_str() {
        "NTP" => TimeMode::Ntp,
        "Manual" => TimeMode::Manual,
        _ => {
            return fault_with(
                cam,
                st,
                400,
                "env:Sender",
                "ter:InvalidArgs",
                None,
                "DateTimeType must be Manual or NTP",
            )
        }
    };
    if mode == TimeMode::Ntp && st.time.ntp_servers.is_empty() {
        return invalid_arg(cam, st, "NtpServerUndefined", "no NTP server configured");
    }
    let tz = crate::xml::find(node, "TimeZone").and_then(|t| child_text(t, "TZ"));
    if let Some(tz) = &tz {
        if tz.is_empty() || tz.len() > 64 {
            return invalid_arg(cam, st, "InvalidTimeZone", "bad TZ");
        }
    }
    let mut offset = if mode == TimeMode::Ntp { 0 } else { st.time.manual_offset_s };
    if mode == TimeMode::Manual {
        if let Some(utc) = child(node, "UTCDateTime") {
            let num = |parent: &str, name: &str| -> Option<u32> {
                crate::xml::find(utc, parent).and_then(|p| child_text(p, name)).and_then(|v| v.parse().ok())
            };
            let date = match (num("Date", "Year"), num("Date", "Month"), num("Date", "Day")) {
                (Some(y), Some(m), Some(d)) => chrono::NaiveDate::from_ymd_opt(y as i32, m, d),
                _ => None,
            };
            let time = match (num("Time", "Hour"), num("Time", "Minute"), num("Time", "Second")) {
                (Some(h), Some(m), Some(s)) => chrono::NaiveTime::from_hms_opt(h, m, s),
                _ => None,
            };
            let (Some(date), Some(time)) = (date, time) else {
                return invalid_arg(cam, st, "InvalidDateTime", "bad UTCDateTime");
            };
            offset = (date.and_time(time).and_utc() - chrono::Utc::now()).num_seconds();
        }
    }
    st.time.mode = mode;
    st.time.manual_offset_s = offset;
    if let Some(tz) = tz {
        st.time.time_zone = tz;
    }
    ok(cam, st, "<tds:SetSystemDateAndTimeResponse/>").committed(After::Nothing)
}

fn services(cam: &Camera, st: &CameraState, req: &HttpRequest, include_caps: bool) -> Reply {
    let base = req.base_url();
    let caps = |c: String| {
        if include_caps {
            format!("<tds:Capabilities>{c}</tds:Capabilities>")
        } else {
            String::new()
        }
    };
    let device = format!(
        "<tds:Service>{}{}{}<tds:Version><tt:Major>17</tt:Major><tt:Minor>12</tt:Minor></tds:Version></tds:Service>",
        el("tds:Namespace", NS_DEVICE),
        el("tds:XAddr", format!("{base}/onvif/device_service")),
        caps(device_capabilities(st))
    );
    let media = format!(
        "<tds:Service>{}{}{}<tds:Version><tt:Major>2</tt:Major><tt:Minor>60</tt:Minor></tds:Version></tds:Service>",
        el("tds:Namespace", NS_MEDIA),
        el("tds:XAddr", format!("{base}/onvif/Media")),
        caps("<trt:Capabilities SnapshotUri=\"true\" Rotation=\"false\"><trt:ProfileCapabilities MaximumNumberOfProfiles=\"10\"/><trt:StreamingCapabilities RTPMulticast=\"false\" RTP_TCP=\"true\" RTP_RTSP_TCP=\"true\"/></trt:Capabilities>".to_string())
    );
    let security = if st.offers_advanced_security() {
        format!(
            "<tds:Service>{}{}<tds:Version><tt:Major>1</tt:Major><tt:Minor>3</tt:Minor></tds:Version></tds:Service>",
            el("tds:Namespace", super::NS_TAS),
            el("tds:XAddr", format!("{base}{}", super::SECURITY_PATH)),
        )
    } else {
        String::new()
    };
    ok(cam, st, format!("<tds:GetServicesResponse>{device}{media}{security}</tds:GetServicesResponse>"))
}

fn device_capabilities(st: &CameraState) -> String {
    let t = &st.access.tls;
    format!(
        "<tds:Capabilities><tds:Network IPFilter=\"true\" ZeroConfiguration=\"{}\" IPVersion6=\"false\" DynDNS=\"false\" Dot11Configuration=\"false\" HostnameFromDHCP=\"false\" NTP=\"4\"/><tds:Security TLS1.0=\"{}\" TLS1.1=\"{}\" TLS1.2=\"{}\" OnboardKeyGeneration=\"false\" AccessPolicyConfig=\"false\" DefaultAccessPolicy=\"true\" Dot1X=\"false\" RemoteUserHandling=\"false\" X.509Token=\"false\" SAMLToken=\"false\" KerberosToken=\"false\" UsernameToken=\"{}\" HttpDigest=\"{}\" RELToken=\"false\" MaxUsers=\"32\" MaxUserNameLength=\"32\" MaxPasswordLength=\"16\"/><tds:System DiscoveryResolve=\"false\" DiscoveryBye=\"true\" RemoteDiscovery=\"false\" SystemBackup=\"false\" SystemLogging=\"false\" FirmwareUpgrade=\"true\" HttpFirmwareUpgrade=\"true\" HttpSystemBackup=\"false\" HttpSystemLogging=\"false\" HttpSupportInformation=\"false\"/></tds:Capabilities>",
        !st.is_hikvision(),
        t.tls1_0,
        t.tls1_1,
        t.tls1_2,
        st.onvif_auth.allows_wsse(),
        st.onvif_auth.allows_digest()
    )
}

fn capabilities(cam: &Camera, st: &CameraState, req: &HttpRequest) -> Reply {
    let base = req.base_url();
    let device = format!(
        "<tt:Device>{}<tt:Network>{}{}{}{}</tt:Network><tt:System>{}{}{}{}{}{}<tt:SupportedVersions><tt:Major>17</tt:Major><tt:Minor>12</tt:Minor></tt:SupportedVersions></tt:System><tt:Security>{}{}{}{}{}{}{}{}</tt:Security></tt:Device>",
        el("tt:XAddr", format!("{base}/onvif/device_service")),
        el("tt:IPFilter", true),
        el("tt:ZeroConfiguration", !st.is_hikvision()),
        el("tt:IPVersion6", false),
        el("tt:DynDNS", false),
        el("tt:DiscoveryResolve", false),
        el("tt:DiscoveryBye", true),
        el("tt:RemoteDiscovery", false),
        el("tt:SystemBackup", false),
        el("tt:SystemLogging", false),
        el("tt:FirmwareUpgrade", true),
        el("tt:TLS1.1", st.access.tls.tls1_1),
        el("tt:TLS1.2", st.access.tls.tls1_2),
        el("tt:OnboardKeyGeneration", false),
        el("tt:AccessPolicyConfig", false),
        el("tt:X.509Token", false),
        el("tt:SAMLToken", false),
        el("tt:KerberosToken", false),
        el("tt:RELToken", false)
    );
    let media = format!(
        "<tt:Media>{}<tt:StreamingCapabilities>{}{}{}</tt:StreamingCapabilities></tt:Media>",
        el("tt:XAddr", format!("{base}/onvif/Media")),
        el("tt:RTPMulticast", false),
        el("tt:RTP_TCP", true),
        el("tt:RTP_RTSP_TCP", true)
    );
    ok(cam, st, format!("<tds:GetCapabilitiesResponse><tds:Capabilities>{device}{media}</tds:Capabilities></tds:GetCapabilitiesResponse>"))
}

/// The scopes a camera advertises, in WS-Discovery and GetScopes alike.
pub(crate) fn scope_list(st: &CameraState) -> Vec<(String, bool)> {
    let enc = |s: &str| s.replace('%', "%25").replace(' ', "%20");
    let mut v = fixed_scopes(st).into_iter().map(|s| (s, true)).collect::<Vec<_>>();
    match &st.configurable_scopes {
        Some(list) => v.extend(list.iter().map(|s| (s.clone(), false))),
        None => {
            v.push((format!("onvif://www.onvif.org/name/{}", enc(&st.identity.manufacturer)), false));
            v.push(("onvif://www.onvif.org/location/city/site".to_string(), false));
        }
    }
    v
}

fn fixed_scopes(st: &CameraState) -> Vec<String> {
    let enc = |s: &str| s.replace('%', "%25").replace(' ', "%20");
    vec![
        "onvif://www.onvif.org/type/video_encoder".to_string(),
        "onvif://www.onvif.org/Profile/Streaming".to_string(),
        "onvif://www.onvif.org/type/NetworkVideoTransmitter".to_string(),
        format!("onvif://www.onvif.org/hardware/{}", enc(&st.identity.model)),
        format!("onvif://www.onvif.org/MAC/{}", st.identity.mac_colons()),
    ]
}

/// SetScopes replaces every configurable scope (ONVIF Core §8.3.3); a fixed one
/// cannot be overwritten, and the list is bounded like real firmware's.
fn set_scopes(cam: &Camera, st: &mut CameraState, node: Node<'_, '_>) -> Reply {
    let list: Vec<String> =
        crate::xml::children(node, "Scopes").map(|n| n.text().unwrap_or("").trim().to_string()).collect();
    if list.is_empty() || list.len() > 16 || list.iter().any(|s| s.is_empty() || s.len() > 256) {
        return invalid_arg(cam, st, "InvalidArgVal", "Scopes: 1 to 16 URIs");
    }
    let fixed = fixed_scopes(st);
    if list.iter().any(|s| fixed.contains(s)) {
        return super::prohibited(cam, st, "ScopeOverwrite", "a fixed scope cannot be set");
    }
    st.configurable_scopes = Some(list);
    st.metadata_version = st.metadata_version.wrapping_add(1);
    ok(cam, st, "<tds:SetScopesResponse/>").committed(After::Nothing)
}

fn scopes(cam: &Camera, st: &CameraState) -> Reply {
    let items: String = scope_list(st)
        .into_iter()
        .map(|(s, fixed)| {
            format!(
                "<tds:Scopes>{}<tt:ScopeItem>{}</tt:ScopeItem></tds:Scopes>",
                el("tt:ScopeDef", if fixed { "Fixed" } else { "Configurable" }),
                esc(&s)
            )
        })
        .collect();
    ok(cam, st, format!("<tds:GetScopesResponse>{items}</tds:GetScopesResponse>"))
}

fn certificates(cam: &Camera, st: &CameraState) -> Reply {
    let der = st.certs.server.leaf_der().unwrap_or_default();
    let data = base64::engine::general_purpose::STANDARD.encode(der);
    ok(
        cam,
        st,
        format!(
            "<tds:GetCertificatesResponse><tds:NvtCertificate><tt:CertificateID>server</tt:CertificateID><tt:Certificate><tt:Data>{data}</tt:Data></tt:Certificate></tds:NvtCertificate></tds:GetCertificatesResponse>"
        ),
    )
}

/// `StartFirmwareUpgrade`: a one-time address to POST the image to, how long to wait
/// before posting, and how long the device expects to be away (flash and restart).
fn start_firmware_upgrade(cam: &Camera, st: &mut CameraState, req: &HttpRequest) -> Reply {
    let token = format!("{:032x}", rand::random::<u128>());
    st.firmware_upload_token = Some(token.clone());
    let down = (cam.settings.flash_duration + cam.settings.reboot_duration).as_secs().max(1);
    ok(
        cam,
        st,
        format!(
            "<tds:StartFirmwareUpgradeResponse>{}{}{}</tds:StartFirmwareUpgradeResponse>",
            el("tds:UploadUri", format!("{}{}{token}", req.base_url(), super::FIRMWARE_UPLOAD_PATH)),
            el("tds:UploadDelay", "PT1S"),
            el("tds:ExpectedDownTime", format!("PT{down}S"))
        ),
    )
}

/// `UpgradeSystemFirmware`: the image is the MTOM attachment `Firmware/Include` names.
fn upgrade_system_firmware(
    cam: &Camera,
    st: &mut CameraState,
    package: Option<&super::mtom::Package>,
    node: roxmltree::Node<'_, '_>,
) -> Reply {
    let href = crate::xml::find(node, "Include").and_then(|i| i.attribute("href"));
    let Some(image) = href.and_then(|h| package?.attachment(h)) else {
        return super::invalid_arg(cam, st, "InvalidFirmware", "no firmware attachment (send it as MTOM)");
    };
    match crate::firmware::begin(cam, st, image) {
        Ok(()) => {
            let down = (cam.settings.flash_duration + cam.settings.reboot_duration).as_secs().max(1);
            ok(
                cam,
                st,
                format!(
                    "<tds:UpgradeSystemFirmwareResponse>{}</tds:UpgradeSystemFirmwareResponse>",
                    el("tds:Message", format!("Upgrade accepted, restarting within {down} seconds"))
                ),
            )
            .committed(After::Nothing)
        }
        Err(_) => super::invalid_arg(cam, st, "InvalidFirmware", "firmware image refused"),
    }
}

/// The image POSTed to the address `StartFirmwareUpgrade` gave: HTTP digest, an
/// administrator, the token once.
pub(super) fn firmware_upload(cam: &Camera, req: &HttpRequest, token: &str) -> Reply {
    let mut st = cam.state();
    if req.method != "POST" || st.firmware_upload_token.as_deref() != Some(token) {
        return Reply::new(404, "text/plain", "no such upload".into());
    }
    let admin = |a: &crate::state::Account| a.onvif_level == Some(crate::state::OnvifLevel::Administrator);
    match crate::isapi::verify_http_credentials(cam, &mut st, req, admin, false) {
        crate::auth::Verdict::Ok(_) => {}
        crate::auth::Verdict::Missing | crate::auth::Verdict::Replayed => {
            return super::digest_challenge(cam, &st, false)
        }
        crate::auth::Verdict::Stale => return super::digest_challenge(cam, &st, true),
        _ => return Reply::new(401, "text/plain", "not authorized".into()),
    }
    st.firmware_upload_token = None;
    match crate::firmware::begin(cam, &mut st, &req.body) {
        Ok(()) => Reply::new(200, "text/plain", String::new()).committed(After::Nothing),
        Err(_) => Reply::new(415, "text/plain", "firmware image refused".into()),
    }
}
