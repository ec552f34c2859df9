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
        let mut components = token.split('.');
        let mut dated = None;
        while let Some(component) = components.next() {
            let digits: String = component.chars().take_while(char::is_ascii_digit).collect();
            if digits.is_empty() {
                // `.R`, `.beta`: the number is over. Dahua's published bounds go on with
                // the build date (`2.800.0000000.29.r.210630`).
                if component.chars().all(|c| c.is_ascii_alphabetic()) {
                    dated = components.next().filter(|d| d.len() == 6 && d.chars().all(|c| c.is_ascii_digit()));
                }
                break;
            }
            parts.push(digits.parse().ok()?);
        }
        if parts.is_empty() {
            return None;
        }
        let build = build.and_then(build_number).or_else(|| dated.and_then(build_number));
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
/// A date written with its century (`2021-03-17`, Dahua) reads as the `yymmdd` the other
/// vendors and Dahua's own published bounds write, so the two compare.
fn build_number(text: &str) -> Option<u64> {
    let token = text.split_whitespace().find(|t| t.chars().any(|c| c.is_ascii_digit()))?;
    let digits: String = token.chars().filter(char::is_ascii_digit).collect();
    if digits.is_empty() || digits.len() > 18 {
        return None;
    }
    let digits = match digits.strip_prefix("20") {
        Some(yymmdd) if digits.len() == 8 => yymmdd.to_string(),
        _ => digits,
    };
    digits.parse().ok()
}

impl Firmware {
    /// The build as a date (`yymmdd`), when it is one.
    pub fn build_date(&self) -> Option<u64> {
        self.build.filter(|b| (1..=991231).contains(b) && (1..=12).contains(&(b / 100 % 100)) && b % 100 >= 1)
    }
}

/// A published "built before" bound: `2022-04` (the month's first day) or `2025-04-16`,
/// as a `yymmdd` build date.
pub fn published_date(text: &str) -> Option<u64> {
    let mut fields = text.trim().split('-');
    let year: u64 = fields.next()?.parse().ok()?;
    let month: u64 = fields.next()?.parse().ok()?;
    let day: u64 = match fields.next() {
        Some(d) => d.parse().ok()?,
        None => 1,
    };
    let valid = (2000..2100).contains(&year) && (1..=12).contains(&month) && (1..=31).contains(&day);
    (valid && fields.next().is_none()).then(|| (year - 2000) * 10000 + month * 100 + day)
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
            Firmware { parts: vec![2, 800, 0, 8], build: Some(210317) }
        );
        assert_eq!(
            fw("2.800.0000000.29.r.210630"),
            Firmware { parts: vec![2, 800, 0, 29], build: Some(210630) },
            "Dahua's published bounds end with the build date"
        );
        assert_eq!(fw("V5.00.R02.L5330747.10010"), Firmware { parts: vec![5, 0], build: None });
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
        let dahua = Firmware::of("2.800.0000000.29.R", Some("Build Date: 2021-06-29")).unwrap();
        assert_eq!(dahua.compare(&fw("2.800.0000000.29.r.210630")), Some(Less), "a device's date, a bound's yymmdd");
    }

    #[test]
    fn build_dates_and_published_dates() {
        assert_eq!(published_date("2022-04"), Some(220401));
        assert_eq!(published_date("2025-04-16"), Some(250416));
        for bad in ["April 2022", "2022", "2022-13", "1999-01", "2022-04-16-1", "2022-04-32"] {
            assert_eq!(published_date(bad), None, "{bad}");
        }
        assert_eq!(Firmware::of("2.800.0000000.8.R", Some("2022-03-31")).unwrap().build_date(), Some(220331));
        assert_eq!(fw("V5.4.0 build 160530").build_date(), Some(160530));
        assert_eq!(fw("V5.4.0 build 12").build_date(), None, "a build number, not a date");
    }
}
