//! Every format rendered from the synthetic site: snapshot files for JSON, CSV and HTML
//! (`UPDATE_SNAPSHOTS=1` rewrites them), and the PDF rendered to PNG by pdftoppm and
//! checked page by page for ink.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};

use portcullis_core::baseline::Baseline;
use portcullis_core::history::HistoryKey;
use portcullis_report::model::{self, Filters, ReportData};
use portcullis_report::{integrity, render, sample, Format};

fn temp(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("pc-report-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// The synthetic site, sealed, with a fixed clock: the same bytes on every run.
fn report(tag: &str, devices: usize, filters: Filters) -> ReportData {
    let baseline = Baseline::load("hikvision-hardening").unwrap();
    let snaps = sample::snapshots(devices, &baseline);
    let (records, chain) = sample::history(&temp(tag), devices.min(3), HistoryKey::generate()).unwrap();
    let inputs = model::Inputs {
        generated_at: "2026-11-28T18:00:00Z".into(),
        generator: "portcullis (test)".into(),
        operator: "j.doe".into(),
        filters,
        snapshots: &snaps,
        history: &records,
        chain: &chain,
        baselines: std::slice::from_ref(&baseline),
    };
    model::build(&inputs).unwrap().seal().unwrap()
}

fn check_snapshot(name: &str, actual: &[u8]) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots").join(name);
    // A missing snapshot is written on a developer's machine, and fails under CI.
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() || (!path.exists() && std::env::var_os("CI").is_none()) {
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path).unwrap();
    assert!(expected == actual, "{name} differs from its snapshot; run with UPDATE_SNAPSHOTS=1 and review the diff");
}

#[test]
fn json_snapshot_and_digest() {
    let r = report("json", 4, Filters::default());
    let bytes = render(Format::Json, &r).unwrap();
    check_snapshot("report.json", &bytes);
    let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["sha256"].as_str().unwrap(), integrity::digest_of(&v));
    assert_eq!(v["summary"]["devices"], 4);
    assert!(v["summary"]["score_before"].as_u64().unwrap() < v["summary"]["score_after"].as_u64().unwrap());
    // The file parses back into the model unchanged.
    let back: ReportData = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(back, r);
}

#[test]
fn csv_snapshot_has_one_row_per_device_and_control() {
    let r = report("csv", 4, Filters::default());
    let bytes = render(Format::Csv, &r).unwrap();
    check_snapshot("report.csv", &bytes);
    let mut rd = csv::Reader::from_reader(bytes.as_slice());
    let rows = rd.records().count();
    let controls: usize = r.devices.iter().map(|d| d.findings.len()).sum();
    assert_eq!(rows, controls);
}

#[test]
fn csv_cells_a_device_controls_never_run_as_formulas() {
    let mut r = report("csv-formula", 1, Filters::default());
    // A compromised camera names its model and its evidence text.
    r.devices[0].model = "=HYPERLINK(\"http://evil.invalid/\",\"open\")".into();
    r.devices[0].findings[0].evidence = "@SUM(1+1)*cmd|' /C calc'!A0".into();
    let bytes = render(Format::Csv, &r).unwrap();
    let mut rd = csv::Reader::from_reader(bytes.as_slice());
    let first = rd.records().next().unwrap().unwrap();
    let (model, evidence) = (&first[3], &first[16]);
    assert!(model.starts_with("'=HYPERLINK"), "{model}");
    assert!(evidence.starts_with("'@SUM"), "{evidence}");
}

#[test]
fn html_snapshot_is_self_contained() {
    let r = report("html", 4, Filters::default());
    let bytes = render(Format::Html, &r).unwrap();
    check_snapshot("report.html", &bytes);
    let t = String::from_utf8(bytes).unwrap();
    for external in ["src=", "href=", "@import", "url(", "<script"] {
        assert!(!t.contains(external), "the HTML refers to something outside itself: {external}");
    }
    assert!(t.contains("<svg") && t.contains(r.sha256.as_deref().unwrap()));
}

