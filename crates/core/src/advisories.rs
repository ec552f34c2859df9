//! Published firmware advisories (protocols.md §5), with only the ranges an advisory
//! states. A device matches when its model fits a product line (`x` = any character,
//! then any suffix) and its version and build fall inside the range.

use serde::Serialize;

use crate::posture::Identity;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Advisory {
    pub cve: &'static str,
    pub title: &'static str,
    pub source: &'static str,
}

struct Range {
    line: &'static str,
    from: (&'static str, &'static str),
    to: (&'static str, &'static str),
}

const CVE_2017_7921: Advisory = Advisory {
    cve: "CVE-2017-7921",
    title: "Improper authentication: configuration and snapshots readable without a password (CVSS 10.0, CISA KEV)",
    source: "ICS-CERT ICSA-17-124-01",
};

/// CVE-2017-7921 affected ranges, as published.
const RANGES_7921: &[Range] = &[
    Range { line: "DS-2CDxx2F-I", from: ("V5.2.0", "140721"), to: ("V5.4.0", "160530") },
    Range { line: "DS-2CD2xx2F-I", from: ("V5.2.0", "140721"), to: ("V5.4.0", "160530") },
    Range { line: "DS-2CD2xx0F-I", from: ("V5.2.0", "140721"), to: ("V5.4.0", "160401") },
    Range { line: "DS-2CD2xx2FWD", from: ("V5.3.1", "150410"), to: ("V5.4.4", "161125") },
    Range { line: "DS-2CD4x2xFWD", from: ("V5.2.0", "140721"), to: ("V5.4.0", "160414") },
    Range { line: "DS-2CD4xx5", from: ("V5.2.0", "140721"), to: ("V5.4.0", "160421") },
    Range { line: "DS-2DFx", from: ("V5.2.0", "140721"), to: ("V5.4.5", "160928") },
    Range { line: "DS-2CD63xx", from: ("V5.0.9", "140305"), to: ("V5.3.5", "160106") },
];

fn model_in_line(model: &str, line: &str) -> bool {
    let m: Vec<char> = model.to_ascii_uppercase().chars().collect();
    let l: Vec<char> = line.to_ascii_uppercase().chars().collect();
    m.len() >= l.len() && l.iter().zip(&m).all(|(p, c)| *p == 'X' || p == c)
}

/// `V5.4.0` + `160530` → (5, 4, 0, 160530); `None` if unreadable.
fn version_key(version: &str, build: &str) -> Option<(u32, u32, u32, u32)> {
    let v = version.trim().trim_start_matches(['V', 'v']);
    let mut parts = v.split('.').map(|p| p.trim().parse::<u32>());
    let (a, b, c) = (parts.next()?.ok()?, parts.next()?.ok()?, parts.next().unwrap_or(Ok(0)).ok()?);
    Some((a, b, c, build.trim().parse().ok()?))
}

/// The advisories whose published ranges cover this device's firmware.
pub fn matching(id: &Identity) -> Vec<Advisory> {
    if !id.vendor.eq_ignore_ascii_case("hikvision") {
        return Vec::new();
    }
    let Some(build) = &id.firmware_build else { return Vec::new() };
    let Some(fw) = version_key(&id.firmware_version, build) else { return Vec::new() };
    let hit = RANGES_7921.iter().any(|r| {
        model_in_line(&id.model, r.line)
            && version_key(r.from.0, r.from.1).is_some_and(|from| fw >= from)
            && version_key(r.to.0, r.to.1).is_some_and(|to| fw <= to)
    });
    if hit {
        vec![CVE_2017_7921]
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(model: &str, v: &str, b: &str) -> Identity {
        Identity {
            vendor: "hikvision".into(),
            model: model.into(),
            firmware_version: v.into(),
            firmware_build: Some(b.into()),
            ..Default::default()
        }
    }

    #[test]
    fn published_ranges_match_inclusively_and_nothing_else() {
        assert_eq!(matching(&id("DS-2CD2132F-IS", "V5.3.0", "151016")).len(), 1);
        assert_eq!(matching(&id("DS-2CD2132F-IS", "V5.4.0", "160530")).len(), 1, "upper bound is inclusive");
        assert!(matching(&id("DS-2CD2132F-IS", "V5.4.0", "160531")).is_empty());
        assert!(matching(&id("DS-2CD2132F-IS", "V5.1.9", "140101")).is_empty());
        assert!(matching(&id("DS-2CD2386G2-IU", "V5.7.15", "230912")).is_empty());
        assert!(matching(&id("DS-2CD2132F-IS", "garbage", "x")).is_empty());
        let mut other = id("DS-2CD2132F-IS", "V5.3.0", "151016");
        other.vendor = "acme".into();
        assert!(matching(&other).is_empty());
    }
}
