//! The report's sections, each laid out onto the pages in order: cover, summary with
//! its chart, device table, per-device detail, change log and drift, firmware, standards, and
//! the contents list (written last, onto the cover, once every section's page is known).

use portcullis_core::baseline::Severity;
use portcullis_core::history::OutcomeKind;

use super::layout::{
    cell, severity_colour, status_colour, Cell, Col, Layout, Op, Rgb, BAND, BODY, BRAND, FAIL, GREY, INK, LEFT, LINE,
    MUTED, PAGE_W, PASS, RIGHT, WHITE, WIDTH,
};
use crate::model::{self, ReportData};

fn score_text(s: Option<u8>) -> String {
    s.map_or_else(|| "—".to_string(), |x| x.to_string())
}

fn score_change(before: Option<u8>, after: Option<u8>) -> String {
    match before {
        Some(b) => format!("{b} → {}", score_text(after)),
        None => score_text(after),
    }
}

pub(super) fn cover(l: &mut Layout<'_>, r: &ReportData) {
    l.rect(0.0, 0.0, PAGE_W, 250.0, BRAND);
    l.text(LEFT, 120.0, 12.0, true, (0xb8, 0xcc, 0xe0), "PORTCULLIS");
    l.text(LEFT, 160.0, 30.0, true, WHITE, r.title.clone());
    l.text(LEFT, 196.0, 16.0, false, WHITE, r.site.clone());
    let baselines = if r.baselines.is_empty() {
        "—".to_string()
    } else {
        r.baselines.iter().map(|b| format!("{} ({} {})", b.title, b.name, b.version)).collect::<Vec<_>>().join("; ")
    };
    let period = match (&r.audits.first_time, &r.audits.last_time) {
        (Some(a), Some(b)) if a != b => format!("{a} to {b}"),
        (_, Some(b)) => b.clone(),
        _ => "—".into(),
    };
    l.y = 280.0;
    l.pairs(
        &[
            ("Site", r.site.clone()),
            ("Date", r.generated_at.clone()),
            ("Operator", r.operator.clone()),
            ("Baseline", baselines),
            ("Audits", period),
            ("Devices", r.summary.devices.to_string()),
            ("Site score", format!("{} / 100", score_change(r.summary.score_before, r.summary.score_after))),
        ],
        110.0,
        11.0,
    );
    if !r.history.intact {
        l.y += 4.0;
        l.rect(LEFT, l.y, WIDTH, 24.0, (0xff, 0xf4, 0xe6));
        l.text(LEFT + 8.0, l.y + 16.0, 9.5, true, FAIL, "The local history did not verify when this report was built.");
        l.y += 34.0;
    }
    if !r.history.plaintext_secrets.is_empty() {
        l.y += 4.0;
        l.rect(LEFT, l.y, WIDTH, 24.0, (0xff, 0xf4, 0xe6));
        let n = r.history.plaintext_secrets.len();
        let text =
            format!("The site baseline let passwords reach {n} device(s) over plain HTTP (allow_plaintext_secrets).");
        l.text(LEFT + 8.0, l.y + 16.0, 9.5, true, FAIL, text);
        l.y += 34.0;
    }
    // The contents list is filled in once the sections have been laid out.
    l.y += 10.0;
}

fn integrity_block(l: &mut Layout<'_>, r: &ReportData) {
    l.need(120.0);
    l.y += 8.0;
    l.text(LEFT, l.y + 10.0, 11.0, true, BRAND, "Integrity");
    l.y += 14.0;
    l.pairs(
        &[
            ("History chain head", format!("{} ({} records)", r.history.head, r.history.records)),
            ("Report SHA-256", r.sha256.clone().unwrap_or_default()),
        ],
        110.0,
        8.5,
    );
    l.para(
        "The report SHA-256 is computed over the report's data (its canonical JSON without the digest). The JSON \
         export of the same report carries the same value; “portcullis report verify FILE.json” recomputes it and \
         checks the chain head and every change record it lists against the local history.",
        8.0,
        MUTED,
    );
}

