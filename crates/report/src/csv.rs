//! The CSV report: one row per device × control, for spreadsheets. Devices that could
//! not be audited get one row with the error. `secret_sent_in_clear` says the site let a
//! secret reach the device over plain HTTP. `drifted_from` and `drift_verified_at` are
//! filled when the setting no longer holds what an apply verified (the value it set and
//! when). The last two columns repeat the report's
//! digest and the history chain head, so a row copied elsewhere still says where it came from.
//! Every cell is neutralised against formula injection: a device names itself, so its
//! model or evidence text could be `=HYPERLINK(…)`, which a spreadsheet would run.

use crate::model::{self, ReportData};
use crate::RenderError;

const HEADER: [&str; 23] = [
    "site",
    "device",
    "vendor",
    "model",
    "serial",
    "mac",
    "firmware",
    "score",
    "score_before",
    "control",
    "title",
    "severity",
    "status",
    "setting",
    "observed",
    "expected",
    "evidence",
    "drifted_from",
    "drift_verified_at",
    "secret_sent_in_clear",
    "audited_at",
    "report_sha256",
    "history_head",
];

pub fn render(report: &ReportData) -> Result<Vec<u8>, RenderError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(HEADER)?;
    let digest = report.sha256.clone().unwrap_or_default();
    let score = |s: Option<u8>| s.map(|x| x.to_string()).unwrap_or_default();
    for d in &report.devices {
        let ident = [
            d.site.clone().unwrap_or_default(),
            d.target.clone(),
            d.vendor.clone(),
            d.model.clone(),
            d.serial.clone(),
            d.mac.clone(),
            d.firmware.clone(),
            score(d.score),
            score(d.score_before),
        ];
        // The site let a secret reach this device over plain HTTP (allow_plaintext_secrets).
        let in_clear = if report.history.plaintext_secrets.contains(&d.target) { "yes" } else { "no" };
        let tail = [in_clear.to_string(), d.audited_at.clone(), digest.clone(), report.history.head.clone()];
        if d.findings.is_empty() {
            let err = d.error.clone().unwrap_or_default();
            let mid = ["", "", "", "error", "", "", "", &err, "", ""];
            let row = ident.iter().map(String::as_str).chain(mid).chain(tail.iter().map(String::as_str));
            w.write_record(row.map(|c| inert(c).into_owned()))?;
        }
        for f in &d.findings {
            let drift = report.drift.iter().find(|x| x.device == d.target && x.setting == f.setting);
            let mid = [
                f.control.clone(),
                f.title.clone(),
                model::severity_text(f.severity).to_string(),
                model::status_text(f.status).to_string(),
                f.setting.to_string(),
                f.observed.as_ref().map(ToString::to_string).unwrap_or_default(),
                f.expected.clone(),
                f.evidence.clone(),
                drift.map(|x| model::show(x.applied.as_ref())).unwrap_or_default(),
                drift.map(|x| x.verified_at.clone()).unwrap_or_default(),
            ];
            w.write_record(ident.iter().chain(mid.iter()).chain(tail.iter()).map(|c| inert(c).into_owned()))?;
        }
    }
    w.into_inner().map_err(|e| RenderError::Csv(e.to_string()))
}

/// A cell a spreadsheet shows as text: one that starts like a formula (`=`, `+`, `-`,
/// `@`, or a tab or carriage return before one) gets a leading apostrophe, as OWASP's
/// CSV-injection guidance advises. Hand-written: the csv crate quotes, it does not defuse.
fn inert(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

#[cfg(test)]
mod tests {
    use super::inert;

    #[test]
    fn formulas_become_text_and_plain_cells_stay_as_they_are() {
        for evil in ["=HYPERLINK(\"http://x\")", "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1"] {
            assert!(inert(evil).starts_with('\''), "{evil}");
        }
        for plain in ["DS-2CD2143G2-I", "V5.5.0 build 170725", "", "42"] {
            assert_eq!(inert(plain), plain);
        }
    }
}
