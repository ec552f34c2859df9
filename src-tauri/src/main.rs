//! `portcullis-desktop [--demo]`
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
    let demo = std::env::args().skip(1).any(|a| a == "--demo");
    match portcullis_desktop::run(demo) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("portcullis-desktop: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