#[test]
fn filters_narrow_the_devices() {
    let f = Filters { devices: vec!["127.1.0.2".into()], ..Default::default() };
    let r = report("filter", 4, f);
    assert_eq!(r.devices.len(), 1);
    assert_eq!(r.devices[0].target, "127.1.0.2:80");
    assert!(r.changes.iter().all(|c| c.device == "127.1.0.2:80"));
    let none = Filters { site: Some("elsewhere".into()), ..Default::default() };
    let baseline = Baseline::load("hikvision-hardening").unwrap();
    let snaps = sample::snapshots(2, &baseline);
    let chain = portcullis_core::history::Verification { records: 0, head: "genesis".into(), first_bad: None };
    let inputs = model::Inputs {
        generated_at: String::new(),
        generator: String::new(),
        operator: String::new(),
        filters: none,
        snapshots: &snaps,
        history: &[],
        chain: &chain,
        baselines: &[],
    };
    assert!(matches!(model::build(&inputs), Err(model::BuildError::NoAudit)));
}

#[test]
fn a_tampered_json_report_fails_verification() {
    let dir = temp("verify");
    let baseline = Baseline::load("hikvision-hardening").unwrap();
    let snaps = sample::snapshots(3, &baseline);
    let (records, chain) = sample::history(&dir, 3, HistoryKey::generate()).unwrap();
    let inputs = model::Inputs {
        generated_at: "2026-11-28T18:00:00Z".into(),
        generator: "t".into(),
        operator: "j.doe".into(),
        filters: Filters::default(),
        snapshots: &snaps,
        history: &records,
        chain: &chain,
        baselines: std::slice::from_ref(&baseline),
    };
    let r = model::build(&inputs).unwrap().seal().unwrap();
    let text = String::from_utf8(render(Format::Json, &r).unwrap()).unwrap();
    let ok = integrity::verify_json(&text, &records, &chain);
    assert!(ok.ok(), "{ok:?}");
    assert_eq!(ok.changes_matched, records.len());
    let altered = text.replacen("\"score\": 9", "\"score\": 10", 1);
    assert_ne!(altered, text);
    assert!(!integrity::verify_json(&altered, &records, &chain).digest_ok);
    // Against a different history the chain head and the records are not found.
    let (other, other_chain) = sample::history(&temp("verify-other"), 1, HistoryKey::generate()).unwrap();
    let c = integrity::verify_json(&text, &other, &other_chain);
    assert!(c.digest_ok && !c.head_found && !c.ok(), "{c:?}");
}

#[test]
fn pdf_layout_snapshot() {
    let r = report("pdf-layout", 4, Filters::default());
    let text = portcullis_report::pdf::layout_text(&r).unwrap();
    check_snapshot("report.pdf.txt", text.as_bytes());
    assert!(text.contains("1. Executive summary") && text.contains("6. Standards mapping"));
}

#[test]
fn pdf_pages_are_numbered_and_not_blank() {
    let r = report("pdf", 12, Filters::default());
    let bytes = render(Format::Pdf, &r).unwrap();
    assert!(bytes.starts_with(b"%PDF-"));
    let dir = temp("pdf-pages");
    let pdf = dir.join("report.pdf");
    std::fs::write(&pdf, &bytes).unwrap();
    if std::process::Command::new("pdftoppm").arg("-v").output().is_err() {
        eprintln!("SKIPPED: pdftoppm is not installed (apt-get install poppler-utils); the PDF pages were not checked");
        return;
    }
    let text = std::process::Command::new("pdftotext").args(["-layout"]).arg(&pdf).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&text.stdout);
    let pages = text.matches('\u{c}').count();
    assert!(pages >= 6, "{pages} pages");
    for needle in [
        "Camera security report",
        "Executive summary",
        "Standards mapping",
        "Change log",
        "HIK-12",
        "CVE-2017-7921",
        "Page 1 of",
    ] {
        assert!(text.contains(needle), "the PDF text lacks {needle:?}");
    }
    assert!(text.contains(&format!("Page {pages} of {pages}")), "the last page is not numbered");
    // PNG pages for a person to look at (the path is printed); PPM pages for the check,
    // because PPM needs no decoder.
    for format in [&["-png"][..], &[][..]] {
        let st = std::process::Command::new("pdftoppm")
            .args(format)
            .args(["-r", "40"])
            .arg(&pdf)
            .arg(dir.join("page"))
            .status();
        assert!(st.unwrap().success());
    }
    eprintln!("PDF pages rendered to {}", dir.display());
    let pages_of = |ext: &str| {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == ext))
            .collect();
        v.sort();
        v
    };
    assert_eq!(pages_of("png").len(), pages);
    let ppms = pages_of("ppm");
    assert_eq!(ppms.len(), pages);
    for ppm in &ppms {
        let ink = ink_share(&std::fs::read(ppm).unwrap());
        assert!(ink > 0.01, "{} is blank ({ink:.4} of its pixels are not white)", ppm.display());
    }
}

