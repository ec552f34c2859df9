//! Published firmware advisories, as data (issue #17).
//!
//! The database ships with the app (`crates/core/data/advisories.toml`) and can be
//! replaced offline by a newer file whose SHA-256 the operator confirms (`portcullis
//! advisories update FILE`). Every range is as its source publishes it; an advisory
//! whose source gives no range says so (`no_range`) and never matches a device, because
//! guessing would either cry wolf or hide a vulnerable camera.

mod models;
mod version;

use std::path::Path;
use std::sync::{Arc, OnceLock, RwLock};

use serde::{Deserialize, Serialize};

pub(crate) use models::model_in_line;
pub use models::ModelNames;
pub use version::Firmware;

use crate::baseline::Severity;
use crate::error::{Error, Result};
use crate::posture::Identity;

/// The file a newer database is kept in, in the data directory.
pub const FILE: &str = "advisories.toml";
/// The largest database file read: the shipped one is a few tens of kilobytes.
const FILE_LIMIT: u64 = 4 * 1024 * 1024;
const SHIPPED: &str = include_str!("../../data/advisories.toml");

/// A database of advisories.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Database {
    pub format: u32,
    /// Increases with every release of the file; only a higher one replaces it.
    pub version: u64,
    pub published: String,
    #[serde(rename = "advisory", default)]
    pub advisories: Vec<Advisory>,
}

/// One published advisory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Advisory {
    pub id: String,
    pub cves: Vec<String>,
    /// Lower case, as devices name themselves (`hikvision`, `dahua`, `axis`).
    pub vendor: String,
    pub title: String,
    pub severity: Severity,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss: Option<f64>,
    /// In CISA's Known Exploited Vulnerabilities catalogue.
    #[serde(default)]
    pub kev: bool,
    pub sources: Vec<Source>,
    /// How the ranges' model patterns read (Hikvision's by default).
    #[serde(default, skip_serializing_if = "ModelNames::is_prefix")]
    pub model_names: ModelNames,
    /// Why no range is given (the source publishes none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_range: Option<String>,
    #[serde(default)]
    pub affected: Vec<Affected>,
}

/// Where an advisory is published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Source {
    pub name: String,
    pub url: String,
}

/// An affected range, exactly as one source publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Affected {
    /// Model patterns, read as the advisory's [`ModelNames`] say.
    pub models: Vec<String>,
    /// The first affected version, when the source gives one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// The last affected version (inclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
    /// The first version not affected (exclusive), when the source says "before".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    /// The first build date not affected, when the source gives only a date ("build
    /// time before April, 2022": `2022-04`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub built_before: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fixed: Option<String>,
    /// The name of the [`Source`] this range comes from.
    pub source: String,
}

/// A device's firmware inside an advisory's published range.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Match {
    pub id: String,
    pub cves: Vec<String>,
    pub title: String,
    pub severity: Severity,
    pub kev: bool,
    /// The source that publishes the range the device is in.
    pub source: Source,
    /// That range in words: `DS-2CD2xx2F-I V5.2.0 build 140721 – V5.4.0 build 160530`.
    pub range: String,
    pub fixed: Option<String>,
}

impl Database {
    /// Read and check a database: every range names its source, every bound reads as
    /// a version, and an advisory either gives ranges or says why it cannot.
    pub fn parse(text: &str) -> Result<Database> {
        let db: Database = toml::from_str(text).map_err(|e| Error::Input(format!("advisories: {e}")))?;
        if db.format != 1 {
            return Err(Error::Input(format!("advisories: format {} (this version reads format 1)", db.format)));
        }
        for a in &db.advisories {
            a.check().map_err(|e| Error::Input(format!("advisories: {}: {e}", a.id)))?;
        }
        Ok(db)
    }

