//! Portcullis reports: one data model ([`model::ReportData`]) built from core types by a
//! pure function, rendered as JSON, CSV, self-contained HTML and PDF. Renderers take the
//! model and return bytes; the caller decides where they go.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing))]

pub mod csv;
pub mod html;
pub mod integrity;
pub mod json;
pub mod model;
pub mod pdf;
pub mod sample;
pub mod workspace;

pub use model::{build, Inputs, ReportData};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Pdf,
    Html,
    Csv,
    Json,
}

impl std::str::FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "pdf" => Ok(Format::Pdf),
            "html" => Ok(Format::Html),
            "csv" => Ok(Format::Csv),
            "json" => Ok(Format::Json),
            other => Err(format!("unknown report format {other:?}: use pdf, html, csv or json")),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error("CSV: {0}")]
    Csv(String),
    #[error("HTML template: {0}")]
    Template(#[from] minijinja::Error),
    #[error("PDF: {0}")]
    Pdf(String),
}

impl From<::csv::Error> for RenderError {
    fn from(e: ::csv::Error) -> Self {
        RenderError::Csv(e.to_string())
    }
}

/// Render a sealed report (one with its `sha256`) in `format`.
pub fn render(format: Format, report: &ReportData) -> Result<Vec<u8>, RenderError> {
    match format {
        Format::Pdf => pdf::render(report),
        Format::Html => html::render(report),
        Format::Csv => csv::render(report),
        Format::Json => json::render(report),
    }
}
