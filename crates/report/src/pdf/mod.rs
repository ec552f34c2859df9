//! The PDF report, written with krilla (fonts embedded and subset). Layout happens first,
//! into plain drawing operations per page, and drawing second: so every page knows the
//! page count ("Page 3 of 41") and the cover's contents list knows where each section
//! starts. `metrics` measures text, `layout` places it (the report's own sections are in
//! `sections`) and `output` writes the document.

use crate::model::ReportData;
use crate::RenderError;

mod layout;
mod metrics;
mod output;
mod sections;

pub use layout::layout_text;

pub fn render(r: &ReportData) -> Result<Vec<u8>, RenderError> {
    let metrics = metrics::Metrics::new()?;
    let (pages, sections) = layout::layout(r, &metrics);
    output::write(r, &metrics, pages, sections)
}