    /// The advisories whose published ranges cover this device's firmware, each with
    /// the range and source it matched.
    pub fn matching(&self, id: &Identity) -> Vec<Match> {
        let Some(fw) = Firmware::of(&id.firmware_version, id.firmware_build.as_deref()) else { return Vec::new() };
        self.advisories
            .iter()
            .filter(|a| id.is_from(&a.vendor))
            .filter_map(|a| {
                // Where two of an advisory's lines both fit the model (`IPC-xxxxH` and
                // `IPC-xxxxHA` for an `IPC-2122HA`), the source meant the longer one.
                let names = a.model_names;
                let fit = |r: &Affected| r.models.iter().filter(|p| names.fits(&id.model, p)).map(|p| p.len()).max();
                let best = a.affected.iter().filter_map(fit).max()?;
                let range = a.affected.iter().find(|r| fit(r) == Some(best) && r.covers(names, &id.model, &fw))?;
                let source = a.sources.iter().find(|s| s.name == range.source)?.clone();
                Some(Match {
                    id: a.id.clone(),
                    cves: a.cves.clone(),
                    title: a.title.clone(),
                    severity: a.severity,
                    kev: a.kev,
                    source,
                    range: range.describe(),
                    fixed: range.fixed.clone(),
                })
            })
            .collect()
    }
}

impl Advisory {
    fn check(&self) -> std::result::Result<(), String> {
        if self.id.trim().is_empty() || self.title.trim().is_empty() {
            return Err("an id and a title are required".into());
        }
        if self.cves.is_empty() || !self.cves.iter().all(|c| is_cve(c)) {
            return Err(format!("CVE ids must read CVE-YYYY-NNNN: {:?}", self.cves));
        }
        if self.vendor.is_empty() || self.vendor != self.vendor.to_ascii_lowercase() {
            return Err(format!("vendor {:?} must be lower case", self.vendor));
        }
        if self.sources.is_empty() || !self.sources.iter().all(|s| s.url.starts_with("https://")) {
            return Err("every source needs an https:// address".into());
        }
        match (&self.no_range, self.affected.is_empty()) {
            (Some(_), false) => return Err("no_range and affected ranges together".into()),
            (None, true) => return Err("no affected range, and no_range does not say why".into()),
            _ => {}
        }
        for r in &self.affected {
            if r.models.is_empty() {
                return Err("a range without models".into());
            }
            if !self.sources.iter().any(|s| s.name == r.source) {
                return Err(format!("range source {:?} is not among the sources", r.source));
            }
            if [r.to.is_some(), r.before.is_some(), r.built_before.is_some()].iter().filter(|b| **b).count() != 1 {
                return Err("a range needs exactly one of to, before and built_before".into());
            }
            if let Some(date) = &r.built_before {
                if version::published_date(date).is_none() {
                    return Err(format!("built_before {date:?} does not read as YYYY-MM or YYYY-MM-DD"));
                }
            }
            for bound in [&r.from, &r.to, &r.before, &r.fixed].into_iter().flatten() {
                if Firmware::parse(bound).is_none() {
                    return Err(format!("{bound:?} does not read as a version"));
                }
            }
        }
        Ok(())
    }
}

impl Affected {
    /// The model fits a pattern and the firmware is inside the range. A bound that
    /// cannot be compared (a build the device did not report) is not a match.
    fn covers(&self, names: ModelNames, model: &str, fw: &Firmware) -> bool {
        use std::cmp::Ordering::*;
        let bound = |b: &Option<String>| b.as_deref().and_then(Firmware::parse);
        let model_fits = self.models.iter().any(|p| names.fits(model, p));
        let after_from = match bound(&self.from) {
            Some(from) => matches!(fw.compare(&from), Some(Greater | Equal)),
            None => true,
        };
        let built_before = self.built_before.as_deref().and_then(version::published_date);
        let before_end = match (bound(&self.to), bound(&self.before), built_before) {
            (Some(to), _, _) => matches!(fw.compare(&to), Some(Less | Equal)),
            (None, Some(before), _) => fw.compare(&before) == Some(Less),
            // A device that reports no build date cannot be told: not a match.
            (None, None, Some(date)) => fw.build_date().is_some_and(|built| built < date),
            (None, None, None) => false,
        };
        model_fits && after_from && before_end
    }

