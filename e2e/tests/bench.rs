//! The desktop performance benchmark (not a timed test): with 5,000 devices in the
//! inventory, how long the table takes to scroll end to end frame by frame, and how
//! much memory the app holds (its own process and WebKit's). Prints figures; asserts
//! only that the measurement happened. Run by `scripts/bench-desktop.sh`, which builds
//! the release app, fills a data directory and sets `PORTCULLIS_BENCH=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stderr,
    clippy::print_stdout
)]

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::json;
use thirtyfour::prelude::*;

const DRIVER_PORT: u16 = 4454;
const NATIVE_PORT: u16 = 4455;

/// Resident and proportional memory (kB) of a process and everything it started.
fn memory_of_tree(root: u32) -> (u64, u64, Vec<String>) {
    let mut parents: Vec<(u32, u32, String)> = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // "pid (comm) state ppid …": comm may hold spaces, so split after the last ')'.
        let Some((head, rest)) = stat.rsplit_once(')') else { continue };
        let comm = head.split_once('(').map(|(_, c)| c.to_string()).unwrap_or_default();
        let ppid = rest.split_whitespace().nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
        parents.push((pid, ppid, comm));
    }
    let mut tree = vec![root];
    let mut i = 0;
    while i < tree.len() {
        let p = tree[i];
        tree.extend(parents.iter().filter(|(_, pp, _)| *pp == p).map(|(c, _, _)| *c));
        i += 1;
    }
    let (mut rss, mut pss, mut names) = (0, 0, Vec::new());
    for pid in tree {
        let rollup = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
        let field = |name: &str| {
            rollup
                .lines()
                .find(|l| l.starts_with(name))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0)
        };
        rss += field("Rss:");
        pss += field("Pss:");
        if let Some((_, _, comm)) = parents.iter().find(|(p, _, _)| *p == pid) {
            names.push(format!("{comm}({pid}): rss {} kB", field("Rss:")));
        }
    }
    (rss, pss, names)
}

