//! Model patterns as vendors write them in advisories: Hikvision's (`x` is one
//! character, a model matches a line it starts with) and Dahua's families.

use serde::{Deserialize, Serialize};

/// How a vendor writes a model pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelNames {
    /// Hikvision's: `x` stands for any one character, and a model matches a pattern it
    /// starts with (`DS-2CD2xx2F-I` covers `DS-2CD2132F-IS`).
    #[default]
    Prefix,
    /// Dahua's families: an `X` between a letter and a digit is the form-factor code, one
    /// or more letters (`IPC-HX3XXX` covers `IPC-HFW3441E-AS` and `IPC-HDBW3241E`); any
    /// other `X` is one character; and the `DH-`/`DHI-` real model names start with is
    /// not part of the family's name.
    Dahua,
}

impl ModelNames {
    pub(super) fn is_prefix(&self) -> bool {
        *self == ModelNames::Prefix
    }

    /// Whether `model` is in the line `pattern` names.
    pub fn fits(self, model: &str, pattern: &str) -> bool {
        match self {
            ModelNames::Prefix => model_in_line(model, pattern),
            ModelNames::Dahua => {
                let model = model.trim().to_ascii_uppercase();
                let bare = model.strip_prefix("DHI-").or_else(|| model.strip_prefix("DH-")).unwrap_or(&model);
                let m: Vec<char> = bare.chars().collect();
                let p: Vec<char> = pattern.to_ascii_uppercase().chars().collect();
                in_dahua_family(&m, &p, None)
            }
        }
    }
}

/// Dahua's family notation, matched with backtracking over the letter runs. Written
/// here: it is no glob or regular-expression syntax a library reads.
fn in_dahua_family(model: &[char], pattern: &[char], before: Option<char>) -> bool {
    let Some((&p, rest)) = pattern.split_first() else { return true };
    let after = |n: usize| model.get(n..).filter(|_| n > 0);
    if p != 'X' {
        return model.first() == Some(&p) && after(1).is_some_and(|m| in_dahua_family(m, rest, Some(p)));
    }
    let letter_run = before.is_some_and(|c| c.is_ascii_alphabetic()) && rest.first().is_some_and(char::is_ascii_digit);
    if !letter_run {
        return after(1).is_some_and(|m| !model.is_empty() && in_dahua_family(m, rest, Some(p)));
    }
    let letters = model.iter().take_while(|c| c.is_ascii_alphabetic()).count();
    (1..=letters).any(|n| after(n).is_some_and(|m| in_dahua_family(m, rest, Some(p))))
}

/// Hikvision's reading: `x` stands for any one character, and a model is in a line it
/// starts with (`DS-2CD2xx2F-I` covers `DS-2CD2132F-IS`).
pub(crate) fn model_in_line(model: &str, line: &str) -> bool {
    let m: Vec<char> = model.to_ascii_uppercase().chars().collect();
    let l: Vec<char> = line.to_ascii_uppercase().chars().collect();
    m.len() >= l.len() && l.iter().zip(&m).all(|(p, c)| *p == 'X' || p == c)
}
