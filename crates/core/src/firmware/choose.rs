//! Which image a device should be upgraded to, if any: the lowest version in the
//! library that leaves every advisory range the device is in, meets the site's
//! minimum, and is itself in no published range. The lowest, not the newest: the
//! smallest step that fixes what the audit found is the one least likely to change
//! what the site relies on (a newer major release changes defaults and web UIs).

use serde::{Deserialize, Serialize};

use super::library::{order, Image};
use crate::advisories::{Database, Firmware};
use crate::posture::Identity;

/// The site's minimum firmware for some models (`[[site.firmware_minimum]]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Minimum {
    pub vendor: String,
    /// Model patterns, as advisories write them; empty: every model of the vendor.
    #[serde(default)]
    pub models: Vec<String>,
    pub version: String,
}

impl Minimum {
    pub fn covers(&self, id: &Identity) -> bool {
        id.is_from(&self.vendor)
            && (self.models.is_empty() || self.models.iter().any(|p| crate::advisories::model_in_line(&id.model, p)))
    }

    /// Whether the device's firmware is below this minimum (`None`: cannot be told).
    pub fn unmet_by(&self, id: &Identity) -> Option<bool> {
        let have = Firmware::of(&id.firmware_version, id.firmware_build.as_deref())?;
        let floor = Firmware::parse(&self.version)?;
        have.compare(&floor).map(|o| o == std::cmp::Ordering::Less)
    }
}

/// What the plan should do about a device's firmware.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "detail", rename_all = "snake_case")]
pub enum Decision {
    /// Nothing: no advisory covers it and it meets every minimum.
    Current,
    /// Upgrade to this image.
    Upgrade(Image),
    /// Only a person can: why, naming the version to look for.
    Manual(String),
}

/// Decide for one device.
pub fn decide(id: &Identity, db: &Database, minimums: &[Minimum], images: &[Image]) -> Decision {
    let advisories = db.matching(id);
    let floors: Vec<&Minimum> = minimums.iter().filter(|m| m.covers(id) && m.unmet_by(id) == Some(true)).collect();
    if advisories.is_empty() && floors.is_empty() {
        return Decision::Current;
    }
    let Some(have) = Firmware::of(&id.firmware_version, id.firmware_build.as_deref()) else {
        return Decision::Manual(format!("firmware {:?} is not a version this tool can compare", id.firmware()));
    };
    let at_or_above = |fw: &Firmware, bound: &str| {
        Firmware::parse(bound).and_then(|b| fw.compare(&b)).is_some_and(|o| o != std::cmp::Ordering::Less)
    };
    let mut candidates: Vec<&Image> = images
        .iter()
        .filter(|i| i.fits(id))
        .filter(|i| i.firmware().and_then(|v| v.compare(&have)) == Some(std::cmp::Ordering::Greater))
        .filter(|i| {
            let fw = i.firmware();
            fw.as_ref().is_some_and(|fw| floors.iter().all(|m| at_or_above(fw, &m.version)))
        })
        .filter(|i| {
            // The image itself must be outside every range: judge it as the device would be after.
            let after = Identity { firmware_version: i.version.clone(), firmware_build: None, ..id.clone() };
            db.matching(&after).is_empty()
        })
        .collect();
    candidates.sort_by(|a, b| order(a, b));
    if let Some(best) = candidates.first() {
        return Decision::Upgrade((*best).clone());
    }
    let mut wanted: Vec<String> = advisories
        .iter()
        .map(|a| match &a.fixed {
            Some(f) => format!("{f} or later (fixes {})", a.cves.join(", ")),
            None => format!("a version the vendor names as fixed for {} (the source gives none)", a.cves.join(", ")),
        })
        .collect();
    wanted.extend(floors.iter().map(|m| format!("{} or later (the site's minimum)", m.version)));
    Decision::Manual(format!(
        "no image in the firmware library for {} fits: install {} (portcullis firmware add)",
        id.model,
        wanted.join("; ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(models: &str, version: &str) -> Image {
        Image {
            sha256: format!("{:0>64}", version.len()),
            vendor: "hikvision".into(),
            models: vec![models.into()],
            version: version.into(),
            size: 1,
            file_name: "fw".into(),
            from_header: true,
            added: "t".into(),
        }
    }

    fn camera(version: &str, build: &str) -> Identity {
        Identity {
            vendor: "hikvision".into(),
            model: "DS-2CD2132F-IS".into(),
            firmware_version: version.into(),
            firmware_build: Some(build.into()),
            ..Default::default()
        }
    }

    /// CVE-2017-7921 covers DS-2CD2xx2F-I up to V5.4.0 build 160530 in the shipped database.
    #[test]
    fn the_lowest_image_out_of_every_range_is_chosen_else_a_manual_step_names_the_fix() {
        let db = crate::advisories::shipped();
        let inside = camera("V5.3.0", "151016");
        assert!(!db.matching(&inside).is_empty(), "the fixture camera is inside a shipped range");
        let images = vec![
            image("DS-2CD2xx2F-I", "V5.4.0 build 160530"), // still inside the range
            image("DS-2CD2xx2F-I", "V5.6.0 build 190923"),
            image("DS-2CD2xx2F-I", "V5.5.0 build 170725"),
            image("DS-2CD2xx5", "V5.5.0 build 170725"), // another model line
        ];
        match decide(&inside, &db, &[], &images) {
            Decision::Upgrade(i) => assert_eq!(i.version, "V5.5.0 build 170725"),
            other => panic!("{other:?}"),
        }
        match decide(&inside, &db, &[], &images[..1]) {
            Decision::Manual(why) => assert!(why.contains("CVE-2017-7921") && why.contains("firmware add"), "{why}"),
            other => panic!("{other:?}"),
        }
        let current = camera("V5.6.0", "190923");
        assert_eq!(decide(&current, &db, &[], &images), Decision::Current);
    }

    #[test]
    fn a_site_minimum_asks_for_an_image_at_or_above_it() {
        let db = crate::advisories::shipped();
        let min = [Minimum { vendor: "Hikvision".into(), models: vec![], version: "V5.6.0".into() }];
        let outside = camera("V5.5.0", "170725");
        assert!(db.matching(&outside).is_empty());
        let images = vec![image("DS-2CD2xx2F-I", "V5.5.5 build 180101"), image("DS-2CD2xx2F-I", "V5.6.0 build 190923")];
        match decide(&outside, &db, &min, &images) {
            Decision::Upgrade(i) => assert_eq!(i.version, "V5.6.0 build 190923"),
            other => panic!("{other:?}"),
        }
        match decide(&outside, &db, &min, &images[..1]) {
            Decision::Manual(why) => assert!(why.contains("V5.6.0 or later (the site's minimum)"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert_eq!(decide(&camera("V5.6.0", "190923"), &db, &min, &images), Decision::Current);
    }
}