/// The share of pixels that are not (nearly) white in a binary PPM (P6, maxval 255):
/// a header of four whitespace-separated fields, then RGB bytes.
fn ink_share(data: &[u8]) -> f64 {
    let mut fields = 0;
    let mut start = data.len();
    let mut in_field = false;
    for (i, b) in data.iter().enumerate() {
        if b.is_ascii_whitespace() {
            if in_field {
                fields += 1;
                in_field = false;
                if fields == 4 {
                    start = i + 1;
                    break;
                }
            }
        } else {
            in_field = true;
        }
    }
    let px = &data[start..];
    let inked = px.chunks(3).filter(|c| c.iter().any(|&v| v < 235)).count();
    inked as f64 / (px.len() / 3).max(1) as f64
}

/// A site that let passwords cross in clear says so in every report built from its
/// history: the cover of the PDF, the HTML summary and the JSON.
#[test]
fn secrets_sent_in_clear_by_the_sites_choice_are_printed() {
    use portcullis_core::history::{Change, History, Outcome};
    let dir = temp("plaintext");
    let key = [3u8; 32];
    let (_, _) = sample::history(&dir, 1, HistoryKey::new(key)).unwrap();
    let h = History::open(&dir, HistoryKey::new(key)).unwrap();
    let choice = Change {
        operator: "j.doe".into(),
        device: "127.1.0.1:80".into(),
        site: None,
        control: None,
        setting: portcullis_core::setting::Setting::SitePlaintextSecrets,
        before: None,
        after: Some(portcullis_core::posture::Value::Bool(true)),
        outcome: Outcome::Verified,
        vault_entry: None,
    };
    h.append(choice, "2026-11-28T12:00:02Z").unwrap();
    let (records, chain) = (h.all().unwrap(), h.verify().unwrap());
    let baseline = Baseline::load("hikvision-hardening").unwrap();
    let snaps = sample::snapshots(1, &baseline);
    let inputs = model::Inputs {
        generated_at: "2026-11-28T18:00:00Z".into(),
        generator: "t".into(),
        operator: "j.doe".into(),
        filters: Filters::default(),
        snapshots: &snaps,
        history: &records,
        chain: &chain,
        baselines: std::slice::from_ref(&baseline),
    };
    let r = model::build(&inputs).unwrap().seal().unwrap();
    assert_eq!(r.history.plaintext_secrets, ["127.1.0.1:80"]);
    let html = String::from_utf8(render(Format::Html, &r).unwrap()).unwrap();
    assert!(html.contains("over plain HTTP (allow_plaintext_secrets): 127.1.0.1:80"), "the HTML says so");
    let json = String::from_utf8(render(Format::Json, &r).unwrap()).unwrap();
    assert!(json.contains("\"plaintext_secrets\""), "the JSON says so");
    let csv_bytes = render(Format::Csv, &r).unwrap();
    let mut reader = csv::Reader::from_reader(&csv_bytes[..]);
    let column = reader.headers().unwrap().iter().position(|h| h == "secret_sent_in_clear").expect("the column");
    let flags: Vec<(String, String)> =
        reader.records().map(|row| row.unwrap()).map(|row| (row[1].to_string(), row[column].to_string())).collect();
    assert!(flags.iter().any(|(d, f)| d == "127.1.0.1:80" && f == "yes"), "the CSV says so: {flags:?}");
    assert!(flags.iter().filter(|(d, _)| d != "127.1.0.1:80").all(|(_, f)| f == "no"), "{flags:?}");
}
