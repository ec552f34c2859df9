//! A camera's accounts and how it authenticates them: user levels, the auth types and
//! digest algorithms it offers, what it does with a reused digest nonce, the login lock,
//! and the vendor's password rule. Part of [`super`]'s plain-data state.

use std::time::Instant;

use serde::Serialize;

/// ISAPI web-user levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum WebLevel {
    Administrator,
    Operator,
    Viewer,
}

impl WebLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            WebLevel::Administrator => "Administrator",
            WebLevel::Operator => "Operator",
            WebLevel::Viewer => "Viewer",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "administrator" | "admin" => Some(WebLevel::Administrator),
            "operator" => Some(WebLevel::Operator),
            "viewer" | "user" => Some(WebLevel::Viewer),
            _ => None,
        }
    }
}

/// ONVIF user levels (tt:UserLevel).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum OnvifLevel {
    Administrator,
    Operator,
    User,
}

impl OnvifLevel {
    pub fn as_str(self) -> &'static str {
        match self {
            OnvifLevel::Administrator => "Administrator",
            OnvifLevel::Operator => "Operator",
            OnvifLevel::User => "User",
        }
    }
    /// ISAPI `/Security/ONVIF/users` spelling.
    pub fn isapi_type(self) -> &'static str {
        match self {
            OnvifLevel::Administrator => "administrator",
            OnvifLevel::Operator => "operator",
            OnvifLevel::User => "mediaUser",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "administrator" => Some(OnvifLevel::Administrator),
            "operator" => Some(OnvifLevel::Operator),
            "user" | "mediauser" => Some(OnvifLevel::User),
            _ => None,
        }
    }
}

/// One account. A Hikvision camera keeps web users and ONVIF users in separate lists;
/// an account can be in either or both (the simulated `admin` is in both, so one
/// password change is seen by both protocols).
#[derive(Debug, Clone)]
pub struct Account {
    pub id: u32,
    pub username: String,
    pub password: String,
    pub web_level: Option<WebLevel>,
    pub onvif_level: Option<OnvifLevel>,
    pub onvif_id: u32,
}

/// Whether basic authentication is still allowed next to digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum AuthType {
    Digest,
    DigestBasic,
}

impl AuthType {
    pub fn as_str(self) -> &'static str {
        match self {
            AuthType::Digest => "digest",
            AuthType::DigestBasic => "digest/basic",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "digest" => Some(AuthType::Digest),
            "digest/basic" | "basic/digest" => Some(AuthType::DigestBasic),
            _ => None,
        }
    }
}

/// Digest algorithms offered in 401 challenges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum DigestAlgorithms {
    Md5,
    Sha256,
    Md5Sha256,
}

impl DigestAlgorithms {
    pub fn as_str(self) -> &'static str {
        match self {
            DigestAlgorithms::Md5 => "MD5",
            DigestAlgorithms::Sha256 => "SHA256",
            DigestAlgorithms::Md5Sha256 => "MD5/SHA256",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_uppercase().replace('-', "").as_str() {
            "MD5" => Some(DigestAlgorithms::Md5),
            "SHA256" => Some(DigestAlgorithms::Sha256),
            "MD5/SHA256" | "SHA256/MD5" => Some(DigestAlgorithms::Md5Sha256),
            _ => None,
        }
    }
}

/// What a camera does with a digest nonce sent a second time. Real firmware differs
/// (protocols.md §4.3 field notes; okhttp-digest#23: a Hikvision recorder takes a
/// cached nonce for 30 s; onvif#41: Hikvision's appweb 19.x refuses a nonce used for
/// another URL), so the profiles differ too. A reuse needs a higher `nc` each time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum NonceReuse {
    /// Any request within [`NONCE_REUSE_WINDOW`] of the nonce's issue.
    Window,
    /// Only requests for the URI the nonce was first used with, within the window.
    SameUri,
    /// One request per nonce; another draws a 401 (`stale=FALSE`), not counted.
    Once,
    /// One request per nonce; another is counted as a failed login (the worst case).
    OnceCounted,
}

/// How long after it was issued a reused nonce is taken ([`NonceReuse::Window`],
/// [`NonceReuse::SameUri`]).
pub const NONCE_REUSE_WINDOW: std::time::Duration = std::time::Duration::from_secs(30);

/// A digest nonce's first accepted use, and the highest `nc` seen with it.
#[derive(Debug, Clone)]
pub struct NonceUse {
    pub uri: String,
    pub nc: u32,
    pub first: Instant,
}

/// Which credentials the ONVIF service accepts (ISAPI `Integrate/ONVIF/certificateType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub enum OnvifAuth {
    Digest,
    Wsse,
    DigestWsse,
}

impl OnvifAuth {
    pub fn as_str(self) -> &'static str {
        match self {
            OnvifAuth::Digest => "digest",
            OnvifAuth::Wsse => "WSSE",
            OnvifAuth::DigestWsse => "digest/WSSE",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "digest" => Some(OnvifAuth::Digest),
            "wsse" => Some(OnvifAuth::Wsse),
            "digest/wsse" | "wsse/digest" => Some(OnvifAuth::DigestWsse),
            _ => None,
        }
    }
    pub fn allows_digest(self) -> bool {
        matches!(self, OnvifAuth::Digest | OnvifAuth::DigestWsse)
    }
    pub fn allows_wsse(self) -> bool {
        matches!(self, OnvifAuth::Wsse | OnvifAuth::DigestWsse)
    }
}

#[derive(Debug, Clone, Copy, Serialize, serde::Deserialize)]
pub struct IllegalLoginLock {
    pub enabled: bool,
    pub max_attempts: u32,
    pub lock_seconds: u64,
}

/// Login failures seen from one source address (the lock applies per source IP).
#[derive(Debug, Clone, Default)]
pub struct LoginFailures {
    pub count: u32,
    pub locked_until: Option<Instant>,
}

/// Hikvision's password rule: 8–16 characters, at least two classes out of lower case,
/// upper case, digits and specials, and not containing the user name.
pub fn password_strength_error(username: &str, password: &str) -> Option<&'static str> {
    let len = password.chars().count();
    if len < 8 {
        return Some("password shorter than 8 characters");
    }
    if len > 16 {
        return Some("password longer than 16 characters");
    }
    let classes = [
        password.chars().any(|c| c.is_ascii_lowercase()),
        password.chars().any(|c| c.is_ascii_uppercase()),
        password.chars().any(|c| c.is_ascii_digit()),
        password.chars().any(|c| !c.is_ascii_alphanumeric()),
    ];
    if classes.iter().filter(|c| **c).count() < 2 {
        return Some("password needs at least two character classes");
    }
    if !username.is_empty() && password.to_lowercase().contains(&username.to_lowercase()) {
        return Some("password contains the user name");
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_rules_follow_the_vendor_guide() {
        assert_eq!(password_strength_error("admin", "short1A"), Some("password shorter than 8 characters"));
        assert!(password_strength_error("admin", "abcdefghijklmnopq1").is_some());
        assert_eq!(password_strength_error("admin", "abcdefgh"), Some("password needs at least two character classes"));
        assert_eq!(password_strength_error("admin", "xxAdmin123"), Some("password contains the user name"));
        assert_eq!(password_strength_error("admin", "Rotated-Pass-2"), None);
    }
}
