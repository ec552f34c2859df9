//! Writing the document: the laid-out pages drawn with krilla, with the running header,
//! the footer with the page number, the metadata and the outline added.

use krilla::color::rgb;
use krilla::destination::XyzDestination;
use krilla::geom::{PathBuilder, Point, Rect};
use krilla::metadata::Metadata;
use krilla::outline::{Outline, OutlineNode};
use krilla::page::PageSettings;
use krilla::paint::{Fill, Stroke};
use krilla::text::Font;
use krilla::Document;

use super::layout::{Op, Rgb, Sections, LEFT, LINE, MUTED, PAGE_H, PAGE_W, RIGHT};
use super::metrics::{Metrics, BOLD, REGULAR};
use crate::model::ReportData;
use crate::RenderError;

fn fill(c: Rgb) -> Fill {
    Fill { paint: rgb::Color::new(c.0, c.1, c.2).into(), ..Default::default() }
}

/// Draw the laid-out `pages` into a PDF document, and list the `sections` in its outline.
pub(super) fn write(
    r: &ReportData,
    metrics: &Metrics,
    pages: Vec<Vec<Op>>,
    sections: Sections,
) -> Result<Vec<u8>, RenderError> {
    let regular = Font::new(REGULAR.into(), 0).ok_or_else(|| RenderError::Pdf("the regular font".into()))?;
    let bold = Font::new(BOLD.into(), 0).ok_or_else(|| RenderError::Pdf("the bold font".into()))?;
    let mut doc = Document::new();
    doc.set_metadata(
        Metadata::new()
            .title(format!("{} — {}", r.title, r.site))
            .creator(r.generator.clone())
            .authors(vec![r.operator.clone()])
            .language("en".into()),
    );
    let total = pages.len();
    let settings = PageSettings::from_wh(PAGE_W, PAGE_H).ok_or_else(|| RenderError::Pdf("page size".into()))?;
    let running = format!("{} — {}", r.title, r.site);
    let digest = r.sha256.as_deref().unwrap_or("").chars().take(16).collect::<String>();
    for (i, ops) in pages.into_iter().enumerate() {
        let mut page = doc.start_page_with(settings.clone());
        let mut s = page.surface();
        let mut all = ops;
        // Running header (not on the cover) and footer with the page number.
        if i > 0 {
            all.push(Op::Text { x: LEFT, y: 36.0, size: 7.5, bold: false, colour: MUTED, text: running.clone() });
            let date = r.generated_at.clone();
            let w = metrics.width(&date, 7.5, false);
            all.push(Op::Text { x: RIGHT - w, y: 36.0, size: 7.5, bold: false, colour: MUTED, text: date });
            all.push(Op::Line { x1: LEFT, y1: 42.0, x2: RIGHT, y2: 42.0, colour: LINE, width: 0.5 });
        }
        all.push(Op::Line { x1: LEFT, y1: PAGE_H - 40.0, x2: RIGHT, y2: PAGE_H - 40.0, colour: LINE, width: 0.5 });
        all.push(Op::Text {
            x: LEFT,
            y: PAGE_H - 28.0,
            size: 7.0,
            bold: false,
            colour: MUTED,
            text: format!("Report SHA-256 {digest}…   {}", r.generator),
        });
        let num = format!("Page {} of {total}", i + 1);
        let w = metrics.width(&num, 7.5, false);
        all.push(Op::Text { x: RIGHT - w, y: PAGE_H - 28.0, size: 7.5, bold: false, colour: MUTED, text: num });
        for op in all {
            match op {
                Op::Text { x, y, size, bold: b, colour, text } => {
                    if text.is_empty() {
                        continue;
                    }
                    s.set_fill(Some(fill(colour)));
                    let font = if b { bold.clone() } else { regular.clone() };
                    s.draw_glyphs(Point::from_xy(x, y), &metrics.glyphs(&text, b), font, &text, size, false);
                }
                Op::Rect { x, y, w, h, colour } => {
                    let Some(rect) = Rect::from_xywh(x, y, w, h) else { continue };
                    let mut pb = PathBuilder::new();
                    pb.push_rect(rect);
                    if let Some(path) = pb.finish() {
                        s.set_stroke(None);
                        s.set_fill(Some(fill(colour)));
                        s.draw_path(&path);
                    }
                }
                Op::Line { x1, y1, x2, y2, colour, width } => {
                    let mut pb = PathBuilder::new();
                    pb.move_to(x1, y1);
                    pb.line_to(x2, y2);
                    if let Some(path) = pb.finish() {
                        s.set_fill(None);
                        s.set_stroke(Some(Stroke {
                            paint: rgb::Color::new(colour.0, colour.1, colour.2).into(),
                            width,
                            ..Default::default()
                        }));
                        s.draw_path(&path);
                        s.set_stroke(None);
                    }
                }
            }
        }
        s.finish();
        page.finish();
    }
    let mut outline = Outline::new();
    for (title, page, y) in sections {
        outline.push_child(OutlineNode::new(title, XyzDestination::new(page, Point::from_xy(LEFT, y))));
    }
    doc.set_outline(outline);
    doc.finish().map_err(|e| RenderError::Pdf(format!("{e:?}")))
}