    /// The range in words: `DS-2CD2xx2F-I V5.2.0 build 140721 – V5.4.0 build 160530`.
    pub fn describe(&self) -> String {
        let models = self.models.join(", ");
        match (&self.from, &self.to, &self.before) {
            (Some(f), Some(t), _) => format!("{models} {f} – {t}"),
            (None, Some(t), _) => format!("{models} up to {t}"),
            (Some(f), None, Some(b)) => format!("{models} {f} up to, not including, {b}"),
            (None, None, Some(b)) => format!("{models} before {b}"),
            (from, None, None) => match (from, &self.built_before) {
                (Some(f), Some(date)) => format!("{models} from {f}, built before {date}"),
                (None, Some(date)) => format!("{models} built before {date}"),
                _ => models,
            },
        }
    }
}

fn is_cve(id: &str) -> bool {
    let mut parts = id.split('-');
    parts.next() == Some("CVE")
        && parts.next().is_some_and(|y| y.len() == 4 && y.chars().all(|c| c.is_ascii_digit()))
        && parts.next().is_some_and(|n| n.len() >= 4 && n.chars().all(|c| c.is_ascii_digit()))
        && parts.next().is_none()
}

/// Where the database in use came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Origin {
    Shipped,
    /// A newer file the operator installed.
    Updated {
        path: String,
    },
    /// The data directory's file was refused; the shipped database is in use.
    Refused {
        path: String,
        reason: String,
    },
}

/// The database in use, and where it came from.
#[derive(Debug, Clone)]
pub struct Active {
    pub database: Arc<Database>,
    pub origin: Origin,
}

/// The database shipped with this build.
pub fn shipped() -> Arc<Database> {
    static SHIPPED_DB: OnceLock<Arc<Database>> = OnceLock::new();
    SHIPPED_DB
        .get_or_init(|| {
            // A unit test proves the shipped file reads; an empty database is the
            // harmless answer if it ever did not.
            Arc::new(Database::parse(SHIPPED).unwrap_or(Database {
                format: 1,
                version: 0,
                published: String::new(),
                advisories: Vec::new(),
            }))
        })
        .clone()
}

fn active_slot() -> &'static RwLock<Option<Active>> {
    static ACTIVE: OnceLock<RwLock<Option<Active>>> = OnceLock::new();
    ACTIVE.get_or_init(|| RwLock::new(None))
}

/// The database in use: the data directory's, once [`activate`] read one, else the
/// shipped one.
pub fn active() -> Active {
    active_slot()
        .read()
        .ok()
        .and_then(|a| a.clone())
        .unwrap_or_else(|| Active { database: shipped(), origin: Origin::Shipped })
}

/// The database a data directory holds: its file when that reads and is newer than the
/// shipped one, else the shipped one (and why).
pub fn for_home(home: &Path) -> Active {
    let path = home.join(FILE);
    let shipped = || Active { database: shipped(), origin: Origin::Shipped };
    if !path.exists() {
        return shipped();
    }
    let refused = |reason: String| Active {
        database: self::shipped(),
        origin: Origin::Refused { path: path.display().to_string(), reason },
    };
    match read_limited(&path).and_then(|t| Database::parse(&t)) {
        Ok(db) if db.version > self::shipped().version => {
            Active { database: Arc::new(db), origin: Origin::Updated { path: path.display().to_string() } }
        }
        // The app was updated since: its shipped file is the newer one.
        Ok(_) => shipped(),
        Err(e) => refused(e.to_string()),
    }
}

/// Make the data directory's database the one every evaluation uses.
pub fn activate(home: &Path) -> Active {
    let a = for_home(home);
    if let Ok(mut slot) = active_slot().write() {
        *slot = Some(a.clone());
    }
    a
}

/// The advisories covering a device's firmware, in the active database.
pub fn matching(id: &Identity) -> Vec<Match> {
    active().database.matching(id)
}

fn read_limited(path: &Path) -> Result<String> {
    let len = std::fs::metadata(path).map_err(|e| Error::Local(format!("{}: {e}", path.display())))?.len();
    if len > FILE_LIMIT {
        return Err(Error::Input(format!("{}: {len} bytes is not an advisory database", path.display())));
    }
    std::fs::read_to_string(path).map_err(|e| Error::Input(format!("{}: {e}", path.display())))
}

