//! House rules, checked on the source tree: every source file says what it is for in its
//! first line; dependencies point one way (core knows no shell, no report, no
//! simulator); the simulator is used only by tests, the benchmark and the desktop's
//! demo module; the shells drive the engine's tasks, never its parts; and the desktop's
//! one list of commands is the one the app, its capability file and the UI use.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every `.rs` file we wrote, relative to the workspace root ('/'-separated).
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for e in entries.flatten() {
            let path = e.path();
            let name = e.file_name().to_string_lossy().to_string();
            if path.is_dir() {
                if !matches!(name.as_str(), "target" | "node_modules" | "gen" | ".git" | "fuzz") {
                    walk(&path, out);
                }
            } else if name.ends_with(".rs") {
                out.push(path);
            }
        }
    }
    let mut files = Vec::new();
    for top in ["crates", "src-tauri", "tests", "e2e"] {
        walk(&root().join(top), &mut files);
    }
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(root()).unwrap().to_string_lossy().replace('\\', "/");
            (rel, std::fs::read_to_string(&p).unwrap())
        })
        .collect()
}

#[test]
fn every_source_file_opens_with_a_doc_line() {
    let files = sources();
    assert!(files.len() > 100, "the walk found the sources");
    let bad: Vec<&str> = files
        .iter()
        .filter(|(_, text)| !text.lines().find(|l| !l.trim().is_empty()).is_some_and(|l| l.starts_with("//!")))
        .map(|(path, _)| path.as_str())
        .collect();
    assert!(bad.is_empty(), "these files do not open with a `//!` line saying what they are for: {bad:?}");
}

/// Issue #16: platform-specific product code has its counterpart (`cfg(unix)` beside
/// `cfg(not(unix))`, a `target_os` gate beside a `not(…)` one), or says on the line
/// above what stands in its place elsewhere (`// elsewhere: …`). Tests may be unix-only.
#[test]
fn every_platform_gate_has_its_counterpart() {
    let mut unmatched = Vec::new();
    for (path, text) in sources().iter().filter(|(p, _)| !p.starts_with("tests/") && !p.starts_with("e2e/")) {
        let product = text.split("#[cfg(test)]").next().unwrap_or_default();
        let lines: Vec<&str> = product.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let gate = line.trim_start().starts_with("#[cfg(") || line.contains("cfg!(");
            let platform = line.contains("unix") || line.contains("windows") || line.contains("target_os");
            if !gate || !platform || line.contains("not(") {
                continue;
            }
            let said = i.checked_sub(1).and_then(|j| lines.get(j)).is_some_and(|l| l.contains("// elsewhere:"));
            let counterpart = product.contains("#[cfg(not(");
            if !said && !counterpart {
                unmatched.push(format!("{path}:{}: {}", i + 1, line.trim()));
            }
        }
    }
    assert!(unmatched.is_empty(), "platform gates without a counterpart or an `// elsewhere:` note: {unmatched:#?}");
}

/// The names of a manifest's `[dependencies]` table.
fn dependencies(manifest: &str) -> Vec<String> {
    let text = std::fs::read_to_string(root().join(manifest)).unwrap();
    let doc: toml::Table = text.parse().unwrap();
    doc.get("dependencies").and_then(|d| d.as_table()).map(|t| t.keys().cloned().collect()).unwrap_or_default()
}

#[test]
fn core_depends_on_no_shell_no_report_and_no_simulator() {
    let deps = dependencies("crates/core/Cargo.toml");
    for banned in ["tauri", "clap", "portcullis-report", "portcullis-sim", "indicatif"] {
        assert!(!deps.iter().any(|d| d == banned), "core depends on {banned}");
    }
    let sim = dependencies("crates/sim/Cargo.toml");
    assert!(!sim.iter().any(|d| d == "portcullis-core"), "the simulator shares nothing with the drivers");
    let report = dependencies("crates/report/Cargo.toml");
    assert!(!report.iter().any(|d| d == "portcullis-sim" || d == "tauri" || d == "clap"));
}

#[test]
fn the_simulator_is_used_only_by_tests_the_bench_and_the_demo() {
    let allowed = |path: &str| {
        path.starts_with("crates/sim/")
            || path.starts_with("crates/bench/")
            || path.starts_with("e2e/")
            || path.starts_with("tests/")
            || path.contains("/tests/")
            || path == "src-tauri/src/demo.rs"
    };
    let files = sources();
    let users: Vec<&str> = files
        .iter()
        .filter(|(path, text)| !allowed(path) && text.contains("portcullis_sim"))
        .map(|(path, _)| path.as_str())
        .collect();
    assert!(users.is_empty(), "the simulator is used outside tests, the bench and the demo module: {users:?}");
}

#[test]
fn the_shells_drive_tasks_not_the_engines_parts() {
    let parts = [
        "apply_many",
        "apply_device",
        "plan_device",
        "audit_many",
        "driver::connect",
        "core::apply::recover",
        "interrupted::close",
    ];
    let mut found = Vec::new();
    for (path, text) in sources() {
        if !(path.starts_with("crates/cli/") || path.starts_with("src-tauri/src/")) {
            continue;
        }
        for part in parts {
            if text.contains(part) {
                found.push(format!("{path}: {part}"));
            }
        }
    }
    assert!(found.is_empty(), "a shell sequences the engine itself instead of calling a task: {found:?}");
}

#[test]
fn one_list_of_desktop_commands() {
    let list: Vec<String> = std::fs::read_to_string(root().join("src-tauri/commands.txt"))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect();
    assert!(list.len() > 20);

    // The handler the app registers.
    let lib = std::fs::read_to_string(root().join("src-tauri/src/lib.rs")).unwrap();
    let start = lib.find("generate_handler![").expect("lib.rs registers its commands");
    let body = &lib[start..];
    let body = &body[..body.find(']').unwrap()];
    let handler: Vec<String> =
        body.split("commands::").skip(1).map(|s| s.trim_end_matches([',', ' ', '\n']).trim().to_string()).collect();
    assert_eq!(handler, list, "lib.rs's generate_handler! differs from commands.txt");

    // The capability file allows exactly these.
    let cap: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("src-tauri/capabilities/default.json")).unwrap())
            .unwrap();
    let allowed: Vec<String> = cap["permissions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str()?.strip_prefix("allow-").map(|n| n.replace('-', "_")))
        .collect();
    assert_eq!(allowed, list, "capabilities/default.json differs from commands.txt (regenerate: cargo test -p portcullis-desktop --lib export_bindings)");

    // The UI's names, generated from the list; and every name the UI calls is one of them.
    let ts = std::fs::read_to_string(root().join("ui/src/lib/ipc/commands.ts")).unwrap();
    let names: Vec<String> = ts.split('\'').skip(1).step_by(2).map(str::to_string).collect();
    assert_eq!(names, list, "ui/src/lib/ipc/commands.ts differs from commands.txt");
    let ipc = std::fs::read_to_string(root().join("ui/src/lib/ipc/index.ts")).unwrap();
    for called in ipc.split("call<").skip(1).filter_map(|c| c.split('\'').nth(1)) {
        assert!(list.iter().any(|n| n == called), "the UI calls {called}, which commands.txt does not list");
    }
}
