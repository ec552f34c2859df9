//! The JSON report: the model itself, pretty-printed, with its `sha256` (the schema is
//! documented in docs/report-schema.md).

use crate::model::ReportData;
use crate::RenderError;

pub fn render(report: &ReportData) -> Result<Vec<u8>, RenderError> {
    let mut out = serde_json::to_vec_pretty(report)?;
    out.push(b'\n');
    Ok(out)
}
