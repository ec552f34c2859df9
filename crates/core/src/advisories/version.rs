//! Firmware versions as vendors write them, made comparable.
//!
//! Hikvision: `V5.4.0 build 160530` (a version and a `yymmdd` build); Dahua:
//! `2.800.0000000.8.R, Build Date: 2021-03-17`; Axis: `9.80.1`. Every form reads as its
//! numeric components, then an optional build number. Hand-written: the `semver` crate
//! rejects all of these (four or more components, a leading `V`, a trailing `.R`).

use std::cmp::Ordering;

/// A firmware version reduced to what orders it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Firmware {
    parts: Vec<u64>,
    build: Option<u64>,
}

impl Firmware {
    /// `V5.4.0 build 160530`, `V5.4.0` + a separate build, `2.800.0000000.8.R`.
    /// `None` when the text holds no version number.
    pub fn parse(text: &str) -> Option<Firmware> {
        let lower = text.to_ascii_lowercase();
        let (version, build) = match lower.find("build") {
            Some(i) => (&lower[..i], Some(&lower[i + "build".len()..])),
            None => (lower.as_str(), None),
        };
        let version = version.trim().trim_start_matches('v');
        let token = version.split(|c: char| c.is_whitespace() || c == ',').next().unwrap_or("");
        let mut parts = Vec::new();
        for component in token.split('.') {
            let digits: String = component.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() {
                break; // `.R`, `.beta`: the number is over
            }
            parts.push(digits.parse().ok()?);
        }
        if parts.is_empty() {
            return None;
        }
        let build = build.and_then(build_number);
        Some(Firmware { parts, build })
    }

    /// A version and a separate build field (as devices report them).
    pub fn of(version: &str, build: Option<&str>) -> Option<Firmware> {
        let mut fw = Firmware::parse(version)?;
        if fw.build.is_none() {
            fw.build = build.and_then(build_number);
        }
        Some(fw)
    }

    /// How this firmware compares with a published bound; `None` when it cannot be told
    /// (the same version, and the bound names a build the device did not report).
    pub fn compare(&self, bound: &Firmware) -> Option<Ordering> {
        let len = self.parts.len().max(bound.parts.len());
        let at = |p: &[u64], i: usize| p.get(i).copied().unwrap_or(0);
        for i in 0..len {
            match at(&self.parts, i).cmp(&at(&bound.parts, i)) {
                Ordering::Equal => {}
                other => return Some(other),
            }
        }
        match (self.build, bound.build) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            (_, None) => Some(Ordering::Equal),
            (None, Some(_)) => None,
        }
    }
}

/// `160530`, ` Date: 2021-03-17`, `: 210628`: the digits of the first token that has any.
fn build_number(text: &str) -> Option<u64> {
    let token = text.split_whitespace().find(|t| t.chars().any(|c| c.is_ascii_digit()))?;
    let digits: String = token.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    digits.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Ordering::*;

    fn fw(s: &str) -> Firmware {
        Firmware::parse(s).unwrap_or_else(|| panic!("{s}"))
    }

    #[test]
    fn each_vendors_spelling_reads_as_numbers_and_a_build() {
        assert_eq!(fw("V5.4.0 build 160530"), Firmware { parts: vec![5, 4, 0], build: Some(160530) });
        assert_eq!(fw("v5.5.800 Build 210628"), Firmware { parts: vec![5, 5, 800], build: Some(210628) });
        assert_eq!(
            fw("2.800.0000000.8.R, Build Date: 2021-03-17"),
            Firmware { parts: vec![2, 800, 0, 8], build: Some(20210317) }
        );
        assert_eq!(fw("9.80.1"), Firmware { parts: vec![9, 80, 1], build: None });
        assert_eq!(Firmware::of("V5.4.0", Some("160530")), Some(fw("V5.4.0 build 160530")));
        for bad in ["", "build 160530", "firmware", "V.", "99999999999999999999999"] {
            assert_eq!(Firmware::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn versions_compare_by_number_then_build_and_say_when_they_cannot() {
        assert_eq!(fw("V5.4.0 build 160530").compare(&fw("V5.4.0 build 160530")), Some(Equal));
        assert_eq!(fw("V5.4.0 build 160531").compare(&fw("V5.4.0 build 160530")), Some(Greater));
        assert_eq!(fw("V5.10.0").compare(&fw("V5.9.9")), Some(Greater), "numbers, not text");
        assert_eq!(fw("V5.4").compare(&fw("V5.4.0 build 1")), None, "same version, build unknown");
        assert_eq!(fw("V5.3").compare(&fw("V5.4.0 build 1")), Some(Less), "the version alone decides");
        assert_eq!(fw("V5.4.0 build 9").compare(&fw("V5.4.0")), Some(Equal), "a bound without a build");
    }
}
