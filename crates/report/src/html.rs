//! The HTML report: one self-contained file (inline CSS, an inline SVG chart, no script,
//! no external asset), rendered with minijinja, which escapes every value.

use minijinja::{Environment, Value};

use crate::model::ReportData;
use crate::RenderError;

const TEMPLATE: &str = include_str!("../templates/report.html");

/// A posture value as a reader sees it: lists joined, nothing as a dash.
#[allow(clippy::needless_pass_by_value)] // minijinja hands filters their argument by value
fn show(v: Value) -> String {
    if v.is_none() || v.is_undefined() {
        return "—".into();
    }
    // minijinja shows booleans the Python way (True); devices and the JSON say true.
    if matches!(v.kind(), minijinja::value::ValueKind::Bool) {
        return if v.is_true() { "true" } else { "false" }.into();
    }
    match v.try_iter() {
        Ok(items) if !matches!(v.kind(), minijinja::value::ValueKind::String) => {
            let parts: Vec<String> = items.map(|x| x.to_string()).collect();
            if parts.is_empty() {
                "none".into()
            } else {
                parts.join(", ")
            }
        }
        _ => v.to_string(),
    }
}

pub fn render(report: &ReportData) -> Result<Vec<u8>, RenderError> {
    let mut env = Environment::new();
    env.add_filter("show", show);
    env.add_template("report.html", TEMPLATE)?;
    let chart = chart_svg(report);
    let ctx = minijinja::context! { r => Value::from(minijinja::value::Serde(report)), chart => Value::from_safe_string(chart) };
    Ok(env.get_template("report.html")?.render(ctx)?.into_bytes())
}

const SEVERITY_COLOURS: [&str; 4] = ["#a4161a", "#d9480f", "#e0a100", "#4f7cac"];

/// Score before and after (bars out of 100) and failing controls by severity. Built
/// from numbers and fixed labels only, so it needs no escaping.
fn chart_svg(r: &ReportData) -> String {
    let s = &r.summary;
    let mut out = String::from(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="720" height="230" viewBox="0 0 720 230" role="img" aria-label="Site score and failing controls by severity" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"##,
    );
    out.push_str(r##"<text x="0" y="16" font-weight="bold" fill="#1f4e79">Site score</text>"##);
    // Score bars: height proportional to the score, on a 0–100 axis 160 px tall.
    let base = 200.0_f32;
    out.push_str(r##"<line x1="40" y1="200" x2="300" y2="200" stroke="#5b6775"/>"##);
    for tick in [0u8, 50, 100] {
        let y = base - f32::from(tick) * 1.6;
        out.push_str(&format!(
            r##"<text x="32" y="{:.0}" text-anchor="end" fill="#5b6775">{tick}</text><line x1="40" y1="{y:.0}" x2="300" y2="{y:.0}" stroke="#d7dde4" stroke-dasharray="3 3"/>"##,
            y + 4.0
        ));
    }
    let bars: Vec<(&str, Option<u8>, &str)> = match s.score_before {
        Some(b) => vec![("before", Some(b), "#868e96"), ("after", s.score_after, "#1f4e79")],
        None => vec![("now", s.score_after, "#1f4e79")],
    };
    for (i, (label, score, colour)) in bars.iter().enumerate() {
        let x = 70.0 + i as f32 * 110.0;
        let v = score.map_or(0.0, f32::from);
        let h = v * 1.6;
        out.push_str(&format!(
            r##"<rect x="{x:.0}" y="{:.1}" width="70" height="{h:.1}" fill="{colour}" rx="2"/><text x="{:.0}" y="{:.1}" text-anchor="middle" font-weight="bold">{}</text><text x="{:.0}" y="218" text-anchor="middle" fill="#5b6775">{label}</text>"##,
            base - h,
            x + 35.0,
            base - h - 6.0,
            score.map_or("—".to_string(), |x| x.to_string()),
            x + 35.0
        ));
    }
    // Failing controls by severity: horizontal bars, scaled to the largest count.
    out.push_str(r##"<text x="360" y="16" font-weight="bold" fill="#1f4e79">Failing controls by severity</text>"##);
    let rows = s.failing.rows();
    let before = s.failing_before.map(|b| b.rows());
    let max =
        rows.iter().map(|r| r.1).chain(before.iter().flat_map(|b| b.iter().map(|r| r.1))).max().unwrap_or(0).max(1);
    for (i, ((label, n), colour)) in rows.iter().zip(SEVERITY_COLOURS).enumerate() {
        let y = 36.0 + i as f32 * 42.0;
        let w = 190.0 * *n as f32 / max as f32;
        out.push_str(&format!(
            r##"<text x="420" y="{:.0}" text-anchor="end">{label}</text><rect x="428" y="{y:.0}" width="{w:.1}" height="16" fill="{colour}" rx="2"/><text x="{:.1}" y="{:.0}">{n}</text>"##,
            y + 12.0,
            432.0 + w,
            y + 12.0
        ));
        if let Some(b) = before.as_ref().and_then(|b| b.get(i)) {
            let wb = 190.0 * b.1 as f32 / max as f32;
            out.push_str(&format!(
                r##"<rect x="428" y="{:.0}" width="{wb:.1}" height="7" fill="#adb5bd" rx="1"/><text x="{:.1}" y="{:.0}" fill="#5b6775" font-size="10">before {}</text>"##,
                y + 19.0,
                432.0 + wb,
                y + 26.0,
                b.1
            ));
        }
    }
    out.push_str("</svg>");
    out
}
