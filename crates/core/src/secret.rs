//! Secrets by construction: a password is a [`Secret`], which never prints, never
//! serialises and is wiped from memory when dropped. The only way to the value is
//! [`Secret::expose`], which makes every use greppable.

use zeroize::Zeroizing;

/// What a secret shows in logs, errors, JSON and debug output.
pub const REDACTED: &str = "‹secret›";

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(Zeroizing::new(value.into()))
    }

    /// The value itself: for the wire and the vault, nothing else.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl std::fmt::Display for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(REDACTED)
    }
}

impl serde::Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(REDACTED)
    }
}

/// A secret arriving from outside (the app's forms over IPC): held wiped-on-drop from
/// the start. What [`Serialize`](serde::Serialize) wrote, the redaction mark, is refused:
/// it is never a password, and reading it back as one would lock a device out.
impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = Zeroizing::new(String::deserialize(d)?);
        if value.as_str() == REDACTED {
            return Err(serde::de::Error::custom("a redacted secret is not a secret"));
        }
        Ok(Secret(value))
    }
}

/// A user name and its password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: Secret,
}

impl Credentials {
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials { username: username.into(), password: Secret::new(password) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_never_prints_or_serialises() {
        let s = Secret::new("canary-Pa55word");
        let c = Credentials { username: "admin".into(), password: s.clone() };
        let shown = format!("{s} {s:?} {c:?} {}", serde_json::to_string(&s).unwrap());
        assert!(!shown.contains("canary"), "{shown}");
        assert_eq!(s.expose(), "canary-Pa55word");
    }

    #[test]
    fn a_secret_is_read_from_a_form_but_never_from_its_own_redaction() {
        let s: Secret = serde_json::from_str("\"canary-Pa55word\"").unwrap();
        assert_eq!(s.expose(), "canary-Pa55word");
        let written = serde_json::to_string(&s).unwrap();
        let e = serde_json::from_str::<Secret>(&written).unwrap_err();
        assert!(e.to_string().contains("redacted"), "{e}");
    }
}