pub(super) fn summary(l: &mut Layout<'_>, r: &ReportData) {
    let s = &r.summary;
    l.section("1. Executive summary");
    // Four cards.
    let cards = [
        ("SITE SCORE", format!("{} / 100", score_change(s.score_before, s.score_after))),
        ("DEVICES SCORED", format!("{} of {}", s.scored, s.devices)),
        ("FAILING CONTROLS", s.failing.total().to_string()),
        ("CHANGES RECORDED", s.changes.to_string()),
    ];
    let cw = (WIDTH - 3.0 * 10.0) / 4.0;
    for (i, (label, value)) in cards.iter().enumerate() {
        let x = LEFT + i as f32 * (cw + 10.0);
        l.rect(x, l.y, cw, 54.0, BAND);
        l.rect(x, l.y, 3.0, 54.0, BRAND);
        l.text(x + 10.0, l.y + 16.0, 7.0, true, MUTED, *label);
        // The largest size up to 17 pt at which the value fits its card.
        let size = (17.0 * (cw - 20.0) / l.m.width(value, 17.0, true).max(1.0)).min(17.0);
        l.text(x + 10.0, l.y + 41.0, size, true, INK, value.clone());
    }
    l.y += 74.0;
    chart(l, r);
    l.para(
        "The score is the severity-weighted share of decided controls that pass (critical 10, high 5, medium 3, \
         low 1). A setting that could not be read counts against the device, because an unverified setting is not \
         a secure one. The site score is the mean of the device scores.",
        BODY,
        INK,
    );
    let mut notes = Vec::new();
    if s.errors > 0 {
        notes.push(format!("{} device(s) could not be fully audited (see the device details).", s.errors));
    }
    if s.unknown > 0 {
        notes.push(format!("{} finding(s) could not be decided and count as failing.", s.unknown));
    }
    let affected: usize = r.firmware.iter().filter(|f| !f.advisories.is_empty()).map(|f| f.devices.len()).sum();
    if affected > 0 {
        notes.push(format!("{affected} device(s) run firmware inside a published advisory range (section 5)."));
    }
    for n in notes {
        l.para(&format!("•  {n}"), BODY, INK);
    }
    integrity_block(l, r);
}

/// Score bars (before and after) and failing controls by severity, as vector shapes.
fn chart(l: &mut Layout<'_>, r: &ReportData) {
    let s = &r.summary;
    let top = l.y;
    let h = 150.0;
    l.text(LEFT, top + 10.0, 10.0, true, BRAND, "Site score");
    let base = top + h;
    let axis_h = h - 30.0;
    for tick in [0u8, 50, 100] {
        let y = base - f32::from(tick) / 100.0 * axis_h;
        let label = tick.to_string();
        let w = l.m.width(&label, 7.0, false);
        l.text(LEFT + 18.0 - w, y + 2.5, 7.0, false, MUTED, label);
        l.push(Op::Line { x1: LEFT + 22.0, y1: y, x2: LEFT + 220.0, y2: y, colour: LINE, width: 0.5 });
    }
    let bars: Vec<(&str, Option<u8>, Rgb)> = match s.score_before {
        Some(b) => vec![("before", Some(b), GREY), ("after", s.score_after, BRAND)],
        None => vec![("now", s.score_after, BRAND)],
    };
    for (i, (label, score, colour)) in bars.into_iter().enumerate() {
        let x = LEFT + 50.0 + i as f32 * 90.0;
        let bh = score.map_or(0.0, f32::from) / 100.0 * axis_h;
        l.rect(x, base - bh, 52.0, bh, colour);
        let v = score_text(score);
        let vw = l.m.width(&v, 10.0, true);
        l.text(x + 26.0 - vw / 2.0, base - bh - 4.0, 10.0, true, INK, v);
        let lw = l.m.width(label, 8.0, false);
        l.text(x + 26.0 - lw / 2.0, base + 11.0, 8.0, false, MUTED, label);
    }
    let x0 = LEFT + 270.0;
    l.text(x0, top + 10.0, 10.0, true, BRAND, "Failing controls by severity");
    let rows = s.failing.rows();
    let before = s.failing_before.map(|b| b.rows());
    let max =
        rows.iter().map(|r| r.1).chain(before.iter().flat_map(|b| b.iter().map(|r| r.1))).max().unwrap_or(0).max(1);
    let sev = [Severity::Critical, Severity::High, Severity::Medium, Severity::Low];
    let bar_w = RIGHT - x0 - 48.0 - 52.0;
    for (i, ((label, n), sv)) in rows.iter().zip(sev).enumerate() {
        let y = top + 24.0 + i as f32 * 30.0;
        l.text(x0, y + 10.0, 8.5, false, INK, *label);
        let w = bar_w * *n as f32 / max as f32;
        l.rect(x0 + 48.0, y + 1.0, w.max(0.5), 12.0, severity_colour(sv));
        l.text(x0 + 52.0 + w, y + 10.0, 8.5, true, INK, n.to_string());
        if let Some(b) = before.as_ref().and_then(|b| b.get(i)) {
            let wb = bar_w * b.1 as f32 / max as f32;
            l.rect(x0 + 48.0, y + 15.0, wb.max(0.5), 5.0, (0xad, 0xb5, 0xbd));
            l.text(x0 + 52.0 + wb, y + 20.0, 6.5, false, MUTED, format!("before: {}", b.1));
        }
    }
    l.y = base + 26.0;
}