/// The SHA-256 a file should have: the one given, else the one in `FILE.sha256` beside
/// it (as `sha256sum` writes it).
pub fn expected_digest(file: &Path, given: Option<&str>) -> Result<String> {
    if let Some(g) = given {
        return Ok(g.trim().to_ascii_lowercase());
    }
    let sidecar = std::path::PathBuf::from(format!("{}.sha256", file.display()));
    let text = std::fs::read_to_string(&sidecar).map_err(|_| {
        Error::Input(format!(
            "no checksum: give --sha256 with the digest published beside the file, or put it in {}",
            sidecar.display()
        ))
    })?;
    text.split_whitespace()
        .next()
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| Error::Input(format!("{}: empty", sidecar.display())))
}

/// Replace the data directory's database with a newer file whose SHA-256 is `digest`.
/// Refused, with nothing changed, unless the digest matches, the file reads and its
/// version is higher than the one in use. The next [`activate`] (a workspace opening)
/// puts it in use.
pub fn update(home: &Path, file: &Path, digest: &str) -> Result<Active> {
    let text = read_limited(file)?;
    let seen = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(text.as_bytes()));
    if !seen.eq_ignore_ascii_case(digest.trim()) {
        return Err(Error::Input(format!(
            "{}: its SHA-256 is {seen}, not the {} expected; the file was not installed",
            file.display(),
            digest.trim()
        )));
    }
    let db = Database::parse(&text)?;
    let current = for_home(home).database.version;
    if db.version <= current {
        return Err(Error::Input(format!(
            "{}: version {} is not newer than the database in use ({current})",
            file.display(),
            db.version
        )));
    }
    crate::files::write_private(&home.join(FILE), text.as_bytes())?;
    Ok(for_home(home))
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

    const SMALL: &str = r#"
format = 1
version = 5
published = "2026-12-01"

[[advisory]]
id = "CVE-2017-7921"
cves = ["CVE-2017-7921"]
vendor = "hikvision"
title = "Authentication bypass"
severity = "critical"
cvss = 10.0
kev = true
sources = [{ name = "ICSA-17-124-01", url = "https://www.cisa.gov/news-events/ics-advisories/icsa-17-124-01" }]

[[advisory.affected]]
models = ["DS-2CD2xx2F-I", "DS-2CD2xx0F-I"]
from = "V5.2.0 build 140721"
to = "V5.4.0 build 160530"
source = "ICSA-17-124-01"

[[advisory]]
id = "CVE-2021-36260"
cves = ["CVE-2021-36260"]
vendor = "hikvision"
title = "Command injection"
severity = "critical"
sources = [{ name = "HSRC-202109-01", url = "https://www.hikvision.com/en/support/cybersecurity/" }]

[[advisory.affected]]
models = ["DS-2CD2xx6G2"]
before = "V5.5.800 build 210628"
fixed = "V5.5.800 build 210628"
source = "HSRC-202109-01"