fn app_pid(app: &std::path::Path) -> Option<u32> {
    let out = Command::new("pgrep").args(["-n", "-f", &app.display().to_string()]).output().ok()?;
    String::from_utf8_lossy(&out.stdout).trim().parse().ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn five_thousand_devices_scroll_and_memory() {
    if std::env::var("PORTCULLIS_BENCH").as_deref() != Ok("1") {
        eprintln!("bench: skipped (scripts/bench-desktop.sh runs it)");
        return;
    }
    let app = PathBuf::from(std::env::var("PORTCULLIS_DESKTOP_BIN").expect("PORTCULLIS_DESKTOP_BIN"));
    let expected: usize = std::env::var("BENCH_DEVICES").ok().and_then(|n| n.parse().ok()).unwrap_or(5000);
    let _driver = e2e::start_driver(DRIVER_PORT, NATIVE_PORT).unwrap();
    let mut caps = Capabilities::new();
    caps.set("browserName", json!("wry")).unwrap();
    // WebKitWebDriver starts the app with a clean environment: the data directory goes as an argument.
    let home = std::env::var("PORTCULLIS_HOME").expect("PORTCULLIS_HOME");
    caps.set("tauri:options", json!({ "application": app, "args": ["--home", home] })).unwrap();
    let d = WebDriver::new(format!("http://127.0.0.1:{DRIVER_PORT}"), caps).await.unwrap();

    let loaded = Instant::now();
    loop {
        let n = match d.find(By::Css("#device-count")).await {
            Ok(e) => e.text().await.unwrap_or_default(),
            Err(_) => String::new(),
        };
        if n == expected.to_string() {
            break;
        }
        assert!(loaded.elapsed() < Duration::from_secs(60), "the table never showed {expected} devices ({n})");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The same window idle: what a frame costs here without scrolling (Xvfb renders in
    // software, so this is the floor to compare against).
    let idle = r#"
        const done = arguments[arguments.length - 1];
        const frames = []; let last = performance.now();
        function frame(t) { frames.push(t - last); last = t; if (frames.length > 60) done(frames); else requestAnimationFrame(frame); }
        requestAnimationFrame(frame);
    "#;
    let v = d.execute_async(idle, vec![]).await.unwrap().json().clone();
    let mut idle: Vec<f64> = v.as_array().unwrap().iter().filter_map(|f| f.as_f64()).skip(1).collect();
    idle.sort_by(|a, b| a.total_cmp(b));
    println!("bench: idle window: median frame {:.1} ms, max {:.1} ms", idle[idle.len() / 2], idle[idle.len() - 1]);
    if expected < 100 {
        report_memory(&app, expected);
        let _ = d.quit().await;
        return;
    }
    // Scroll the table, one step per frame, timing every frame: wheel notches (120 px,
    // 300 frames from the top) and page jumps (90 % of the view, top to bottom).
    for (what, step) in [("wheel steps of 120 px", "120"), ("page jumps", "page")] {
        let script = r#"
            const [stepArg, done] = [arguments[0], arguments[arguments.length - 1]];
            const body = document.querySelector('#device-table .body');
            body.scrollTop = 0;
            const stepPx = stepArg === 'page' ? Math.max(1, Math.floor(body.clientHeight * 0.9)) : Number(stepArg);
            const frames = [];
            let last = performance.now();
            function frame(t) {
              frames.push(t - last);
              last = t;
              const atEnd = body.scrollTop + body.clientHeight >= body.scrollHeight - 1;
              if (atEnd || frames.length > 300) { done({ frames, rows: document.querySelectorAll('#device-table .row[data-id]').length }); return; }
              body.scrollTop += stepPx;
              requestAnimationFrame(frame);
            }
            requestAnimationFrame(frame);
        "#;
        let r = d.execute_async(script, vec![json!(step)]).await.unwrap();
        let v = r.json();
        let mut frames: Vec<f64> = v["frames"].as_array().unwrap().iter().filter_map(|f| f.as_f64()).collect();
        assert!(frames.len() > 10, "{v}");
        frames.remove(0); // the first interval includes the script's own start
        let mut sorted = frames.clone();
        sorted.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| sorted[((sorted.len() - 1) as f64 * p) as usize];
        let stalls = frames.iter().filter(|f| **f > 50.0).count();
        println!(
            "bench: scroll {expected} rows, {what}: {} frames, median {:.1} ms, p95 {:.1} ms, max {:.1} ms, over 50 ms: {stalls}; rows in the DOM: {}",
            frames.len(),
            pct(0.5),
            pct(0.95),
            sorted[sorted.len() - 1],
            v["rows"]
        );
    }
    // Control: the same scroll of a plain overlay list (no app code, 40 static lines in
    // view) in this window. What it costs is the renderer's share, not the table's.
    let control = r#"
        const done = arguments[arguments.length - 1];
        const box = document.createElement('div');
        box.style.cssText = 'position:fixed;inset:120px 40px 40px 260px;overflow:auto;background:#111;z-index:99';
        const inner = document.createElement('div');
        inner.style.height = '170000px';
        inner.textContent = 'control';
        box.appendChild(inner);
        document.body.appendChild(box);
        const frames = []; let last = performance.now();
        function frame(t) {
          frames.push(t - last); last = t;
          if (frames.length > 120) { box.remove(); done(frames); return; }
          box.scrollTop += 120;
          requestAnimationFrame(frame);
        }
        requestAnimationFrame(frame);
    "#;
    let v = d.execute_async(control, vec![]).await.unwrap().json().clone();
    let mut c: Vec<f64> = v.as_array().unwrap().iter().filter_map(|f| f.as_f64()).skip(1).collect();
    c.sort_by(|a, b| a.total_cmp(b));
    println!(
        "bench: control (a plain scrolling div, same window): median frame {:.1} ms, max {:.1} ms",
        c[c.len() / 2],
        c[c.len() - 1]
    );
    report_memory(&app, expected);
    let _ = d.quit().await;
}

fn report_memory(app: &std::path::Path, devices: usize) {
    let pid = app_pid(app).expect("the app's pid");
    let (rss, pss, parts) = memory_of_tree(pid);
    println!(
        "bench: memory with {devices} devices: RSS {} MB, PSS {} MB ({})",
        rss / 1024,
        pss / 1024,
        parts.join("; ")
    );
}