pub(super) fn device_table(l: &mut Layout<'_>, r: &ReportData) {
    l.section("2. Devices");
    let cols: [Col; 6] = [
        ("Device", 0.14, false),
        ("Model", 0.15, false),
        ("Serial / MAC", 0.24, false),
        ("Firmware", 0.14, false),
        ("Score", 0.08, true),
        ("Failing controls", 0.25, false),
    ];
    let rows: Vec<Vec<Cell>> = r
        .devices
        .iter()
        .map(|d| {
            let mut failing = cell(d.failing.join(", "));
            if let Some(e) = &d.error {
                failing = failing.sub(e.clone());
            }
            let mut dev = cell(d.target.clone());
            if let Some(site) = &d.site {
                dev = dev.sub(site.clone());
            }
            vec![
                dev,
                cell(dash(&d.model)),
                cell(dash(&d.serial)).sub(dash(&d.mac)),
                cell(dash(&d.firmware)),
                cell(score_change(d.score_before, d.score)).bold(),
                failing.colour(FAIL),
            ]
        })
        .collect();
    l.table(&cols, &rows);
}

fn dash(s: &str) -> String {
    if s.is_empty() {
        "—".into()
    } else {
        s.to_string()
    }
}

pub(super) fn device_details(l: &mut Layout<'_>, r: &ReportData) {
    l.section("3. Device details");
    let cols: [Col; 6] = [
        ("Control", 0.26, false),
        ("Severity", 0.09, false),
        ("Status", 0.09, false),
        ("Observed", 0.14, false),
        ("Expected", 0.14, false),
        ("Evidence", 0.28, false),
    ];
    for d in &r.devices {
        let title = format!("{} — {}", d.target, if d.model.is_empty() { "unknown model" } else { &d.model });
        l.subheading(&title, &format!("{} / 100", score_change(d.score_before, d.score)), 60.0);
        let ident = format!(
            "{} · serial {} · MAC {} · firmware {} · {} · audited {}",
            dash(&d.vendor),
            dash(&d.serial),
            dash(&d.mac),
            dash(&d.firmware),
            d.baseline.as_deref().unwrap_or("no baseline"),
            d.audited_at
        );
        l.para(&ident, 7.5, MUTED);
        if let Some(e) = &d.error {
            l.para(e, 8.5, FAIL);
        }
        if d.findings.is_empty() {
            continue;
        }
        let rows: Vec<Vec<Cell>> = d
            .findings
            .iter()
            .map(|f| {
                vec![
                    cell(f.control.clone()).bold().sub(f.title.clone()),
                    cell(model::severity_text(f.severity)).badge(severity_colour(f.severity)),
                    cell(model::status_text(f.status)).bold().colour(status_colour(f.status)),
                    cell(model::show(f.observed.as_ref())),
                    cell(f.expected.clone()),
                    cell(f.evidence.clone()),
                ]
            })
            .collect();
        l.table(&cols, &rows);
    }
}

