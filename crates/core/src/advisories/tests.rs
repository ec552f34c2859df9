//! Tests of the advisory database: reading, matching, updating.

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
                    let built = |d: chrono::NaiveDate| ("1.0.0".to_string(), Some(d.format("%Y-%m-%d").to_string()));
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
                let letter_run =
                    i > 0 && chars[i - 1].is_ascii_alphabetic() && chars.get(i + 1).is_some_and(char::is_ascii_digit);
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
    assert!(!ids(&dahua("DH-IPC-HFW2431S-S-S2", None)).contains(&"CVE-2022-30563".to_string()), "no date, no claim");
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
        (SMALL.replace("to = \"V5.4.0 build 160530\"", "built_before = \"April 2016\""), "does not read as YYYY-MM"),
        (SMALL.replace("vendor = \"hikvision\"", "vendor = \"hikvision\"\nmodel_names = \"glob\""), "unknown variant"),
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
