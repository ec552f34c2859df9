//! Portcullis reports: one data model ([`model::ReportData`]) built from core types,
//! rendered as JSON, CSV, HTML and PDF.