pub(super) fn change_log(l: &mut Layout<'_>, r: &ReportData) {
    l.section("4. Change log");
    if r.changes.is_empty() {
        l.para("No change is recorded for these devices in the selected period.", BODY, INK);
        return;
    }
    l.para(
        &format!(
            "{} change record(s) from the hash-chained history. Each record's hash is in the JSON report, so \
             “portcullis report verify” can check every one against the local history.",
            r.changes.len()
        ),
        BODY,
        INK,
    );
    let cols: [Col; 7] = [
        ("#", 0.05, true),
        ("Time", 0.18, false),
        ("Device", 0.13, false),
        ("Control / setting", 0.23, false),
        ("Change", 0.14, false),
        ("Outcome", 0.17, false),
        ("Operator", 0.10, false),
    ];
    let rows: Vec<Vec<Cell>> = r
        .changes
        .iter()
        .map(|c| {
            let colour = match c.outcome {
                OutcomeKind::Verified => PASS,
                OutcomeKind::Intent => GREY,
                OutcomeKind::RolledBack | OutcomeKind::Failed => FAIL,
            };
            let word = c.outcome.as_str().replace('_', " ");
            let outcome = match &c.reason {
                Some(why) => format!("{word}: {why}"),
                None => word,
            };
            vec![
                cell(c.seq.to_string()),
                cell(c.time.clone()),
                cell(c.device.clone()),
                cell(c.control.clone().unwrap_or_else(|| "—".into())).bold().sub(c.setting.to_string()),
                cell(format!("{} → {}", model::show(c.before.as_ref()), model::show(c.after.as_ref()))),
                cell(outcome).colour(colour),
                cell(c.operator.clone()),
            ]
        })
        .collect();
    l.table(&cols, &rows);
}

/// Part of the change log: what no longer holds what an apply verified.
pub(super) fn drift(l: &mut Layout<'_>, r: &ReportData) {
    l.subheading("Drift since the last verified apply", &format!("{} setting(s)", r.drift.len()), 40.0);
    if r.drift.is_empty() {
        l.para("No drift: every setting an apply verified still holds, as the latest audit read it.", BODY, INK);
        return;
    }
    l.para(
        "Settings that no longer hold what an apply verified, as the latest audit of each device read them: a \
         change made on the device by hand, a reset, or firmware that restored a default. Applying the baseline \
         again puts them back.",
        BODY,
        INK,
    );
    let cols: [Col; 5] = [
        ("Device", 0.17, false),
        ("Control / setting", 0.27, false),
        ("Applied", 0.14, false),
        ("Now", 0.14, false),
        ("Verified / read", 0.28, false),
    ];
    let rows: Vec<Vec<Cell>> = r
        .drift
        .iter()
        .map(|d| {
            vec![
                cell(d.device.clone()),
                cell(d.control.clone().unwrap_or_else(|| "—".into())).bold().sub(d.setting.to_string()),
                cell(model::show(d.applied.as_ref())),
                cell(model::show(d.now.as_ref())).colour(FAIL),
                cell(d.verified_at.clone()).sub(format!("read {}", d.read_at)),
            ]
        })
        .collect();
    l.table(&cols, &rows);
}

