//! The page layout engine: page geometry and colours, the drawing operations pages are
//! laid out into, table cells, the `Layout` cursor that places paragraphs, headings and
//! tables (breaking pages), and `layout`, which lays the report's sections out in order.

use portcullis_core::baseline::eval::Status;
use portcullis_core::baseline::Severity;

use super::metrics::Metrics;
use super::sections::{change_log, contents, cover, device_details, device_table, drift, firmware, standards, summary};
use crate::model::ReportData;
use crate::RenderError;

// A4 in points, and the text block.
pub(super) const PAGE_W: f32 = 595.28;
pub(super) const PAGE_H: f32 = 841.89;
pub(super) const LEFT: f32 = 48.0;
pub(super) const RIGHT: f32 = PAGE_W - 48.0;
const TOP: f32 = 64.0;
const BOTTOM: f32 = PAGE_H - 56.0;
pub(super) const WIDTH: f32 = RIGHT - LEFT;

pub(super) type Rgb = (u8, u8, u8);
pub(super) const INK: Rgb = (0x1d, 0x27, 0x33);
pub(super) const MUTED: Rgb = (0x5b, 0x67, 0x75);
pub(super) const LINE: Rgb = (0xd7, 0xdd, 0xe4);
pub(super) const BAND: Rgb = (0xf3, 0xf5, 0xf8);
pub(super) const BRAND: Rgb = (0x1f, 0x4e, 0x79);
pub(super) const WHITE: Rgb = (0xff, 0xff, 0xff);
pub(super) const PASS: Rgb = (0x2b, 0x8a, 0x3e);
pub(super) const FAIL: Rgb = (0xc9, 0x2a, 0x2a);
pub(super) const GREY: Rgb = (0x86, 0x8e, 0x96);

pub(super) fn severity_colour(s: Severity) -> Rgb {
    match s {
        Severity::Critical => (0xa4, 0x16, 0x1a),
        Severity::High => (0xd9, 0x48, 0x0f),
        Severity::Medium => (0xe0, 0xa1, 0x00),
        Severity::Low => (0x4f, 0x7c, 0xac),
    }
}

pub(super) fn status_colour(s: Status) -> Rgb {
    match s {
        Status::Pass => PASS,
        Status::Fail => FAIL,
        Status::Unknown => GREY,
        Status::Unsupported | Status::NotApplicable => MUTED,
    }
}

/// One drawing operation; `y` of text is its baseline, everything in points from the top.
#[derive(Debug, Clone)]
pub(super) enum Op {
    Text { x: f32, y: f32, size: f32, bold: bool, colour: Rgb, text: String },
    Rect { x: f32, y: f32, w: f32, h: f32, colour: Rgb },
    Line { x1: f32, y1: f32, x2: f32, y2: f32, colour: Rgb, width: f32 },
}

/// A table cell: text, and how to show it.
#[derive(Debug, Clone)]
pub(super) struct Cell {
    text: String,
    bold: bool,
    colour: Rgb,
    /// Drawn as a coloured pill (severity).
    badge: Option<Rgb>,
    /// A smaller second line in grey (a control's title under its id).
    sub: Option<String>,
}

pub(super) fn cell(text: impl Into<String>) -> Cell {
    Cell { text: text.into(), bold: false, colour: INK, badge: None, sub: None }
}

impl Cell {
    pub(super) fn bold(mut self) -> Self {
        self.bold = true;
        self
    }
    pub(super) fn colour(mut self, c: Rgb) -> Self {
        self.colour = c;
        self
    }
    pub(super) fn badge(mut self, c: Rgb) -> Self {
        self.badge = Some(c);
        self
    }
    pub(super) fn sub(mut self, s: impl Into<String>) -> Self {
        self.sub = Some(s.into());
        self
    }
}

/// Column: header, share of the text width, right-aligned or not.
pub(super) type Col = (&'static str, f32, bool);

pub(super) const BODY: f32 = 9.5;
const SMALL: f32 = 7.5;
const CELL: f32 = 7.8;

pub(super) struct Layout<'m> {
    pub(super) m: &'m Metrics,
    pub(super) pages: Vec<Vec<Op>>,
    pub(super) y: f32,
    /// (title, page index, y) of each section, for the contents and the outline.
    pub(super) sections: Sections,
}

impl<'m> Layout<'m> {
    fn new(m: &'m Metrics) -> Self {
        Layout { m, pages: vec![Vec::new()], y: TOP, sections: Vec::new() }
    }

    fn page(&self) -> usize {
        self.pages.len().saturating_sub(1)
    }