[[advisory]]
id = "CVE-2023-28808"
cves = ["CVE-2023-28808"]
vendor = "hikvision"
title = "Storage access control"
severity = "critical"
sources = [{ name = "HSRC", url = "https://www.hikvision.com/" }]
no_range = "published without versions"
"#;

    #[test]
    fn published_ranges_match_inclusively_and_nothing_else() {
        let db = Database::parse(SMALL).unwrap();
        let hits = |i: &Identity| db.matching(i).into_iter().map(|m| m.id).collect::<Vec<_>>();
        assert_eq!(hits(&id("DS-2CD2132F-IS", "V5.3.0", "151016")), ["CVE-2017-7921"]);
        assert_eq!(hits(&id("DS-2CD2132F-IS", "V5.4.0", "160530")), ["CVE-2017-7921"], "`to` is inclusive");
        assert!(hits(&id("DS-2CD2132F-IS", "V5.4.0", "160531")).is_empty());
        assert!(hits(&id("DS-2CD2132F-IS", "V5.1.9", "140101")).is_empty());
        assert!(hits(&id("DS-2CD2132F-IS", "garbage", "x")).is_empty());
        assert_eq!(hits(&id("DS-2CD2346G2-I", "V5.5.0", "190101")), ["CVE-2021-36260"]);
        assert!(hits(&id("DS-2CD2346G2-I", "V5.5.800", "210628")).is_empty(), "`before` is exclusive");
        let mut other = id("DS-2CD2132F-IS", "V5.3.0", "151016");
        other.vendor = "acme".into();
        assert!(db.matching(&other).is_empty(), "another vendor's camera");
        let m = &db.matching(&id("DS-2CD2346G2-I", "V5.5.0", "190101"))[0];
        assert_eq!(m.source.name, "HSRC-202109-01", "the match cites its range's source");
        assert_eq!(m.range, "DS-2CD2xx6G2 before V5.5.800 build 210628");
        assert_eq!(m.fixed.as_deref(), Some("V5.5.800 build 210628"));
    }

    /// A version next to a published bound: its build one day on or back when the bound
    /// names a build, else its last number one up or down.
    fn beside(bound: &str, step: i64) -> (String, Option<String>) {
        let lower = bound.to_ascii_lowercase();
        match lower.find("build") {
            Some(i) => {
                let build: i64 = bound[i + 5..].trim().parse().expect("a numeric build");
                (bound[..i].trim().to_string(), Some((build + step).to_string()))
            }
            None => {
                let (head, last) = bound.rsplit_once('.').expect("a dotted version");
                let n: i64 = last.parse().expect("a numeric last component");
                (format!("{head}.{}", n + step), None)
            }
        }
    }

    /// Every range of the shipped database, at its bounds and just past them, with a model
    /// of each line it names: a typo in a bound or a pattern fails here.
    #[test]
    fn every_shipped_range_holds_at_its_bounds_and_not_past_them() {
        let db = shipped();
        let mut checked = 0;
        for a in &db.advisories {
            for r in &a.affected {
                for pattern in &r.models {
                    let model = sample_model(a.model_names, pattern);
                    let at = |(v, b): (String, Option<String>)| {
                        let id = Identity {
                            vendor: a.vendor.clone(),
                            model: model.clone(),
                            firmware_version: v,
                            firmware_build: b,
                            ..Default::default()
                        };
                        db.matching(&id).iter().any(|m| m.id == a.id)
                    };
                    let split = |bound: &str| beside(bound, 0);
                    if let Some(from) = &r.from {
                        assert!(at(split(from)), "{} {pattern}: `from` {from} is inside", a.id);
                        assert!(!at(beside(from, -1)), "{} {pattern}: just before `from` {from} is outside", a.id);
                    }
                    if let Some(to) = &r.to {
                        assert!(at(split(to)), "{} {pattern}: `to` {to} is inside", a.id);
                        assert!(!at(beside(to, 1)), "{} {pattern}: just after `to` {to} is outside", a.id);
                    }
                    if let Some(before) = &r.before {
                        assert!(!at(split(before)), "{} {pattern}: `before` {before} is outside", a.id);
                        assert!(at(beside(before, -1)), "{} {pattern}: just before `before` {before} is inside", a.id);
                    }
                    if let Some(date) = &r.built_before {
                        let first = version::published_date(date).unwrap();
                        let day = |yymmdd: u64| {
                            chrono::NaiveDate::from_ymd_opt(
                                2000 + (yymmdd / 10000) as i32,
                                (yymmdd / 100 % 100) as u32,
                                (yymmdd % 100) as u32,
                            )
                            .unwrap()
                        };
                        let built =
                            |d: chrono::NaiveDate| ("1.0.0".to_string(), Some(d.format("%Y-%m-%d").to_string()));
                        assert!(!at(built(day(first))), "{} {pattern}: built on {date} is outside", a.id);
                        assert!(at(built(day(first).pred_opt().unwrap())), "{} {pattern}: the day before {date}", a.id);
                        assert!(!at(("1.0.0".into(), None)), "{} {pattern}: no build date, no match", a.id);
                    }
                    checked += 1;
                }
            }
        }
        assert!(checked >= 7, "the shipped ranges were all walked ({checked})");
    }

    /// A model of the line a pattern names, as the vendor would spell one.
    fn sample_model(names: ModelNames, pattern: &str) -> String {
        match names {
            ModelNames::Prefix => format!("{}-TEST", pattern.replace(['x', 'X'], "0")),
            ModelNames::Dahua => {
                let chars: Vec<char> = pattern.chars().collect();
                let mut model = String::from("DH-");
                for (i, c) in chars.iter().enumerate() {
                    let letter_run = i > 0
                        && chars[i - 1].is_ascii_alphabetic()
                        && chars.get(i + 1).is_some_and(char::is_ascii_digit);
                    match c {
                        'x' | 'X' if letter_run => model.push_str("DBW"),
                        'x' | 'X' => model.push('4'),
                        c => model.push(*c),
                    }
                }
                model + "E-AS"
            }
        }
    }

    #[test]
    fn dahua_families_read_as_dahua_writes_them() {
        let fits = |model: &str, family: &str| ModelNames::Dahua.fits(model, family);
        assert!(fits("IPC-HFW3441E-AS", "IPC-HX3XXX"));
        assert!(fits("DH-IPC-HDBW3241E-AS", "IPC-HX3XXX"), "the DH- prefix and a three-letter form factor");
        assert!(fits("DHI-IPC-HDW3849H-AS-PV", "IPC-HX3XXX"));
        assert!(!fits("IPC-HFW5231E-Z3", "IPC-HX3XXX"), "a 5-series camera is not a 3-series one");
        assert!(!fits("IPC-H3441", "IPC-HX3XXX"), "the form factor is at least one letter");
        assert!(fits("XVR5104HS-I3", "XVR5x04") && !fits("XVR5108HS", "XVR5x04"));
        assert!(fits("NVR608-32-4KS2", "NVR6XX") && !fits("NVR5216", "NVR6XX"));
        assert!(!ModelNames::Prefix.fits("IPC-HFW3441E-AS", "IPC-HX3XXX"), "Hikvision's reading misses it");
    }

    #[test]
    fn a_range_published_as_a_build_date_matches_devices_built_before_it() {
        let db = shipped();
        let dahua = |model: &str, build: Option<&str>| Identity {
            vendor: "dahua".into(),
            manufacturer: "Dahua".into(),
            model: model.into(),
            firmware_version: "2.800.0000000.20.R".into(),
            firmware_build: build.map(String::from),
            ..Default::default()
        };
        let ids = |i: &Identity| db.matching(i).into_iter().map(|m| m.id).collect::<Vec<_>>();
        let old = ids(&dahua("DH-IPC-HFW2431S-S-S2", Some("Build Date: 2022-03-31")));
        assert!(old.contains(&"CVE-2022-30563".to_string()), "{old:?}");
        let new = ids(&dahua("DH-IPC-HFW2431S-S-S2", Some("Build Date: 2022-04-01")));
        assert!(!new.contains(&"CVE-2022-30563".to_string()), "{new:?}");
        assert!(
            !ids(&dahua("DH-IPC-HFW2431S-S-S2", None)).contains(&"CVE-2022-30563".to_string()),
            "no date, no claim"
        );
        let m = db.matching(&dahua("IPC-HFW2431S", Some("2022-03-31")));
        let m = m.iter().find(|m| m.id == "CVE-2022-30563").unwrap();
        assert_eq!(m.range, "IPC-HDBW2XXX, IPC-HFW2XXX, ASI7XXXX built before 2022-04");
        // The KEV pair: a 3-series camera on a build before the fix.
        let kev = ids(&dahua("IPC-HFW3441E-AS", Some("2021-03-17")));
        assert!(kev.contains(&"CVE-2021-33044".to_string()) && kev.contains(&"CVE-2021-33045".to_string()), "{kev:?}");
    }

    /// Two lines of one advisory that both fit a model: the longer pattern is the one meant.
    #[test]
    fn the_most_specific_line_of_an_advisory_decides() {
        let db = Database::parse(
            r#"
format = 1
version = 1
published = "2026-12-04"
[[advisory]]
id = "CVE-2025-66177"
cves = ["CVE-2025-66177"]
vendor = "hikvision"
title = "t"
severity = "high"
sources = [{ name = "record", url = "https://www.cve.org/" }]
[[advisory.affected]]
models = ["IPC-xxxxHA"]
to = "V5.7.13 build 230822"
source = "record"
[[advisory.affected]]
models = ["IPC-xxxxH"]
to = "V5.7.23 build 241015"
source = "record"
"#,
        )
        .unwrap();
        let hits = |model: &str, v: &str, b: &str| !db.matching(&id(model, v, b)).is_empty();
        assert!(!hits("IPC-2122HA", "V5.7.20", "240101"), "past its own (HA) line's bound");
        assert!(hits("IPC-2122HA", "V5.7.13", "230822"));
        assert!(hits("IPC-2122H", "V5.7.20", "240101"), "the H line's own bound");
    }

    #[test]
    fn the_shipped_database_reads_and_keeps_the_first_advisory() {
        let db = Database::parse(SHIPPED).expect("the shipped advisories file reads");
        assert!(db.version > 0 && db.advisories.len() >= 5, "{} advisories", db.advisories.len());
        let hits = db.matching(&id("DS-2CD2132F-IS", "V5.3.0", "151016"));
        assert!(hits.iter().any(|m| m.cves.contains(&"CVE-2017-7921".to_string())), "{hits:?}");
        assert!(db.matching(&id("DS-2CD2386G2-IU", "V5.7.15", "230912")).is_empty(), "current firmware is clean");
        assert_eq!(*shipped(), db);
    }

    #[test]
    fn a_database_that_does_not_say_where_a_range_comes_from_is_refused() {
        let cases = [
            (SMALL.replace("source = \"ICSA-17-124-01\"", "source = \"a blog\""), "not among the sources"),
            (SMALL.replace("to = \"V5.4.0 build 160530\"", ""), "exactly one of to, before and built_before"),
            (
                SMALL.replace("to = \"V5.4.0 build 160530\"", "built_before = \"April 2016\""),
                "does not read as YYYY-MM",
            ),
            (
                SMALL.replace("vendor = \"hikvision\"", "vendor = \"hikvision\"\nmodel_names = \"glob\""),
                "unknown variant",
            ),
            (SMALL.replace("no_range = \"published without versions\"", ""), "no_range does not say why"),
            (SMALL.replace("[\"CVE-2021-36260\"]", "[\"CVE-21-1\"]"), "CVE ids"),
            (SMALL.replace("https://www.hikvision.com/\"", "http://example.com/\""), "https://"),
            (SMALL.replace("from = \"V5.2.0 build 140721\"", "from = \"soon\""), "does not read as a version"),
            (SMALL.replace("format = 1", "format = 2"), "format 2"),
            (SMALL.replace("kev = true", "kev = true\nexploited = true"), "unknown field"),
        ];
        for (text, why) in cases {
            let e = Database::parse(&text).unwrap_err().to_string();
            assert!(e.contains(why), "{why}: {e}");
        }
    }

    #[test]
    fn an_update_needs_its_checksum_and_a_newer_version_and_a_bad_file_on_disk_is_set_aside() {
        let home = std::env::temp_dir().join(format!("pc-advisories-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        let newer = SMALL.replace("version = 5", &format!("version = {}", shipped().version + 1));
        let file = home.join("incoming.toml");
        std::fs::write(&file, &newer).unwrap();
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(newer.as_bytes()));

        let wrong = update(&home, &file, &"0".repeat(64)).unwrap_err().to_string();
        assert!(wrong.contains("not the") && !home.join(FILE).exists(), "{wrong}");
        std::fs::write(home.join("old.toml"), SMALL).unwrap();
        let old_digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(SMALL.as_bytes()));
        let older = update(&home, &home.join("old.toml"), &old_digest).unwrap_err().to_string();
        assert!(older.contains("not newer"), "{older}");

        // The digest from a sidecar, as `sha256sum` writes it.
        std::fs::write(home.join("incoming.toml.sha256"), format!("{digest}  incoming.toml\n")).unwrap();
        let from_sidecar = expected_digest(&file, None).unwrap();
        let active = update(&home, &file, &from_sidecar).unwrap();
        assert!(matches!(active.origin, Origin::Updated { .. }));
        assert_eq!(active.database.version, shipped().version + 1);
        assert_eq!(for_home(&home).database.advisories.len(), 3);
        let again = update(&home, &file, &digest).unwrap_err().to_string();
        assert!(again.contains("not newer"), "the same file twice: {again}");

        std::fs::write(home.join(FILE), "format = 1\nversion = ").unwrap();
        let set_aside = for_home(&home);
        assert!(matches!(set_aside.origin, Origin::Refused { .. }), "{:?}", set_aside.origin);
        assert_eq!(set_aside.database, shipped(), "the shipped database stays in use");
        let _ = std::fs::remove_dir_all(&home);
    }
}