pub(super) fn firmware(l: &mut Layout<'_>, r: &ReportData) {
    l.section("5. Firmware and published vulnerabilities");
    let database = if r.advisory_database.is_empty() {
        String::new()
    } else {
        format!(" Advisory database {}.", r.advisory_database)
    };
    l.para(
        &format!(
            "Each firmware found on the audited devices, checked against the published advisory ranges Portcullis \
             knows. An advisory applies only where its source's published range covers the version; each match \
             names that range and source.{database}"
        ),
        BODY,
        INK,
    );
    let cols: [Col; 5] = [
        ("Vendor", 0.11, false),
        ("Model", 0.18, false),
        ("Firmware", 0.19, false),
        ("Devices", 0.08, true),
        ("Published advisories", 0.44, false),
    ];
    let rows: Vec<Vec<Cell>> = r
        .firmware
        .iter()
        .map(|f| {
            let adv = if f.advisories.is_empty() {
                cell("none known").colour(PASS)
            } else {
                let ids: Vec<String> = f.advisories.iter().map(|a| a.cve.clone()).collect();
                let detail: Vec<String> = f
                    .advisories
                    .iter()
                    .map(|a| {
                        let fixed = a.fixed.as_ref().map(|v| format!("; fixed in {v}")).unwrap_or_default();
                        let exploited = if a.kev { "known exploited; " } else { "" };
                        format!("{} ({exploited}range {}{fixed}; {} {})", a.title, a.range, a.source, a.url)
                    })
                    .collect();
                cell(ids.join(", ")).bold().colour(FAIL).sub(detail.join("; "))
            };
            vec![
                cell(dash(&f.vendor)),
                cell(dash(&f.model)),
                cell(dash(&f.firmware)),
                cell(f.devices.len().to_string()),
                adv,
            ]
        })
        .collect();
    l.table(&cols, &rows);
    if r.firmware_upgrades.is_empty() {
        return;
    }
    l.para(
        "Firmware upgraded. Each upgrade was verified by reading the version back after the device restarted, \
         and recorded in the history.",
        BODY,
        INK,
    );
    let cols: [Col; 5] = [
        ("Device", 0.19, false),
        ("Model", 0.17, false),
        ("Before", 0.17, false),
        ("After", 0.17, false),
        ("Advisories left", 0.30, false),
    ];
    let rows: Vec<Vec<Cell>> = r
        .firmware_upgrades
        .iter()
        .map(|u| {
            let left = if u.left.is_empty() {
                cell("none known")
            } else {
                let ids: Vec<String> = u.left.iter().map(|a| a.cve.clone()).collect();
                let detail: Vec<String> =
                    u.left.iter().map(|a| format!("range {}; {} {}", a.range, a.source, a.url)).collect();
                cell(ids.join(", ")).bold().sub(detail.join("; "))
            };
            vec![
                cell(dash(&u.device)).sub(u.time.clone()),
                cell(dash(&u.model)),
                cell(dash(&u.before)),
                cell(dash(&u.after)),
                left,
            ]
        })
        .collect();
    l.table(&cols, &rows);
}

pub(super) fn standards(l: &mut Layout<'_>, r: &ReportData) {
    l.section("6. Standards mapping");
    l.para(
        "Every control of the baseline, with the ETSI EN 303 645 provisions, NIST CSF 2.0 subcategories, \
         IEC 62443-4-2 requirements and vendor hardening guide section it serves, and how many devices fail it now.",
        BODY,
        INK,
    );
    let cols: [Col; 7] = [
        ("Control", 0.22, false),
        ("Severity", 0.09, false),
        ("ETSI EN 303 645", 0.12, false),
        ("NIST CSF 2.0", 0.11, false),
        ("IEC 62443-4-2", 0.11, false),
        ("Vendor guide", 0.27, false),
        ("Failing", 0.08, true),
    ];
    let rows: Vec<Vec<Cell>> = r
        .standards
        .iter()
        .map(|s| {
            vec![
                cell(s.control.clone()).bold().sub(s.title.clone()),
                cell(model::severity_text(s.severity)).badge(severity_colour(s.severity)),
                cell(s.etsi_en_303_645.join(", ")),
                cell(s.nist_csf_2.join(", ")),
                cell(s.iec_62443_4_2.join(", ")),
                cell(s.vendor_guide.clone().unwrap_or_else(|| "—".into())),
                cell(s.failing_devices.to_string()).bold().colour(if s.failing_devices > 0 { FAIL } else { PASS }),
            ]
        })
        .collect();
    l.table(&cols, &rows);
}

/// The cover's contents list, now that every section has its page.
pub(super) fn contents(l: &mut Layout<'_>) {
    let entries = l.sections.clone();
    let mut y = l.pages.first().map_or(0.0, |_| 560.0);
    let mut ops = vec![Op::Text { x: LEFT, y, size: 11.0, bold: true, colour: BRAND, text: "Contents".into() }];
    y += 6.0;
    ops.push(Op::Line { x1: LEFT, y1: y, x2: RIGHT, y2: y, colour: LINE, width: 0.6 });
    for (title, page, _) in entries {
        y += 17.0;
        let num = (page + 1).to_string();
        ops.push(Op::Text { x: LEFT, y, size: 10.0, bold: false, colour: INK, text: title });
        ops.push(Op::Text {
            x: RIGHT - l.m.width(&num, 10.0, false),
            y,
            size: 10.0,
            bold: false,
            colour: INK,
            text: num,
        });
    }
    if let Some(first) = l.pages.first_mut() {
        first.extend(ops);
    }
}
