//! Font measurement: glyph ids and advances of the two embedded fonts, and text width and
//! wrapping from them. The font is DejaVu Sans Condensed (fonts/LICENSE-DejaVu.txt), compact
//! enough for wide tables and complete enough for the arrows and dashes the report uses.

use std::collections::HashMap;

use krilla::text::{GlyphId, KrillaGlyph};
use skrifa::instance::{LocationRef, Size};
use skrifa::MetadataProvider;

use crate::RenderError;

pub(super) const REGULAR: &[u8] = include_bytes!("../../fonts/DejaVuSansCondensed.ttf");
pub(super) const BOLD: &[u8] = include_bytes!("../../fonts/DejaVuSansCondensed-Bold.ttf");

/// Glyph ids and advances (in ems): text is measured, wrapped and laid out into glyphs
/// here. The fonts need no shaping beyond that (Latin text, no ligatures), and doing it
/// once per font instead of once per string keeps a 1,000-device report fast.
#[derive(Debug)]
pub(super) struct Metrics {
    regular: HashMap<char, (u32, f32)>,
    bold: HashMap<char, (u32, f32)>,
}

/// Advance of a character the font lacks (drawn as the font's .notdef box).
const MISSING: (u32, f32) = (0, 0.6);

fn advances(data: &[u8]) -> Result<HashMap<char, (u32, f32)>, RenderError> {
    let font = skrifa::FontRef::new(data).map_err(|e| RenderError::Pdf(format!("font: {e}")))?;
    let upem = f32::from(font.metrics(Size::unscaled(), LocationRef::default()).units_per_em).max(1.0);
    let gm = font.glyph_metrics(Size::unscaled(), LocationRef::default());
    let charmap = font.charmap();
    Ok(charmap
        .mappings()
        .filter_map(|(cp, gid)| Some((char::from_u32(cp)?, (gid.to_u32(), gm.advance_width(gid)? / upem))))
        .collect())
}

impl Metrics {
    pub(super) fn new() -> Result<Metrics, RenderError> {
        Ok(Metrics { regular: advances(REGULAR)?, bold: advances(BOLD)? })
    }

    pub(super) fn width(&self, text: &str, size: f32, bold: bool) -> f32 {
        let table = if bold { &self.bold } else { &self.regular };
        text.chars().map(|c| table.get(&c).copied().unwrap_or(MISSING).1).sum::<f32>() * size
    }

    /// The glyphs of a line of text, left to right.
    pub(super) fn glyphs(&self, text: &str, bold: bool) -> Vec<KrillaGlyph> {
        let table = if bold { &self.bold } else { &self.regular };
        text.char_indices()
            .map(|(i, c)| {
                let (gid, adv) = table.get(&c).copied().unwrap_or(MISSING);
                KrillaGlyph::new(GlyphId::new(gid), adv, 0.0, 0.0, 0.0, i..i + c.len_utf8(), None)
            })
            .collect()
    }

    /// Greedy wrapping at spaces; a word wider than the line is broken between characters.
    pub(super) fn wrap(&self, text: &str, width: f32, size: f32, bold: bool) -> Vec<String> {
        let mut lines = Vec::new();
        for para in text.split('\n') {
            let mut line = String::new();
            for word in para.split(' ').filter(|w| !w.is_empty()) {
                let candidate = if line.is_empty() { word.to_string() } else { format!("{line} {word}") };
                if self.width(&candidate, size, bold) <= width {
                    line = candidate;
                    continue;
                }
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line));
                }
                // Break a long word (hashes, setting keys) at the line's width.
                for c in word.chars() {
                    line.push(c);
                    if self.width(&line, size, bold) > width && line.chars().count() > 1 {
                        line.pop();
                        lines.push(std::mem::take(&mut line));
                        line.push(c);
                    }
                }
            }
            lines.push(line);
        }
        lines
    }
}
