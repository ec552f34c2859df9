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
    match crate::files::read_text(&path, FILE_LIMIT).and_then(|t| Database::parse(&t)) {
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
    let text = crate::files::read_text(file, FILE_LIMIT)?;
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
mod tests;