    pub(super) fn push(&mut self, op: Op) {
        if let Some(p) = self.pages.last_mut() {
            p.push(op);
        }
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Start a new page unless `h` more points fit on this one.
    pub(super) fn need(&mut self, h: f32) {
        if self.y + h > BOTTOM {
            self.new_page();
        }
    }

    pub(super) fn text(&mut self, x: f32, y: f32, size: f32, bold: bool, colour: Rgb, text: impl Into<String>) {
        self.push(Op::Text { x, y, size, bold, colour, text: text.into() });
    }

    pub(super) fn rect(&mut self, x: f32, y: f32, w: f32, h: f32, colour: Rgb) {
        self.push(Op::Rect { x, y, w, h, colour });
    }

    fn rule(&mut self, y: f32, colour: Rgb, width: f32) {
        self.push(Op::Line { x1: LEFT, y1: y, x2: RIGHT, y2: y, colour, width });
    }

    /// A wrapped paragraph at the cursor.
    pub(super) fn para(&mut self, text: &str, size: f32, colour: Rgb) {
        let lead = size * 1.4;
        for line in self.m.wrap(text, WIDTH, size, false) {
            self.need(lead);
            self.y += lead;
            self.text(LEFT, self.y - size * 0.3, size, false, colour, line);
        }
        self.y += size * 0.6;
    }

    /// A numbered section heading, on a new page.
    pub(super) fn section(&mut self, title: &str) {
        self.new_page();
        self.sections.push((title.to_string(), self.page(), self.y));
        self.y += 18.0;
        self.text(LEFT, self.y, 17.0, true, BRAND, title);
        self.y += 7.0;
        self.rule(self.y, BRAND, 1.5);
        self.y += 14.0;
    }

    pub(super) fn subheading(&mut self, title: &str, right: &str, min_after: f32) {
        self.need(26.0 + min_after);
        self.y += 16.0;
        self.text(LEFT, self.y, 11.5, true, INK, title);
        let w = self.m.width(right, 11.5, true);
        self.text(RIGHT - w, self.y, 11.5, true, BRAND, right);
        self.y += 6.0;
    }

    fn header_row(&mut self, cols: &[Col]) {
        let h = CELL + 9.0;
        self.rect(LEFT, self.y, WIDTH, h, BRAND);
        let mut x = LEFT;
        for (title, share, right) in cols {
            let w = share * WIDTH;
            let tw = self.m.width(title, CELL, true);
            let tx = if *right { x + w - 4.0 - tw } else { x + 4.0 };
            self.text(tx, self.y + h - 5.5, CELL, true, WHITE, *title);
            x += w;
        }
        self.y += h;
    }

    /// A table that breaks across pages, repeating its header row.
    /// Column shares fitted to the content: a column whose longest entry is narrower than
    /// its share keeps just that width, and the others split the rest by their shares;
    /// when everything fits, the spare width is spread by share. So a MAC address or an
    /// address with its port is not broken while a free-text column has room to spare.
    fn fit(&self, cols: &[Col], rows: &[Vec<Cell>]) -> Vec<Col> {
        let natural: Vec<f32> = cols
            .iter()
            .enumerate()
            .map(|(i, (title, _, _))| {
                let widest = rows
                    .iter()
                    .filter_map(|r| r.get(i))
                    .map(|c| {
                        let sub = c.sub.as_ref().map_or(0.0, |t| self.m.width(t, SMALL, false));
                        let badge = if c.badge.is_some() { 8.0 } else { 0.0 };
                        (self.m.width(&c.text, CELL, c.bold) + badge).max(sub)
                    })
                    .fold(self.m.width(title, CELL, true), f32::max);
                widest + 9.0
            })
            .collect();
        let total: f32 = natural.iter().sum();
        let widths: Vec<f32> = if total <= WIDTH {
            cols.iter().zip(&natural).map(|((_, share, _), n)| n + (WIDTH - total) * share).collect()
        } else {
            // Water-filling: columns whose share would exceed their content keep their
            // content's width; the rest split what is left by share, until nothing changes.
            let mut fixed = vec![false; cols.len()];
            loop {
                let used: f32 = natural.iter().zip(&fixed).filter(|(_, f)| **f).map(|(n, _)| n).sum();
                let shares: f32 = cols.iter().zip(&fixed).filter(|(_, f)| !**f).map(|(c, _)| c.1).sum();
                let mut changed = false;
                for ((c, n), f) in cols.iter().zip(&natural).zip(fixed.iter_mut()) {
                    if !*f && (WIDTH - used) * c.1 / shares.max(0.01) >= *n {
                        *f = true;
                        changed = true;
                    }
                }
                if !changed {
                    break cols
                        .iter()
                        .zip(&natural)
                        .zip(&fixed)
                        .map(|((c, n), f)| if *f { *n } else { (WIDTH - used) * c.1 / shares.max(0.01) })
                        .collect();
                }
            }
        };
        cols.iter().zip(widths).map(|((t, _, r), w)| (*t, w / WIDTH, *r)).collect()
    }

    pub(super) fn table(&mut self, cols: &[Col], rows: &[Vec<Cell>]) {
        let cols = &self.fit(cols, rows)[..];
        let lead = CELL * 1.3;
        self.need(CELL * 5.0);
        self.header_row(cols);
        for (i, row) in rows.iter().enumerate() {
            // Wrap every cell first: the row is as tall as its tallest cell.
            let wrapped: Vec<(Vec<String>, Vec<String>)> = cols
                .iter()
                .zip(row)
                .map(|((_, share, _), c)| {
                    let w = share * WIDTH - 8.0;
                    let main = self.m.wrap(&c.text, w, CELL, c.bold);
                    let sub = c.sub.as_ref().map(|s| self.m.wrap(s, w, SMALL, false)).unwrap_or_default();
                    (main, sub)
                })
                .collect();
            let lines =
                wrapped.iter().map(|(a, b)| a.len() as f32 * lead + b.len() as f32 * SMALL * 1.25).fold(lead, f32::max);
            let h = lines + 6.0;
            if self.y + h > BOTTOM {
                self.new_page();
                self.header_row(cols);
            }
            if i % 2 == 1 {
                self.rect(LEFT, self.y, WIDTH, h, BAND);
            }
            let mut x = LEFT;
            for (((_, share, right), c), (main, sub)) in cols.iter().zip(row).zip(wrapped) {
                let w = share * WIDTH;
                let mut ty = self.y + 3.0 + CELL;
                if let Some(colour) = c.badge {
                    let tw = self.m.width(&c.text, CELL - 1.0, true);
                    self.rect(x + 3.0, self.y + 3.0, tw + 8.0, CELL + 3.0, colour);
                    self.text(x + 7.0, ty, CELL - 1.0, true, WHITE, c.text.clone());
                } else {
                    for line in main {
                        let tx = if *right { x + w - 4.0 - self.m.width(&line, CELL, c.bold) } else { x + 4.0 };
                        self.text(tx, ty, CELL, c.bold, c.colour, line);
                        ty += lead;
                    }
                }
                for line in sub {
                    self.text(x + 4.0, ty - 1.0, SMALL, false, MUTED, line);
                    ty += SMALL * 1.25;
                }
                x += w;
            }
            self.y += h;
            self.push(Op::Line { x1: LEFT, y1: self.y, x2: RIGHT, y2: self.y, colour: LINE, width: 0.4 });
        }
        self.y += 10.0;
    }

    /// Label/value pairs in two columns (the cover and each device's identity).
    pub(super) fn pairs(&mut self, items: &[(&str, String)], label_w: f32, size: f32) {
        let lead = size * 1.45;
        for (label, value) in items {
            let lines = self.m.wrap(value, WIDTH - label_w, size, false);
            self.need(lead * lines.len() as f32);
            self.y += lead;
            self.text(LEFT, self.y, size, true, MUTED, *label);
            for (i, line) in lines.into_iter().enumerate() {
                if i > 0 {
                    self.y += lead;
                }
                self.text(LEFT + label_w, self.y, size, false, INK, line);
            }
        }
        self.y += size;
    }
}

/// Each section's title, page index and position.
pub(super) type Sections = Vec<(String, usize, f32)>;

pub(super) fn layout(r: &ReportData, m: &Metrics) -> (Vec<Vec<Op>>, Sections) {
    let mut l = Layout::new(m);
    cover(&mut l, r);
    summary(&mut l, r);
    device_table(&mut l, r);
    device_details(&mut l, r);
    change_log(&mut l, r);
    drift(&mut l, r);
    firmware(&mut l, r);
    standards(&mut l, r);
    contents(&mut l);
    (l.pages, l.sections)
}

/// The laid-out text of every page, one line per text run (`page y x size [b] text`),
/// without the running header and footer: what the PDF says and where, in a form a
/// snapshot test can compare without a PDF reader.
pub fn layout_text(r: &ReportData) -> Result<String, RenderError> {
    let metrics = Metrics::new()?;
    let (pages, _) = layout(r, &metrics);
    let mut out = String::new();
    for (i, ops) in pages.iter().enumerate() {
        out.push_str(&format!("--- page {}\n", i + 1));
        for op in ops {
            if let Op::Text { x, y, size, bold, text, .. } = op {
                let b = if *bold { " b" } else { "" };
                out.push_str(&format!("{} {y:.1} {x:.1} {size:.1}{b} {text}\n", i + 1));
            }
        }
    }
    Ok(out)
}
