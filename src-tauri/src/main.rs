//! `portcullis-desktop [--demo] [--home DIR]`: `--home` opens that data directory (a
//! site's), as `PORTCULLIS_HOME` would.
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]
#![allow(clippy::print_stderr)]

fn main() -> std::process::ExitCode {
    let _ = portcullis_desktop::STARTED.set(std::time::Instant::now());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("PORTCULLIS_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    // WebKitGTK's accelerated compositing sets up a GL context per web process (software
    // GL where there is no GPU, as on most CI and many site laptops) for a UI that is a
    // table and forms. Without it the web process needs far less memory (measured in the
    // README); PORTCULLIS_GPU_COMPOSITING=1 keeps WebKit's default.
    // elsewhere: WebView2 (Windows) and WKWebView (macOS) have no such mode to switch off.
    #[cfg(target_os = "linux")]
    if std::env::var_os("PORTCULLIS_GPU_COMPOSITING").is_none_or(|v| v != "1")
        && std::env::var_os("WEBKIT_DISABLE_COMPOSITING_MODE").is_none()
    {
        // Before any thread starts (set_var is only sound then).
        std::env::set_var("WEBKIT_DISABLE_COMPOSITING_MODE", "1");
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let demo = args.iter().any(|a| a == "--demo");
    if let Some(dir) = args.iter().position(|a| a == "--home").and_then(|i| args.get(i + 1)) {
        // Before any thread starts: the engine reads the data directory from here.
        std::env::set_var("PORTCULLIS_HOME", dir);
    }
    match portcullis_desktop::run(demo) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis-desktop: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
