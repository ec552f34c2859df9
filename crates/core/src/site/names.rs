//! Device names from a site pattern such as `{site}-{model}-{n:02}`.
//!
//! A name that already fits the pattern is kept (whatever its number), so adding a
//! camera never renames the others and a second apply changes nothing. Devices whose
//! name does not fit get the smallest number not yet taken.

use std::collections::{BTreeMap, HashSet};

/// Longest name Hikvision firmware accepts; ONVIF names are kept to the same.
pub const MAX_LEN: usize = 32;

/// One piece of a pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Model,
    /// The sequence number, zero-padded to this width.
    Number(usize),
}

/// A checked pattern; `{site}` is already filled in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamePattern {
    parts: Vec<Part>,
}

/// Models carry spaces and slashes on some firmware: keep names to letters, digits, `-`, `_`.
pub fn clean_model(model: &str) -> String {
    let m: String =
        model.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect();
    if m.is_empty() {
        "camera".into()
    } else {
        m
    }
}

impl NamePattern {
    /// Parse a pattern; `{site}` becomes `site`. Exactly one `{n}` is required, or
    /// names would not be unique.
    pub fn parse(pattern: &str, site: &str) -> Result<NamePattern, String> {
        let mut parts = Vec::new();
        let mut rest = pattern;
        let mut numbers = 0;
        while !rest.is_empty() {
            match rest.find('{') {
                Some(0) => {
                    let end = rest.find('}').ok_or_else(|| format!("{pattern:?}: a '{{' is not closed"))?;
                    let field = &rest[1..end];
                    let part = match field {
                        "site" => Part::Text(site.to_string()),
                        "model" => Part::Model,
                        "n" => Part::Number(1),
                        f => match f.strip_prefix("n:") {
                            Some(w) => {
                                Part::Number(w.parse().ok().filter(|w| (1..=6).contains(w)).ok_or_else(|| {
                                    format!("{pattern:?}: {{{f}}} needs a width from 1 to 6, like {{n:03}}")
                                })?)
                            }
                            None => {
                                return Err(format!(
                                    "{pattern:?}: unknown field {{{f}}} (known: {{site}}, {{model}}, {{n}}, {{n:03}})"
                                ))
                            }
                        },
                    };
                    numbers += usize::from(matches!(part, Part::Number(_)));
                    parts.push(part);
                    rest = &rest[end + 1..];
                }
                Some(i) => {
                    parts.push(Part::Text(rest[..i].to_string()));
                    rest = &rest[i..];
                }
                None => {
                    parts.push(Part::Text(rest.to_string()));
                    rest = "";
                }
            }
        }
        if numbers != 1 {
            return Err(format!("{pattern:?}: needs exactly one {{n}} so that every device gets its own name"));
        }
        Ok(NamePattern { parts })
    }

    /// The name for a model and number.
    pub fn render(&self, model: &str, n: u32) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Model => clean_model(model),
                Part::Number(w) => format!("{n:0w$}", w = *w),
            })
            .collect()
    }

    /// The number in `name` if it fits the pattern for this model.
    pub fn number_in(&self, model: &str, name: &str) -> Option<u32> {
        let mut rest = name;
        let mut number = None;
        for p in &self.parts {
            match p {
                Part::Text(t) => rest = rest.strip_prefix(t.as_str())?,
                Part::Model => rest = rest.strip_prefix(clean_model(model).as_str())?,
                Part::Number(w) => {
                    let end = rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(rest.len());
                    if end < *w || (end > *w && rest.starts_with('0')) {
                        return None;
                    }
                    number = Some(rest[..end].parse().ok()?);
                    rest = &rest[end..];
                }
            }
        }
        rest.is_empty().then_some(number).flatten()
    }

    /// How the pattern reads, for evidence and plans.
    pub fn describe(&self) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Text(t) => t.clone(),
                Part::Model => "{model}".into(),
                Part::Number(1) => "{n}".into(),
                Part::Number(w) => format!("{{n:0{w}}}"),
            })
            .collect()
    }
}

/// A device as naming sees it.
#[derive(Debug, Clone)]
pub struct Named {
    pub label: String,
    pub model: String,
    /// What the device is called now, if that was read.
    pub current: Option<String>,
}

/// New names for the devices whose name does not fit, in the order given (callers
/// sort by address so that numbering follows the network). Names already taken — by a
/// fitting device or by any other device's current name — are skipped.
pub fn assign(pattern: &NamePattern, devices: &[Named]) -> BTreeMap<String, String> {
    let mut taken: HashSet<String> = devices.iter().filter_map(|d| d.current.clone()).collect();
    let mut out = BTreeMap::new();
    for d in devices {
        let fits = d.current.as_deref().is_some_and(|c| pattern.number_in(&d.model, c).is_some());
        if fits {
            continue;
        }
        let name = (1..).map(|n| pattern.render(&d.model, n)).find(|c| !taken.contains(c)).unwrap_or_default();
        taken.insert(name.clone());
        out.insert(d.label.clone(), name);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dev(label: &str, model: &str, current: &str) -> Named {
        Named { label: label.into(), model: model.into(), current: Some(current.into()) }
    }

    #[test]
    fn patterns_render_and_match() {
        let p = NamePattern::parse("{site}-{model}-{n:02}", "hq").unwrap();
        assert_eq!(p.render("DS-2CD2143G2-I", 7), "hq-DS-2CD2143G2-I-07");
        assert_eq!(p.number_in("DS-2CD2143G2-I", "hq-DS-2CD2143G2-I-07"), Some(7));
        assert_eq!(p.number_in("DS-2CD2143G2-I", "hq-DS-2CD2143G2-I-123"), Some(123));
        assert_eq!(p.number_in("DS-2CD2143G2-I", "hq-DS-2CD2143G2-I-7"), None, "too narrow");
        assert_eq!(p.number_in("DS-2CD2143G2-I", "hq-DS-2CD2143G2-I-007"), None, "over-padded");
        assert_eq!(p.number_in("Other", "hq-DS-2CD2143G2-I-07"), None);
        assert_eq!(p.number_in("DS-2CD2143G2-I", "IP CAMERA"), None);
        assert_eq!(p.render("Q1615 Mk III", 1), "hq-Q1615-Mk-III-01");
        assert_eq!(p.describe(), "hq-{model}-{n:02}");
    }

    #[test]
    fn bad_patterns_are_refused() {
        for bad in ["{site}-{model}", "{n}-{n}", "{x}-{n}", "{n:9}", "{n", "cam-{n:0}"] {
            assert!(NamePattern::parse(bad, "hq").is_err(), "{bad}");
        }
    }

    #[test]
    fn fitting_names_stay_and_new_ones_fill_gaps() {
        let p = NamePattern::parse("{site}-cam-{n}", "hq").unwrap();
        let devices = [
            dev("a", "m", "hq-cam-2"),
            dev("b", "m", "IP CAMERA"),
            dev("c", "m", "IP CAMERA"),
            dev("d", "m", "hq-cam-4"),
            Named { label: "e".into(), model: "m".into(), current: None },
        ];
        let names = assign(&p, &devices);
        assert_eq!(names.len(), 3);
        assert_eq!(names["b"], "hq-cam-1");
        assert_eq!(names["c"], "hq-cam-3");
        assert_eq!(names["e"], "hq-cam-5");
        // Once named, nothing changes: the second run assigns nothing.
        let after: Vec<Named> = devices
            .iter()
            .map(|d| Named { current: Some(names.get(&d.label).cloned().or(d.current.clone()).unwrap()), ..d.clone() })
            .collect();
        assert!(assign(&p, &after).is_empty());
    }
}
